"""Fleet health at HQ for a large chain: a heartbeat stored, the alert sweep, the fleet read.

    .venv/bin/python bench/fleet_health.py [--database sqlite|postgresql] [--kiosks 5000]
                                           [--runs 20] [--sweepers 4]

Builds a chain in a fresh database (PostgreSQL from KIOSK_TEST_POSTGRES_URL, as the
tests do): 100 stores and their kiosks. Then:
- every kiosk's heartbeat stored as `POST /v1/heartbeat` stores it (last heartbeat,
  history, the kiosk's alerts): median and p99 of one transaction, and heartbeats a
  second on one thread (a chain of N kiosks sends N/60 a second);
- a tenth of the kiosks falls silent: the sweep that raises their alerts, then steady
  sweeps (nothing to change) `--runs` times, one after another and `--sweepers` at once
  (every HQ worker sweeps every 30 s);
- the console's read of the whole fleet (states worked out from each heartbeat).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from hq import fleet
from hq.db import Database, kiosks
from hq.enrollment import KioskIdentity
from hq.fleet_health.store import read_fleet_health, record_heartbeat, sweep
from hq.fleet_health.wire import Heartbeat
from hq.migrations import migrate
from hq.settings import sqlite_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from helpers.hq import fresh_postgres_database

STORES = 100
T0 = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
BEAT = Heartbeat.model_validate(
    {
        "app_version": "0.1.0",
        "content_release": "hq-12",
        "devices": [
            {"name": "pickup", "state": "up", "detail": "open"},
            {"name": "rfid", "state": "up", "detail": "open"},
            {"name": "ble", "state": "up", "detail": "active on hci0"},
        ],
        "outbox": {"backlog": 3, "dead_letters": 0, "state": "idle"},
        "disk": {"free_bytes": 20 << 30, "total_bytes": 58 << 30},
        "uptime_s": 86_400,
        "screen": "on",
    }
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--kiosks", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--sweepers", type=int, default=4)
    args = parser.parse_args()
    with database_url(args.database) as url:
        migrate(url)
        database = Database(url)
        try:
            run(database, args)
        finally:
            database.dispose()


@contextmanager
def database_url(backend: str) -> Iterator[str]:
    if backend == "postgresql":
        with fresh_postgres_database() as url:
            yield url
        return
    with tempfile.TemporaryDirectory() as tmp:
        yield sqlite_url(Path(tmp) / "hq.sqlite3")


def run(database: Database, args: argparse.Namespace) -> None:
    identities = chain(database, args.kiosks)
    print(f"{args.database}, {len(identities)} kiosks in {STORES} stores")
    times = timed_each(
        [lambda k=k: record_heartbeat(database, k, BEAT, now=T0) for k in identities]
    )
    report("heartbeat stored (first, with history)", times)
    later = T0 + timedelta(seconds=60)
    speaking = identities[: len(identities) * 9 // 10]
    times = timed_each(
        [lambda k=k: record_heartbeat(database, k, BEAT, now=later) for k in speaking]
    )
    report("heartbeat stored (steady)", times)
    print(f"  {1000 / statistics.median(times):.0f} heartbeats/s on one thread")

    now = T0 + timedelta(seconds=200)
    started = time.perf_counter()
    first = sweep(database, now=now)
    print(f"first sweep: {first.raised} raised in {(time.perf_counter() - started) * 1000:.0f} ms")
    report("steady sweep", timed_each([lambda: sweep(database, now=now)] * args.runs))
    report(
        f"{args.sweepers} sweeps at once (each)",
        concurrently(lambda: sweep(database, now=now), args.sweepers, args.runs),
    )

    def read() -> None:
        with database.snapshot() as connection:
            read_fleet_health(connection, now)

    report("the fleet read for the console", timed_each([read] * args.runs))


def chain(database: Database, count: int) -> list[KioskIdentity]:
    identities = []
    for n in range(STORES):
        fleet.add_store(database, f"store-{n:03d}", f"Store {n}", now=T0)
    with database.write() as connection:
        for n in range(count):
            store = f"store-{n % STORES:03d}"
            kiosk_id = f"{store}-k{n // STORES + 1}"
            connection.execute(
                insert(kiosks).values(
                    kiosk_id=kiosk_id,
                    store_id=store,
                    token_sha256=uuid.uuid4().hex * 2,
                    enrolled_at=T0,
                    contiguous_seq=0,
                    highest_seq=0,
                )
            )
            identities.append(KioskIdentity(kiosk_id, store))
    return identities


def timed_each(calls: list[Callable[[], object]]) -> list[float]:
    times = []
    for call in calls:
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def concurrently(call: Callable[[], object], workers: int, runs: int) -> list[float]:
    times: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(workers)

    def worker() -> None:
        for _ in range(runs):
            start.wait()
            began = time.perf_counter()
            call()
            with lock:
                times.append((time.perf_counter() - began) * 1000)

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return times


def report(what: str, times: list[float]) -> None:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(
        f"{what}: median {statistics.median(ordered):.1f} ms, p99 {p99:.1f} ms,"
        f" max {ordered[-1]:.1f} ms ({len(ordered)} runs)"
    )


if __name__ == "__main__":
    main()
