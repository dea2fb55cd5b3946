"""CRM connector rounds: a chain's members pushed to HubSpot, then rounds with little to do.

    .venv/bin/python bench/crm_sync.py [--members 20000] [--changed 1000] [--sqlite]

On a fresh PostgreSQL database (or SQLite with --sqlite), `--members` members sign
up through HQ's ingest (batches of 500 events; half consent to marketing by email).
A HubSpot stand-in on loopback (tests/helpers/crm_server.py) answers every batch
upsert at once with one result per contact, and the search with nothing. Timed:

1. the first round: every member queued and sent, 100 a request;
2. a round with nothing new (the rescan of the last ids, nothing sent);
3. a round after `--changed` members withdrew marketing at a kiosk.

HQ's tables are ANALYZEd after seeding, as autovacuum would have done on a
running HQ long before a connector is set up.

Printed: each round's seconds, customers a second, the requests it made, and the
per-request time HQ spent around each upsert (building the batch, the round trip
on loopback, recording the outcome): median and p99.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from harness import CACHE, percentile  # noqa: E402
from helpers.crm_server import Answer, CrmServer, Received, recorded  # noqa: E402
from helpers.hq import consent_payload, event_json, fresh_postgres_database, signup_payload  # noqa: E402

from hq import ingest  # noqa: E402
from hq.analytics.crm.hubspot import HubSpot, HubSpotConfig, pace, retryable  # noqa: E402
from hq.analytics.crm.sync import run_round  # noqa: E402
from hq.analytics.crm.transport import Transport  # noqa: E402
from hq.db import Database  # noqa: E402
from hq.enrollment import KioskIdentity, issue_code, redeem_code  # noqa: E402
from hq.fleet import add_store  # noqa: E402
from hq.migrations import migrate  # noqa: E402
from hq.settings import sqlite_url  # noqa: E402
from hq.wire import EventBatch  # noqa: E402

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
BATCH = 500


class Seeder:
    def __init__(self, database: Database) -> None:
        self.database = database
        add_store(database, "bench-store", None, now=NOW, exist_ok=True)
        enrolled = redeem_code(
            database, issue_code(database, "bench-store", now=NOW), None, now=NOW
        )
        self.kiosk = KioskIdentity(enrolled.kiosk_id, enrolled.store_id)
        self.seq = 0
        self.clock = NOW - timedelta(days=30)

    def send(self, events: list[tuple[str, dict[str, Any]]]) -> None:
        for start in range(0, len(events), BATCH):
            batch = []
            for kind, payload in events[start : start + BATCH]:
                self.seq += 1
                self.clock += timedelta(milliseconds=50)
                batch.append(
                    event_json(
                        self.kiosk.store_id,
                        self.kiosk.kiosk_id,
                        self.seq,
                        kind,
                        payload,
                        occurred_at=self.clock.isoformat(),
                    )
                )
            plan = ingest.decide(self.kiosk, EventBatch.model_validate({"events": batch}))
            assert isinstance(plan, ingest.Plan)
            ingest.store(self.database, self.kiosk, plan, received_at=NOW)


TEMPLATE = recorded("hubspot", "batch_upsert_ok", customer_id="", contact_id="").body


def upserts(request: Received) -> Answer:
    """HubSpot's recorded answer, one result per contact (cheap: it runs in this process)."""
    result = TEMPLATE["results"][0]
    results = [
        {**result, "id": str(index), "properties": {"kiosk_customer_id": item["id"]}}
        for index, item in enumerate(request.json_inputs)
    ]
    return Answer(200, {}, {**TEMPLATE, "results": results})


class TimedSession:
    """Times every request the connector makes (HQ's side: build, send, read)."""

    def __init__(self, transport: Transport) -> None:
        self.times: list[float] = []
        inner = transport.session.request

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.times.append((time.perf_counter() - started) * 1000)

        transport.session.request = timed  # type: ignore[method-assign]


@contextlib.contextmanager
def database_url(use_sqlite: bool) -> Iterator[str]:
    if use_sqlite:
        path = CACHE / "crm" / f"hq-{uuid.uuid4().hex[:8]}.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            yield sqlite_url(path)
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        with fresh_postgres_database() as url:
            yield url


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--changed", type=int, default=1_000)
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    args = parser.parse_args()
    with database_url(args.sqlite) as url, CrmServer() as crm:
        migrate(url)
        database = Database(url)
        seeder = Seeder(database)
        members = [str(uuid.uuid4()) for _ in range(args.members)]
        events: list[tuple[str, dict[str, Any]]] = []
        for n, member in enumerate(members):
            phone = f"139{n:08d}"
            events.append(
                ("member_signup", signup_payload(member, phone, email=f"m{n}@example.com"))
            )
            events.append(("consent", consent_payload(member, "membership", given=True)))
            if n % 2 == 0:
                events.append(
                    ("consent", consent_payload(member, "marketing", given=True, channel="email"))
                )
        started = time.perf_counter()
        seeder.send(events)
        seeded = time.perf_counter() - started
        if not args.sqlite:  # as autovacuum would have by the time a connector is set up
            with database.write() as connection:
                connection.exec_driver_sql("ANALYZE")
        print(f"seeded {args.members:,} members ({len(events):,} events) in {seeded:.1f} s")
        crm.script("POST", "/crm/v3/objects/contacts/search", recorded("hubspot", "search_none"))
        crm.script("POST", "/crm/v3/objects/contacts/batch/upsert", upserts)

        def one_round(title: str, expected: int) -> None:
            transport = Transport("hubspot", retryable=retryable, pace=pace, sleep=lambda _s: None)
            timed = TimedSession(transport)
            config = HubSpotConfig(token="bench", base_url=crm.url)  # noqa: S106
            connector = HubSpot(config, transport)
            crm.forget()
            began = time.perf_counter()
            report = run_round(database, connector, clock=lambda: datetime.now(UTC), holder="bench")
            took = time.perf_counter() - began
            assert report.error is None, report.error
            assert report.customers_sent == expected, (report.customers_sent, expected)
            upsert_ms = timed.times[1:]  # the first is the search
            line = (
                f"{title}: {took:.2f} s, {report.customers_sent:,} customers sent "
                f"({report.customers_sent / took:,.0f}/s), {len(crm.received)} requests"
            )
            if upsert_ms:
                line += (
                    f"; per upsert request median {statistics.median(upsert_ms):.1f} ms, "
                    f"p99 {percentile(upsert_ms, 99):.1f} ms"
                )
            print(line)

        one_round("first round (everyone)", args.members)
        one_round("round with nothing new", 0)
        changed = [
            ("consent", consent_payload(m, "marketing", given=False, channel="email"))
            for m in members[: args.changed * 2 : 2]
        ]
        seeder.send(changed)
        one_round(f"round after {len(changed):,} withdrawals", len(changed))
        database.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
