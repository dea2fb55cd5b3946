"""Drain: 100,000 queued events from one kiosk's outbox to HQ on loopback.

    .venv/bin/python bench/sync_drain.py [--events 100000] [--database-url URL]

Fills a kiosk outbox (encrypted payloads, as in the field) while HQ is not
yet involved, then starts the real sync relay against a real `kiosk-hq serve`
and times it until the outbox is empty. Once with HQ on SQLite, once on a
fresh PostgreSQL database. Target: under 30 s each.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
import uuid
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from harness import CACHE, percentile  # noqa: E402
from helpers.events import records  # noqa: E402
from helpers.hq import fresh_postgres_database  # noqa: E402
from helpers.hq_process import HqProcess  # noqa: E402

from backend_client.client import HqClient, enroll  # noqa: E402
from backend_client.credentials import save_credentials  # noqa: E402
from backend_client.crypto import PayloadCipher  # noqa: E402
from backend_client.outbox import Outbox  # noqa: E402
from backend_client.sync import SyncRelay, SyncStatus  # noqa: E402


class TimedClient(HqClient):
    """The real client, timing each batch round trip."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.round_trips: list[float] = []

    def post_events(self, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return super().post_events(*args, **kwargs)
        finally:
            self.round_trips.append(time.perf_counter() - started)


def drain(label: str, database_url: str | None, count: int) -> None:
    work = CACHE / f"drain-{uuid.uuid4().hex[:8]}"
    hq = HqProcess(work / "hq", database_url)
    hq.start()
    try:
        data = work / "kiosk"
        data.mkdir(parents=True)
        credentials = enroll(hq.base_url, hq.enroll_code("bench-store"))
        save_credentials(data, credentials)
        cipher = PayloadCipher.from_key_file(data / "outbox.key")
        with Outbox(data / "outbox.sqlite3", cipher=cipher) as outbox:
            queued = records(count, seed=3)
            for start in range(0, count, 5000):
                outbox.append_many(queued[start : start + 5000])
        drained = threading.Event()

        def on_status(status: SyncStatus) -> None:
            if status.state == "idle" and status.pending == 0 and status.sent_total > 0:
                drained.set()

        client = TimedClient(credentials)
        relay = SyncRelay(
            data / "outbox.sqlite3", client, credentials, cipher=cipher, on_status=on_status
        )
        started = time.perf_counter()
        relay.start()
        finished = drained.wait(timeout=600)
        elapsed = time.perf_counter() - started
        relay.stop()
        if not finished:
            raise SystemExit(f"{label}: the outbox did not drain within 600 s")
        trips = [t * 1000 for t in client.round_trips]
        print(
            f"{label}: {count:,} events in {elapsed:.1f} s ({count / elapsed:,.0f} events/s); "
            f"{len(trips)} batches, round trip median {statistics.median(trips):.0f} ms, "
            f"p99 {percentile(trips, 99):.0f} ms"
        )
    finally:
        hq.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--database-url", help="PostgreSQL server to make a fresh database on")
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    backends: list[tuple[str, AbstractContextManager[str | None]]] = [
        ("HQ on SQLite", nullcontext(None)),
        ("HQ on PostgreSQL", fresh_postgres_database(args.database_url)),
    ]
    for label, database in backends:
        if args.only and args.only not in label.lower():
            continue
        with database as url:
            drain(label, url, args.events)
    return 0


if __name__ == "__main__":
    sys.exit(main())
