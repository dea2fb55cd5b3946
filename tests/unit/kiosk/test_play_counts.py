"""Proof-of-play counting, fed shows, lifts and times by hand: no Qt, no clock."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk import play_counts
from kiosk.play_counts import (
    LIFT_WINDOW,
    RECORD_EVERY,
    ItemShown,
    LoopStopped,
    PhoneLifted,
    PlayCounts,
    PlayEvent,
    PlayItem,
)

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
POSTER = PlayItem("poster-x1", "x1-launch")
VIDEO = PlayItem("videos/spin.mp4")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def run(
    steps: Iterable[tuple[float, PlayEvent]], *, stop_at: float | None = None
) -> list[dict[str, Any]]:
    """Every record made while `steps` happen (and at a clean stop at `stop_at`)."""
    counts = play_counts.start(T0)
    records: list[dict[str, Any]] = []
    for second, event in steps:
        counts = _deadlines_until(counts, at(second), records)
        counted = play_counts.step(counts, event, at(second))
        counts = counted.counts
        if counted.record is not None:
            records.append(counted.record)
    if stop_at is not None:
        counts = _deadlines_until(counts, at(stop_at), records)
        final = play_counts.advance(counts, at(stop_at), final=True)
        if final.record is not None:
            records.append(final.record)
    return records


def _deadlines_until(
    counts: PlayCounts, moment: datetime, records: list[dict[str, Any]]
) -> PlayCounts:
    """What the kiosk's timer does: `advance` at each deadline up to `moment`."""
    while (deadline := play_counts.next_deadline(counts)) <= moment:
        counted = play_counts.advance(counts, deadline)
        counts = counted.counts
        if counted.record is not None:
            records.append(counted.record)
    return counts


def totals(
    records: list[dict[str, Any]],
) -> dict[tuple[str, str, str | None], tuple[int, int, int]]:
    """What HQ holds after summing the records per (hour, item, campaign)."""
    summed: dict[tuple[str, str, str | None], tuple[int, int, int]] = {}
    for record in records:
        for row in record["rows"]:
            key = (row["hour"], row["item"], row["campaign"])
            shows, ms, lifted = summed.get(key, (0, 0, 0))
            summed[key] = (shows + row["shows"], ms + row["ms"], lifted + row["lifted"])
    return summed


def test_each_show_and_its_seconds_are_counted_per_item_and_campaign() -> None:
    records = run(
        [(0, ItemShown(POSTER)), (8, ItemShown(VIDEO)), (20, ItemShown(POSTER))],
        stop_at=26,
    )
    assert totals(records) == {
        ("2026-12-06T09:00:00.000Z", "poster-x1", "x1-launch"): (2, 14_000, 0),
        ("2026-12-06T09:00:00.000Z", "videos/spin.mp4", None): (1, 12_000, 0),
    }


def test_a_record_every_few_minutes_carries_only_what_came_since() -> None:
    records = run([(0, ItemShown(POSTER))], stop_at=RECORD_EVERY.total_seconds() * 2 + 30)
    assert [row["ms"] for record in records for row in record["rows"]] == [
        300_000,
        300_000,
        30_000,
    ]
    assert [row["shows"] for record in records for row in record["rows"]] == [1, 0, 0]
    assert records[0]["to"] == records[1]["from"]


def test_a_show_across_the_hour_is_split_at_the_boundary() -> None:
    # On from 09:58:30 to 10:01:15: 90 s in the 09 hour, 75 s in the 10 hour; one show.
    records = run([(58 * 60 + 30, ItemShown(POSTER)), (61 * 60 + 15, LoopStopped())], stop_at=3700)
    assert totals(records) == {
        ("2026-12-06T09:00:00.000Z", "poster-x1", "x1-launch"): (1, 90_000, 0),
        ("2026-12-06T10:00:00.000Z", "poster-x1", "x1-launch"): (0, 75_000, 0),
    }
    # The hour's record is made at the boundary itself, not minutes later.
    assert any(record["to"] == "2026-12-06T10:00:00.000Z" for record in records)


def test_a_lift_during_a_show_follows_it_once() -> None:
    records = run(
        [(0, ItemShown(POSTER)), (3, PhoneLifted()), (4, PhoneLifted()), (5, LoopStopped())],
        stop_at=60,
    )
    assert totals(records) == {
        ("2026-12-06T09:00:00.000Z", "poster-x1", "x1-launch"): (1, 5_000, 1),
    }


def test_a_lift_soon_after_a_show_follows_it_and_the_next_show_too() -> None:
    window = LIFT_WINDOW.total_seconds()
    records = run(
        [(0, ItemShown(POSTER)), (8, ItemShown(VIDEO)), (8 + window, PhoneLifted())],
        stop_at=30,
    )
    assert totals(records) == {
        ("2026-12-06T09:00:00.000Z", "poster-x1", "x1-launch"): (1, 8_000, 1),
        ("2026-12-06T09:00:00.000Z", "videos/spin.mp4", None): (1, 22_000, 1),
    }


def test_a_lift_later_than_the_window_follows_no_show() -> None:
    window = LIFT_WINDOW.total_seconds()
    records = run(
        [(0, ItemShown(POSTER)), (8, LoopStopped()), (8 + window + 0.001, PhoneLifted())],
        stop_at=60,
    )
    assert totals(records) == {
        ("2026-12-06T09:00:00.000Z", "poster-x1", "x1-launch"): (1, 8_000, 0),
    }


def test_a_lift_after_the_record_of_its_show_comes_in_the_next_record() -> None:
    # The show ends just before the 5-minute record; the lift 2 s after it follows it.
    end = RECORD_EVERY.total_seconds() - 1
    records = run(
        [(0, ItemShown(POSTER)), (end, LoopStopped()), (end + 2, PhoneLifted())], stop_at=400
    )
    assert [row["lifted"] for row in records[0]["rows"]] == [0]
    assert totals(records) == {
        ("2026-12-06T09:00:00.000Z", "poster-x1", "x1-launch"): (1, round(end * 1000), 1),
    }


def test_a_lift_in_the_next_hour_counts_in_the_hour_the_show_began() -> None:
    records = run(
        [(3595, ItemShown(POSTER)), (3605, PhoneLifted()), (3610, LoopStopped())], stop_at=3700
    )
    assert totals(records) == {
        ("2026-12-06T09:00:00.000Z", "poster-x1", "x1-launch"): (1, 5_000, 1),
        ("2026-12-06T10:00:00.000Z", "poster-x1", "x1-launch"): (0, 10_000, 0),
    }


def test_a_clock_set_back_counts_no_time_for_it() -> None:
    records = run([(100, ItemShown(POSTER)), (40, LoopStopped())], stop_at=120)
    assert totals(records) == {
        ("2026-12-06T09:00:00.000Z", "poster-x1", "x1-launch"): (1, 0, 0),
    }


def test_a_clock_set_back_an_hour_still_records_within_minutes() -> None:
    counts = play_counts.step(play_counts.start(at(0)), ItemShown(POSTER), at(0)).counts
    counts = play_counts.advance(counts, at(300)).counts  # the 5-minute record
    back = play_counts.advance(counts, at(300 - 3600))
    assert play_counts.next_deadline(back.counts) == at(300 - 3600 + 300)  # not an hour on
    shown = play_counts.step(back.counts, ItemShown(VIDEO), at(300 - 3600 + 10)).counts
    record = play_counts.advance(shown, at(300 - 3600 + 300)).record
    assert record is not None
    assert [(r["item"], r["shows"], r["ms"]) for r in record["rows"]] == [
        ("videos/spin.mp4", 1, 290_000)
    ]


def test_nothing_shown_makes_no_record() -> None:
    assert run([(5, PhoneLifted()), (6, LoopStopped())], stop_at=4000) == []


SHOWS = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=400_000),  # ms after the previous step
        st.sampled_from([ItemShown(POSTER), ItemShown(VIDEO), LoopStopped(), PhoneLifted()]),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(SHOWS)
def test_records_add_up_to_exactly_what_was_on_screen(steps: list[tuple[int, PlayEvent]]) -> None:
    """Whatever the timing, the records sum to each item's shows and milliseconds."""
    clock = 0
    timed: list[tuple[float, PlayEvent]] = []
    shows: dict[str, int] = {}
    on_screen: dict[str, int] = {}
    showing: tuple[str, int] | None = None
    for gap, event in steps:
        clock += gap
        timed.append((clock / 1000, event))
        if isinstance(event, ItemShown | LoopStopped) and showing is not None:
            on_screen[showing[0]] = on_screen.get(showing[0], 0) + clock - showing[1]
            showing = None
        if isinstance(event, ItemShown):
            shows[event.item.item] = shows.get(event.item.item, 0) + 1
            showing = (event.item.item, clock)
    end = clock + 1
    if showing is not None:
        on_screen[showing[0]] = on_screen.get(showing[0], 0) + end - showing[1]
    summed: dict[str, tuple[int, int]] = {}
    followed: dict[str, int] = {}
    for (_, item, _), (count, ms, lifted) in totals(run(timed, stop_at=end / 1000)).items():
        was = summed.get(item, (0, 0))
        summed[item] = (was[0] + count, was[1] + ms)
        followed[item] = followed.get(item, 0) + lifted
    assert summed == {item: (shows[item], on_screen.get(item, 0)) for item in shows}
    assert all(followed[item] <= shows[item] for item in followed)
