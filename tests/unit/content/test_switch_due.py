"""When the kiosk switches to a staged release: a pure decision over the clock and the screen."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from content.schedule import next_switch_at, switch_due

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Staged:
    name: str
    number: int
    not_before: datetime | None = None


def test_a_release_for_now_is_switched_to_on_the_attract_loop() -> None:
    assert switch_due([Staged("hq-12", 12)], 11, NOW, on_attract=True) == "hq-12"


def test_nothing_switches_mid_session() -> None:
    assert switch_due([Staged("hq-12", 12)], 11, NOW, on_attract=False) is None


def test_the_switch_waits_for_the_attract_loop_then_happens() -> None:
    staged = [Staged("hq-12", 12)]
    during = [switch_due(staged, 11, NOW + timedelta(seconds=s), False) for s in range(0, 300, 30)]

    assert during == [None] * 10
    assert switch_due(staged, 11, NOW + timedelta(seconds=300), True) == "hq-12"


def test_a_future_release_stays_inactive_until_its_not_before() -> None:
    at = NOW + timedelta(hours=15)
    staged = [Staged("hq-12", 12, not_before=at)]

    assert switch_due(staged, 11, NOW, True) is None
    assert switch_due(staged, 11, at - timedelta(milliseconds=1), True) is None
    assert switch_due(staged, 11, at, True) == "hq-12"
    assert switch_due(staged, 11, at + timedelta(days=3), True) == "hq-12"


def test_not_before_is_a_moment_whatever_the_time_zone() -> None:
    shanghai = datetime(2026, 12, 7, 1, 0, tzinfo=UTC).astimezone(ZoneInfo("Asia/Shanghai"))
    staged = [Staged("hq-12", 12, not_before=datetime(2026, 12, 7, 1, 0, tzinfo=UTC))]

    assert switch_due(staged, 11, shanghai - timedelta(seconds=1), True) is None
    assert switch_due(staged, 11, shanghai, True) == "hq-12"


def test_an_older_or_the_same_release_is_never_switched_to() -> None:
    staged = [Staged("hq-10", 10), Staged("hq-11", 11)]

    assert switch_due(staged, 11, NOW, True) is None


def test_the_newest_due_release_wins() -> None:
    staged = [Staged("hq-12", 12), Staged("hq-14", 14), Staged("hq-13", 13)]

    assert switch_due(staged, 11, NOW, True) == "hq-14"


def test_a_scheduled_newer_release_does_not_hold_back_one_due_now() -> None:
    staged = [Staged("hq-12", 12), Staged("hq-13", 13, not_before=NOW + timedelta(days=1))]

    assert switch_due(staged, 11, NOW, True) == "hq-12"
    assert switch_due(staged, 12, NOW + timedelta(days=1), True) == "hq-13"


def test_any_hq_release_replaces_local_or_no_content() -> None:
    assert switch_due([Staged("hq-1", 1)], None, NOW, True) == "hq-1"


def test_nothing_staged_nothing_due() -> None:
    assert switch_due([], 11, NOW, True) is None
    assert next_switch_at([], 11, NOW) is None


def test_next_switch_at_is_the_earliest_scheduled_newer_release() -> None:
    soon, later = NOW + timedelta(hours=1), NOW + timedelta(hours=5)
    staged = [
        Staged("hq-10", 10, not_before=NOW + timedelta(minutes=5)),  # older: never
        Staged("hq-13", 13, not_before=later),
        Staged("hq-12", 12, not_before=soon),
        Staged("hq-14", 14),  # due already: not a wake-up
    ]

    assert next_switch_at(staged, 11, NOW) == soon
    assert next_switch_at(staged, 11, soon) == later
