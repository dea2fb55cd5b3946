"""The store map's costs: drawing the map, and the per-store metrics on PostgreSQL.

    .venv/bin/python bench/store_map.py [--stores 1000] [--days 30] [--lifts-a-day 40]
                                        [--year-days 365] [--runs 9]

1. `draw` (hq.analytics.store_map): projecting, colouring, fanning out and labelling
   `--stores` pins around 15 Chinese cities, and the page's SVG rendered by its
   Jinja template; median and p99 of `--runs`.
2. `per_store` (hq.analytics.store_metrics) for each metric over the range's days
   in Asia/Shanghai (as the console asks), read from the analytics rollups, on a
   fresh PostgreSQL database filled with `--stores` x `--days` x `--lifts-a-day`
   lift events (COPY), one `member_signup` event per 25 lifts and one smiley answer
   per 7, then rolled up (hq.analytics.rollup.roll, timed): median and p99 of `--runs`.
3. The same over `--year-days` (0: skip): the per-store rollup tables filled
   directly in SQL (12 open hours a day per store, ~3 lifts an hour; days and months
   summed from the hours), since a year of events would take long to make and roll.

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
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from harness import percentile  # noqa: E402
from helpers.hq import fresh_postgres_database  # noqa: E402

from hq.analytics import rollup  # noqa: E402
from hq.analytics.store_map import draw, load_outline  # noqa: E402
from hq.analytics.store_metrics import Metric, per_store  # noqa: E402
from hq.console.app import template_environment  # noqa: E402
from hq.db import Database, events  # noqa: E402
from hq.migrations import migrate  # noqa: E402
from hq.store_places import Place  # noqa: E402

END = datetime(2026, 12, 7, tzinfo=UTC)
ZONE = ZoneInfo("Asia/Shanghai")
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
    """Events as ingest stores them: lifts, sign-ups and smiley answers."""
    rng = random.Random(3)
    start = END - timedelta(days=days)
    rows = []
    seq = 0

    def event(store_id: str, kind: str, at: datetime, payload: dict[str, object]) -> None:
        nonlocal seq
        seq += 1
        kiosk_id = f"{store_id}-k1"
        rows.append((str(uuid.uuid4()), kiosk_id, store_id, seq, kind, 1, at, at, payload))

    lifts = 0
    for store in range(stores):
        store_id = f"s{store:04}"
        for _ in range(days * lifts_a_day):
            at = start + timedelta(seconds=rng.uniform(0, days * 86_400))
            event(store_id, "lift", at, {"session": f"v{seq // 3}", "slot": 1, "sku": "x"})
            lifts += 1
            if lifts % 25 == 0:
                member = {"member_id": str(uuid.uuid4()), "phone": f"+86138{seq:08d}"}
                event(store_id, "member_signup", at, {**member, "region": "CN", "language": "zh"})
            if lifts % 7 == 0:
                score = rng.choice((1, 2, 3, 4, 4))
                answer = {"session": f"v{seq}", "survey": "s", "question": "q", "kind": "smiley"}
                event(store_id, "survey_answer", at, {**answer, "score": score, "low": score <= 2})
    names = ("event_id", "kiosk_id", "store_id", "seq", "kind", "schema_version",
             "occurred_at", "received_at", "payload")  # fmt: skip
    with database.write() as connection:
        database.copy_rows(connection, events, names, rows)
    with database.write() as connection:
        connection.exec_driver_sql("ANALYZE")
    return lifts


# A year of per-store rollups straight in SQL: stores open 10:00-22:00 Shanghai time.
FILL_HOURS = """
INSERT INTO rollup_stores_store_hours
    (at, store_id, lifts, putbacks, dwell_ms, lift_sessions, signups, visits, repeat_visits,
     gap_s, gaps, smiley_answers, smiley_top, nps_answers, promoters, detractors,
     coupons_issued, coupons_redeemed)
SELECT at, store_id, lifts, lifts / 2, lifts * 20000, lifts / 3 + 1, signups, 0, 0, 0, 0,
       lifts / 7 + 1, lifts / 10, 0, 0, 0, 0, 0
FROM (SELECT h.at, 's' || lpad(n::text, 4, '0') AS store_id,
             (random() * 6)::int AS lifts, (random() < 0.15)::int AS signups
      FROM generate_series(%(first)s::timestamptz, %(last)s::timestamptz, '1 hour') AS h(at)
      CROSS JOIN generate_series(0, %(stores)s - 1) AS n
      WHERE extract(hour FROM h.at AT TIME ZONE 'UTC') BETWEEN 2 AND 13) AS made
"""
SUM_UP = """
INSERT INTO rollup_stores_store_{into} SELECT date_trunc('{unit}', at, 'UTC'), store_id,
    {sums} FROM rollup_stores_store_hours GROUP BY 1, 2
"""


def fill_year(database: Database, stores: int, days: int) -> None:
    sums = ", ".join(f"sum({name})" for name in rollup.STORES.measures)
    first, last = END - timedelta(days=days), END - timedelta(hours=1)
    with database.write() as connection:
        connection.exec_driver_sql(FILL_HOURS, {"first": first, "last": last, "stores": stores})
        for into, unit in (("days", "day"), ("months", "month")):
            connection.exec_driver_sql(SUM_UP.format(into=into, unit=unit, sums=sums))
    with database.write() as connection:
        connection.exec_driver_sql("ANALYZE")


def local_days(days: int) -> tuple[datetime, datetime]:
    """The UTC bounds of the last `days` whole Shanghai days before END, as the console asks."""
    last: date = (END - timedelta(seconds=1)).astimezone(ZONE).date() - timedelta(days=1)
    first = last - timedelta(days=days - 1)
    begin = datetime.combine(first, clock(), ZONE).astimezone(UTC)
    return begin, datetime.combine(last + timedelta(days=1), clock(), ZONE).astimezone(UTC)


def time_metrics(database: Database, stores: int, days: int, what: str, runs: int) -> None:
    chosen = [f"s{n:04}" for n in range(stores)]
    begin, end = local_days(days)
    for metric in Metric:

        def ask(metric: Metric = metric) -> dict[str, float]:
            with database.read() as connection:
                return per_store(connection, metric, begin, end, chosen)

        found = ask()
        assert len(found) == stores, f"{metric}: {len(found)} stores"
        median, p99 = timed(runs, ask)
        print(
            f"per_store {metric.value}, {stores} stores x {days} Shanghai days ({what}), "
            f"PostgreSQL rollups: median {median:.0f} ms, p99 {p99:.0f} ms"
        )


def bench_metrics(stores: int, days: int, lifts_a_day: int, runs: int) -> None:
    with fresh_postgres_database() as url:
        migrate(url)
        database = Database(url)
        try:
            began = time.perf_counter()
            count = fill(database, stores, days + 1, lifts_a_day)
            print(f"filled {count:,} lift events in {time.perf_counter() - began:.0f} s")
            began = time.perf_counter()
            rolled = rollup.roll(database, datetime.now(UTC))
            took = time.perf_counter() - began
            print(f"rolled {rolled.events:,} events up in {took:.0f} s")
            with database.write() as connection:
                connection.exec_driver_sql("ANALYZE")
            time_metrics(database, stores, days, f"{count:,} lifts rolled up", runs)
        finally:
            database.dispose()


def bench_year(stores: int, days: int, runs: int) -> None:
    with fresh_postgres_database() as url:
        migrate(url)
        database = Database(url)
        try:
            began = time.perf_counter()
            fill_year(database, stores, days + 1)
            print(f"filled a year of rollups in {time.perf_counter() - began:.0f} s")
            time_metrics(database, stores, days, "rollups filled in SQL", runs)
        finally:
            database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stores", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--lifts-a-day", type=int, default=40)
    parser.add_argument("--year-days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    bench_draw(args.stores, args.runs)
    bench_metrics(args.stores, args.days, args.lifts_a_day, args.runs)
    if args.year_days:
        bench_year(args.stores, args.year_days, args.runs)


if __name__ == "__main__":
    main()
