"""The store map's costs: drawing the map, and the per-store metrics on PostgreSQL.

    .venv/bin/python bench/store_map.py [--stores 1000] [--days 30] [--lifts-a-day 40] [--runs 9]

1. `draw` (hq.analytics.store_map): projecting, colouring, fanning out and labelling
   `--stores` pins around 15 Chinese cities, and the page's SVG rendered by its
   Jinja template; median and p99 of `--runs`.
2. `per_store` (hq.analytics.store_metrics) for each metric over the whole range,
   on a fresh PostgreSQL database filled with `--stores` x `--days` x
   `--lifts-a-day` lift events (COPY), one sign-up per 25 lifts, one smiley per 7:
   median and p99 of `--runs`, straight from HQ's raw tables (no rollup).

Figures print as one line each. Needs the PostgreSQL of the tests (KIOSK_TEST_POSTGRES_URL).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from harness import percentile  # noqa: E402
from helpers.hq import fresh_postgres_database  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from hq.analytics.store_map import draw, load_outline  # noqa: E402
from hq.analytics.store_metrics import Metric, per_store  # noqa: E402
from hq.console.app import template_environment  # noqa: E402
from hq.db import Database, customers, events, member_ids, survey_answers  # noqa: E402
from hq.migrations import migrate  # noqa: E402
from hq.store_places import Place  # noqa: E402

END = datetime(2026, 12, 7, tzinfo=UTC)
CITIES = (
    (31.23, 121.47),
    (39.93, 116.45),
    (23.13, 113.33),
    (22.52, 113.94),
    (30.65, 104.08),
    (30.26, 120.16),
    (29.56, 106.58),
    (34.26, 108.95),
    (30.58, 114.28),
    (32.04, 118.78),
    (41.80, 123.40),
    (36.07, 120.38),
    (28.20, 112.97),
    (25.04, 102.71),
    (45.77, 126.62),
)


def timed(runs: int, work: Callable[[], object]) -> tuple[float, float]:
    took = []
    for _ in range(runs):
        began = time.perf_counter()
        work()
        took.append((time.perf_counter() - began) * 1000)
    return statistics.median(took), percentile(took, 99)


def bench_draw(stores: int, runs: int) -> None:
    rng = random.Random(7)
    places = []
    for n in range(stores):
        latitude, longitude = rng.choice(CITIES)
        places.append(
            Place(
                f"s{n:04}",
                f"门店{n:04}号",
                None,
                latitude + rng.gauss(0, 0.25),
                longitude + rng.gauss(0, 0.25),
            )
        )
    values = {place.store_id: rng.random() for place in places}
    began = time.perf_counter()
    load_outline()
    outline_ms = (time.perf_counter() - began) * 1000
    template = template_environment(UTC).get_template("_store_map.html")

    def page() -> str:
        picture = draw(places, values, Metric.CSAT, href=lambda s: f"/console/stores/{s}")
        return str(template.module.svg(picture, "bench", "CSAT"))  # type: ignore[attr-defined]

    size = len(page())
    median, p99 = timed(runs, page)
    print(
        f"draw + SVG, {stores} stores: median {median:.1f} ms, p99 {p99:.1f} ms, "
        f"{size / 1024:.0f} KB of SVG (outline loaded once: {outline_ms:.0f} ms)"
    )


def fill(database: Database, stores: int, days: int, lifts_a_day: int) -> int:
    rng = random.Random(3)
    start = END - timedelta(days=days)
    lifts, people, members, smileys = [], [], [], []
    seq = 0
    for store in range(stores):
        store_id = f"s{store:04}"
        for _ in range(days * lifts_a_day):
            seq += 1
            at = start + timedelta(seconds=rng.uniform(0, days * 86_400))
            lifts.append(
                (
                    str(uuid.uuid4()),
                    f"{store_id}-k1",
                    store_id,
                    seq,
                    "lift",
                    1,
                    at,
                    at,
                    {"session": f"v{seq // 3}", "slot": 1},
                )
            )
            if seq % 25 == 0:
                customer = str(uuid.uuid4())
                people.append((customer, f"+86138{seq:08d}", at, store_id))
                members.append((str(uuid.uuid4()), customer, store_id, f"{store_id}-k1", at))
            if seq % 7 == 0:
                score = rng.choice((1, 2, 3, 4, 4))
                kiosk_id = f"{store_id}-k1"
                low = score <= 2  # the sad faces
                smileys.append(
                    (str(uuid.uuid4()), store_id, kiosk_id, at, "s", "v", "q", "smiley", score, low)
                )
    with database.write() as connection:
        database.copy_rows(
            connection,
            events,
            (
                "event_id",
                "kiosk_id",
                "store_id",
                "seq",
                "kind",
                "schema_version",
                "occurred_at",
                "received_at",
                "payload",
            ),
            lifts,
        )
        database.copy_rows(
            connection,
            customers,
            ("customer_id", "phone_e164", "created_at", "first_store_id"),
            people,
        )
        database.copy_rows(
            connection,
            member_ids,
            ("member_id", "customer_id", "store_id", "kiosk_id", "signed_up_at"),
            members,
        )
        # COPY has no text form for booleans here (`low`): an INSERT, a smaller table.
        names = ("event_id", "store_id", "kiosk_id", "occurred_at", "session", "survey")
        names += ("question", "kind", "score", "low")
        connection.execute(
            insert(survey_answers), [dict(zip(names, row, strict=True)) for row in smileys]
        )
    with database.write() as connection:
        connection.exec_driver_sql("ANALYZE")
    return len(lifts)


def bench_metrics(stores: int, days: int, lifts_a_day: int, runs: int) -> None:
    with fresh_postgres_database() as url:
        migrate(url)
        database = Database(url)
        try:
            began = time.perf_counter()
            count = fill(database, stores, days, lifts_a_day)
            print(f"filled {count:,} lift events in {time.perf_counter() - began:.0f} s")
            chosen = [f"s{n:04}" for n in range(stores)]
            for metric in Metric:

                def ask(metric: Metric = metric) -> object:
                    with database.read() as connection:
                        return per_store(
                            connection, metric, END - timedelta(days=days), END, chosen
                        )

                median, p99 = timed(runs, ask)
                print(
                    f"per_store {metric.value}, {stores} stores x {days} days "
                    f"({count:,} lifts), PostgreSQL: median {median:.0f} ms, p99 {p99:.0f} ms"
                )
        finally:
            database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stores", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--lifts-a-day", type=int, default=40)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    bench_draw(args.stores, args.runs)
    bench_metrics(args.stores, args.days, args.lifts_a_day, args.runs)


if __name__ == "__main__":
    main()
