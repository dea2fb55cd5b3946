"""BLE presence: RSSI smoothing, enter/exit hysteresis and away timeouts, on a fixed clock."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.events import TagAway, TagId, TagKind, TagSeen
from devices.presence import Presence, PresenceConfig

ALICE = TagId(TagKind.IBEACON, "b9407f30-f5f8-466e-aff9-25556b57fe6d:1:2")
BOB = TagId(TagKind.EDDYSTONE, "8b0cd5ea7ee8a2e74b1f:000000000001")
INTERVAL = 0.1  # seconds between advertisements of the tags in these tests


def feed(
    presence: Presence, tag: TagId, readings: Sequence[float], start: float = 0.0
) -> tuple[list[TagSeen | TagAway], float]:
    """Advertise `readings` one INTERVAL apart from `start`; the events and the last time."""
    events: list[TagSeen | TagAway] = []
    now = start
    for index, rssi in enumerate(readings):
        now = start + index * INTERVAL
        events += presence.observe(tag, rssi, now)
    return events, now


def kinds(events: Sequence[TagSeen | TagAway]) -> list[str]:
    return [type(event).__name__ for event in events]


# -- entering -------------------------------------------------------------------------


def test_a_single_strong_first_advertisement_enters_at_once() -> None:
    presence = Presence()
    assert presence.observe(ALICE, -58, now=12.5) == [TagSeen(ALICE, "ble", 12.5, rssi=-58)]
    assert presence.present() == {ALICE}


def test_a_first_advertisement_exactly_at_the_threshold_enters() -> None:
    assert kinds(Presence().observe(ALICE, -65, now=0.0)) == ["TagSeen"]


def test_a_weak_tag_is_tracked_but_not_present() -> None:
    presence = Presence()
    events, _ = feed(presence, ALICE, [-80, -79, -81])
    assert events == []
    assert presence.present() == set()
    assert len(presence) == 1


def test_rising_rssi_enters_exactly_once() -> None:
    presence = Presence()
    events, _ = feed(presence, ALICE, [-90, -85, -80, -75, -70, -65, -60, -55, -55, -55, -55])
    assert kinds(events) == ["TagSeen"]
    seen = events[0]
    assert isinstance(seen, TagSeen)
    assert seen.rssi is not None
    assert seen.rssi >= -65


def test_the_seen_event_carries_the_smoothed_rssi() -> None:
    presence = Presence(PresenceConfig(enter_readings=5))  # smoothing alone decides
    events, _ = feed(presence, ALICE, [-70, -66, -60, -60, -60])
    [seen] = events
    assert isinstance(seen, TagSeen)
    # Medians -70, -68, -66, -63, -60; the mean of the last three first reaches -65 at -63.
    assert seen.rssi == pytest.approx(-63)


def test_a_tag_heard_far_away_enters_on_its_second_advertisement_near() -> None:
    """Smoothing alone would still remember the approach for several advertisements:
    the shopper would wait seconds for their welcome."""
    presence = Presence()
    events, now = feed(presence, ALICE, [-90, -90, -90, -90, -90, -55])
    assert events == []
    events, now = feed(presence, ALICE, [-55], start=now + INTERVAL)
    [seen] = events
    assert isinstance(seen, TagSeen)
    assert seen.rssi == pytest.approx(-55)  # smoothing restarts where the tag is now
    events, _ = feed(presence, ALICE, [-70, -72, -70], start=now + INTERVAL)
    assert events == [], "inside the band it stays, despite the far readings before"


def test_one_strong_reflection_does_not_bring_a_far_tag_in() -> None:
    presence = Presence()
    events, _ = feed(presence, ALICE, [-90, -90, -90, -90, -90, -40, -90, -90])
    assert events == []


def test_events_name_the_configured_reader() -> None:
    presence = Presence(PresenceConfig(reader="ble-door"))
    [seen] = presence.observe(ALICE, -50, now=1.0)
    assert seen.reader == "ble-door"


# -- staying -------------------------------------------------------------------------


def test_dipping_between_the_thresholds_does_not_leave() -> None:
    presence = Presence()
    events, _ = feed(presence, ALICE, [-60] * 5 + [-70, -72, -68, -74, -66, -73] * 5)
    assert kinds(events) == ["TagSeen"]
    assert presence.present() == {ALICE}


def test_one_wild_weak_reading_does_not_leave() -> None:
    presence = Presence()
    events, _ = feed(presence, ALICE, [-60] * 5 + [-99] + [-60] * 3)
    assert kinds(events) == ["TagSeen"]


# -- leaving ---------------------------------------------------------------------------


def test_falling_below_exit_leaves_exactly_once() -> None:
    presence = Presence()
    events, _ = feed(presence, ALICE, [-60] * 5 + [-70, -76, -80, -85, -90, -90, -90, -90])
    assert kinds(events) == ["TagSeen", "TagAway"]
    assert presence.present() == set()
    assert len(presence) == 1  # still heard, so still tracked


def test_coming_back_after_leaving_needs_the_enter_threshold_again() -> None:
    presence = Presence()
    readings = [-60] * 5 + [-90] * 6 + [-70] * 6 + [-55] * 6
    events, _ = feed(presence, ALICE, readings)
    assert kinds(events) == ["TagSeen", "TagAway", "TagSeen"]


def test_tags_are_independent() -> None:
    presence = Presence()
    assert kinds(presence.observe(ALICE, -50, now=0.0)) == ["TagSeen"]
    assert presence.observe(BOB, -90, now=0.05) == []
    assert presence.present() == {ALICE}
    events, _ = feed(presence, BOB, [-50] * 4, start=0.1)
    assert kinds(events) == ["TagSeen"]
    assert presence.present() == {ALICE, BOB}
    events, _ = feed(presence, ALICE, [-95] * 6, start=0.5)
    assert kinds(events) == ["TagAway"]
    assert presence.present() == {BOB}


# -- falling silent ---------------------------------------------------------------------


def test_a_tag_heard_once_is_away_after_the_floor() -> None:
    presence = Presence()
    presence.observe(ALICE, -50, now=10.0)
    assert presence.away_timeout(ALICE) == 3.0
    assert presence.tick(12.9) == []
    assert presence.tick(13.0) == []  # exactly at the timeout: not yet
    assert presence.tick(13.01) == [TagAway(ALICE, "ble", 13.01)]
    assert presence.tick(20.0) == []
    assert presence.present() == set()
    assert len(presence) == 0


def test_a_slow_tag_gets_a_timeout_of_several_intervals() -> None:
    presence = Presence()
    for second in range(0, 10, 2):  # advertises every 2 s
        presence.observe(ALICE, -55, now=float(second))
    assert presence.away_timeout(ALICE) == pytest.approx(8.0)
    assert presence.tick(8.0 + 7.9) == []  # would have been gone after the 3 s floor
    assert kinds(presence.tick(8.0 + 8.1)) == ["TagAway"]


def test_a_fast_tag_uses_the_floor() -> None:
    presence = Presence()
    feed(presence, ALICE, [-55] * 10)
    assert presence.away_timeout(ALICE) == 3.0


def test_the_interval_ignores_a_few_missed_advertisements() -> None:
    presence = Presence(PresenceConfig(away_floor_s=1.5))
    times = [0.0, 1.0, 2.0, 5.0, 6.0, 7.0, 8.0, 11.0, 12.0]  # two gaps where adverts were lost
    for now in times:
        presence.observe(ALICE, -55, now)
    assert presence.away_timeout(ALICE) == pytest.approx(4.0)


def test_k_and_floor_come_from_the_config() -> None:
    presence = Presence(PresenceConfig(away_floor_s=0.5, away_intervals=2.0))
    for second in range(5):
        presence.observe(ALICE, -55, now=second * 0.5)
    assert presence.away_timeout(ALICE) == pytest.approx(1.0)


def test_a_silent_tag_that_never_entered_is_forgotten_quietly() -> None:
    presence = Presence()
    feed(presence, ALICE, [-90, -90])
    assert presence.tick(100.0) == []
    assert len(presence) == 0
    assert presence.smoothed_rssi(ALICE) is None


def test_a_tag_heard_again_after_its_timeout_leaves_and_enters_afresh() -> None:
    presence = Presence()
    presence.observe(ALICE, -50, now=0.0)
    # No tick in between (a busy loop): the late advertisement settles the old visit first.
    events = presence.observe(ALICE, -60, now=10.0)
    assert events == [TagAway(ALICE, "ble", 10.0), TagSeen(ALICE, "ble", 10.0, rssi=-60)]
    # The fresh visit starts its smoothing from scratch.
    assert presence.smoothed_rssi(ALICE) == -60
    assert presence.away_timeout(ALICE) == 3.0


def test_a_weak_tag_heard_again_after_its_timeout_stays_out() -> None:
    presence = Presence()
    presence.observe(ALICE, -50, now=0.0)
    assert presence.observe(ALICE, -90, now=10.0) == [TagAway(ALICE, "ble", 10.0)]


# -- odd input --------------------------------------------------------------------------


@pytest.mark.parametrize("rssi", [math.nan, math.inf, -math.inf])
def test_readings_that_are_not_numbers_are_ignored(rssi: float) -> None:
    presence = Presence()
    assert presence.observe(ALICE, rssi, now=0.0) == []
    assert len(presence) == 0


def test_thresholds_are_configurable_per_kiosk() -> None:
    presence = Presence(PresenceConfig(enter_dbm=-80, exit_dbm=-90))
    assert kinds(presence.observe(ALICE, -78, now=0.0)) == ["TagSeen"]


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"enter_dbm": -75, "exit_dbm": -75}, "below enter"),
        ({"enter_dbm": -80, "exit_dbm": -70}, "below enter"),
        ({"median_window": 0}, "at least 1"),
        ({"average_window": 0}, "at least 1"),
        ({"enter_readings": 0}, "at least 1"),
        ({"away_floor_s": 0}, "positive"),
        ({"away_intervals": 0.5}, "at least 1"),
        ({"enter_dbm": math.nan}, "finite"),
    ],
)
def test_config_refuses_settings_that_cannot_work(options: dict[str, float], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        PresenceConfig(**options)  # type: ignore[arg-type]


# -- properties -------------------------------------------------------------------------

_TAGS = (ALICE, BOB)
_steps = st.lists(
    st.tuples(
        st.sampled_from(_TAGS),
        st.integers(-100, -30),  # rssi
        st.floats(0.0, 5.0),  # seconds since the previous step
        st.booleans(),  # tick after this step
    ),
    max_size=120,
)
_configs = st.builds(
    PresenceConfig,
    enter_dbm=st.integers(-80, -50),
    exit_dbm=st.integers(-95, -81),
    median_window=st.integers(1, 7),
    average_window=st.integers(1, 5),
    away_floor_s=st.floats(0.5, 5.0),
    away_intervals=st.floats(1.0, 6.0),
)


@settings(max_examples=300)
@given(config=_configs, steps=_steps)
def test_presence_is_hysteresis_on_the_smoothed_rssi_and_never_flaps(
    config: PresenceConfig, steps: list[tuple[TagId, int, float, bool]]
) -> None:
    """Each tag is present after a reading exactly when its smoothed RSSI reached
    `enter` (coming in) or stays at or above `exit` (already in); so every
    TagSeen/TagAway pair is a full crossing of the band between the thresholds."""
    presence = Presence(config)
    present = dict.fromkeys(_TAGS, False)
    last_heard: dict[TagId, float] = {}
    now = 0.0
    for tag, rssi, gap, tick in steps:
        now += gap
        timeout = presence.away_timeout(tag)
        timed_out = tag in last_heard and timeout is not None and now - last_heard[tag] > timeout
        events = presence.observe(tag, rssi, now)
        last_heard[tag] = now
        assert all(event.tag == tag and event.at == now for event in events)

        if timed_out and present[tag]:
            assert isinstance(events[0], TagAway)
            events = events[1:]
            present[tag] = False
        smoothed = presence.smoothed_rssi(tag)
        assert smoothed is not None
        should_be_present = smoothed >= config.enter_dbm or (
            present[tag] and smoothed >= config.exit_dbm
        )
        expected: list[type] = []
        if should_be_present != present[tag]:
            expected = [TagSeen if should_be_present else TagAway]
        assert [type(event) for event in events] == expected
        present[tag] = should_be_present
        assert presence.present() == {t for t, here in present.items() if here}

        if tick:
            for away in presence.tick(now):
                assert present[away.tag], "a TagAway for a tag that was not present"
                present[away.tag] = False
                last_heard.pop(away.tag)


@given(
    config=_configs,
    level=st.integers(1, 9),
    noise=st.lists(st.integers(-3, 3), min_size=1, max_size=60),
)
def test_noise_inside_the_band_never_changes_anything(
    config: PresenceConfig, level: int, noise: list[int]
) -> None:
    presence = Presence(config)
    presence.observe(ALICE, config.enter_dbm + 10, now=0.0)
    # A level inside the band, with noise that keeps every reading inside it too.
    band = config.enter_dbm - config.exit_dbm
    middle = config.exit_dbm + band * level / 10
    now = 0.0
    for delta in noise:
        now += INTERVAL
        rssi = min(max(middle + delta, config.exit_dbm), config.enter_dbm - 0.5)
        assert presence.observe(ALICE, rssi, now) == []
    assert presence.present() == {ALICE}


@given(
    gaps=st.lists(st.floats(0.01, 10.0), min_size=1, max_size=30),
    config=_configs,
)
def test_a_present_tag_is_away_once_silent_past_its_timeout(
    gaps: list[float], config: PresenceConfig
) -> None:
    presence = Presence(config)
    now = 0.0
    presence.observe(ALICE, -40, now)
    for gap in gaps:
        now += gap
        presence.observe(ALICE, -40, now)
    assert presence.present() == {ALICE}  # the tag may have left and come back: it is in now
    timeout = presence.away_timeout(ALICE)
    assert timeout is not None
    assert timeout >= config.away_floor_s
    assert presence.tick(now + timeout - 1e-6) == []
    assert presence.tick(now + timeout + 0.001) == [TagAway(ALICE, "ble", now + timeout + 0.001)]
    assert presence.tick(now + timeout + 100) == []
