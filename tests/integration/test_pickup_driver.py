"""The pickup board driver against the simulated board on a real pseudo-terminal."""

from __future__ import annotations

import logging
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.pickup import (
    EventRecorder,
    connected_driver,
    is_health,
    running_board,
    wait_until,
    without_time,
)

from devices.events import (
    Alarm,
    AlarmReason,
    DeviceEvent,
    DeviceHealth,
    Dropped,
    HealthStatus,
    Lifted,
)
from devices.pickup import PickupBoard, PickupStats
from devices.protocols.pickup import (
    Led,
    LedMode,
    State,
    StateQuery,
    encode,
    parse_line,
)
from devices.sim.pickup import PickupBoardSim

DRIVER_LOG = "devices.pickup"


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[PickupBoardSim]:
    with running_board(tmp_path) as board:
        yield board


@pytest.fixture
def driver(sim: PickupBoardSim) -> Iterator[tuple[PickupBoard, EventRecorder]]:
    with connected_driver(sim) as connected:
        yield connected


def lifted(slot: int, *, resync: bool = False) -> Lifted:
    return Lifted(slot, at=0.0, resync=resync)


def dropped(slot: int, *, resync: bool = False) -> Dropped:
    return Dropped(slot, at=0.0, resync=resync)


def driver_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name in ("pickup-reader", "pickup-writer")]


def driver_records(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == DRIVER_LOG and r.levelno == level]


# -- events -----------------------------------------------------------------


def test_lift_drop_and_alarm_become_events(
    sim: PickupBoardSim, driver: tuple[PickupBoard, EventRecorder]
) -> None:
    board, events = driver
    start = events.mark()
    sim.lift(3)
    sim.alarm(3, "PUCK")
    sim.drop(3)
    events.wait_for_event(dropped(3), since=start)
    assert [type(e) for e in events.since(start)] == [Lifted, Alarm, Dropped]
    lift, alarm, drop = events.since(start)
    assert lift == Lifted(3, at=lift.at)
    assert alarm == Alarm(3, AlarmReason.PUCK_REMOVED, at=alarm.at)
    assert drop == Dropped(3, at=drop.at)
    assert lift.at <= alarm.at <= drop.at
    assert board.lifted == frozenset()


def test_lift_reaches_the_listener_within_milliseconds(
    sim: PickupBoardSim, driver: tuple[PickupBoard, EventRecorder]
) -> None:
    _, events = driver
    latencies = []
    for _ in range(20):
        index = events.mark()
        sent = time.monotonic()
        sim.lift(5)
        events.wait_for(lambda e: isinstance(e, Lifted), since=index)
        latencies.append(events.received_at(index) - sent)
        sim.drop(5)
        events.wait_for(lambda e: isinstance(e, Dropped), since=index)
    # Typically ~0.3 ms; the bound leaves room for a busy CI machine.
    assert statistics.median(latencies) < 0.010, latencies


def test_event_time_comes_from_the_injected_clock(sim: PickupBoardSim) -> None:
    ticks = iter(range(1000, 100_000))
    with connected_driver(sim, clock=lambda: float(next(ticks))) as (_, events):
        start = events.mark()
        sim.lift(2)
        event = events.wait_for_event(lifted(2), since=start)
    assert event.at >= 1000.0


def test_repeated_lift_and_drop_of_an_empty_slot_are_ignored(
    sim: PickupBoardSim, driver: tuple[PickupBoard, EventRecorder]
) -> None:
    board, events = driver
    start = events.mark()
    sim.lift(3)
    sim.lift(3)  # the sim sends a second LIFT: a bouncing sensor
    sim.drop(4)  # never lifted
    sim.alarm(9)  # a marker: once it arrives, everything before it was handled
    events.wait_for(lambda e: isinstance(e, Alarm), since=start)
    assert [type(e) for e in events.since(start)] == [Lifted, Alarm]
    assert board.stats.lines_ok >= 4


def test_state_reports_only_the_differences_drops_first(
    sim: PickupBoardSim, driver: tuple[PickupBoard, EventRecorder]
) -> None:
    board, events = driver
    sim.lift(1)
    sim.lift(2)
    events.wait_for_event(lifted(2))
    start = events.mark()
    sim.send_raw(encode(State(frozenset({2, 3, 5}))))
    events.wait_for_event(lifted(5, resync=True), since=start)
    expected: list[DeviceEvent] = [
        dropped(1, resync=True),
        lifted(3, resync=True),
        lifted(5, resync=True),
    ]
    assert [without_time(e) for e in events.since(start)] == [without_time(e) for e in expected]
    assert board.lifted == {2, 3, 5}


def test_connecting_asks_for_state_and_takes_over_lifted_phones(sim: PickupBoardSim) -> None:
    sim.lift(4)  # lifted before the kiosk started: the line went nowhere
    with connected_driver(sim) as (board, events):
        events.wait_for_event(lifted(4, resync=True))
        assert board.lifted == {4}
    assert isinstance(sim.host_lines()[0], StateQuery)


def test_periodic_state_repairs_a_lost_lift(tmp_path: Path) -> None:
    with (
        running_board(tmp_path, state_interval=0.05) as sim,
        connected_driver(sim) as (board, events),
    ):
        start = events.mark()
        sim.lift(6, corrupt=True)  # the LIFT is damaged on the way and rejected
        events.wait_for_event(lifted(6, resync=True), since=start)
        assert board.stats.bad_checksum == 1


def test_hello_reports_the_board_and_resynchronises(
    sim: PickupBoardSim, driver: tuple[PickupBoard, EventRecorder]
) -> None:
    board, events = driver
    board.set_led(2, LedMode.ON)
    sim.wait_for(lambda m: m == Led(2, LedMode.ON))
    host_index = len(sim.host_lines())
    start = events.mark()
    sim.send_hello()  # the board reset
    events.wait_for(is_health(HealthStatus.UP, "board SIM-0001 fw 1.4.2 slots 12"), since=start)
    sim.wait_for(lambda m: isinstance(m, StateQuery), since=host_index)
    sim.wait_for(lambda m: m == Led(2, LedMode.ON), since=host_index)


def test_board_without_checksums_is_understood(tmp_path: Path) -> None:
    with running_board(tmp_path, checksum=False) as sim, connected_driver(sim) as (board, events):
        sim.lift(1)
        events.wait_for_event(lifted(1))
        assert board.stats.bad_checksum == 0


# -- commands to the board ---------------------------------------------------


def test_led_commands_reach_the_board_with_checksums(
    sim: PickupBoardSim, driver: tuple[PickupBoard, EventRecorder]
) -> None:
    board, _ = driver
    board.set_led(3, LedMode.BLINK)
    board.set_led(4, LedMode.ON)
    board.set_led(3, LedMode.OFF)
    board.request_state()
    sim.wait_for(lambda m: isinstance(m, StateQuery), since=1)
    assert sim.leds == {3: LedMode.OFF, 4: LedMode.ON}
    assert sim.host_rejects() == []
    assert board.stats.unknown_command == 0  # nothing echoed back: the pty is raw
    for raw in sim.host_raw_lines():
        assert raw[-3:-2] == b"*", raw
        assert parse_line(raw) in sim.host_lines()


def test_set_led_rejects_a_bad_slot_at_once(driver: tuple[PickupBoard, EventRecorder]) -> None:
    board, _ = driver
    with pytest.raises(ValueError, match="slot"):
        board.set_led(0, LedMode.ON)
    with pytest.raises(ValueError, match="slot"):
        board.set_led(257, LedMode.ON)


# -- bad input --------------------------------------------------------------


def test_bad_lines_are_counted_and_the_next_good_line_still_works(
    sim: PickupBoardSim,
    driver: tuple[PickupBoard, EventRecorder],
    caplog: pytest.LogCaptureFixture,
) -> None:
    board, events = driver
    before = board.stats
    sim.send_raw(b"\xff\xfe\x00garbage\n")  # noise
    sim.send_raw(b"LIFT 3*99\n")  # bad checksum
    sim.send_raw(b"REBOOT\n")  # unknown command
    sim.send_raw(b"LED 3 ON\n")  # a host command coming back: unknown too
    sim.send_raw(b"LIFT 999\n")  # malformed
    sim.send_raw(b"x" * 500 + b"\n")  # overlong
    sim.lift(7)
    events.wait_for_event(lifted(7))
    assert board.stats == PickupStats(
        lines_ok=before.lines_ok + 1,
        noise=1,
        bad_checksum=1,
        unknown_command=2,
        malformed=1,
        overlong=1,
    )
    # Six bad lines in a row: one warning, one recovery note, no line-by-line noise.
    assert len(driver_records(caplog, logging.WARNING)) == 1
    assert len(driver_records(caplog, logging.INFO)) >= 1


def test_a_single_garbled_line_is_not_a_warning(
    sim: PickupBoardSim,
    driver: tuple[PickupBoard, EventRecorder],
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, events = driver
    sim.send_raw(b"\x13\x88\n")
    sim.lift(2)
    events.wait_for_event(lifted(2))
    assert driver_records(caplog, logging.WARNING) == []


def test_a_failing_listener_does_not_stop_the_driver(
    sim: PickupBoardSim, caplog: pytest.LogCaptureFixture
) -> None:
    received: list[DeviceEvent] = []

    def listener(event: DeviceEvent) -> None:
        received.append(event)
        if isinstance(event, Lifted):
            raise RuntimeError("listener bug")

    board = PickupBoard(sim.port, listener)
    board.start()
    try:
        wait_until(lambda: any(isinstance(e, DeviceHealth) for e in received))
        sim.lift(1)
        sim.drop(1)
        wait_until(lambda: any(isinstance(e, Dropped) for e in received))
    finally:
        board.stop()
    failures = [r for r in caplog.records if r.name == DRIVER_LOG and r.exc_info]
    assert len(failures) == 1
    assert "listener bug" in str(failures[0].exc_info[1])  # type: ignore[index]


# -- losing the port ------------------------------------------------------------


def test_unplug_and_replug_reconnects_and_resynchronises(
    sim: PickupBoardSim,
    driver: tuple[PickupBoard, EventRecorder],
    caplog: pytest.LogCaptureFixture,
) -> None:
    board, events = driver
    board.set_led(3, LedMode.ON)
    sim.lift(3)
    events.wait_for_event(lifted(3))
    wait_until(lambda: sim.leds == {3: LedMode.ON})
    start = events.mark()

    sim.unplug()
    events.wait_for(is_health(HealthStatus.DOWN), since=start)
    sim.lift(7)  # while unplugged: the LIFT is lost
    sim.drop(3)  # so is this DROP
    sim.replug()

    events.wait_for_event(lifted(7, resync=True), since=start)
    events.wait_for_event(dropped(3, resync=True), since=start)
    health = events.health(since=start)
    assert health[0] is HealthStatus.DOWN
    assert health[1] is HealthStatus.RECONNECTING
    assert health[-1] is HealthStatus.UP
    assert health.count(HealthStatus.DOWN) == 1
    assert board.lifted == {7}
    assert board.stats.reconnects == 1
    # The board came back dark; the driver puts the LED back.
    wait_until(lambda: sim.leds == {3: LedMode.ON})
    # Failure logged once, recovery logged once, however many attempts it took.
    assert len(driver_records(caplog, logging.WARNING)) == 1
    assert len([m for m in driver_records(caplog, logging.INFO) if "back after" in m]) == 1


def test_led_changes_while_unplugged_do_not_block_and_apply_on_return(
    sim: PickupBoardSim, driver: tuple[PickupBoard, EventRecorder]
) -> None:
    board, events = driver
    start = events.mark()
    sim.unplug()
    events.wait_for(is_health(HealthStatus.DOWN), since=start)
    began = time.monotonic()
    board.set_led(5, LedMode.BLINK)
    board.request_state()
    assert time.monotonic() - began < 0.05
    sim.replug()
    wait_until(lambda: sim.leds == {5: LedMode.BLINK})


def test_port_missing_at_start_is_retried_until_it_appears(tmp_path: Path) -> None:
    events = EventRecorder()
    board = PickupBoard(str(tmp_path / "pickup"), events, backoff_initial=0.01, backoff_max=0.05)
    board.start()
    try:
        events.wait_for(is_health(HealthStatus.RECONNECTING))
        assert events.health()[0] is HealthStatus.DOWN
        with running_board(tmp_path) as sim:
            events.wait_for(is_health(HealthStatus.UP))
            sim.lift(2)
            events.wait_for_event(Lifted)
            assert events.health().count(HealthStatus.DOWN) == 1
    finally:
        board.stop()


def test_stop_is_prompt_even_during_a_long_backoff(tmp_path: Path) -> None:
    events = EventRecorder()
    board = PickupBoard(str(tmp_path / "missing"), events, backoff_initial=5.0, backoff_max=5.0)
    board.start()
    events.wait_for(is_health(HealthStatus.RECONNECTING))
    began = time.monotonic()
    board.stop()
    assert time.monotonic() - began < 0.5
    assert not driver_threads()


def test_stop_is_prompt_while_reading(sim: PickupBoardSim) -> None:
    with connected_driver(sim) as (board, _):
        began = time.monotonic()
        board.stop()
        assert time.monotonic() - began < 0.1
        assert not driver_threads()


# -- the simulator itself ---------------------------------------------------------


def test_sim_refuses_slots_the_board_does_not_have(sim: PickupBoardSim) -> None:
    with pytest.raises(ValueError, match="slot"):
        sim.lift(13)
    with pytest.raises(ValueError, match="slot"):
        sim.drop(0)


def test_sim_wait_for_gives_up_after_its_timeout(sim: PickupBoardSim) -> None:
    began = time.monotonic()
    with pytest.raises(TimeoutError):
        sim.wait_for(lambda m: True, timeout=0.05)
    assert time.monotonic() - began < 0.5


def test_sim_link_follows_the_pty_across_replug(sim: PickupBoardSim, tmp_path: Path) -> None:
    link = tmp_path / "pickup"
    sim.unplug()
    assert not link.is_symlink()
    sim.replug()
    assert link.is_symlink()
    assert link.resolve().exists()
    assert sim.port == str(link)


def test_a_second_driver_on_the_same_port_is_refused(
    sim: PickupBoardSim, driver: tuple[PickupBoard, EventRecorder]
) -> None:
    _, events = driver
    intruder_events = EventRecorder()
    intruder = PickupBoard(sim.port, intruder_events, backoff_initial=0.01, backoff_max=0.05)
    intruder.start()
    try:
        intruder_events.wait_for(is_health(HealthStatus.RECONNECTING))
        start = events.mark()
        sim.lift(3)
        events.wait_for_event(lifted(3), since=start)
        assert is_health(HealthStatus.DOWN)(intruder_events.events[0])
        assert HealthStatus.UP not in intruder_events.health()
    finally:
        intruder.stop()
