"""Proof of play at HQ: kiosks' `play_counts` records over HTTP, each counted once,
summed per hour, reported per campaign, store and day (the stores' days), in the
terminal too. On SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from helpers.hq import Hq, hq_cli, new_store_id

from hq import plays
from hq.db import Database, play_hours

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOV_23, NOV_24 = date(2026, 11, 23), date(2026, 11, 24)


def row(
    hour: str, item: str, campaign: str | None, shows: int, ms: int, lifted: int
) -> dict[str, Any]:
    return {
        "hour": f"2026-11-23T{hour}:00:00Z",
        "item": item,
        "campaign": campaign,
        "shows": shows,
        "ms": ms,
        "lifted": lifted,
    }


def counts(*rows: dict[str, Any]) -> dict[str, Any]:
    return {"from": "2026-11-23T01:00:00Z", "to": "2026-11-23T01:05:00Z", "rows": list(rows)}


def statuses(answer: Any) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [result["status"] for result in answer.json()["results"]]


def reported(hq: Hq, stores: list[str]) -> plays.PlayReport:
    database = Database(hq.database_url)
    try:
        return plays.report(database, first=NOV_23, last=NOV_24, zone=SHANGHAI, stores=stores)
    finally:
        database.dispose()


def by_campaign(report: plays.PlayReport) -> dict[str | None, plays.CampaignPlays]:
    return {campaign.campaign: campaign for campaign in report.campaigns}


def test_each_record_counts_once_summed_per_hour_and_reported_per_campaign(hq: Hq) -> None:
    one, two = hq.kiosk(new_store_id()), hq.kiosk(new_store_id())
    first = one.event(
        1,
        "play_counts",
        counts(
            row("01", "x1-poster", "x1-launch", 3, 24_000, 1),
            row("01", "slides/welcome.jpg", None, 2, 12_000, 0),
        ),
    )
    second = one.event(
        2,
        "play_counts",
        counts(
            row("01", "x1-poster", "x1-launch", 1, 8_000, 1),  # the same hour: added
            row("02", "case-poster", "case-promo", 2, 10_000, 0),
        ),
    )
    assert statuses(one.post([first, second])) == ["accepted", "accepted"]
    # 16:00 UTC is midnight in Shanghai: the stores' next day.
    late = two.event(3, "play_counts", counts(row("16", "x1-poster", "x1-launch", 2, 16_000, 0)))
    # Sent twice in one batch, then the whole batch again (its answer lost): once.
    assert statuses(two.post([late, late])) == ["accepted", "duplicate"]
    assert statuses(two.post([late])) == ["duplicate"]
    assert statuses(one.post([first])) == ["duplicate"]

    report = reported(hq, [one.store_id, two.store_id])
    campaigns = by_campaign(report)
    assert list(campaigns) == ["x1-launch", "case-promo", None]
    launch = campaigns["x1-launch"]
    assert launch.total == plays.Plays(shows=6, ms=48_000, lifted=2)
    assert launch.total.lift_rate == 2 / 6
    assert dict(launch.by_store) == {
        one.store_id: plays.Plays(4, 32_000, 2),
        two.store_id: plays.Plays(2, 16_000, 0),
    }
    assert [(start.date(), p) for start, p in launch.by_time] == [
        (NOV_23, plays.Plays(4, 32_000, 2)),
        (NOV_24, plays.Plays(2, 16_000, 0)),
    ]
    assert campaigns["case-promo"].total == plays.Plays(2, 10_000, 0)
    assert campaigns[None].total == plays.Plays(2, 12_000, 0)
    assert hq.count(play_hours, kiosk_id=one.kiosk_id) == 3  # one row per hour and item

    # Only one store, only one campaign, per hour.
    database = Database(hq.database_url)
    try:
        hourly = plays.report(
            database,
            first=NOV_23,
            last=NOV_23,
            zone=SHANGHAI,
            per="hour",
            stores=[one.store_id],
            campaign="x1-launch",
        )
    finally:
        database.dispose()
    ((name, hours),) = [(c.campaign, c.by_time) for c in hourly.campaigns]
    assert name == "x1-launch"
    assert [(start.hour, p.shows) for start, p in hours] == [(9, 4)]  # 01:00 UTC is 09:00 there

    # The terminal shows the same, and its CSV has every kiosk's hourly rows (the
    # report is the one checked above: once, on SQLite, is enough for the printing).
    if not hq.database_url.startswith("sqlite"):
        return
    args = ["plays", "--from", "2026-11-23", "--to", "2026-11-24", "--timezone", "Asia/Shanghai"]
    stores = ["--store", one.store_id, "--store", two.store_id]
    text = hq_cli(hq, *args, *stores)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[1].split() == ["CAMPAIGN", "SHOWS", "SECONDS", "LIFTED", "LIFT", "RATE"]
    assert lines[2].split() == ["x1-launch", "6", "48.0", "2", "33.3%"]
    assert lines[4].split() == ["(no", "campaign)", "2", "12.0", "0", "0.0%"]
    assert "2026-11-24  2      16.0     0       0.0%" in text.stdout
    exported = hq_cli(hq, *args, *stores, "--csv")
    assert exported.returncode == 0, exported.stderr
    table = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert len(table) == 4
    assert sum(int(line["shows"]) for line in table) == 10
    assert {line["hour_utc"] for line in table} == {
        "2026-11-23T01:00Z",
        "2026-11-23T02:00Z",
        "2026-11-23T16:00Z",
    }


def test_a_record_that_breaks_the_rules_is_rejected_and_counts_nothing(hq: Hq) -> None:
    kiosk = hq.kiosk(new_store_id())
    good = row("01", "x1-poster", "x1-launch", 1, 8_000, 0)
    cases = {
        "payload.rows.0.hour": counts({**good, "hour": "2026-11-23T01:30:00Z"}),
        "payload.rows.0.ms": counts({**good, "ms": 3_600_001}),
        "payload.rows.0.campaign": counts({**good, "campaign": "Not A Slug!"}),
        "payload.rows.0.shows": counts({**good, "shows": -1}),
        "given twice": counts(good, good),
        "payload.rows": counts(),
        "before from": {**counts(good), "to": "2026-11-23T00:59:00Z"},
    }
    events = [
        kiosk.event(seq, "play_counts", payload) for seq, payload in enumerate(cases.values(), 1)
    ]
    answer = kiosk.post(events)
    assert answer.status_code == 200, answer.text
    for expected, result in zip(cases, answer.json()["results"], strict=True):
        assert result["status"] == "rejected"
        assert expected in result["reason"]
    assert hq.count(play_hours, kiosk_id=kiosk.kiosk_id) == 0
    if not hq.database_url.startswith("sqlite"):
        return
    bad_range = hq_cli(
        hq, "plays", "--from", "2026-11-24", "--to", "2026-11-23", "--timezone", "UTC"
    )
    assert bad_range.returncode == 1
    assert "the last day is before the first" in bad_range.stderr
