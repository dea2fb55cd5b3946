"""Redeeming a coupon code at the store: checked, used once, reported to HQ.

The staff application (a later issue) calls `redeem` with the code a shopper
shows. The code is checked offline (rewards.codes.parse_code: format, the
issuing kiosk's key, the MAC, expiry on the store's local day); it is then
marked used in this device's `coupon_redemption` table and a `coupon_redeemed`
record for HQ is appended to the outbox, in one transaction, so a redemption
is never recorded without its report or reported without being recorded.

Single use holds on this device (its outbox file). Two devices redeeming the same
code while both are offline each accept it once; HQ, which sees both records,
is where a chain-wide double use shows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, insert, select

from backend_client.outbox import Outbox
from backend_client.records import OutboxRecord
from rewards.codes import CodeError, CodeProblem, CouponCode, parse_code
from rewards.issuing import local_day
from rewards.ledger import coupon_redemptions, prepare_reward_tables

MAX_BY_LENGTH: Final = 64  # the wire format's limit for `by` (a kiosk or staff id)


@dataclass(frozen=True, slots=True)
class Redeemed:
    """The code was good and is now used; `coupon_redeemed` is queued for HQ."""

    code: CouponCode
    redeemed_at: datetime


@dataclass(frozen=True, slots=True)
class AlreadyRedeemed:
    """The code was used before on this device, `at` by `by`; nothing was written."""

    code: CouponCode
    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class RedeemRefused:
    """The code cannot be honoured. `reason`: malformed, unknown_kiosk, forged (a
    typo or made up) or expired; `message` is for the member of staff and never
    quotes the code typed."""

    reason: CodeProblem
    message: str


RedeemOutcome = Redeemed | AlreadyRedeemed | RedeemRefused


def redeem(
    code_text: str,
    *,
    outbox: Outbox,
    key_for: Callable[[int], bytes | None],
    by: str,
    now: datetime,
    tz: ZoneInfo,
) -> RedeemOutcome:
    """Redeem the code in `code_text` (typed by a person: case, hyphens, spaces, I/L/O
    are forgiven) at `now`, on the device whose outbox file is `outbox`.

    `key_for(kiosk_no)` gives the issuing kiosk's key (None: not one of ours).
    `by` names who redeems (a staff or kiosk id, at most 64 characters).
    """
    if not 1 <= len(by) <= MAX_BY_LENGTH:
        raise ValueError(f"by must be 1 to {MAX_BY_LENGTH} characters")
    today: date = local_day(now, tz)
    try:
        code = parse_code(code_text, key_for, today=today)
    except CodeError as exc:
        return RedeemRefused(exc.reason, str(exc))

    def work(connection: Connection) -> tuple[RedeemOutcome, list[OutboxRecord]]:
        prepare_reward_tables(connection)
        earlier = connection.execute(
            select(coupon_redemptions.c.redeemed_at, coupon_redemptions.c.by).where(
                coupon_redemptions.c.kiosk_no == code.kiosk_no,
                coupon_redemptions.c.serial == code.serial,
            )
        ).one_or_none()
        if earlier is not None:
            at = datetime.fromisoformat(earlier.redeemed_at)
            return AlreadyRedeemed(code, at, earlier.by), []
        redeemed_at = now.isoformat()
        connection.execute(
            insert(coupon_redemptions).values(
                kiosk_no=code.kiosk_no,
                serial=code.serial,
                code=code.text,
                redeemed_at=redeemed_at,
                by=by,
            )
        )
        record = OutboxRecord.new(
            "coupon_redeemed",
            {"code": code.text, "redeemed_at": redeemed_at, "by": by},
            occurred_at=now,
        )
        return Redeemed(code, now), [record]

    outcome, _seqs = outbox.write_with(work)
    return outcome
