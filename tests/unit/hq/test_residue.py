"""Clearing what removals leave in the database's files: SQLite's WAL, PostgreSQL's
dead tuples (a VACUUM at most once per interval)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from helpers.pickup import wait_until
from sqlalchemy import delete, func, select, text

from hq.crm.residue import Residue
from hq.db import Database, stores


def _add_and_remove_stores(database: Database, count: int) -> None:
    with database.write() as connection:
        connection.execute(
            stores.insert(),
            [
                {
                    "store_id": f"gone-{n}",
                    "name": "某某店",
                    "created_at": datetime(2026, 12, 6, tzinfo=UTC),
                    "kiosks_enrolled": 0,
                }
                for n in range(count)
            ],
        )
    with database.write() as connection:
        connection.execute(delete(stores).where(stores.c.store_id.like("gone-%")))


def _vacuum_count(database: Database, table: str) -> int:
    with database.read() as connection:
        found = connection.execute(
            text("SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = :table"),
            {"table": table},
        ).scalar_one()
    return int(found)


def test_after_a_removal_the_wal_is_empty_or_the_tables_are_vacuumed_once_per_interval(
    database: Database,
) -> None:
    clock = [1000.0]
    residue = Residue(database, interval=3600, clock=lambda: clock[0])
    _add_and_remove_stores(database, 200)
    if database.is_sqlite:
        assert database.url.database is not None
        wal = Path(database.url.database + "-wal")
        assert wal.stat().st_size > 0
        residue.removed(["stores"])
        assert wal.stat().st_size == 0
        residue.close()
        return

    before = _vacuum_count(database, "stores")  # the database may have served before
    residue.removed(["stores"])  # the first VACUUM runs at once
    wait_until(lambda: _vacuum_count(database, "stores") == before + 1, what="the first VACUUM")
    _add_and_remove_stores(database, 200)
    residue.removed(["stores"])  # within the interval: waits for it, or for close()
    assert _vacuum_count(database, "stores") == before + 1
    residue.close()
    assert _vacuum_count(database, "stores") == before + 2
    with database.read() as connection:
        assert connection.execute(select(func.count()).select_from(stores)).scalar_one() == 0
