"""Pickup sensor board driver: a serial port in, typed device events out.

One reader thread owns the port: it opens it (retrying with backoff while it
is missing), reads lines, turns them into `devices.events` and hands them to
`on_event`. One writer thread sends LED commands and STATE? queries so that
callers (the GUI thread) never block on the port. The wire protocol lives in
`devices.protocols.pickup` and docs/protocols.md.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Final

import serial

from devices.events import (
    Alarm,
    DeviceEvent,
    DeviceHealth,
    Dropped,
    HealthStatus,
    Lifted,
    Unreadable,
)
from devices.protocols.pickup import (
    MAX_SLOT,
    MIN_SLOT,
    AlarmLine,
    Drop,
    Hello,
    Led,
    LedMode,
    Lift,
    LineSplitter,
    Message,
    Rejected,
    RejectReason,
    State,
    StateQuery,
    encode,
    format_message,
    parse_line,
)

_log = logging.getLogger("devices.pickup")

READ_TIMEOUT_S: Final = 0.2
"""Longest a blocked read waits; only bounds how late a missed stop() is seen
(stop() also cancels the read), never how late a line is delivered."""

WRITE_TIMEOUT_S: Final = 0.5
"""An LED line takes under 2 ms at 115200 baud; if it cannot leave in 0.5 s
the board is not reading, and LED state is not worth blocking the writer for."""

NOISE_WARN_AFTER: Final = 3
"""Bad lines in a row before one WARNING: a single garbled line is normal when
the port opens mid-line; three in a row means a wiring or baud-rate problem."""

OUTBOX_SIZE: Final = 64
"""Queued commands are LED changes a person caused; 64 is far more than a
shopper can produce while a write is stuck, and the latest LED state per slot
is replayed on reconnect anyway."""


@dataclass(frozen=True, slots=True)
class PickupStats:
    """Counters since start(): good lines, rejected lines by reason, reconnects."""

    lines_ok: int = 0
    noise: int = 0
    bad_checksum: int = 0
    unknown_command: int = 0
    malformed: int = 0
    overlong: int = 0
    reconnects: int = 0


class PickupBoard:
    """Driver for one pickup sensor board on a serial port (or a pty symlink)."""

    def __init__(
        self,
        port: str,
        on_event: Callable[[DeviceEvent], None],
        *,
        baudrate: int = 115200,
        clock: Callable[[], float] = time.monotonic,
        backoff_initial: float = 0.2,
        backoff_max: float = 5.0,
        name: str = "pickup",
    ) -> None:
        if not 0 < backoff_initial <= backoff_max:
            raise ValueError("need 0 < backoff_initial <= backoff_max")
        self._port_name = port
        self._on_event = on_event
        self._baudrate = baudrate
        self._clock = clock
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._name = name
        self._random = random.Random()

        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        # Guards `_serial` between the reader (opens/closes it) and the writer.
        self._port_lock = threading.Lock()
        self._serial: serial.Serial | None = None
        # None tells the writer thread to finish.
        self._outbox: queue.Queue[StateQuery | Led | None] = queue.Queue(OUTBOX_SIZE)
        self._leds_lock = threading.Lock()
        self._leds: dict[int, LedMode] = {}  # latest requested mode per slot, replayed on reconnect

        # Reader-thread state; `_lifted` is swapped whole so other threads can read it.
        self._lifted: frozenset[int] = frozenset()
        self._stats_lock = threading.Lock()
        self._counts = dict.fromkeys((f.name for f in fields(PickupStats)), 0)
        self._bad_in_a_row = 0
        self._failed_attempts = 0
        self._down_since: float | None = None

    # -- public API ---------------------------------------------------------

    def start(self) -> None:
        """Start the reader and writer threads; returns at once."""
        if self._threads:
            raise RuntimeError("PickupBoard.start() called twice")
        self._threads = [
            threading.Thread(target=self._read_loop, name=f"{self._name}-reader", daemon=True),
            threading.Thread(target=self._write_loop, name=f"{self._name}-writer", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop both threads and close the port (waits at most `timeout` seconds)."""
        self._stopping.set()
        with self._port_lock:
            if self._serial is not None:
                self._serial.cancel_read()  # wakes the reader's blocking read at once
        # If the queue is full the writer is busy and checks `_stopping` after each command.
        with contextlib.suppress(queue.Full):
            self._outbox.put_nowait(None)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                _log.warning("%s thread did not stop within %.1f s", thread.name, timeout)

    def set_led(self, slot: int, mode: LedMode) -> None:
        """Ask the board to set a slot's LED. Never blocks; raises ValueError for a bad slot."""
        if not MIN_SLOT <= slot <= MAX_SLOT:
            raise ValueError(f"slot {slot} out of range {MIN_SLOT}..{MAX_SLOT}")
        command = Led(slot, LedMode(mode))
        with self._leds_lock:
            self._leds[slot] = command.mode
        self._send(command)

    def request_state(self) -> None:
        """Ask the board for a STATE line (the answer resynchronises `lifted`)."""
        self._send(StateQuery())

    @property
    def stats(self) -> PickupStats:
        """A snapshot of the line and reconnect counters."""
        with self._stats_lock:
            return PickupStats(**self._counts)

    @property
    def lifted(self) -> frozenset[int]:
        """Slots whose phone is currently lifted, as far as the host knows."""
        return self._lifted

    # -- reader thread ------------------------------------------------------

    def _read_loop(self) -> None:
        while not self._stopping.is_set():
            port = self._open()
            if port is None:
                self._wait_before_retry()
                continue
            try:
                self._read_lines(port)
            except (serial.SerialException, OSError) as exc:
                if not self._stopping.is_set():
                    self._report_lost(f"read failed: {exc}")
            finally:
                with self._port_lock:
                    self._serial = None
                with contextlib.suppress(OSError):  # closing a vanished device may complain
                    port.close()
            if not self._stopping.is_set():
                self._wait_before_retry()

    def _open(self) -> serial.Serial | None:
        try:
            port = serial.Serial(
                self._port_name,
                self._baudrate,
                timeout=READ_TIMEOUT_S,
                write_timeout=WRITE_TIMEOUT_S,
                # Two readers on one port would each get half of every line:
                # a second kiosk process is refused (flock) and keeps retrying.
                exclusive=True,
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            if self._down_since is None:
                self._report_lost(f"cannot open: {exc}")
            return None
        with self._port_lock:
            self._serial = port
        if self._down_since is None:
            _log.info("%s board port %s open", self._name, self._port_name)
        else:
            _log.info(
                "%s board port %s back after %.1f s (%d attempts)",
                self._name,
                self._port_name,
                self._clock() - self._down_since,
                self._failed_attempts,
            )
            self._count("reconnects")
        self._down_since = None
        self._emit(DeviceHealth(self._name, HealthStatus.UP, self._clock(), "open"))
        self._resync()
        return port

    def _report_lost(self, detail: str) -> None:
        """Report DOWN and log it, once per outage."""
        self._down_since = self._clock()
        _log.warning("%s board port %s down (%s); retrying", self._name, self._port_name, detail)
        self._emit(DeviceHealth(self._name, HealthStatus.DOWN, self._down_since, detail))

    def _wait_before_retry(self) -> None:
        # Full jitter: a random wait up to the exponential ceiling, so several
        # kiosks on one flaky USB hub do not retry in lockstep.
        self._failed_attempts += 1
        ceiling = self._backoff_initial * 2 ** min(self._failed_attempts - 1, 30)
        delay = self._random.uniform(0, min(self._backoff_max, ceiling))
        detail = f"attempt {self._failed_attempts} in {delay:.2f} s"
        _log.debug("%s board: reconnect %s", self._name, detail)
        self._emit(DeviceHealth(self._name, HealthStatus.RECONNECTING, self._clock(), detail))
        self._stopping.wait(delay)

    def _read_lines(self, port: serial.Serial) -> None:
        splitter = LineSplitter()
        while not self._stopping.is_set():
            data: bytes = port.read(1)  # returns as soon as one byte arrives
            if not data:
                continue  # timeout or cancel_read(): look at _stopping again
            waiting: int = port.in_waiting
            if waiting:
                data += port.read(waiting)
            now = self._clock()
            for line in splitter.feed(data):
                self._handle_line(line, now)

    def _handle_line(self, line: bytes, now: float) -> None:
        try:
            msg = parse_line(line)
            if isinstance(msg, StateQuery | Led):  # host commands have no business coming back
                msg = Rejected(RejectReason.UNKNOWN_COMMAND, f"host command {format_message(msg)}")
            if isinstance(msg, Rejected):
                self._reject(msg, line, now)
            else:
                self._accept(msg, now)
        except Exception:  # a bug here must not end the reader thread
            _log.exception("%s board: failed to handle line %r", self._name, line[:40])

    def _accept(self, msg: Message, now: float) -> None:
        self._count("lines_ok")
        self._failed_attempts = 0  # the link works: the next outage starts backoff afresh
        if self._bad_in_a_row >= NOISE_WARN_AFTER:
            _log.info("%s board lines readable again after %d bad", self._name, self._bad_in_a_row)
        self._bad_in_a_row = 0
        match msg:
            case Lift(slot):
                if slot not in self._lifted:  # a repeated LIFT is a duplicate, not news
                    self._lifted = self._lifted | {slot}
                    self._emit(Lifted(slot, now))
            case Drop(slot):
                if slot in self._lifted:
                    self._lifted = self._lifted - {slot}
                    self._emit(Dropped(slot, now))
            case AlarmLine(slot, reason):
                self._emit(Alarm(slot, reason, now))
            case State(lifted):
                self._apply_state(lifted, now)
            case Hello(board_id, firmware, slot_count):
                detail = f"board {board_id} fw {firmware} slots {slot_count}"
                _log.info("%s board says hello: %s", self._name, detail)
                self._emit(DeviceHealth(self._name, HealthStatus.UP, now, detail))
                self._resync()  # the board restarted: its LEDs are off, its state is news

    def _apply_state(self, lifted: frozenset[int], now: float) -> None:
        before = self._lifted
        if lifted == before:
            return
        self._lifted = lifted
        # Drops first, so a listener that shows "the last lifted phone" ends on a lifted one.
        for slot in sorted(before - lifted):
            self._emit(Dropped(slot, now, resync=True))
        for slot in sorted(lifted - before):
            self._emit(Lifted(slot, now, resync=True))

    def _reject(self, rejected: Rejected, line: bytes, now: float) -> None:
        self._count(rejected.reason.value)
        self._bad_in_a_row += 1
        if self._bad_in_a_row == 1:  # once per run of bad lines: the trace notes the burst
            self._emit(Unreadable(self._name, rejected.reason.value, now))
        _log.debug(
            "%s board line rejected (%s, %s): %r",
            self._name,
            rejected.reason,
            rejected.detail,
            line[:40],
        )
        if self._bad_in_a_row == NOISE_WARN_AFTER:
            _log.warning(
                "%s board on %s sends unreadable lines (%d in a row); check cable and baud rate",
                self._name,
                self._port_name,
                self._bad_in_a_row,
            )

    def _resync(self) -> None:
        """Ask for STATE and replay the LEDs, after the port opened or the board restarted."""
        self._send(StateQuery())
        with self._leds_lock:
            leds = sorted(self._leds.items())
        for slot, mode in leds:
            self._send(Led(slot, mode))

    def _count(self, counter: str) -> None:
        with self._stats_lock:
            self._counts[counter] += 1

    def _emit(self, event: DeviceEvent) -> None:
        try:
            self._on_event(event)
        except Exception:  # one broken listener must not stop the board
            _log.exception("%s board: listener failed on %r", self._name, event)

    # -- writer thread ------------------------------------------------------

    def _send(self, command: StateQuery | Led) -> None:
        try:
            self._outbox.put_nowait(command)
        except queue.Full:
            _log.debug("%s board: command queue full, dropped %s", self._name, command)

    def _write_loop(self) -> None:
        while not self._stopping.is_set():
            command = self._outbox.get()
            if command is None:
                return
            data = encode(command)
            # Held while writing so the reader cannot close the port under us;
            # a write lasts at most WRITE_TIMEOUT_S.
            with self._port_lock:
                port = self._serial
                if port is None:
                    _log.debug("%s board offline, dropped %s", self._name, format_message(command))
                    continue
                try:
                    port.write(data)
                except (serial.SerialException, OSError) as exc:
                    # The reader notices a lost port by itself; LED state is replayed then.
                    _log.debug(
                        "%s board: write of %s failed: %s", self._name, format_message(command), exc
                    )
