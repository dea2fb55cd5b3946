"""The chain's stores and their kiosks, as HQ staff manage them."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import func, select, update

from hq.db import Database, kiosks, stores
from hq.errors import InvalidStoreId, SeatsInUse, StoreExists, UnknownStore

_log = logging.getLogger("hq.fleet")

STORE_ID: Final = re.compile(r"^[a-z0-9-]{2,40}$")
MAX_KIOSK_SEATS: Final = 64  # far more touchscreens than a shop floor holds
# Store ids end up in kiosk ids, URLs and file names: a short lowercase slug is safe in all.


@dataclass(frozen=True, slots=True)
class KioskInfo:
    kiosk_id: str
    store_id: str
    name: str | None
    enrolled_at: datetime
    revoked_at: datetime | None
    last_seen_at: datetime | None
    contiguous_seq: int
    role: str = "kiosk"  # or "attendant": a store staff device


def check_store_id(store_id: str) -> str:
    if not STORE_ID.fullmatch(store_id):
        raise InvalidStoreId(store_id)
    return store_id


def add_store(
    database: Database,
    store_id: str,
    name: str | None,
    *,
    now: datetime,
    exist_ok: bool = False,
    kiosk_seats: int | None = None,
) -> bool:
    """Add a store; False if it was there already and `exist_ok` (else StoreExists).

    `kiosk_seats`: how many kiosks share its daily coupon budgets and prize caps
    (enrolment refuses one more); None: each kiosk keeps to the whole of them."""
    check_store_id(store_id)
    if kiosk_seats is not None:
        _check_seats(kiosk_seats)
    with database.write() as connection:
        statement = (
            database.insert(stores)
            .values(
                store_id=store_id,
                name=name,
                created_at=now,
                kiosks_enrolled=0,
                kiosk_seats=kiosk_seats,
            )
            .on_conflict_do_nothing()
            .returning(stores.c.store_id)
        )
        added = connection.execute(statement).first() is not None
    if not added and not exist_ok:
        raise StoreExists(store_id)
    if added:
        _log.info("store %s added", store_id)
    return added


def set_kiosk_seats(database: Database, store_id: str, kiosk_seats: int) -> None:
    """Change how many kiosks share the store's budgets: only while none holds a seat,
    since each keeps to the part it was given at enrolment (SeatsInUse otherwise)."""
    _check_seats(kiosk_seats)
    with database.write() as connection:
        changed = connection.execute(
            update(stores).where(stores.c.store_id == store_id).values(kiosk_seats=kiosk_seats)
        ).rowcount
        if not changed:
            raise UnknownStore(store_id)
        held = connection.execute(
            select(func.count())
            .select_from(kiosks)
            .where(kiosks.c.store_id == store_id, kiosks.c.budget_seat.is_not(None))
        ).scalar_one()
        if held:
            raise SeatsInUse(store_id)  # rolls the change back
    _log.info("store %s now has %d kiosk seat(s)", store_id, kiosk_seats)


def _check_seats(kiosk_seats: int) -> None:
    if not 1 <= kiosk_seats <= MAX_KIOSK_SEATS:
        raise ValueError(f"kiosk seats must be from 1 to {MAX_KIOSK_SEATS}")


def list_kiosks(database: Database) -> list[KioskInfo]:
    with database.read() as connection:
        rows = connection.execute(
            select(
                kiosks.c.kiosk_id,
                kiosks.c.store_id,
                kiosks.c.name,
                kiosks.c.enrolled_at,
                kiosks.c.revoked_at,
                kiosks.c.last_seen_at,
                kiosks.c.contiguous_seq,
                kiosks.c.role,
            ).order_by(kiosks.c.store_id, kiosks.c.enrolled_at, kiosks.c.kiosk_id)
        ).all()
    return [
        KioskInfo(
            kiosk_id=row.kiosk_id,
            store_id=row.store_id,
            name=row.name,
            enrolled_at=row.enrolled_at,
            revoked_at=row.revoked_at,
            last_seen_at=row.last_seen_at,
            contiguous_seq=int(row.contiguous_seq),
            role=row.role,
        )
        for row in rows
    ]
