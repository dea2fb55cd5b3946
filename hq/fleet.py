"""The chain's stores and their kiosks, as HQ staff manage them."""

from __future__ import annotations

import logging
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import Connection, delete, func, select, update

from hq import audit
from hq.content.targeting import StoreLabels, check_label
from hq.db import Database, kiosks, store_tags, stores
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
    region: str | None = None,
    tags: Collection[str] = (),
    by: str = "kiosk-hq",
) -> bool:
    """Add a store; False if it was there already and `exist_ok` (else StoreExists).

    `kiosk_seats`: how many kiosks share its daily coupon budgets and prize caps
    (enrolment refuses one more); None: each kiosk keeps to the whole of them.
    `region` and `tags` are for content targeting (a store found there already
    keeps its own)."""
    check_store_id(store_id)
    if kiosk_seats is not None:
        _check_seats(kiosk_seats)
    if region is not None:
        check_label("region", region)
    for tag in tags:
        check_label("tag", tag)
    with database.write() as connection:
        statement = (
            database.insert(stores)
            .values(
                store_id=store_id,
                name=name,
                created_at=now,
                kiosks_enrolled=0,
                kiosk_seats=kiosk_seats,
                region=region,
            )
            .on_conflict_do_nothing()
            .returning(stores.c.store_id)
        )
        added = connection.execute(statement).first() is not None
        if added and tags:
            connection.execute(
                store_tags.insert(), [{"store_id": store_id, "tag": tag} for tag in set(tags)]
            )
        if added and (region is not None or tags):
            audit.record(
                connection,
                by,
                "store.labels",
                store_id,
                {"region": region, "tags": sorted(set(tags))},
                at=now,
            )
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


def set_store_labels(
    database: Database,
    store_id: str,
    *,
    region: str | None = None,
    clear_region: bool = False,
    add_tags: Collection[str] = (),
    remove_tags: Collection[str] = (),
    by: str,
    now: datetime,
) -> StoreLabels:
    """Change a store's region and tags (content targeting); its labels afterwards."""
    if region is not None:
        check_label("region", region)
    for tag in (*add_tags, *remove_tags):
        check_label("tag", tag)
    with database.write() as connection:
        if region is not None or clear_region:
            changed = connection.execute(
                update(stores).where(stores.c.store_id == store_id).values(region=region)
            ).rowcount
        else:
            changed = connection.execute(
                select(func.count()).select_from(stores).where(stores.c.store_id == store_id)
            ).scalar_one()
        if not changed:
            raise UnknownStore(store_id)
        if remove_tags:
            connection.execute(
                delete(store_tags).where(
                    store_tags.c.store_id == store_id, store_tags.c.tag.in_(set(remove_tags))
                )
            )
        held = set(
            connection.execute(
                select(store_tags.c.tag).where(store_tags.c.store_id == store_id)
            ).scalars()
        )
        new = set(add_tags) - held
        if new:
            connection.execute(
                store_tags.insert(), [{"store_id": store_id, "tag": tag} for tag in sorted(new)]
            )
        labels = labels_of(connection, store_id)
        assert labels is not None
        audit.record(
            connection,
            by,
            "store.labels",
            store_id,
            {"region": labels.region, "tags": sorted(labels.tags)},
            at=now,
        )
    _log.info("store %s: region %s, tags %s", store_id, labels.region, sorted(labels.tags))
    return labels


def labels_of(connection: Connection, store_id: str) -> StoreLabels | None:
    """The store's region and tags; None if there is no such store."""
    region = connection.execute(
        select(stores.c.store_id, stores.c.region).where(stores.c.store_id == store_id)
    ).one_or_none()
    if region is None:
        return None
    tags = connection.execute(
        select(store_tags.c.tag).where(store_tags.c.store_id == store_id)
    ).scalars()
    return StoreLabels(store_id, region.region, frozenset(tags))


def all_labels(connection: Connection) -> dict[str, StoreLabels]:
    """Every store's region and tags, by store id."""
    tags: dict[str, set[str]] = {}
    for store_id, tag in connection.execute(select(store_tags.c.store_id, store_tags.c.tag)):
        tags.setdefault(store_id, set()).add(tag)
    return {
        row.store_id: StoreLabels(row.store_id, row.region, frozenset(tags.get(row.store_id, ())))
        for row in connection.execute(select(stores.c.store_id, stores.c.region))
    }
