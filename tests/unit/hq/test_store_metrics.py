"""The store map's metrics against a small data set worked out by hand, on SQLite and PostgreSQL.

Two days, 1-2 November 2026 (UTC). Nanjing Road: lifts in three shopper sessions
(session "s1" at two kiosks is two shoppers), two sign-ups, five smiley answers.
Sanlitun: one sign-up, no lift, no smiley. Xujiahui has lifts but is not asked.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from helpers.store_data import StoreData

from hq.analytics.store_metrics import Metric, figures, per_store
from hq.db import Database

START = datetime(2026, 11, 1, tzinfo=UTC)
END = START + timedelta(days=2)
NANJING, SANLITUN, XUJIAHUI = "sh-nanjing-road", "bj-sanlitun", "sh-xujiahui"


def at(hours: float) -> datetime:
    return START + timedelta(hours=hours)


@pytest.fixture
def chain(database: Database) -> Database:
    data = StoreData(database)
    data.lifts(NANJING, "k1", [at(1), at(1.1), at(1.2), at(5)], ["s1", "s1", "s1", "s2"])
    # The same session text at another kiosk: another shopper.
    data.lifts(NANJING, "k2", [at(30), at(30.5)], ["s1", "s1"])
    data.lifts(NANJING, "k1", at(1.3), ["s1"], kind="drop")  # not a lift
    data.lifts(NANJING, "k1", END, ["s3"])  # the range's end is not in it
    data.lifts(NANJING, "k1", START - timedelta(seconds=1), ["s0"])  # nor before it
    data.lifts(XUJIAHUI, "k1", [at(2), at(3)], ["s1", "s2"])
    data.signups(NANJING, [at(1.5), at(40)])
    data.signups(NANJING, START - timedelta(hours=1))  # before the range
    data.signups(SANLITUN, at(12))
    data.answers(NANJING, "smiley", [4, 3, 2, 1, 4], at(2))
    data.answers(NANJING, "smiley", [None], at(2))  # skipped: not an answer
    data.answers(NANJING, "nps", [9], at(2))  # NPS is not CSAT
    data.answers(SANLITUN, "nps", [2], at(2))
    data.roll()  # the map reads the analytics rollups
    return database


def metric(database: Database, which: Metric, stores: list[str] | None) -> dict[str, float]:
    with database.read() as connection:
        return per_store(connection, which, START, END, stores)


def test_traffic_is_lifts_per_day_and_zero_for_a_store_without_lifts(chain: Database) -> None:
    assert metric(chain, Metric.TRAFFIC, [NANJING, SANLITUN]) == {NANJING: 3.0, SANLITUN: 0.0}


def test_conversion_is_signups_per_lift_session(chain: Database) -> None:
    # Sanlitun signed one up but had no lift session: no rate to show.
    assert metric(chain, Metric.CONVERSION, [NANJING, SANLITUN]) == {NANJING: pytest.approx(2 / 3)}


def test_csat_is_the_share_of_happy_smileys(chain: Database) -> None:
    assert metric(chain, Metric.CSAT, [NANJING, SANLITUN]) == {NANJING: pytest.approx(3 / 5)}


def test_every_store_when_none_is_named_and_none_for_an_empty_choice(chain: Database) -> None:
    assert metric(chain, Metric.TRAFFIC, None) == {NANJING: 3.0, XUJIAHUI: 1.0}
    assert metric(chain, Metric.TRAFFIC, []) == {}


def test_figures_hold_the_counts_behind_each_metric(chain: Database) -> None:
    with chain.read() as connection:
        found = figures(connection, START, END, [NANJING])[NANJING]
    assert (found.lifts, found.lift_sessions, found.signups) == (6, 3, 2)
    assert (found.smiley_answers, found.happy_answers, found.days) == (5, 3, 2.0)
