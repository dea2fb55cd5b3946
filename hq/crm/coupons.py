"""Coupons at HQ: the chain's coupon secret and kiosk numbers, checking and redeeming
codes once across the chain, and the coupon events kiosks report.

- Keys: the chain's coupon secret (32 random bytes) is made on first use and kept
  in `coupon_state`, as the tag key is kept in `recognition_state`: every HQ
  process on one database shares it, backups keep it. Each kiosk gets a number at
  enrolment (`next_kiosk_no`) and its kiosk key, derived from the secret, its
  store and its number (`hq.crm.coupon_codes`).
- `verify` and `redeem` check a typed code: its form, its kiosk, its MAC, the
  kiosk's revocation and its expiry. A code is redeemed once: `redeem` claims it
  by inserting its row in `redeemed_coupons`, whose primary key lets exactly one
  of two racing redemptions in, whatever the database.
- Stores that redeem offline report it later (`coupon_redeemed` events). Those
  are facts, always kept: a code that ends up with two or more redemptions is a
  double redemption, logged once as a warning (kiosk number, serial, stores; no
  personal data) and listed by `doubles`.
- At ingest, codes in `coupon_issued` events must verify under the sending
  kiosk's key and carry its number, and codes in `coupon_redeemed` events under
  the key of the kiosk they name (`refused_reports`); else the event is rejected.

Revocation: a revoked kiosk's key may be in the wrong hands, so HQ honours a code
of a revoked kiosk only if it received the code's `coupon_issued` event before
the revocation. Reported redemptions of such codes are still kept (a store did
redeem them) and show in `verify`.
"""

from __future__ import annotations

import logging
import secrets
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final, Literal

from sqlalchemy import Connection, func, select

from hq.crm import coupon_codes
from hq.crm.coupon_codes import CodeRefused, CouponCode
from hq.crm.facts import CouponFact, CouponIssued, CouponRedemptionReported, OfferTextRequested
from hq.db import (
    REDEEMED_BY_LENGTH,
    AnyInsert,
    Database,
    coupon_redemptions,
    coupon_state,
    coupons_issued,
    kiosks,
    redeemed_coupons,
    stores,
)
from hq.errors import HqError, UnknownStore

_log = logging.getLogger("hq.coupons")

_STATE_ID: Final = 1
DOUBLE: Final = 2  # redemptions of one code that make it a double redemption

Reason = Literal["malformed", "forged", "expired", "unknown_kiosk", "revoked"]
Source = Literal["hq", "store"]


class NoKioskNumbers(HqError):
    def __init__(self) -> None:
        super().__init__(
            "every kiosk number coupon codes can hold is taken: no more kiosks can enrol"
        )


# ---------------------------------------------------------------- secret and numbers


def _secret(database: Database, connection: Connection, *, lock: bool = False) -> bytes:
    """The chain's coupon secret, made (in the caller's transaction) on first use."""
    statement = select(coupon_state.c.secret).where(coupon_state.c.id == _STATE_ID)
    if lock:
        statement = statement.with_for_update()
    found = connection.execute(statement).scalar_one_or_none()
    if found is None:
        connection.execute(
            database.insert(coupon_state)
            .values(
                id=_STATE_ID,
                secret=secrets.token_bytes(coupon_codes.SECRET_BYTES),
                created_at=datetime.now(UTC),
            )
            .on_conflict_do_nothing()
        )
        found = connection.execute(statement).scalar_one()
    return bytes(found)


def chain_secret(database: Database, connection: Connection) -> bytes:
    """The chain's coupon secret in the caller's transaction (made on first use)."""
    return _secret(database, connection)


def coupon_secret(database: Database) -> bytes:
    """The chain's coupon secret (made on first use). Only HQ ever holds it."""
    with database.read() as connection:
        found = connection.execute(
            select(coupon_state.c.secret).where(coupon_state.c.id == _STATE_ID)
        ).scalar_one_or_none()
    if found is not None:
        return bytes(found)
    with database.write() as connection:
        return _secret(database, connection)


def next_kiosk_no(database: Database, connection: Connection) -> tuple[int, bytes]:
    """The number for a kiosk enrolling now, and the secret, in the caller's transaction.

    Numbers are never reused: a code names its kiosk by number, so a new kiosk under
    an old number would make that kiosk's codes ambiguous. The secret's row is locked
    until commit, so two enrolments at once get two numbers.
    """
    secret = _secret(database, connection, lock=True)
    highest = connection.execute(select(func.max(kiosks.c.kiosk_no))).scalar_one_or_none()
    number = (highest or 0) + 1
    if number > coupon_codes.MAX_KIOSK_NO:
        raise NoKioskNumbers()
    return number, secret


def kiosk_key(secret: bytes, store_id: str, kiosk_no: int) -> bytes:
    """The kiosk's coupon key: what it issues codes with (given to it at enrolment)."""
    return coupon_codes.kiosk_key_from_secret(secret, store_id, kiosk_no)


@dataclass(frozen=True, slots=True)
class IssuingKiosk:
    kiosk_no: int
    kiosk_id: str
    store_id: str
    revoked_at: datetime | None


class _Keys:
    """Kiosk keys by number, read from `kiosks` once per number."""

    def __init__(self, connection: Connection, secret: bytes) -> None:
        self._connection = connection
        self._secret = secret
        self._kiosks: dict[int, IssuingKiosk | None] = {}

    def kiosk(self, kiosk_no: int) -> IssuingKiosk | None:
        if kiosk_no not in self._kiosks:
            row = self._connection.execute(
                select(kiosks.c.kiosk_id, kiosks.c.store_id, kiosks.c.revoked_at).where(
                    kiosks.c.kiosk_no == kiosk_no
                )
            ).one_or_none()
            self._kiosks[kiosk_no] = (
                None
                if row is None
                else IssuingKiosk(kiosk_no, row.kiosk_id, row.store_id, row.revoked_at)
            )
        return self._kiosks[kiosk_no]

    def key_for(self, kiosk_no: int) -> bytes | None:
        found = self.kiosk(kiosk_no)
        return None if found is None else kiosk_key(self._secret, found.store_id, kiosk_no)


# ---------------------------------------------------------------- outcomes


@dataclass(frozen=True, slots=True)
class Issue:
    """The code's `coupon_issued` event, as HQ received it."""

    campaign: str
    store_id: str
    kiosk_id: str
    issued_at: datetime
    received_at: datetime


@dataclass(frozen=True, slots=True)
class Redemption:
    store_id: str
    by: str
    redeemed_at: datetime
    source: Source  # "hq": redeemed through HQ; "store": reported by a store afterwards
    kiosk_id: str | None  # the reporting kiosk


@dataclass(frozen=True, slots=True)
class Verified:
    """A genuine code, not expired: what HQ knows of it."""

    code: CouponCode
    issue: Issue | None  # None: HQ never received its coupon_issued event
    redemptions: tuple[Redemption, ...]  # earliest first


@dataclass(frozen=True, slots=True)
class Redeemed:
    code: CouponCode
    store_id: str
    by: str
    redeemed_at: datetime
    issue: Issue | None


@dataclass(frozen=True, slots=True)
class AlreadyRedeemed:
    """The code was redeemed before: this redemption was refused."""

    code: CouponCode
    first: Redemption
    redemptions: int

    @property
    def message(self) -> str:
        first = self.first
        return (
            f"this coupon was already redeemed at store {first.store_id} on "
            f"{first.redeemed_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
            + (f" ({self.redemptions} redemptions recorded)" if self.redemptions > 1 else "")
            + ": do not accept it again"
        )


@dataclass(frozen=True, slots=True)
class Refused:
    reason: Reason
    message: str


@dataclass(frozen=True, slots=True)
class Double:
    """A code with two or more redemptions."""

    code: CouponCode
    issue: Issue | None
    redemptions: tuple[Redemption, ...]  # earliest first


_REVOKED: Final = (
    "this coupon code comes from a kiosk that was taken out of service, and HQ never "
    "received it from that kiosk: do not accept it"
)


# ---------------------------------------------------------------- checking and redeeming


def _check(
    connection: Connection, secret: bytes, code_text: str, *, today: date
) -> CouponCode | Refused:
    keys = _Keys(connection, secret)
    try:
        code = coupon_codes.verify(code_text, keys.key_for)
    except CodeRefused as refused:
        return Refused(refused.reason, str(refused))
    issuer = keys.kiosk(code.kiosk_no)
    assert issuer is not None  # verify() found its key
    if issuer.revoked_at is not None:
        issue = _issue(connection, code.text)
        if issue is None or issue.received_at >= issuer.revoked_at:
            return Refused("revoked", _REVOKED)
    if today > code.expires_on:
        return Refused("expired", f"this coupon code expired at the end of {code.expires_on}")
    return code


def verify(database: Database, code_text: str, *, today: date) -> Verified | Refused:
    """Whether the typed code would be honoured on `today` (the store's local date),
    and what HQ knows of it; nothing is written but the secret on its first use."""
    secret = coupon_secret(database)
    with database.snapshot() as connection:
        checked = _check(connection, secret, code_text, today=today)
        if isinstance(checked, Refused):
            return checked
        return Verified(
            checked, _issue(connection, checked.text), _redemptions(connection, checked.text)
        )


def redeem(
    database: Database,
    code_text: str,
    *,
    store_id: str,
    by: str,
    now: datetime,
    today: date | None = None,
) -> Redeemed | AlreadyRedeemed | Refused:
    """Redeem the typed code at `store_id`, once across the chain.

    `today` is the store's local date (expiry is decided by it); `now.date()` when
    not given. UnknownStore for a store HQ does not know.
    """
    if not 1 <= len(by) <= REDEEMED_BY_LENGTH:
        raise ValueError(f"by must be 1 to {REDEEMED_BY_LENGTH} characters")
    today = now.date() if today is None else today
    with database.write() as connection:
        if (
            connection.execute(
                select(stores.c.store_id).where(stores.c.store_id == store_id)
            ).first()
            is None
        ):
            raise UnknownStore(store_id)
        checked = _check(connection, _secret(database, connection), code_text, today=today)
        if isinstance(checked, Refused):
            outcome: Redeemed | AlreadyRedeemed | Refused = checked
        else:
            outcome = _claim(database, connection, checked, store_id=store_id, by=by, now=now)
    match outcome:
        case Redeemed():
            _log.info(
                "coupon kiosk %d serial %d redeemed at store %s",
                outcome.code.kiosk_no,
                outcome.code.serial,
                store_id,
            )
        case AlreadyRedeemed():
            # Info, not a warning: HQ stopped it, and the till was told.
            _log.info(
                "coupon kiosk %d serial %d: a second redemption at store %s refused "
                "(first at store %s)",
                outcome.code.kiosk_no,
                outcome.code.serial,
                store_id,
                outcome.first.store_id,
            )
        case Refused():
            _log.info("a coupon code was refused at store %s: %s", store_id, outcome.reason)
    return outcome


def _claim(
    database: Database,
    connection: Connection,
    code: CouponCode,
    *,
    store_id: str,
    by: str,
    now: datetime,
) -> Redeemed | AlreadyRedeemed:
    # The primary key decides: of two redemptions at once, one inserts, the other
    # waits for it to commit and inserts nothing.
    claimed = connection.execute(
        database.insert(redeemed_coupons)
        .values(code=code.text, kiosk_no=code.kiosk_no, serial=code.serial, redemptions=1)
        .on_conflict_do_nothing()
        .returning(redeemed_coupons.c.code)
    ).first()
    if claimed is None:
        earlier = _redemptions(connection, code.text)
        return AlreadyRedeemed(code, earlier[0], len(earlier))
    connection.execute(
        coupon_redemptions.insert().values(
            _redemption_row(code, store_id=store_id, by=by, redeemed_at=now, recorded_at=now)
            | {"source": "hq", "kiosk_id": None, "event_id": None}
        )
    )
    return Redeemed(code, store_id, by, now, _issue(connection, code.text))


def _redemption_row(
    code: CouponCode, *, store_id: str, by: str, redeemed_at: datetime, recorded_at: datetime
) -> dict[str, Any]:
    return {
        "code": code.text,
        "kiosk_no": code.kiosk_no,
        "serial": code.serial,
        "campaign_no": code.campaign_no,
        "store_id": store_id,
        "redeemed_by": by,
        "redeemed_at": redeemed_at,
        "recorded_at": recorded_at,
    }


def _issue(connection: Connection, code: str) -> Issue | None:
    row = connection.execute(
        select(
            coupons_issued.c.campaign,
            coupons_issued.c.store_id,
            coupons_issued.c.kiosk_id,
            coupons_issued.c.issued_at,
            coupons_issued.c.received_at,
        ).where(coupons_issued.c.code == code)
    ).one_or_none()
    return None if row is None else Issue(*row)


def _redemptions(connection: Connection, code: str) -> tuple[Redemption, ...]:
    return tuple(_redemptions_of(connection, [code]).get(code, ()))


def _redemptions_of(connection: Connection, codes: Sequence[str]) -> dict[str, list[Redemption]]:
    found: dict[str, list[Redemption]] = defaultdict(list)
    for row in connection.execute(
        select(
            coupon_redemptions.c.code,
            coupon_redemptions.c.store_id,
            coupon_redemptions.c.redeemed_by,
            coupon_redemptions.c.redeemed_at,
            coupon_redemptions.c.source,
            coupon_redemptions.c.kiosk_id,
        )
        .where(coupon_redemptions.c.code.in_(sorted(codes)))
        .order_by(coupon_redemptions.c.redeemed_at, coupon_redemptions.c.id)
    ):
        found[row.code].append(
            Redemption(row.store_id, row.redeemed_by, row.redeemed_at, row.source, row.kiosk_id)
        )
    return found


def doubles(database: Database) -> list[Double]:
    """Codes redeemed two or more times, by kiosk number and serial."""
    with database.snapshot() as connection:
        codes = list(
            connection.execute(
                select(redeemed_coupons.c.code)
                .where(redeemed_coupons.c.redemptions >= DOUBLE)
                .order_by(redeemed_coupons.c.kiosk_no, redeemed_coupons.c.serial)
            ).scalars()
        )
        if not codes:
            return []
        redemptions = _redemptions_of(connection, codes)
        issues = {
            row.code: Issue(
                row.campaign, row.store_id, row.kiosk_id, row.issued_at, row.received_at
            )
            for row in connection.execute(
                select(coupons_issued).where(coupons_issued.c.code.in_(codes))
            )
        }
    return [
        Double(coupon_codes.decode(code), issues.get(code), tuple(redemptions[code]))
        for code in codes
    ]


# ---------------------------------------------------------------- kiosks' reports (ingest)


def refused_reports(
    database: Database,
    connection: Connection,
    sender_store_id: str,
    sender_kiosk_no: int | None,
    reports: Mapping[str, CouponFact],
) -> dict[str, str]:
    """The reports (by event id) whose codes HQ does not accept, each with a reason
    (naming the field and the rule, never the code).

    An issued code (and one a member asked to have texted: hq.sms) must carry the
    sending kiosk's number and verify under its key; a redeemed code must verify
    under the key of the kiosk it names. Expiry and revocation do not matter here:
    the report says what happened.
    """
    if not reports:
        return {}
    secret = _secret(database, connection)
    keys = _Keys(connection, secret)
    own = None if sender_kiosk_no is None else kiosk_key(secret, sender_store_id, sender_kiosk_no)
    refused: dict[str, str] = {}
    for event_id, report in reports.items():
        key_for: Callable[[int], bytes | None] = keys.key_for
        if isinstance(report, CouponIssued | OfferTextRequested):
            if own is None or report.kiosk_no != sender_kiosk_no:
                refused[event_id] = "payload.code: not a code of this kiosk's number"
                continue
            key_for = _only(report.kiosk_no, own)
        try:
            coupon_codes.verify(report.code, key_for)
        except CodeRefused as problem:
            refused[event_id] = f"payload.code: {_REPORT_REASONS[problem.reason]}"
    return refused


def _only(kiosk_no: int, key: bytes) -> Callable[[int], bytes | None]:
    return lambda number: key if number == kiosk_no else None


_REPORT_REASONS: Final[Mapping[str, str]] = {
    "malformed": "not a coupon code",
    "unknown_kiosk": "names a kiosk number HQ never gave out",
    "forged": "does not verify under its kiosk's coupon key",
    "expired": "expired",
}


CONFLICT: Final = "conflict"  # how the answer to a second reported redemption begins


def conflicts(
    connection: Connection, reported: Sequence[CouponRedemptionReported]
) -> dict[str, str]:
    """The reports (by event id) of codes HQ already holds a redemption of (or an
    earlier report in the same batch has), each with the answer to send back.

    Such a report is still kept (it says what a store did), but HQ's first record
    of the code stands: the answer names where and when that was, so the device
    that reported the second one can tell its staff. Call before projecting them.
    """
    if not reported:
        return {}
    first: dict[str, tuple[str, datetime]] = {}
    for row in connection.execute(
        select(
            coupon_redemptions.c.code,
            coupon_redemptions.c.store_id,
            coupon_redemptions.c.redeemed_at,
        )
        .where(coupon_redemptions.c.code.in_(sorted({fact.code for fact in reported})))
        .order_by(coupon_redemptions.c.id)
    ):
        first.setdefault(row.code, (row.store_id, row.redeemed_at))
    answers: dict[str, str] = {}
    for fact in reported:
        if fact.code not in first:
            first[fact.code] = (fact.origin.store_id, fact.redeemed_at)
            continue
        store_id, redeemed_at = first[fact.code]
        answers[fact.origin.event_id] = (
            f"{CONFLICT}: this coupon was first redeemed at store {store_id} on "
            f"{redeemed_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC; HQ keeps that "
            "redemption and recorded this one as a double redemption"
        )
    return answers


def project_issued(
    database: Database,
    connection: Connection,
    issued: Sequence[CouponIssued],
    *,
    received_at: datetime,
) -> None:
    """Issued codes into `coupons_issued`; a code reported twice keeps its first row."""
    rows = [
        {
            "code": fact.code,
            "kiosk_no": fact.kiosk_no,
            "serial": fact.serial,
            "campaign_no": fact.campaign_no,
            "campaign": fact.campaign,
            "expires_on": fact.expires_on,
            "reason": fact.reason,
            "member_id": fact.member_id,
            "session": fact.session,
            "store_id": fact.origin.store_id,
            "kiosk_id": fact.origin.kiosk_id,
            "event_id": fact.origin.event_id,
            "issued_at": fact.origin.occurred_at,
            "received_at": received_at,
            "offer": fact.offer,
        }
        for fact in issued
    ]
    database.insert_rows(
        connection,
        coupons_issued,
        rows,
        on_conflict=lambda insert: insert.on_conflict_do_nothing(),
    )


def project_reported(
    database: Database,
    connection: Connection,
    reported: Sequence[CouponRedemptionReported],
    *,
    received_at: datetime,
) -> list[str]:
    """Stores' redemptions into `coupon_redemptions`, each counted on its code; the
    codes that became (or stayed) double redemptions, which are logged."""
    database.insert_rows(
        connection,
        coupon_redemptions,
        [
            {
                "code": fact.code,
                "kiosk_no": fact.kiosk_no,
                "serial": fact.serial,
                "campaign_no": fact.campaign_no,
                "store_id": fact.origin.store_id,
                "redeemed_by": fact.by,
                "redeemed_at": fact.redeemed_at,
                "source": "store",
                "kiosk_id": fact.origin.kiosk_id,
                "event_id": fact.origin.event_id,
                "recorded_at": received_at,
            }
            for fact in reported
        ],
    )
    counts = Counter(fact.code for fact in reported)
    first = {fact.code: fact for fact in reversed(reported)}

    def count_on(insert: AnyInsert) -> AnyInsert:
        return insert.on_conflict_do_update(
            index_elements=[redeemed_coupons.c.code],
            set_={"redemptions": redeemed_coupons.c.redemptions + insert.excluded.redemptions},
        )

    totals = database.insert_rows(
        connection,
        redeemed_coupons,
        [
            # In code order: two batches counting the same codes lock them in one order.
            {
                "code": code,
                "kiosk_no": first[code].kiosk_no,
                "serial": first[code].serial,
                "redemptions": counts[code],
            }
            for code in sorted(counts)
        ],
        on_conflict=count_on,
        returning=[redeemed_coupons.c.code, redeemed_coupons.c.redemptions],
    )
    doubled = sorted(row.code for row in totals if row.redemptions >= DOUBLE)
    if doubled:
        _log_doubles(connection, doubled)
    return doubled


def _log_doubles(connection: Connection, codes: Iterable[str]) -> None:
    for code, found in sorted(_redemptions_of(connection, list(codes)).items()):
        fields = coupon_codes.decode(code)
        _log.warning(
            "double redemption: coupon kiosk %d serial %d redeemed %d times, at stores %s",
            fields.kiosk_no,
            fields.serial,
            len(found),
            ", ".join(redemption.store_id for redemption in found),
        )


# ---------------------------------------------------------------- answers as JSON


def code_json(code: CouponCode) -> dict[str, Any]:
    return {
        "code": code.text,
        "campaign_no": code.campaign_no,
        "kiosk_no": code.kiosk_no,
        "serial": code.serial,
        "expires_on": code.expires_on.isoformat(),
    }


def issue_json(issue: Issue | None) -> dict[str, Any] | None:
    if issue is None:
        return None
    return {
        "campaign": issue.campaign,
        "store_id": issue.store_id,
        "kiosk_id": issue.kiosk_id,
        "issued_at": issue.issued_at.isoformat(),
    }


def redemption_json(redemption: Redemption) -> dict[str, Any]:
    return {
        "store_id": redemption.store_id,
        "by": redemption.by,
        "redeemed_at": redemption.redeemed_at.isoformat(),
        "source": redemption.source,
        "kiosk_id": redemption.kiosk_id,
    }


def double_json(double: Double) -> dict[str, Any]:
    return {
        **code_json(double.code),
        "issued": issue_json(double.issue),
        "redemptions": [redemption_json(redemption) for redemption in double.redemptions],
    }
