"""Dayparting: which playlist entries play at a given local time (pure, no clock read)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from content.bundle import parse_document
from content.model import Playlist
from content.schedule import playing_now

# 2026-12-07 is a Monday (ISO weekday 1).
MONDAY: datetime = datetime(2026, 12, 7)


def playlist(*items: dict[str, Any]) -> Playlist:
    return parse_document(Playlist, json.dumps({"items": list(items)}).encode())


def at(day: int, hh_mm: str) -> datetime:
    """Day 1..7 of that week (Monday..Sunday) at HH:MM, local time."""
    hour, minute = (int(part) for part in hh_mm.split(":"))
    return MONDAY.replace(day=MONDAY.day + day - 1, hour=hour, minute=minute)


def shown(loop: Playlist, when: datetime) -> list[str]:
    return [item.asset for item in playing_now(loop, when)]


BREAKFAST = {"image": "breakfast.jpg", "hours": "07:00-10:30"}
ALL_DAY = {"image": "brand.jpg"}
LATE = {"video": "late.mp4", "hours": "22:00-02:00"}


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("06:59", ["brand.jpg"]),
        ("07:00", ["breakfast.jpg", "brand.jpg"]),  # the start is included
        ("10:29", ["breakfast.jpg", "brand.jpg"]),
        ("10:30", ["brand.jpg"]),  # the end is not
        ("15:00", ["brand.jpg"]),
    ],
)
def test_a_dayparted_entry_plays_only_in_its_hours(when: str, expected: list[str]) -> None:
    assert shown(playlist(BREAKFAST, ALL_DAY), at(3, when)) == expected


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("21:59", ["brand.jpg"]),
        ("22:00", ["brand.jpg", "late.mp4"]),
        ("23:59", ["brand.jpg", "late.mp4"]),
        ("00:00", ["brand.jpg", "late.mp4"]),
        ("01:59", ["brand.jpg", "late.mp4"]),
        ("02:00", ["brand.jpg"]),
    ],
)
def test_hours_may_run_over_midnight(when: str, expected: list[str]) -> None:
    assert shown(playlist(ALL_DAY, LATE), at(2, when)) == expected


def test_weekdays_limit_an_entry_to_those_days() -> None:
    weekend = {"image": "weekend.jpg", "weekdays": [6, 7]}
    loop = playlist(ALL_DAY, weekend)

    assert [shown(loop, at(day, "12:00")) for day in (5, 6, 7, 1)] == [
        ["brand.jpg"],
        ["brand.jpg", "weekend.jpg"],
        ["brand.jpg", "weekend.jpg"],
        ["brand.jpg"],
    ]


def test_a_night_over_midnight_belongs_to_the_day_it_starts() -> None:
    friday_night = {"image": "party.jpg", "hours": "22:00-02:00", "weekdays": [5]}
    loop = playlist(ALL_DAY, friday_night)

    assert shown(loop, at(5, "23:00")) == ["brand.jpg", "party.jpg"]  # Friday
    assert shown(loop, at(6, "01:00")) == ["brand.jpg", "party.jpg"]  # Saturday, early
    assert shown(loop, at(6, "23:00")) == ["brand.jpg"]  # Saturday night
    assert shown(loop, at(5, "01:00")) == ["brand.jpg"]  # Thursday's night, not Friday's


def test_sunday_night_runs_into_monday() -> None:
    sunday_night = {"image": "sunday.jpg", "hours": "20:00-01:00", "weekdays": [7]}
    loop = playlist(ALL_DAY, sunday_night)

    assert shown(loop, at(1, "00:30")) == ["brand.jpg", "sunday.jpg"]
    assert shown(loop, at(7, "00:30")) == ["brand.jpg"]


def test_when_every_entry_is_dayparted_out_the_whole_loop_plays() -> None:
    # Never a dark screen: the publisher's content rather than nothing.
    loop = playlist(BREAKFAST, LATE)

    assert shown(loop, at(3, "15:00")) == ["breakfast.jpg", "late.mp4"]
    assert shown(loop, at(3, "08:00")) == ["breakfast.jpg"]


def test_the_time_is_read_as_the_kiosk_local_wall_clock() -> None:
    # An aware time is not converted: 08:00+08:00 is breakfast time in that store.
    loop = playlist(BREAKFAST, ALL_DAY)
    local = at(3, "08:00").replace(tzinfo=timezone(timedelta(hours=8)))

    assert shown(loop, local) == ["breakfast.jpg", "brand.jpg"]
