"""The analytics pages for 1,000 stores x 1 year on PostgreSQL, and rollup throughput.

    .venv/bin/python bench/analytics_dashboard.py [--stores 1000] [--runs 30]
        [--roll-stores 200] [--roll-days 30] [--pages-only | --rollup-only]
        [--database-url URL]   (fill it once, then measure the pages on it again and again)

1. Rollup maintenance: a generated chain's events (tests/helpers/analytics_data.py,
   `--roll-stores` x `--roll-days`) stored as ingest stores them in a fresh
   PostgreSQL database, then rolled up from scratch (events rolled/s), and then in
   steady state: 2,000 new events a round, as a worker's sweeper finds them.
2. The pages: a year of events of 1,000 stores is far too slow to generate here
   (~55 million events), so the ROLLUP tables are filled directly (server-side,
   generate_series) with the rows such a year leaves, at the volume below:
   each store open 12 hours a day, 150 lifts a day over 12 phones (85% put back),
   60 sessions with a lift, 3 sign-ups, 15 member visits, 10 smiley and 10 NPS
   answers, 4 coupons. Filled in full: every chain-wide table, and the per-store
   day tables of the per-store rollup and of products (4.4 million rows). The
   per-store HOUR tables (and per-store dwell) are filled in full for five
   stores (a store manager's) and, for every store, on the year's first and last
   day: the only hours a chain-wide page reads from them (a range's edges).
   Then HQ's console is served on loopback (uvicorn) and each page asked
   `--runs` times over HTTP, as a chain admin (all stores) and as a manager of
   five stores, for the whole year: charts drawn every time (their cache
   emptied before each request) and as served again (pictures cached by their
   figures), and the JSON twin. Prints median and p99 in milliseconds.
"""

# ruff: noqa: S608 (the fill's SQL is made of this file's constants; values are bound)
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import requests
from fastapi import FastAPI
from sqlalchemy import select, text

from hq.analytics import rollup
from hq.analytics.charts import svg
from hq.console.app import CSRF_COOKIE, console_app
from hq.console.staff import PasswordHasher, Role, add_staff
from hq.console.views.base import ContentSide
from hq.content.assets import DirectoryAssetStore
from hq.content.signing import ContentKeys
from hq.db import Database, console_staff, events, stores
from hq.migrations import migrate

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from helpers.analytics_data import event_rows, generate, load_stores
from helpers.hq import fresh_postgres_database, serving

PASSWORD = "bench password 2026"  # noqa: S105 (a throwaway account)
YEAR = 2025
MANAGED = ("s0001", "s0002", "s0003", "s0004", "s0005")
SKUS = 12


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stores", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--roll-stores", type=int, default=200)
    parser.add_argument("--roll-days", type=int, default=30)
    parser.add_argument("--pages-only", action="store_true", help="skip the rollup throughput")
    parser.add_argument("--rollup-only", action="store_true", help="only the rollup throughput")
    parser.add_argument(
        "--database-url", help="fill (once) and serve this database instead of a fresh one"
    )
    args = parser.parse_args()
    if args.database_url:
        migrate(args.database_url)
        database = Database(args.database_url)
        try:
            with database.read() as connection:
                empty = not connection.execute(text("SELECT count(*) FROM stores")).scalar_one()
            if empty:
                fill(database, args.stores)
            with tempfile.TemporaryDirectory() as tmp:
                measure_pages(database, Path(tmp), args.runs)
        finally:
            database.dispose()
        return
    if not args.pages_only:
        _rollup_part(args.roll_stores, args.roll_days)
    if args.rollup_only:
        return
    with fresh_postgres_database() as url, tempfile.TemporaryDirectory() as tmp:
        migrate(url)
        database = Database(url)
        try:
            fill(database, args.stores)
            measure_pages(database, Path(tmp), args.runs)
        finally:
            database.dispose()


def _rollup_part(store_count: int, days: int) -> None:
    with fresh_postgres_database() as url:
        migrate(url)
        database = Database(url)
        try:
            measure_rollup(database, store_count, days)
        finally:
            database.dispose()


# ---------------------------------------------------------------- rollup maintenance


def measure_rollup(database: Database, store_count: int, days: int) -> None:
    data = generate(stores=store_count, days=days, sessions=12, seed=7)
    load_stores(database, data)
    rows = event_rows(data)
    steady = 2_000 if len(rows) > 20_000 else 200
    bulk, rest = rows[: len(rows) - 5 * steady], rows[len(rows) - 5 * steady :]
    for first in range(0, len(bulk), 10_000):
        with database.write() as connection:
            database.copy_rows(
                connection,
                events,
                list(bulk[0]),
                [list(row.values()) for row in bulk[first : first + 10_000]],
            )
    started = time.perf_counter()
    done = rollup.roll(database, datetime.now(UTC))
    seconds = time.perf_counter() - started
    print(f"rollup from scratch: {done.events:,} events ({store_count} stores x {days} days)")
    print(f"  {seconds:.1f} s, {done.events / seconds:,.0f} events rolled/s")
    rounds = []
    for first in range(0, len(rest), steady):
        with database.write() as connection:
            part = rest[first : first + steady]
            database.copy_rows(connection, events, list(part[0]), [list(r.values()) for r in part])
        started = time.perf_counter()
        done = rollup.roll(database, datetime.now(UTC))
        rounds.append(time.perf_counter() - started)
        assert done.events == steady, done
    median = statistics.median(rounds)
    print(
        f"steady state: {steady:,} new events a round: median {median * 1000:.0f} ms "
        f"({steady / median:,.0f} events/s), max {max(rounds) * 1000:.0f} ms"
    )


# ---------------------------------------------------------------- a year of rollups


def fill(database: Database, store_count: int) -> None:
    started = time.perf_counter()
    now = datetime.now(UTC)
    with database.write() as connection:
        database.insert_rows(
            connection,
            stores,
            [
                {
                    "store_id": f"s{n:04d}",
                    "name": f"南京路{n}号店",
                    "created_at": now,
                    "kiosks_enrolled": 1,
                }
                for n in range(1, store_count + 1)
            ],
        )
    params = {"year": f"{YEAR}-01-01", "stores": store_count, "skus": SKUS}
    managed = "ARRAY[" + ",".join(f"'{s}'" for s in MANAGED) + "]"
    edges = f"ARRAY[DATE '{YEAR}-01-01', DATE '{YEAR}-12-31']"
    with database.write() as connection:
        connection.execute(text("SELECT setseed(0.19)"))
        for statement in _fills(managed, edges):
            connection.execute(text(statement), params)
        for statement in _months():
            connection.execute(text(statement))
    database.vacuum(_rollup_tables(database))
    with database.read() as connection:
        sizes = {
            name: connection.execute(text(f"SELECT count(*) FROM {name}")).scalar_one()
            for name in _rollup_tables(database)
        }
    print(f"filled the rollup tables in {time.perf_counter() - started:.0f} s:")
    for name, count in sizes.items():
        if count:
            print(f"  {name:42} {count:>12,} rows")


def _rollup_tables(database: Database) -> list[str]:
    return [table.name for r in rollup.ROLLUPS for table in r.tables.values()]


# Days of the year; stores s0001...; open hours 01-12 UTC (09-20 in Shanghai); SKUs
# PHONE-01..12 in slots 1..12. Each INSERT makes one table's rows from these series.
_DAYS = "generate_series(0, 364) AS d(n)"
_DAY = "(CAST(:year AS date) + d.n)::timestamp AT TIME ZONE 'UTC'"
_HOURS = "generate_series(1, 12) AS h(n)"
_HOUR = f"{_DAY} + make_interval(hours => h.n)"
_SKUS = "generate_series(1, :skus) AS k(n)"
_SKU = "'PHONE-' || lpad(k.n::text, 2, '0')"
_STORES = "generate_series(1, :stores) AS s(n)"
_STORE = "'s' || lpad(s.n::text, 4, '0')"


def _noisy(mean: float | str) -> str:
    return f"greatest(0, round({mean} * (0.7 + 0.6 * random())))::bigint"


def _products(scale: float) -> str:
    """lifts, put-backs, dwell_ms, compared, member lifts, lifts by members who came back,
    of a phone in a store-day x scale."""
    return ", ".join(_noisy(n * scale) for n in (12.5, 10.6, 10.6 * 15000, 2.5, 3.1, 1.8))


def _stores_measures(scale: float) -> str:
    names = [150, 128, 128 * 15000, 60, 3, 15, 9, 15 * 20 * 86400, 9, 10, 8, 10, 4, 3, 4, 2]
    return ", ".join(_noisy(n * scale) for n in names)


def _fills(managed: str, edges: str) -> list[str]:
    chain = 1000  # the chain-wide tables are a thousand stores' sums
    in_edges = f"(CAST(:year AS date) + d.n) = ANY({edges})"
    mine = f"{_STORE} = ANY({managed})"
    return [
        # products
        f"INSERT INTO rollup_products_chain_days SELECT {_DAY}, {_SKU}, k.n, {_products(chain)} "
        f"FROM {_DAYS}, {_SKUS}",
        f"INSERT INTO rollup_products_chain_hours SELECT {_HOUR}, {_SKU}, k.n, "
        f"{_products(chain / 12)} FROM {_DAYS}, {_HOURS}, {_SKUS}",
        f"INSERT INTO rollup_products_store_days SELECT {_DAY}, {_STORE}, {_SKU}, k.n, "
        f"{_products(1)} FROM {_DAYS}, {_STORES}, {_SKUS}",
        # per store and hour: 7 of the 12 phones lifted in an hour
        f"INSERT INTO rollup_products_store_hours SELECT {_HOUR}, {_STORE}, {_SKU}, k.n, "
        f"{_products(1 / 7)} FROM {_DAYS}, {_HOURS}, {_STORES}, generate_series(1, 7) AS k(n) "
        f"WHERE {in_edges} OR {mine}",
        # dwell: a chain's day of a phone spreads over ~150 whole seconds, a store's
        # hour over ~10
        f"INSERT INTO rollup_dwell_chain_days SELECT {_DAY}, {_SKU}, t.n, "
        f"{_noisy('(70 * exp(-t.n / 15.0) + 1)')} FROM {_DAYS}, {_SKUS}, "
        "generate_series(0, 149) AS t(n)",
        f"INSERT INTO rollup_dwell_chain_hours SELECT {_HOUR}, {_SKU}, t.n, "
        f"{_noisy('(6 * exp(-t.n / 15.0) + 1)')} FROM {_DAYS}, {_HOURS}, {_SKUS}, "
        f"generate_series(0, 59) AS t(n) WHERE {in_edges}",
        f"INSERT INTO rollup_dwell_store_days SELECT {_DAY}, {_STORE}, {_SKU}, t.n * 3, 1 "
        f"FROM {_DAYS}, {_STORES}, {_SKUS}, generate_series(0, 9) AS t(n) "
        f"WHERE {in_edges} OR {mine}",
        f"INSERT INTO rollup_dwell_store_hours SELECT {_HOUR}, {_STORE}, {_SKU}, t.n * 5, 1 "
        f"FROM {_DAYS}, {_HOURS}, {_STORES}, generate_series(1, 7) AS k(n), "
        f"generate_series(0, 1) AS t(n) WHERE {in_edges} OR {mine}",
        # per store: lifts, sessions, sign-ups, visits, surveys, coupons
        f"INSERT INTO rollup_stores_store_days SELECT {_DAY}, {_STORE}, {_stores_measures(1)} "
        f"FROM {_DAYS}, {_STORES}",
        f"INSERT INTO rollup_stores_store_hours SELECT {_HOUR}, {_STORE}, "
        f"{_stores_measures(1 / 12)} FROM {_DAYS}, {_HOURS}, {_STORES} WHERE {in_edges} OR {mine}",
        f"INSERT INTO rollup_stores_chain_days SELECT {_DAY}, {_stores_measures(chain)} "
        f"FROM {_DAYS}",
        f"INSERT INTO rollup_stores_chain_hours SELECT {_HOUR}, {_stores_measures(chain / 12)} "
        f"FROM {_DAYS}, {_HOURS}",
        # surveys: smiley 1-4 and nps 0-10 per hour, chain-wide; per store for the managed
        f"INSERT INTO rollup_surveys_chain_days SELECT {_DAY}, 'visit', q.question, q.kind, "
        f"q.score, {_noisy(600)} FROM {_DAYS}, (SELECT 'smile' AS question, 'smiley' AS kind, "
        "generate_series(1, 4) AS score UNION ALL SELECT 'recommend', 'nps', "
        "generate_series(0, 10)) AS q",
        f"INSERT INTO rollup_surveys_chain_hours SELECT {_HOUR}, 'visit', q.question, q.kind, "
        f"q.score, {_noisy(50)} FROM {_DAYS}, {_HOURS}, (SELECT 'smile' AS question, "
        "'smiley' AS kind, generate_series(1, 4) AS score UNION ALL SELECT 'recommend', 'nps', "
        "generate_series(0, 10)) AS q",
        f"INSERT INTO rollup_reasons_chain_days SELECT {_DAY}, 'visit', 'why', c.choice, "
        f"{_noisy(100)} FROM {_DAYS}, unnest(ARRAY['price','staff','wait','stock']) AS c(choice)",
        f"INSERT INTO rollup_coupons_chain_days SELECT {_DAY}, c.campaign, {_noisy(2000)}, "
        f"{_noisy(1000)} FROM {_DAYS}, unnest(ARRAY['autumn','vip']) AS c(campaign)",
        f"INSERT INTO rollup_draws_chain_days SELECT {_DAY}, 'wheel', p.prize, {_noisy(300)} "
        f"FROM {_DAYS}, unnest(ARRAY['', 'cap', 'tote']) AS p(prize)",
        f"INSERT INTO rollup_draws_store_days SELECT {_DAY}, {_STORE}, 'wheel', 'cap', 1 "
        f"FROM {_DAYS}, {_STORES}",
        "INSERT INTO rollup_marks VALUES ('events', 0, now(), now())",
    ]


def _months() -> list[str]:
    """Each month table made from its day table, as the rollup job would have summed it."""
    found = []
    for r in rollup.ROLLUPS:
        for scope in ("store", "chain"):
            keys = ", ".join([*(["store_id"] if scope == "store" else []), *r.dimensions])
            sums = ", ".join(f"sum({m})" for m in r.measures)
            days, months = r.tables[f"{scope}_days"].name, r.tables[f"{scope}_months"].name
            found.append(
                f"INSERT INTO {months} SELECT date_trunc('month', at, 'UTC')"
                f"{', ' + keys if keys else ''}, {sums} FROM {days} GROUP BY 1"
                f"{', ' + keys if keys else ''}"
            )
    return found


# ---------------------------------------------------------------- the pages over HTTP


def measure_pages(database: Database, tmp: Path, runs: int) -> None:
    now = datetime.now(UTC)
    hasher = PasswordHasher()
    for email, role, managed in (
        ("admin@bench.example", Role.CHAIN_ADMIN, ()),
        ("manager@bench.example", Role.STORE_MANAGER, MANAGED),
    ):
        if _has_staff(database, email):
            continue
        add_staff(database, hasher, email=email, name=email.split("@")[0].title(), role=role,
                  stores_managed=list(managed), password=PASSWORD, now=now,
                  by="bench")  # fmt: skip
    app = FastAPI()
    app.mount(
        "/console",
        console_app(
            database,
            secret=b"b" * 32,
            clock=lambda: datetime.now(UTC),
            content=ContentSide(DirectoryAssetStore(tmp / "assets"), ContentKeys(tmp / "keys")),
            secure_cookies=False,  # requests sends no Secure cookie over plain HTTP
        ),
    )
    year = f"from={date(YEAR, 1, 1)}&to={date(YEAR, 12, 31)}"
    with serving(app) as base:
        print(f"\npages for {YEAR} (a year), {runs} requests each, one at a time (ms)")
        print(f"{'who':8} {'page':44} {'median':>8} {'p99':>8} {'max':>8}")
        for who in ("admin", "manager"):
            session = _signed_in(base, f"{who}@bench.example")
            for page in ("products", "conversion", "surveys", "coupons", "visits"):
                path = f"/console/analytics/{page}"
                url = f"{base}{path}?{year}"
                _row(who, f"{page} (charts drawn)", session, url, runs=runs, before=svg.cache_clear)
                _row(who, f"{page} (pictures cached)", session, url, runs=runs)
                _row(who, f"{page}.json", session, f"{base}{path}.json?{year}", runs=runs)


def _has_staff(database: Database, email: str) -> bool:
    with database.read() as connection:
        return bool(connection.execute(select(console_staff.c.staff_id).where(
            console_staff.c.email == email)).first())  # fmt: skip


def _signed_in(base: str, email: str) -> requests.Session:
    session = requests.Session()
    session.get(f"{base}/console/sign-in", timeout=30)
    signed = session.post(
        f"{base}/console/sign-in",
        data={"csrftoken": session.cookies[CSRF_COOKIE], "email": email, "password": PASSWORD},
        allow_redirects=False,
        timeout=30,
    )
    assert signed.status_code == 303, signed.text
    return session


def _row(
    who: str,
    label: str,
    session: requests.Session,
    url: str,
    *,
    runs: int,
    before: Callable[[], None] | None = None,
) -> None:
    session.get(url, timeout=60)  # warm: matplotlib imported, connections open
    times = []
    for _ in range(runs):
        if before is not None:
            before()
        started = time.perf_counter()
        answer = session.get(url, timeout=60)
        times.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, (url, answer.status_code, answer.text[:300])
    times.sort()
    p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
    print(f"{who:8} {label:44} {statistics.median(times):8.1f} {p99:8.1f} {times[-1]:8.1f}")


if __name__ == "__main__":
    main()
