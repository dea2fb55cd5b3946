"""The chain's stores and their kiosks, as HQ staff manage them."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import select

from hq.db import Database, kiosks, stores
from hq.errors import InvalidStoreId, StoreExists

_log = logging.getLogger("hq.fleet")

STORE_ID: Final = re.compile(r"^[a-z0-9-]{2,40}$")
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


def check_store_id(store_id: str) -> str:
    if not STORE_ID.fullmatch(store_id):
        raise InvalidStoreId(store_id)
    return store_id


def add_store(
    database: Database, store_id: str, name: str | None, *, now: datetime, exist_ok: bool = False
) -> bool:
    """Add a store; False if it was there already and `exist_ok` (else StoreExists)."""
    check_store_id(store_id)
    with database.write() as connection:
        statement = (
            database.insert(stores)
            .values(store_id=store_id, name=name, created_at=now, kiosks_enrolled=0)
            .on_conflict_do_nothing()
            .returning(stores.c.store_id)
        )
        added = connection.execute(statement).first() is not None
    if not added and not exist_ok:
        raise StoreExists(store_id)
    if added:
        _log.info("store %s added", store_id)
    return added


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
        )
        for row in rows
    ]
