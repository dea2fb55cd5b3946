"""How a kiosk joins HQ: a one-time enrolment code traded for its own token.

Codes are 12 characters of Crockford base32 (60 bits), shown as XXXX-XXXX-XXXX
for staff to type at the kiosk; dashes, spaces and case do not matter, and the
letters Crockford reads as digits (I, L: 1; O: 0) are read as those digits.
A code is valid for 24 hours unless issued otherwise and works once.

Tokens are `secrets.token_urlsafe(32)` (256 bits). HQ stores only the SHA-256 of
each code and token: a copy of the database lets nobody enrol or send events.
A plain hash (no salt, no slow KDF) is enough for random secrets this long.

Enrolment also gives the kiosk its number inside coupon codes and its coupon key
(`hq.crm.coupons`): HQ can derive the key again at any time, so it keeps neither
the key nor a hash of it.

A code is issued for a role. "kiosk" makes a kiosk (`<store>-k<n>`); "attendant"
makes a store staff device (`<store>-a<n>`, a `kiosks` row of that role): it takes
no kiosk number and no budget seat (it issues no coupons), and gets the store's
coupon key instead, to check any code of its store's kiosks at the till.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final, Literal, get_args

from sqlalchemy import Connection, bindparam, insert, select, update

from hq.channel_keys import ChannelKeys, store_keys
from hq.crm import coupon_codes, coupons
from hq.db import Database, enrolment_codes, kiosks, stores
from hq.errors import HqError, StoreFull, UnknownKiosk, UnknownStore

_log = logging.getLogger("hq.enrollment")

CODE_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
CODE_LENGTH: Final = 12
CODE_GROUP: Final = 4
DEFAULT_CODE_VALIDITY: Final = timedelta(hours=24)
# Long enough to carry a code from the office to the store the next morning;
# short enough that a code left on a note soon stops working.

_CROCKFORD_ALIASES: Final = str.maketrans({"I": "1", "L": "1", "O": "0"})

Role = Literal["kiosk", "attendant"]
ROLES: Final[tuple[Role, ...]] = get_args(Role)


class EnrolmentRefused(HqError):
    """The code is unknown, already used or expired (the kiosk is not told which)."""

    def __init__(self) -> None:
        super().__init__("enrolment code is unknown, already used or expired")


@dataclass(frozen=True, slots=True)
class KioskIdentity:
    """Who a valid token belongs to."""

    kiosk_id: str  # the device's id: a kiosk's or an attendant device's
    store_id: str
    role: Role = "kiosk"


@dataclass(frozen=True, slots=True)
class Enrolment:
    store_id: str
    kiosk_id: str
    token: str = field(repr=False)
    kiosk_no: int | None  # None for an attendant device
    coupon_key: bytes | None = field(repr=False)  # the kiosk's; None for an attendant
    channel_keys: ChannelKeys = field(repr=False)
    budget_seat: int = 0  # its seat among the store's, for its part of the budgets
    budget_seats: int = 1
    role: Role = "kiosk"
    store_coupon_key: bytes | None = field(default=None, repr=False)  # an attendant's


def sha256_hex(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_code() -> str:
    """A fresh code in its display form, XXXX-XXXX-XXXX."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + CODE_GROUP] for i in range(0, CODE_LENGTH, CODE_GROUP))


def canonical_code(typed: str) -> str | None:
    """The 12 code characters in `typed`, upper case; None if it cannot be a code."""
    compact = "".join(typed.split()).replace("-", "").upper().translate(_CROCKFORD_ALIASES)
    if len(compact) != CODE_LENGTH or any(char not in CODE_ALPHABET for char in compact):
        return None
    return compact


def issue_code(
    database: Database,
    store_id: str,
    *,
    now: datetime,
    valid_for: timedelta = DEFAULT_CODE_VALIDITY,
    role: Role = "kiosk",
) -> str:
    """A new enrolment code for a `role` device of `store_id` (display form);
    UnknownStore if there is none."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    code = new_code()
    canonical = canonical_code(code)
    assert canonical is not None
    with database.write() as connection:
        if (
            connection.execute(
                select(stores.c.store_id).where(stores.c.store_id == store_id)
            ).first()
            is None
        ):
            raise UnknownStore(store_id)
        if role == "kiosk":
            _free_seat(connection, store_id)  # a code for a full store would only be refused
        connection.execute(
            insert(enrolment_codes).values(
                code_sha256=sha256_hex(canonical),
                store_id=store_id,
                issued_at=now,
                expires_at=now + valid_for,
                role=role,
            )
        )
    _log.info(
        "enrolment code for a %s of store %s issued, valid until %s",
        role,
        store_id,
        now + valid_for,
    )
    return code


def redeem_code(
    database: Database, typed_code: str, name: str | None, *, now: datetime
) -> Enrolment:
    """Use up the code: a new kiosk (or attendant device) in the code's store, with a
    fresh token."""
    canonical = canonical_code(typed_code)
    if canonical is None:
        raise EnrolmentRefused()
    token = secrets.token_urlsafe(32)
    with database.write() as connection:
        # One UPDATE decides: two kiosks racing with one code cannot both win it.
        claimed = connection.execute(
            update(enrolment_codes)
            .where(
                enrolment_codes.c.code_sha256 == sha256_hex(canonical),
                enrolment_codes.c.used_at.is_(None),
                enrolment_codes.c.expires_at > now,
            )
            .values(used_at=now)
            .returning(enrolment_codes.c.store_id, enrolment_codes.c.role)
        ).one_or_none()
        if claimed is None:
            raise EnrolmentRefused()
        store_id: str = claimed.store_id
        if claimed.role == "attendant":
            enrolment = _enrol_attendant(
                database,
                connection,
                store_id,
                code_sha256=sha256_hex(canonical),
                token=token,
                name=name,
                now=now,
            )
            _log.info("attendant device %s enrolled in store %s", enrolment.kiosk_id, store_id)
            return enrolment
        number = connection.execute(
            update(stores)
            .where(stores.c.store_id == store_id)
            .values(kiosks_enrolled=stores.c.kiosks_enrolled + 1)
            .returning(stores.c.kiosks_enrolled)
        ).scalar_one()
        kiosk_id = f"{store_id}-k{number}"
        seat, seats = _free_seat(connection, store_id)
        # Last of the locks: the coupon state row serialises enrolments chain-wide.
        kiosk_no, secret = coupons.next_kiosk_no(database, connection)
        channel_keys = store_keys(connection, secret, store_id)
        _add_device(
            connection,
            kiosk_id,
            store_id,
            code_sha256=sha256_hex(canonical),
            token=token,
            name=name,
            now=now,
            kiosk_no=kiosk_no,
            budget_seat=seat,
        )
    _log.info("kiosk %s enrolled in store %s as kiosk number %d", kiosk_id, store_id, kiosk_no)
    return Enrolment(
        store_id=store_id,
        kiosk_id=kiosk_id,
        token=token,
        kiosk_no=kiosk_no,
        coupon_key=coupons.kiosk_key(secret, store_id, kiosk_no),
        channel_keys=channel_keys,
        budget_seat=0 if seat is None else seat,
        budget_seats=seats,
    )


def _enrol_attendant(
    database: Database,
    connection: Connection,
    store_id: str,
    *,
    code_sha256: str,
    token: str,
    name: str | None,
    now: datetime,
) -> Enrolment:
    number = connection.execute(
        update(stores)
        .where(stores.c.store_id == store_id)
        .values(attendants_enrolled=stores.c.attendants_enrolled + 1)
        .returning(stores.c.attendants_enrolled)
    ).scalar_one()
    device_id = f"{store_id}-a{number}"
    secret = coupons.chain_secret(database, connection)
    channel_keys = store_keys(connection, secret, store_id)
    _add_device(
        connection,
        device_id,
        store_id,
        code_sha256=code_sha256,
        token=token,
        name=name,
        now=now,
        role="attendant",
    )
    return Enrolment(
        store_id=store_id,
        kiosk_id=device_id,
        token=token,
        kiosk_no=None,
        coupon_key=None,
        channel_keys=channel_keys,
        role="attendant",
        store_coupon_key=coupon_codes.store_key(secret, store_id),
    )


def _add_device(
    connection: Connection,
    device_id: str,
    store_id: str,
    *,
    code_sha256: str,
    token: str,
    name: str | None,
    now: datetime,
    **role_columns: object,
) -> None:
    """The device's row (kiosk or attendant: `role_columns` tell them apart) and its
    code marked as used by it."""
    connection.execute(
        insert(kiosks).values(
            kiosk_id=device_id,
            store_id=store_id,
            name=name,
            token_sha256=sha256_hex(token),
            enrolled_at=now,
            contiguous_seq=0,
            highest_seq=0,
            **role_columns,
        )
    )
    connection.execute(
        update(enrolment_codes)
        .where(enrolment_codes.c.code_sha256 == code_sha256)
        .values(kiosk_id=device_id)
    )


def _free_seat(connection: Connection, store_id: str) -> tuple[int | None, int]:
    """The lowest seat no active kiosk of the store holds, and the store's seat count;
    (None, 1) for a store whose seats were never set (each kiosk: the whole budget).

    Called after the store's row is updated in this transaction, so that row's lock
    orders concurrent enrolments into one store: two cannot take the same seat."""
    seats: int | None = connection.execute(
        select(stores.c.kiosk_seats).where(stores.c.store_id == store_id)
    ).scalar_one()
    if seats is None:
        return None, 1
    held = set(
        connection.execute(
            select(kiosks.c.budget_seat).where(
                kiosks.c.store_id == store_id,
                kiosks.c.revoked_at.is_(None),
                kiosks.c.budget_seat.is_not(None),
            )
        ).scalars()
    )
    free = next((seat for seat in range(seats) if seat not in held), None)
    if free is None:
        raise StoreFull(store_id, seats)  # rolls the whole enrolment back: the code stays usable
    return free, seats


def authenticate(database: Database, token: str | None) -> KioskIdentity | None:
    """The kiosk a token belongs to; None if it is missing, unknown or revoked."""
    if not token:
        return None
    with database.read() as connection:
        return authenticate_on(connection, token)


# Built once: every kiosk request runs it (building a statement and its cache key
# costs more CPU than PostgreSQL spends answering it).
_TOKEN_OWNER: Final = select(kiosks.c.kiosk_id, kiosks.c.store_id, kiosks.c.role).where(
    kiosks.c.token_sha256 == bindparam("token_sha256"), kiosks.c.revoked_at.is_(None)
)


def authenticate_on(connection: Connection, token: str | None) -> KioskIdentity | None:
    """`authenticate` on a connection the caller holds (one checkout per request)."""
    if not token:
        return None
    row = connection.execute(_TOKEN_OWNER, {"token_sha256": sha256_hex(token)}).one_or_none()
    if row is None:
        return None
    role: Role = "attendant" if row.role == "attendant" else "kiosk"
    return KioskIdentity(kiosk_id=row.kiosk_id, store_id=row.store_id, role=role)


def revoke(database: Database, kiosk_id: str, *, now: datetime) -> datetime:
    """Stop the kiosk's token from working; when it was revoked (kept if it already was)."""
    with database.write() as connection:
        row = connection.execute(
            select(kiosks.c.revoked_at).where(kiosks.c.kiosk_id == kiosk_id)
        ).one_or_none()
        if row is None:
            raise UnknownKiosk(kiosk_id)
        if row.revoked_at is not None:
            revoked_at: datetime = row.revoked_at
            return revoked_at
        connection.execute(
            update(kiosks)
            .where(kiosks.c.kiosk_id == kiosk_id)
            .values(revoked_at=now, budget_seat=None)  # its replacement takes the seat
        )
    _log.warning("kiosk %s revoked: its token no longer works", kiosk_id)
    return now
