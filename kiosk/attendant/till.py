"""Redeeming a shopper's coupon at the till (the plan's Contract C). No Qt.

1. The code is checked offline with the store's coupon keys (rewards.codes): a
   malformed, forged, expired or foreign code goes no further.
2. If the store feed already showed the code redeemed (a kiosk's `coupon_redeemed`),
   it is refused at once, with when, by whom and where.
3. The code's hash is claimed with a `Redeem` command at every reachable kiosk of
   the store, in kiosk-id order: each kiosk records a hash once, atomically, so two
   attendants racing for one code meet at the same first kiosk and one of them is
   told "already used". The first refusal stops the round.
4. Then `rewards.redemption.redeem` marks it used in this device's outbox file and
   queues `coupon_redeemed` for HQ, in one transaction: HQ hears of it exactly once.

No kiosk reachable (the LAN is down): steps 3 is skipped, the code is redeemed on
this device alone and the screen says so; HQ sorts out a double use later.
Runs on a worker thread (the claims are network calls); `outbox` is that thread's.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from backend_client.channel.commands import coupon_hash
from backend_client.outbox import Outbox
from rewards.codes import CodeError, CouponCode, kiosk_key, parse_code
from rewards.issuing import local_day
from rewards.redemption import AlreadyRedeemed, Redeemed, RedeemRefused, redeem

log = logging.getLogger("kiosk.attendant.till")

REMEMBERED_CODES: Final = 50_000  # weeks of a busy store's redemptions, a few MB at most


def key_for_store(store_coupon_key: bytes | None) -> Callable[[int], bytes | None]:
    """Every kiosk of the store has its key derived from the store's: the till checks
    codes from any of them."""

    def key_for(kiosk_no: int) -> bytes | None:
        if store_coupon_key is None:
            return None
        try:
            return kiosk_key(store_coupon_key, kiosk_no)
        except ValueError:
            return None

    return key_for


@dataclass(frozen=True, slots=True)
class SeenRedemption:
    kiosk: str
    at: datetime
    by: str


class RedeemedCodes:
    """Code hashes the feed showed as redeemed; written on the GUI thread, read by the
    till's worker (hence the lock). The oldest are forgotten beyond REMEMBERED_CODES;
    the kiosks' own records still refuse those."""

    def __init__(self, limit: int = REMEMBERED_CODES) -> None:
        self._limit = limit
        self._seen: OrderedDict[str, SeenRedemption] = OrderedDict()
        self._lock = threading.Lock()

    def note(self, code_hash: str, seen: SeenRedemption) -> None:
        with self._lock:
            self._seen.setdefault(code_hash, seen)
            while len(self._seen) > self._limit:
                self._seen.popitem(last=False)

    def get(self, code_hash: str) -> SeenRedemption | None:
        with self._lock:
            return self._seen.get(code_hash)


# -- a kiosk's answer to a claim ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Claimed:
    kiosk: str


@dataclass(frozen=True, slots=True)
class ClaimRefused:
    """The kiosk had the hash already: redeemed at `at` by `by`."""

    kiosk: str
    at: datetime | None
    by: str | None


@dataclass(frozen=True, slots=True)
class Unreachable:
    kiosk: str


ClaimAnswer = Claimed | ClaimRefused | Unreachable
Claim = Callable[[str, str, str], ClaimAnswer]  # kiosk, code hash, staff id


class TillOutcome(enum.StrEnum):
    REDEEMED = "redeemed"
    ALREADY = "already"
    FORGED = "forged"
    EXPIRED = "expired"
    MALFORMED = "malformed"
    UNKNOWN_KIOSK = "unknown_kiosk"
    NO_KEY = "no_key"  # this device has no coupon key from HQ


HERE: Final = ""  # `where` for a redemption recorded on this very device


@dataclass(frozen=True, slots=True)
class TillResult:
    outcome: TillOutcome
    code: CouponCode | None = None
    at: datetime | None = None  # redeemed: now; already: when it was used
    by: str | None = None  # already: who used it (a staff or kiosk id)
    where: str | None = None  # already: the kiosk that knew, HERE, or None (unknown)
    offline: bool = False  # redeemed with no kiosk reachable
    claimed_at: tuple[str, ...] = ()  # kiosks that recorded the claim


def redeem_at_till(
    text: str,
    *,
    seen: RedeemedCodes,
    kiosks: Sequence[str],
    claim: Claim,
    outbox: Outbox,
    store_coupon_key: bytes | None,
    by: str,
    now: datetime,
    tz: ZoneInfo,
) -> TillResult:
    if store_coupon_key is None:
        return TillResult(TillOutcome.NO_KEY)
    key_for = key_for_store(store_coupon_key)
    try:
        code = parse_code(text, key_for, today=local_day(now, tz))
    except CodeError as error:
        return TillResult(TillOutcome(error.reason))
    hashed = coupon_hash(code.text)
    earlier = seen.get(hashed)
    if earlier is not None:
        return TillResult(TillOutcome.ALREADY, code, earlier.at, earlier.by, earlier.kiosk)
    refused, claimed = _claim_everywhere(kiosks, claim, hashed, by)
    if refused is not None:
        log.info("coupon already redeemed through kiosk %s", refused.kiosk)
        return TillResult(
            TillOutcome.ALREADY, code, refused.at, refused.by, refused.kiosk, claimed_at=claimed
        )
    outcome = redeem(code.text, outbox=outbox, key_for=key_for, by=by, now=now, tz=tz)
    return _result_here(outcome, code, claimed)


def _result_here(
    outcome: Redeemed | AlreadyRedeemed | RedeemRefused, code: CouponCode, claimed: tuple[str, ...]
) -> TillResult:
    match outcome:
        case Redeemed(_, at):
            return TillResult(
                TillOutcome.REDEEMED, code, at, None, offline=not claimed, claimed_at=claimed
            )
        case AlreadyRedeemed(_, at, who):
            return TillResult(TillOutcome.ALREADY, code, at, who, HERE, claimed_at=claimed)
        case RedeemRefused(reason):  # checked above with the same key and day: unlikely
            return TillResult(TillOutcome(reason), code)


def _claim_everywhere(
    kiosks: Sequence[str], claim: Claim, hashed: str, by: str
) -> tuple[ClaimRefused | None, tuple[str, ...]]:
    """Claim at each kiosk in id order; the first refusal stops the round."""
    claimed: list[str] = []
    for kiosk in sorted(kiosks):
        answer = claim(kiosk, hashed, by)
        match answer:
            case ClaimRefused():
                return answer, tuple(claimed)
            case Claimed(where):
                claimed.append(where)
            case Unreachable(where):
                log.info("kiosk %s unreachable for a coupon claim", where)
    return None, tuple(claimed)


class Till:
    """The till's worker: one thread, so redemptions on this device run one at a time
    and `outbox` (this thread's own connection) is used by one thread only."""

    def __init__(
        self,
        outbox: Outbox,
        store_coupon_key: bytes | None,
        tz: ZoneInfo,
        seen: RedeemedCodes,
        claim: Claim,
    ) -> None:
        self._outbox, self._key, self._tz, self.seen, self.claim = (
            outbox,
            store_coupon_key,
            tz,
            seen,
            claim,
        )
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="attendant-till")

    def submit(
        self, text: str, *, kiosks: Sequence[str], by: str, now: datetime
    ) -> Future[TillResult]:
        return self._worker.submit(
            lambda: redeem_at_till(
                text,
                seen=self.seen,
                kiosks=kiosks,
                claim=self.claim,
                outbox=self._outbox,
                store_coupon_key=self._key,
                by=by,
                now=now,
                tz=self._tz,
            )
        )

    def close(self) -> None:
        self._worker.shutdown(wait=True)
        self._outbox.close()


def nobody_reachable(kiosk: str, _code_hash: str, _by: str) -> ClaimAnswer:
    return Unreachable(kiosk)
