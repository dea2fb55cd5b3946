"""The analytics pages' figures equal a hand-computed answer, on SQLite and PostgreSQL.

A generated chain (50 stores x 90 days, tests/helpers/analytics_data.py) is stored
in three parts with rollup rounds in between (two at once, in small chunks that
split sessions), then rolled again: the figures are computed here in plain Python
from the generated events and must match exactly.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from helpers.analytics_data import (
    ZONE,
    DataSet,
    Event,
    generate,
    load_coupons,
    load_events,
    load_stores,
)
from sqlalchemy import func, select

from hq.analytics import figures, rollup
from hq.analytics.figures import Chart, Filters, lower_median
from hq.analytics.query import parts
from hq.analytics.rollup import MemberSoFar, SurveyAnswer, Visit, decide_reasons, decide_visits
from hq.crm.erasure import erase_member
from hq.db import Database, rollup_member_sessions, rollup_members, rollup_stores

NOW = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def data() -> DataSet:
    return generate(stores=50, days=90, seed=19, sessions=1)


# ---------------------------------------------------------------- the answer, by hand


class Answer:
    """What the pages should say for `filters`, from the raw events."""

    def __init__(self, data: DataSet, filters: Filters) -> None:
        self.filters = filters
        stores = set(filters.stores) if filters.stores is not None else None
        self.events = [e for e in data.events if stores is None or e.store_id in stores]
        self.data = data
        self.stores = stores

    def inside(self, at: datetime) -> bool:
        return self.filters.first <= at.astimezone(self.filters.zone).date() <= self.filters.last

    def kept(self, *kinds: str) -> list[Event]:
        return [e for e in self.events if e.kind in kinds and self.inside(e.occurred_at)]

    def touched(self) -> list[Event]:
        product = self.filters.product
        return [
            e
            for e in self.kept("lift", "drop")
            if product is None or e.payload.get("sku") == product
        ]

    def products(self) -> dict[str, tuple[Any, ...]]:
        lifts: dict[str, int] = defaultdict(int)
        dwell: dict[str, list[int]] = defaultdict(list)
        for e in self.touched():
            if e.kind == "lift":
                lifts[e.payload["sku"]] += 1
            else:
                dwell[e.payload["sku"]].append(e.payload["dwell_ms"])
        found = {}
        for sku in set(lifts) | set(dwell):
            times = dwell[sku]
            seconds = sorted(min(ms // 1000, 600) for ms in times)
            median = seconds[(len(seconds) + 1) // 2 - 1] if seconds else None
            mean = round(sum(times) / len(times) / 1000, 3) if times else None
            found[sku] = (lifts[sku], len(times), mean, median)
        return found

    def per(self, key: Any) -> dict[Any, tuple[int, int]]:
        found: dict[Any, list[int]] = defaultdict(lambda: [0, 0])
        for e in self.touched():
            found[key(e)][0 if e.kind == "lift" else 1] += 1
        return {k: (v[0], v[1]) for k, v in found.items()}

    def conversion(self) -> dict[str, tuple[int, int]]:
        first_lift: dict[tuple[str, str], Event] = {}
        for e in self.data.events:  # a session counts where its first lift is
            if e.kind == "lift":
                first_lift.setdefault((e.kiosk_id, e.payload["session"]), e)
        found: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for e in first_lift.values():
            if (self.stores is None or e.store_id in self.stores) and self.inside(e.occurred_at):
                found[e.store_id][0] += 1
        for e in self.kept("member_signup"):
            found[e.store_id][1] += 1
        return {k: (v[0], v[1]) for k, v in found.items()}

    def compared(self) -> dict[str, int]:
        found: dict[str, int] = defaultdict(int)
        for e in self.kept("comparison"):
            for sku in e.payload["skus"]:
                found[sku] += 1
        return dict(found)

    def scores(self) -> tuple[float | None, float | None]:
        smiley = [
            e.payload["score"] for e in self.kept("survey_answer") if e.payload["kind"] == "smiley"
        ]
        nps = [e.payload["score"] for e in self.kept("survey_answer") if e.payload["kind"] == "nps"]
        csat = 100 * sum(s >= 3 for s in smiley) / len(smiley) if smiley else None
        score = (
            100 * (sum(s >= 9 for s in nps) - sum(s <= 6 for s in nps)) / len(nps) if nps else None
        )
        return csat, score

    def reasons(self) -> dict[tuple[str, str], int]:
        low = {
            (e.kiosk_id, e.payload["session"])
            for e in self.data.events
            if e.kind == "survey_answer" and e.payload.get("low")
        }
        found: dict[tuple[str, str], int] = defaultdict(int)
        for e in self.kept("survey_answer"):
            if (e.kiosk_id, e.payload["session"]) in low:
                for choice in e.payload.get("choices") or ():
                    found[(e.payload["question"], choice)] += 1
        return dict(found)

    def coupons(self, per: str = "campaign") -> dict[str, tuple[int, int]]:
        """Issued and first redeemed, per campaign or per issuing store."""
        found: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for e in self.kept("coupon_issued"):
            found[e.payload["campaign"] if per == "campaign" else e.store_id][0] += 1
        issued = {row["code"]: row for row in self.data.issued}
        seen = set()
        for redemption in self.data.redemptions:
            code = redemption["code"]
            if code in seen:
                continue
            seen.add(code)
            issue = issued[code]
            if (self.stores is None or issue["store_id"] in self.stores) and self.inside(
                redemption["redeemed_at"]
            ):
                found[issue[per] if per == "campaign" else issue["store_id"]][1] += 1
        return {k: (v[0], v[1]) for k, v in found.items()}

    def wins(self) -> dict[str, int]:
        found: dict[str, int] = defaultdict(int)
        for e in self.kept("prize_draw"):
            if e.payload["prize"]:
                found[f"{e.payload['draw']}: {e.payload['prize']}"] += 1
        return dict(found)

    def came_back(self) -> dict[str, int]:
        """Member lifts per product in visits the member came back after, counted at
        the visit's start and store."""
        sessions: dict[tuple[str, str], Event] = {}
        for e in self.data.events:
            if e.kind in rollup.INTERACTIONS and e.payload.get("member_id"):
                sessions.setdefault((e.kiosk_id, e.payload["session"]), e)
        visits_of: dict[str, list[Event]] = defaultdict(list)
        for e in sorted(sessions.values(), key=lambda e: e.occurred_at):
            visits_of[e.payload["member_id"]].append(e)
        returned = {
            (v.kiosk_id, v.payload["session"]): v for vs in visits_of.values() for v in vs[:-1]
        }
        found: dict[str, int] = defaultdict(int)
        for e in self.data.events:
            visit = returned.get((e.kiosk_id, e.payload.get("session", "")))
            if e.kind != "lift" or not e.payload.get("member_id") or visit is None:
                continue
            if (self.stores is None or visit.store_id in self.stores) and self.inside(
                visit.occurred_at
            ):
                found[e.payload["sku"]] += 1
        return dict(found)

    def visits(self) -> dict[str, tuple[int, int, float | None]]:
        sessions: dict[tuple[str, str], Event] = {}
        for e in self.data.events:  # every store: a return may be to another one
            if e.kind in rollup.INTERACTIONS and e.payload.get("member_id"):
                sessions.setdefault((e.kiosk_id, e.payload["session"]), e)
        last: dict[str, datetime] = {}
        found: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        for e in sorted(sessions.values(), key=lambda e: e.occurred_at):
            member = e.payload["member_id"]
            before = last.get(member)
            last[member] = e.occurred_at
            if (self.stores is not None and e.store_id not in self.stores) or not self.inside(
                e.occurred_at
            ):
                continue
            tally = found[e.store_id]
            tally[0] += 1
            if before is not None:
                tally[1] += 1
                tally[2] += int((e.occurred_at - before).total_seconds())
                tally[3] += 1
        return {
            s: (v[0], v[1], round(v[2] / v[3] / 86_400, 3) if v[3] else None)
            for s, v in found.items()
        }


# ---------------------------------------------------------------- reading the charts


def _rows(charts: Sequence[Chart], key: str) -> tuple[tuple[Any, ...], ...]:
    chart = figures.chart_named(charts, key)
    assert chart is not None, key
    return chart.rows


def _by_store(rows: Sequence[tuple[Any, ...]], width: int) -> dict[str, tuple[Any, ...]]:
    # "name (s0001)" -> "s0001"
    return {row[0].rsplit("(", 1)[1].rstrip(")"): tuple(row[1 : 1 + width]) for row in rows}


def _check(database: Database, data: DataSet, filters: Filters) -> None:
    answer = Answer(data, filters)
    names = data.stores
    with database.read() as connection:
        shown = {
            name: page(connection, filters, names) for name, (_, page) in figures.PAGES.items()
        }
    products = {
        row[0]: (row[1], row[2], row[4], row[5]) for row in _rows(shown["products"], "by-product")
    }
    assert products == answer.products()
    assert products  # the data set has lifts in this range
    hours = {
        int(row[0]): (row[1], row[2])
        for row in _rows(shown["products"], "by-hour")
        if row[1] or row[2]
    }
    assert hours == answer.per(lambda e: e.occurred_at.astimezone(filters.zone).hour)
    slots = {row[0]: (row[1], row[2]) for row in _rows(shown["products"], "by-slot")}
    assert slots == answer.per(lambda e: e.payload["slot"])
    stores = _by_store(_rows(shown["products"], "by-store"), 2)
    assert stores == answer.per(lambda e: e.store_id)

    conversion = _by_store(_rows(shown["conversion"], "conversion-by-store"), 2)
    assert {s: v for s, v in conversion.items() if any(v)} == answer.conversion()
    came_back = {row[0]: row[5] for row in _rows(shown["conversion"], "interest") if row[5]}
    expected_back = answer.came_back()
    if filters.product:
        expected_back = {k: v for k, v in expected_back.items() if k == filters.product}
    assert came_back == expected_back
    assert came_back or filters.stores  # the chain has members who came back
    compared = {row[0]: row[2] for row in _rows(shown["conversion"], "interest") if row[2]}
    expected_compared = answer.compared()
    if filters.product:
        expected_compared = {k: v for k, v in expected_compared.items() if k == filters.product}
    assert compared == expected_compared

    csat, nps = answer.scores()
    totals = [row for row in _rows(shown["surveys"], "csat-nps-by-store")]
    smiley = sum(row[1] for row in totals)
    top = sum(row[2] for row in totals)
    asked = sum(row[4] for row in totals)
    assert (100 * top / smiley if smiley else None) == pytest.approx(csat)
    nps_shown = 100 * sum(row[5] - row[6] for row in totals) / asked if asked else None
    assert nps_shown == pytest.approx(nps)
    reasons = {(row[2], row[0]): row[3] for row in _rows(shown["surveys"], "low-reasons")}
    assert reasons == answer.reasons()

    campaigns = {row[0]: (row[1], row[2]) for row in _rows(shown["coupons"], "by-campaign")}
    assert campaigns == answer.coupons()
    coupon_stores = _by_store(_rows(shown["coupons"], "by-store"), 2)
    assert coupon_stores == answer.coupons(per="store")
    wins = {row[0]: row[1] for row in _rows(shown["coupons"], "draw-wins")}
    assert wins == answer.wins()

    visits = _by_store(_rows(shown["visits"], "visits-by-store"), 4)
    assert {s: (v[0], v[1], v[3]) for s, v in visits.items()} == answer.visits()


def _roll(database: Database) -> None:
    rollup.roll(database, NOW, chunk=2500)


def test_figures_equal_the_hand_computed_answer(database: Database, data: DataSet) -> None:
    load_stores(database, data)
    third = len(data.events) // 3
    load_events(database, data, 0, third)
    _roll(database)
    load_events(database, data, third, 2 * third)
    load_coupons(database, data)
    # Two workers at once: each event is still counted once.
    workers = [threading.Thread(target=_roll, args=(database,)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    load_events(database, data, 2 * third)
    _roll(database)
    again = rollup.roll(database, NOW)
    assert (again.events, again.redemptions) == (0, 0)
    assert rollup.rolled_up_to(database) == data.events[-1].occurred_at + timedelta(seconds=2)

    _check(database, data, Filters(data.first, data.last, ZONE, None))
    # Local days whose edges are not UTC days, some stores, one product.
    some = ("s0003", "s0017", "s0042")
    _check(database, data, Filters(date(2026, 6, 10), date(2026, 7, 20), ZONE, some, "PHONE-03"))
    _check(
        database, data, Filters(date(2026, 7, 1), date(2026, 7, 1), ZoneInfo("Europe/Paris"), some)
    )


# ---------------------------------------------------------------- pure parts


def test_a_range_reads_whole_months_then_days_then_hours_at_its_edges() -> None:
    begin = datetime(2026, 5, 29, 16, tzinfo=UTC)  # Shanghai's 30 May
    end = datetime(2026, 8, 2, 16, tzinfo=UTC)  # to its 2 August, included

    def utc(month: int, day: int, hour: int = 0) -> datetime:
        return datetime(2026, month, day, hour, tzinfo=UTC)

    assert parts(begin, end) == [
        ("months", utc(6, 1), utc(8, 1)),
        ("days", utc(5, 30), utc(6, 1)),
        ("hours", begin, utc(5, 30)),
        ("days", utc(8, 1), utc(8, 2)),
        ("hours", utc(8, 2), end),
    ]
    short = begin + timedelta(hours=5)
    assert parts(begin, short) == [("hours", begin, short)]
    assert parts(utc(6, 3, 16), utc(6, 5, 16)) == [
        ("days", utc(6, 4), utc(6, 5)),
        ("hours", utc(6, 3, 16), utc(6, 4)),
        ("hours", utc(6, 5), utc(6, 5, 16)),
    ]


def test_lower_median_of_a_histogram() -> None:
    assert lower_median({}) is None
    assert lower_median({3: 1, 5: 1}) == 3
    assert lower_median({1: 2, 9: 1}) == 1
    assert lower_median({1: 1, 2: 1, 9: 1}) == 2


def test_a_returning_member_is_a_repeat_visit_with_the_gap_since_the_last() -> None:
    day = datetime(2026, 6, 1, 10, tzinfo=UTC)
    known = {"m1": MemberSoFar(1, day)}
    visits = [
        Visit("k1", "b", "m1", day + timedelta(days=3)),
        Visit("k1", "a", "m2", day + timedelta(days=1)),
        Visit("k2", "c", "m2", day + timedelta(days=2)),
    ]
    known["m1"].last_visit = ("k0", "z")
    decided, members, returned = decide_visits(known, visits)
    assert returned == [("k1", "a"), ("k0", "z")]  # in time order: m2 after "a", m1 after "z"
    assert decided == {
        ("k1", "b"): (1, 3 * 86_400),
        ("k1", "a"): (0, None),
        ("k2", "c"): (1, 86_400),
    }
    assert (members["m1"].visits, members["m2"].visits) == (2, 2)


def test_reasons_count_once_whichever_answer_comes_first() -> None:
    at = datetime(2026, 6, 1, 10, tzinfo=UTC)

    def answer(question: str, *, low: bool = False, choices: tuple[str, ...] = ()) -> SurveyAnswer:
        return SurveyAnswer("k1", "s1", "visit", question, "s0001", at, low, choices)

    reasons, state = decide_reasons({}, [answer("purpose", choices=("gift",))])
    assert reasons == []  # not yet a low session
    reasons, state = decide_reasons(
        state, [answer("smile", low=True), answer("why", choices=("price",))]
    )
    assert sorted(r[2] for r in reasons) == [
        ("visit", "purpose", "gift"),
        ("visit", "why", "price"),
    ]
    again, _ = decide_reasons(state, [answer("recommend", low=True)])
    assert again == []


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_an_erased_members_visits_stay_counted_without_their_id(database: Database) -> None:
    small = generate(stores=3, days=20, seed=5, sessions=4)
    load_stores(database, small)
    load_events(database, small)
    load_coupons(database, small)
    _roll(database)
    visits = select(func.sum(rollup_stores["chain_days"].c.visits))
    with database.read() as connection:
        counted = connection.execute(visits).scalar()
        visitors = set(connection.execute(select(rollup_members.c.member_id)).scalars())
    # A member who visited and has a coupon (HQ knows them from coupons_issued).
    member = next(row["member_id"] for row in small.issued if row["member_id"] in visitors)

    assert erase_member(database, member, now=NOW) is not None

    with database.read() as connection:
        for table in (rollup_members, rollup_member_sessions):
            assert member not in connection.execute(select(table.c.member_id)).scalars().all()
        assert connection.execute(visits).scalar() == counted
