"""The RFID reader drivers: the serial reader against the simulated reader on a real
pseudo-terminal, and the keyboard-wedge reader against a virtual keyboard (/dev/uinput)."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import evdev
import pytest
from evdev import ecodes
from helpers.pickup import EventRecorder, is_health, wait_until

from devices.events import DeviceEvent, DeviceHealth, HealthStatus, TagId, TagKind, TagSeen
from devices.protocols.rfid import LineFormat, RfidProtocol
from devices.rfid import RfidStats, SerialRfidReader, WedgeRfidReader
from devices.sim.rfid import RfidReaderSim

DRIVER_LOG = "devices.rfid"

CARD = 12345678
CARD_VALUE = "0012345678"
# What of CARD could leak into a log: its number, its hex id and its RDM6300 frame.
CARD_TRACES = ("12345678", "bc614e", "0b00bc614e")
OTHER_CARD = 4242


class ManualClock:
    """A clock the test moves; the driver reads it from its thread."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@contextmanager
def running_reader(directory: Path, **options: Any) -> Iterator[RfidReaderSim]:
    """A simulated serial RFID reader reachable at the symlink `directory / "rfid"`."""
    options.setdefault("link", directory / "rfid")
    sim = RfidReaderSim(**options)
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


@contextmanager
def connected_reader(
    sim: RfidReaderSim, **options: Any
) -> Iterator[tuple[SerialRfidReader, EventRecorder]]:
    """A SerialRfidReader on `sim`'s port that has opened it (pyserial flushes older input)."""
    recorder = EventRecorder()
    options.setdefault("backoff_initial", 0.01)
    options.setdefault("backoff_max", 0.05)
    reader = SerialRfidReader(sim.port, recorder, **options)
    reader.start()
    try:
        recorder.wait_for(is_health(HealthStatus.UP))
        yield reader, recorder
    finally:
        reader.stop()


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[RfidReaderSim]:
    with running_reader(tmp_path) as reader:
        yield reader


@pytest.fixture
def driver(sim: RfidReaderSim) -> Iterator[tuple[SerialRfidReader, EventRecorder]]:
    with connected_reader(sim) as connected:
        yield connected


def seen(card: int) -> TagSeen:
    return TagSeen(TagId(TagKind.RFID, f"{card:010d}"), "rfid", at=0.0)


def tags_seen(events: EventRecorder, since: int = 0) -> list[str]:
    return [e.tag.value for e in events.since(since) if isinstance(e, TagSeen)]


def tap_marker(sim: RfidReaderSim, events: EventRecorder, since: int) -> None:
    """Tap another card and wait for it: everything sent before it has been handled."""
    sim.present(OTHER_CARD)
    events.wait_for_event(seen(OTHER_CARD), since=since)


def reader_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name in ("rfid-reader", "rfid-wedge-reader")]


def driver_records(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == DRIVER_LOG and r.levelno == level]


def assert_no_card_in_logs(caplog: pytest.LogCaptureFixture) -> None:
    text = caplog.text.lower()
    for trace in CARD_TRACES:
        assert trace not in text
    for record in caplog.records:
        message = record.getMessage().lower()
        assert not any(trace in message for trace in CARD_TRACES), record.getMessage()


# -- reads ------------------------------------------------------------------------


def test_a_tap_gives_one_tag_seen_with_the_card_number(
    sim: RfidReaderSim, driver: tuple[SerialRfidReader, EventRecorder]
) -> None:
    reader, events = driver
    start = events.mark()
    sim.present(CARD)
    event = events.wait_for_event(seen(CARD), since=start)
    assert isinstance(event, TagSeen)
    assert event.tag == TagId(TagKind.RFID, CARD_VALUE)  # the version byte 0x0B is dropped
    assert event.reader == "rfid"
    assert event.rssi is None
    tap_marker(sim, events, start)
    assert tags_seen(events, start) == [CARD_VALUE, f"{OTHER_CARD:010d}"]
    assert reader.stats == RfidStats(frames=2, reads=2)


def test_a_tap_reaches_the_listener_within_milliseconds(
    sim: RfidReaderSim, driver: tuple[SerialRfidReader, EventRecorder]
) -> None:
    _, events = driver
    index = events.mark()
    sent = time.monotonic()
    sim.present(CARD)
    events.wait_for(lambda e: isinstance(e, TagSeen), since=index)
    # Typically well under a millisecond on a pty; the bound leaves room for a busy CI machine.
    assert events.received_at(index) - sent < 0.050


def test_event_time_comes_from_the_injected_clock(sim: RfidReaderSim) -> None:
    clock = ManualClock(5000.0)
    with connected_reader(sim, clock=clock) as (_, events):
        start = events.mark()
        sim.present(CARD)
        event = events.wait_for_event(seen(CARD), since=start)
    assert event.at == 5000.0


@pytest.mark.slow
def test_a_fob_held_for_two_seconds_is_one_read_and_again_after_the_window(
    sim: RfidReaderSim,
) -> None:
    with connected_reader(sim, repeat_window=0.5) as (reader, events):
        start = events.mark()
        frames = sim.hold(CARD, 2.0, interval=0.1)  # blocks: a frame every 100 ms for 2 s
        tap_marker(sim, events, start)
        assert tags_seen(events, start) == [CARD_VALUE, f"{OTHER_CARD:010d}"]
        assert reader.stats.repeats == frames - 1

        time.sleep(0.6)  # the fob is taken away: silence longer than the window
        again = events.mark()
        sim.present(CARD)
        events.wait_for_event(seen(CARD), since=again)
        assert reader.stats.reads == 3


def test_the_same_fob_after_the_default_window_is_a_second_read(sim: RfidReaderSim) -> None:
    clock = ManualClock()
    with connected_reader(sim, clock=clock) as (reader, events):
        start = events.mark()
        sim.present(CARD)
        events.wait_for_event(seen(CARD), since=start)
        clock.now += 1.0  # still on the reader: a repeat
        sim.present(CARD)
        wait_until(lambda: reader.stats.repeats == 1, what="the repeat counted")
        clock.now += 1.5  # 1.5 s of silence since the last frame: a new tap
        sim.present(CARD)
        wait_until(lambda: reader.stats.reads == 2, what="the second read")
        assert tags_seen(events, start) == [CARD_VALUE, CARD_VALUE]


def test_two_fobs_tapped_in_turn_are_two_reads(
    sim: RfidReaderSim, driver: tuple[SerialRfidReader, EventRecorder]
) -> None:
    _, events = driver
    start = events.mark()
    sim.present(CARD, repeats=3, interval=0.01)
    sim.present(OTHER_CARD, repeats=3, interval=0.01)
    sim.present(CARD)  # back to the first within its window: still the same visit
    events.wait_for_event(seen(OTHER_CARD), since=start)
    tap_marker(sim, events, start)
    assert tags_seen(events, start) == [CARD_VALUE, f"{OTHER_CARD:010d}"]


@pytest.mark.parametrize(
    ("sim_format", "driver_format"),
    [
        (LineFormat.DECIMAL, LineFormat.AUTO),
        (LineFormat.DECIMAL, LineFormat.DECIMAL),
        (LineFormat.HEX, LineFormat.AUTO),
        (LineFormat.HEX, LineFormat.HEX),
    ],
)
def test_line_readers_give_the_same_card_number(
    tmp_path: Path, sim_format: LineFormat, driver_format: LineFormat
) -> None:
    with (
        running_reader(tmp_path, protocol=RfidProtocol.LINE, line_format=sim_format) as sim,
        connected_reader(sim, protocol="line", line_format=driver_format) as (reader, events),
    ):
        sim.present(CARD, repeats=3, interval=0.01)
        sim.noise(5)  # one line of garbage
        sim.partial()  # a line with no end: the next line is joined to it and both are lost
        sim.present(CARD)
        tap_marker(sim, events, 0)
        assert tags_seen(events) == [CARD_VALUE, f"{OTHER_CARD:010d}"]
        assert reader.stats == RfidStats(frames=4, malformed=2, reads=2, repeats=2)


def test_an_unknown_protocol_is_refused_at_once() -> None:
    with pytest.raises(ValueError, match="wiegand"):
        SerialRfidReader("/dev/null", EventRecorder(), protocol="wiegand")


# -- bad input ----------------------------------------------------------------------


def test_noise_bad_checksums_and_partial_frames_are_dropped_and_counted(
    sim: RfidReaderSim,
    driver: tuple[SerialRfidReader, EventRecorder],
    caplog: pytest.LogCaptureFixture,
) -> None:
    reader, events = driver
    start = events.mark()
    sim.noise(7)
    sim.bad_checksum(CARD)
    sim.partial(CARD)  # dropped when the next frame's STX arrives
    tap_marker(sim, events, start)
    assert tags_seen(events, start) == [f"{OTHER_CARD:010d}"]
    assert reader.stats == RfidStats(frames=1, bad_checksum=1, malformed=1, noise_bytes=7, reads=1)
    # Two bad frames are not yet a wiring problem.
    assert driver_records(caplog, logging.WARNING) == []


def test_three_bad_frames_in_a_row_warn_once_and_recovery_is_noted(
    sim: RfidReaderSim,
    driver: tuple[SerialRfidReader, EventRecorder],
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, events = driver
    start = events.mark()
    for _ in range(5):
        sim.bad_checksum(CARD)
    tap_marker(sim, events, start)
    warnings = driver_records(caplog, logging.WARNING)
    assert len(warnings) == 1
    assert "unreadable frames" in warnings[0]
    assert any("readable again" in m for m in driver_records(caplog, logging.INFO))


def test_nothing_of_a_card_number_reaches_the_logs(
    sim: RfidReaderSim,
    driver: tuple[SerialRfidReader, EventRecorder],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    _, events = driver
    start = events.mark()
    sim.present(CARD, repeats=3, interval=0.01)
    sim.bad_checksum(CARD)
    sim.partial(CARD)
    sim.send_raw(b"\x020B00BC614E\x03")  # too short
    sim.send_raw(b"\x020B00BC614EZZ\x03")  # not hex
    sim.present(CARD)
    tap_marker(sim, events, start)
    assert any(r.name == DRIVER_LOG and r.levelno == logging.DEBUG for r in caplog.records)
    assert_no_card_in_logs(caplog)


def test_a_failing_listener_does_not_stop_the_reader(
    sim: RfidReaderSim, caplog: pytest.LogCaptureFixture
) -> None:
    received: list[DeviceEvent] = []

    def listener(event: DeviceEvent) -> None:
        received.append(event)
        if isinstance(event, TagSeen) and event.tag.value == CARD_VALUE:
            raise RuntimeError("listener bug")

    reader = SerialRfidReader(sim.port, listener)
    reader.start()
    try:
        wait_until(lambda: any(isinstance(e, DeviceHealth) for e in received))
        sim.present(CARD)
        sim.present(OTHER_CARD)
        wait_until(lambda: sum(isinstance(e, TagSeen) for e in received) == 2)
    finally:
        reader.stop()
    failures = [r for r in caplog.records if r.name == DRIVER_LOG and r.exc_info]
    assert len(failures) == 1
    assert "listener bug" in str(failures[0].exc_info[1])  # type: ignore[index]
    assert_no_card_in_logs(caplog)


# -- losing the port ------------------------------------------------------------------


def test_unplug_and_replug_reconnects_and_reads_again(
    sim: RfidReaderSim,
    driver: tuple[SerialRfidReader, EventRecorder],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    reader, events = driver
    start = events.mark()

    sim.unplug()
    assert not (tmp_path / "rfid").is_symlink()  # the pty and its link are gone
    events.wait_for(is_health(HealthStatus.DOWN), since=start)
    events.wait_for(is_health(HealthStatus.RECONNECTING), since=start)
    sim.present(CARD)  # while unplugged: lost
    sim.replug()

    up = events.wait_for(is_health(HealthStatus.UP), since=start)
    sim.present(CARD)
    events.wait_for_event(seen(CARD), since=up)
    health = events.health(since=start)
    assert health[0] is HealthStatus.DOWN
    assert health[1] is HealthStatus.RECONNECTING
    assert health[-1] is HealthStatus.UP
    assert health.count(HealthStatus.DOWN) == 1
    assert tags_seen(events, start) == [CARD_VALUE]
    assert reader.stats.reconnects == 1
    # Failure logged once, recovery logged once, however many attempts it took.
    assert len(driver_records(caplog, logging.WARNING)) == 1
    assert len([m for m in driver_records(caplog, logging.INFO) if "back after" in m]) == 1


def test_port_missing_at_start_is_retried_until_it_appears(tmp_path: Path) -> None:
    events = EventRecorder()
    reader = SerialRfidReader(
        str(tmp_path / "rfid"), events, backoff_initial=0.01, backoff_max=0.05
    )
    reader.start()
    try:
        events.wait_for(is_health(HealthStatus.RECONNECTING))
        assert events.health()[0] is HealthStatus.DOWN
        with running_reader(tmp_path) as sim:
            up = events.wait_for(is_health(HealthStatus.UP))
            sim.present(CARD)
            events.wait_for_event(seen(CARD), since=up)
            assert events.health().count(HealthStatus.DOWN) == 1
    finally:
        reader.stop()


def test_stop_is_prompt_even_during_a_long_backoff(tmp_path: Path) -> None:
    events = EventRecorder()
    reader = SerialRfidReader(
        str(tmp_path / "missing"), events, backoff_initial=5.0, backoff_max=5.0
    )
    reader.start()
    events.wait_for(is_health(HealthStatus.RECONNECTING))
    began = time.monotonic()
    reader.stop()
    assert time.monotonic() - began < 0.5
    assert not reader_threads()


def test_stop_is_prompt_while_reading(sim: RfidReaderSim) -> None:
    with connected_reader(sim) as (reader, _):
        began = time.monotonic()
        reader.stop()
        assert time.monotonic() - began < 0.1
        assert not reader_threads()


def test_a_second_reader_on_the_same_port_is_refused(
    sim: RfidReaderSim, driver: tuple[SerialRfidReader, EventRecorder]
) -> None:
    _, events = driver
    intruder_events = EventRecorder()
    intruder = SerialRfidReader(
        sim.port, intruder_events, backoff_initial=0.01, backoff_max=0.05, name="intruder"
    )
    intruder.start()
    try:
        intruder_events.wait_for(is_health(HealthStatus.RECONNECTING))
        start = events.mark()
        sim.present(CARD)
        events.wait_for_event(seen(CARD), since=start)
        assert is_health(HealthStatus.DOWN)(intruder_events.events[0])
        assert HealthStatus.UP not in intruder_events.health()
    finally:
        intruder.stop()


# -- the simulator itself ------------------------------------------------------------


def test_sim_link_follows_the_pty_across_replug(sim: RfidReaderSim, tmp_path: Path) -> None:
    link = tmp_path / "rfid"
    sim.unplug()
    assert not link.is_symlink()
    assert not sim.plugged_in
    sim.replug()
    assert link.is_symlink()
    assert link.resolve().exists()
    assert sim.port == str(link)


def test_sim_refuses_what_a_reader_cannot_send(tmp_path: Path) -> None:
    with running_reader(tmp_path, protocol="line") as sim:
        with pytest.raises(ValueError, match="no checksum"):
            sim.bad_checksum(CARD)
        with pytest.raises(ValueError, match="card number"):
            sim.present(2**32)
        with pytest.raises(ValueError, match="card number"):
            sim.present("12345678901")
    with pytest.raises(ValueError, match="auto"):
        RfidReaderSim(protocol="line", line_format="auto")


def test_sim_stop_cuts_a_held_fob_short(sim: RfidReaderSim) -> None:
    holder = threading.Thread(target=sim.hold, args=(CARD, 60.0))
    holder.start()
    sim.stop()
    holder.join(1.0)
    assert not holder.is_alive()


# -- keyboard wedge -------------------------------------------------------------------

needs_uinput = pytest.mark.skipif(
    not os.access("/dev/uinput", os.R_OK | os.W_OK),
    reason="/dev/uinput is missing or not writable, so no virtual keyboard can be made "
    "(load the uinput module and run as root or a member of the input group)",
)

WEDGE_KEYS = [
    *(ecodes.ecodes[f"KEY_{c}"] for c in "0123456789ABCDEFG"),
    *(ecodes.ecodes[f"KEY_KP{d}"] for d in "0123456789"),
    ecodes.KEY_ENTER,
    ecodes.KEY_KPENTER,
    ecodes.KEY_LEFTSHIFT,
]


def wedge_seen(card: int) -> TagSeen:
    return TagSeen(TagId(TagKind.RFID, f"{card:010d}"), "rfid-wedge", at=0.0)


def virtual_wedge() -> evdev.UInput:
    """A virtual USB keyboard with the keys a wedge reader types."""
    return evdev.UInput({ecodes.EV_KEY: WEDGE_KEYS}, name="kiosk-test-rfid-wedge")


def type_line(keyboard: evdev.UInput, text: str, *, keypad: bool = False) -> None:
    """Type `text` and Enter as a wedge does: press, release, SYN per key; Shift for letters."""
    for char in text:
        if char.isdigit() and keypad:
            code = ecodes.ecodes[f"KEY_KP{char}"]
        else:
            code = ecodes.ecodes[f"KEY_{char.upper()}"]
        if char.isalpha():
            keyboard.write(ecodes.EV_KEY, ecodes.KEY_LEFTSHIFT, 1)
        keyboard.write(ecodes.EV_KEY, code, 1)
        keyboard.syn()
        keyboard.write(ecodes.EV_KEY, code, 0)
        if char.isalpha():
            keyboard.write(ecodes.EV_KEY, ecodes.KEY_LEFTSHIFT, 0)
        keyboard.syn()
    enter = ecodes.KEY_KPENTER if keypad else ecodes.KEY_ENTER
    keyboard.write(ecodes.EV_KEY, enter, 1)
    keyboard.syn()
    keyboard.write(ecodes.EV_KEY, enter, 0)
    keyboard.syn()


def device_path(keyboard: evdev.UInput) -> str:
    """The /dev/input/eventN node of a virtual keyboard."""
    return os.fsdecode(keyboard.device.path)


def point_link(link: Path, target: str) -> None:
    """Point `link` at `target` atomically, as udev does with /dev/input/by-id."""
    temp = link.with_name(link.name + ".tmp")
    temp.symlink_to(target)
    temp.replace(link)


@pytest.fixture
def keyboard() -> Iterator[evdev.UInput]:
    wedge = virtual_wedge()
    try:
        yield wedge
    finally:
        wedge.close()


@contextmanager
def connected_wedge(path: str, **options: Any) -> Iterator[tuple[WedgeRfidReader, EventRecorder]]:
    recorder = EventRecorder()
    options.setdefault("backoff_initial", 0.01)
    options.setdefault("backoff_max", 0.05)
    reader = WedgeRfidReader(path, recorder, **options)
    reader.start()
    try:
        recorder.wait_for(is_health(HealthStatus.UP))  # opened and grabbed
        yield reader, recorder
    finally:
        reader.stop()


@needs_uinput
def test_wedge_typing_a_card_number_gives_one_tag_seen(keyboard: evdev.UInput) -> None:
    with connected_wedge(device_path(keyboard)) as (reader, events):
        type_line(keyboard, CARD_VALUE)
        type_line(keyboard, CARD_VALUE)  # a wedge re-types a fob left on it: a repeat
        type_line(keyboard, "0000004242", keypad=True)
        events.wait_for_event(wedge_seen(OTHER_CARD))
        assert tags_seen(events) == [CARD_VALUE, f"{OTHER_CARD:010d}"]
        assert reader.stats == RfidStats(frames=3, reads=2, repeats=1)


@needs_uinput
def test_wedge_reads_hex_ids_typed_with_shift(keyboard: evdev.UInput) -> None:
    with connected_wedge(device_path(keyboard), line_format="hex") as (_, events):
        type_line(keyboard, "0b00bc614e")
        events.wait_for_event(wedge_seen(CARD))


@needs_uinput
def test_wedge_grab_keeps_the_digits_from_everyone_else(keyboard: evdev.UInput) -> None:
    other = evdev.InputDevice(device_path(keyboard))  # as the desktop's input stack would
    try:
        with connected_wedge(device_path(keyboard)) as (_, events):
            type_line(keyboard, CARD_VALUE)
            events.wait_for_event(wedge_seen(CARD))
            assert other.read_one() is None  # nothing of the number reached another reader
            with pytest.raises(OSError, match="busy"):  # EBUSY: one grab at a time
                other.grab()
        # Once the reader stops, the keyboard is released.
        other.grab()
        other.ungrab()
    finally:
        other.close()


@needs_uinput
def test_wedge_bad_lines_are_counted_without_an_event(keyboard: evdev.UInput) -> None:
    with connected_wedge(device_path(keyboard)) as (reader, events):
        type_line(keyboard, "00123G5678")  # a key a wedge never types
        type_line(keyboard, "1234567")  # seven digits: no format
        type_line(keyboard, "0000004242")
        events.wait_for_event(wedge_seen(OTHER_CARD))
        assert tags_seen(events) == [f"{OTHER_CARD:010d}"]
        assert reader.stats.malformed == 2


@needs_uinput
def test_wedge_unplugged_and_back_through_its_by_id_link(
    keyboard: evdev.UInput, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    link = tmp_path / "usb-Reader-event-kbd"
    point_link(link, device_path(keyboard))
    with connected_wedge(str(link)) as (reader, events):
        start = events.mark()
        keyboard.close()  # unplugged: the event device goes away
        link.unlink()
        events.wait_for(is_health(HealthStatus.DOWN), since=start)
        events.wait_for(is_health(HealthStatus.RECONNECTING), since=start)
        with virtual_wedge() as replugged:
            point_link(link, device_path(replugged))
            up = events.wait_for(is_health(HealthStatus.UP), since=start)
            type_line(replugged, CARD_VALUE)
            events.wait_for_event(wedge_seen(CARD), since=up)
        health = events.health(since=start)
        assert health.count(HealthStatus.DOWN) == 1
        assert reader.stats.reconnects == 1
    assert_no_card_in_logs(caplog)


def test_wedge_missing_device_is_retried(tmp_path: Path) -> None:
    events = EventRecorder()
    reader = WedgeRfidReader(
        str(tmp_path / "usb-Reader-event-kbd"), events, backoff_initial=0.01, backoff_max=0.05
    )
    reader.start()
    try:
        events.wait_for(is_health(HealthStatus.RECONNECTING))
        first = events.events[0]
        assert isinstance(first, DeviceHealth)
        assert first.status is HealthStatus.DOWN
        assert first.device == "rfid-wedge"
        assert "cannot open" in first.detail
    finally:
        reader.stop()
    assert not reader_threads()


def test_wedge_refuses_a_file_that_is_no_input_device(tmp_path: Path) -> None:
    not_a_keyboard = tmp_path / "event0"
    not_a_keyboard.write_bytes(b"")
    events = EventRecorder()
    reader = WedgeRfidReader(str(not_a_keyboard), events, backoff_initial=0.01, backoff_max=0.05)
    reader.start()
    try:
        events.wait_for(is_health(HealthStatus.RECONNECTING))
        assert HealthStatus.UP not in events.health()
    finally:
        reader.stop()


def test_wedge_stop_is_prompt_even_during_a_long_backoff(tmp_path: Path) -> None:
    events = EventRecorder()
    reader = WedgeRfidReader(
        str(tmp_path / "missing"), events, backoff_initial=5.0, backoff_max=5.0
    )
    reader.start()
    events.wait_for(is_health(HealthStatus.RECONNECTING))
    began = time.monotonic()
    reader.stop()
    assert time.monotonic() - began < 0.5
    assert not reader_threads()
