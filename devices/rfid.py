"""RFID member-fob reader drivers: a serial port or a keyboard wedge in, TagSeen out.

`SerialRfidReader` reads an RDM6300 module or a line reader on a serial port
(or a pty symlink); `WedgeRfidReader` reads a USB keyboard-wedge reader
through evdev, grabbing it so its digits never reach the kiosk's text fields.
Each has one reader thread that opens its device (retrying with backoff while
it is missing), parses what arrives with `devices.protocols.rfid`, drops the
repeats of a fob held on the reader, and hands `TagSeen` and `DeviceHealth`
events to `on_event`. The formats are in docs/protocols.md.

A card number is personal data: these drivers log counts, never a value.
"""

from __future__ import annotations

import abc
import contextlib
import logging
import os
import random
import select
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Final, Generic, TypeVar

import serial

from devices.events import DeviceEvent, DeviceHealth, HealthStatus, TagId, TagSeen, Unreadable
from devices.protocols.rfid import (
    BAUDRATE,
    DEFAULT_REPEAT_WINDOW_S,
    LineFormat,
    LineParser,
    ParserStats,
    Rdm6300Parser,
    ReadResult,
    Rejected,
    RepeatFilter,
    RfidProtocol,
    WedgeDecoder,
)

if TYPE_CHECKING:
    import evdev

_log = logging.getLogger("devices.rfid")

READ_TIMEOUT_S: Final = 0.2
"""Longest a blocked read waits; only bounds how late a missed stop() is seen
(stop() also wakes the read), never how late a fob is reported."""

NOISE_WARN_AFTER: Final = 3
"""Bad frames in a row before one WARNING: one garbled frame is normal when the
port opens mid-frame; three in a row means wiring, baud rate or line format."""

STABLE_LINK_S: Final = 10.0
"""A link that stayed open this long was working, so its loss is a new outage
and backoff starts short again (fobs are rare; a good frame may never come)."""

H = TypeVar("H")


@dataclass(frozen=True, slots=True)
class RfidStats:
    """Counters since the reader was made: parser counts, then what became of good frames."""

    frames: int = 0  # good frames or lines, repeats of a held fob included
    bad_checksum: int = 0
    malformed: int = 0
    overlong: int = 0
    noise_bytes: int = 0
    reads: int = 0  # TagSeen events sent
    repeats: int = 0  # good frames dropped as the same fob still on the reader
    reconnects: int = 0


class _RfidReader(abc.ABC, Generic[H]):
    """The reader thread shared by both drivers: open, pump, report, back off, retry.

    Subclasses say how to open (`_connect`), read until the link fails
    (`_pump`, feeding bytes to `_handle`), close, and wake a blocked read.
    """

    _what = "device"  # for log lines: "port", "input device"

    def __init__(
        self,
        source: str,
        on_event: Callable[[DeviceEvent], None],
        *,
        clock: Callable[[], float],
        repeat_window: float,
        backoff_initial: float,
        backoff_max: float,
        name: str,
    ) -> None:
        if not 0 < backoff_initial <= backoff_max:
            raise ValueError("need 0 < backoff_initial <= backoff_max")
        self._source = source
        self._on_event = on_event
        self._clock = clock
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._name = name
        self._random = random.Random()
        self._repeats = RepeatFilter(repeat_window)

        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        # Guards the parser (fed by the reader thread, counted by `stats`) and `_counts`.
        self._stats_lock = threading.Lock()
        self._counts = {"reads": 0, "repeats": 0, "reconnects": 0}
        self._bad_in_a_row = 0
        self._failed_attempts = 0
        self._down_since: float | None = None

    # -- public API ---------------------------------------------------------

    def start(self) -> None:
        """Start the reader thread; returns at once."""
        if self._thread is not None:
            raise RuntimeError(f"{type(self).__name__}.start() called twice")
        self._prepare()
        self._thread = threading.Thread(
            target=self._read_loop, name=f"{self._name}-reader", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the thread and close the device (waits at most `timeout` seconds)."""
        self._stopping.set()
        self._interrupt()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                _log.warning("%s thread did not stop within %.1f s", self._thread.name, timeout)
                return  # it may still use what _finish() would release
        self._finish()

    @property
    def stats(self) -> RfidStats:
        """A snapshot of the frame, read and reconnect counters."""
        with self._stats_lock:
            parsed = self._parser_stats()
            return RfidStats(
                **{f.name: getattr(parsed, f.name) for f in fields(ParserStats)}, **self._counts
            )

    # -- what a transport provides ----------------------------------------------

    @abc.abstractmethod
    def _connect(self) -> H:
        """Open the device; raise OSError (or serial.SerialException, ValueError) if it cannot."""

    @abc.abstractmethod
    def _pump(self, handle: H) -> None:
        """Read and `_handle` data until stopping (return) or the link fails (raise OSError)."""

    @abc.abstractmethod
    def _disconnect(self, handle: H) -> None:
        """Close the device; it may already be gone."""

    @abc.abstractmethod
    def _parser_stats(self) -> ParserStats:
        """The parser's counters (called with `_stats_lock` held)."""

    def _prepare(self) -> None:
        """Called by start() before the thread runs."""

    def _interrupt(self) -> None:
        """Wake a blocked `_pump` so it sees `_stopping`."""

    def _finish(self) -> None:
        """Called by stop() once the thread has ended."""

    # -- reader thread ------------------------------------------------------

    def _read_loop(self) -> None:
        while not self._stopping.is_set():
            handle = self._open()
            if handle is None:
                self._wait_before_retry()
                continue
            opened_at = time.monotonic()
            try:
                self._pump(handle)
            except (serial.SerialException, OSError) as exc:
                if not self._stopping.is_set():
                    self._report_lost(f"read failed: {exc}")
            finally:
                self._disconnect(handle)
            if time.monotonic() - opened_at >= STABLE_LINK_S:
                self._failed_attempts = 0
            if not self._stopping.is_set():
                self._wait_before_retry()

    def _open(self) -> H | None:
        try:
            handle = self._connect()
        except (serial.SerialException, OSError, ValueError) as exc:
            if self._down_since is None:
                self._report_lost(f"cannot open: {exc}")
            return None
        if self._down_since is None:
            _log.info("%s reader %s %s open", self._name, self._what, self._source)
        else:
            _log.info(
                "%s reader %s %s back after %.1f s (%d attempts)",
                self._name,
                self._what,
                self._source,
                self._clock() - self._down_since,
                self._failed_attempts,
            )
            with self._stats_lock:
                self._counts["reconnects"] += 1
        self._down_since = None
        self._emit(DeviceHealth(self._name, HealthStatus.UP, self._clock(), "open"))
        return handle

    def _report_lost(self, detail: str) -> None:
        """Report DOWN and log it, once per outage."""
        self._down_since = self._clock()
        _log.warning(
            "%s reader %s %s down (%s); retrying", self._name, self._what, self._source, detail
        )
        self._emit(DeviceHealth(self._name, HealthStatus.DOWN, self._down_since, detail))

    def _wait_before_retry(self) -> None:
        # Full jitter, as for the pickup board: readers on one flaky hub do not retry in lockstep.
        self._failed_attempts += 1
        ceiling = self._backoff_initial * 2 ** min(self._failed_attempts - 1, 30)
        delay = self._random.uniform(0, min(self._backoff_max, ceiling))
        detail = f"attempt {self._failed_attempts} in {delay:.2f} s"
        _log.debug("%s reader: reconnect %s", self._name, detail)
        self._emit(DeviceHealth(self._name, HealthStatus.RECONNECTING, self._clock(), detail))
        self._stopping.wait(delay)

    def _handle(self, feed: Callable[[bytes], list[ReadResult]], data: bytes, now: float) -> None:
        """Feed new data to the parser (under the stats lock) and act on what it found."""
        try:
            with self._stats_lock:
                results = feed(data)
            for result in results:
                if isinstance(result, Rejected):
                    self._reject(result, now)
                else:
                    self._accept(result, now)
        except Exception:  # a bug here must not end the reader thread
            _log.exception("%s reader: failed to handle input", self._name)

    def _accept(self, tag: TagId, now: float) -> None:
        self._failed_attempts = 0  # the link works: the next outage starts backoff afresh
        if self._bad_in_a_row >= NOISE_WARN_AFTER:
            _log.info(
                "%s reader frames readable again after %d bad", self._name, self._bad_in_a_row
            )
        self._bad_in_a_row = 0
        is_new = self._repeats.accept(tag, now)
        with self._stats_lock:
            self._counts["reads" if is_new else "repeats"] += 1
            reads = self._counts["reads"]
        if is_new:
            _log.debug("%s reader: fob read (%d reads so far)", self._name, reads)
            self._emit(TagSeen(tag, self._name, now))

    def _reject(self, rejected: Rejected, now: float) -> None:
        self._bad_in_a_row += 1
        if self._bad_in_a_row == 1:  # once per run of bad frames: the trace notes the burst
            self._emit(Unreadable(self._name, rejected.reason.value, now))
        # Only the reason and a length: the frame's characters are most of a card number.
        _log.debug(
            "%s reader: frame dropped (%s, %s)", self._name, rejected.reason, rejected.detail
        )
        if self._bad_in_a_row == NOISE_WARN_AFTER:
            _log.warning(
                "%s reader on %s sends unreadable frames (%d in a row); "
                "check cable, baud rate and format",
                self._name,
                self._source,
                self._bad_in_a_row,
            )

    def _emit(self, event: DeviceEvent) -> None:
        try:
            self._on_event(event)
        except Exception:  # one broken listener must not stop the reader
            # The type only: a TagSeen's repr hides the value, but logs need no more.
            _log.exception("%s reader: listener failed on %s", self._name, type(event).__name__)


class SerialRfidReader(_RfidReader[serial.Serial]):
    """Driver for an RDM6300 module or a line reader on a serial port (or a pty symlink)."""

    _what = "port"

    def __init__(
        self,
        port: str,
        on_event: Callable[[DeviceEvent], None],
        *,
        protocol: RfidProtocol | str = RfidProtocol.RDM6300,
        line_format: LineFormat | str = LineFormat.AUTO,
        baudrate: int = BAUDRATE,
        clock: Callable[[], float] = time.monotonic,
        repeat_window: float = DEFAULT_REPEAT_WINDOW_S,
        backoff_initial: float = 0.2,
        backoff_max: float = 5.0,
        name: str = "rfid",
    ) -> None:
        super().__init__(
            port,
            on_event,
            clock=clock,
            repeat_window=repeat_window,
            backoff_initial=backoff_initial,
            backoff_max=backoff_max,
            name=name,
        )
        self._protocol = RfidProtocol(protocol)
        self._baudrate = baudrate
        self._parser: Rdm6300Parser | LineParser = (
            Rdm6300Parser() if self._protocol is RfidProtocol.RDM6300 else LineParser(line_format)
        )
        # Guards `_serial` between the reader thread (opens/closes it) and stop().
        self._port_lock = threading.Lock()
        self._serial: serial.Serial | None = None

    def _connect(self) -> serial.Serial:
        port = serial.Serial(
            self._source,
            self._baudrate,
            timeout=READ_TIMEOUT_S,
            # Two readers on one port would each get half of every frame:
            # a second kiosk process is refused (flock) and keeps retrying.
            exclusive=True,
        )
        with self._port_lock:
            self._serial = port
        with self._stats_lock:
            self._parser.reset()  # the rest of a frame cut by the outage is gone
        return port

    def _pump(self, handle: serial.Serial) -> None:
        while not self._stopping.is_set():
            data: bytes = handle.read(1)  # returns as soon as one byte arrives
            if not data:
                continue  # timeout or cancel_read(): look at _stopping again
            waiting: int = handle.in_waiting
            if waiting:
                data += handle.read(waiting)
            self._handle(self._parser.feed, data, self._clock())

    def _disconnect(self, handle: serial.Serial) -> None:
        with self._port_lock:
            self._serial = None
        with contextlib.suppress(OSError):  # closing a vanished device may complain
            handle.close()

    def _interrupt(self) -> None:
        with self._port_lock:
            if self._serial is not None:
                self._serial.cancel_read()  # wakes the reader's blocking read at once

    def _parser_stats(self) -> ParserStats:
        return self._parser.stats


class WedgeRfidReader(_RfidReader["evdev.InputDevice[str]"]):
    """Driver for a USB keyboard-wedge reader, an evdev input device.

    `device_path` is reopened by name after the reader is unplugged, so give
    a stable one: a /dev/input/by-id/...-event-kbd symlink or a udev rule's.
    The device is grabbed (EVIOCGRAB) while open, so its key presses reach
    only this driver, never the focused text field; `grab=False` is for
    diagnosing a reader by hand.
    """

    _what = "input device"

    def __init__(
        self,
        device_path: str,
        on_event: Callable[[DeviceEvent], None],
        *,
        line_format: LineFormat | str = LineFormat.AUTO,
        grab: bool = True,
        clock: Callable[[], float] = time.monotonic,
        repeat_window: float = DEFAULT_REPEAT_WINDOW_S,
        backoff_initial: float = 0.2,
        backoff_max: float = 5.0,
        name: str = "rfid-wedge",
    ) -> None:
        super().__init__(
            device_path,
            on_event,
            clock=clock,
            repeat_window=repeat_window,
            backoff_initial=backoff_initial,
            backoff_max=backoff_max,
            name=name,
        )
        self._grab = grab
        self._decoder = WedgeDecoder()
        self._parser = LineParser(line_format)
        # stop() writes to this pipe to wake the reader's select() at once.
        self._wake_r, self._wake_w = -1, -1

    def _prepare(self) -> None:
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)

    def _connect(self) -> evdev.InputDevice[str]:
        # Only here: evdev brings asyncio along (~10 MB) for kiosks without a wedge.
        import evdev  # noqa: PLC0415

        device: evdev.InputDevice[str] = evdev.InputDevice(self._source)
        try:
            if self._grab:
                # Fails (EBUSY) if another program holds the grab: reading then
                # would let the digits reach it too, so treat it as not there.
                device.grab()
        except OSError:
            device.close()
            raise
        with self._stats_lock:
            self._parser.reset()
        return device

    def _pump(self, handle: evdev.InputDevice[str]) -> None:
        while not self._stopping.is_set():
            ready, _, _ = select.select([handle.fd, self._wake_r], [], [], READ_TIMEOUT_S)
            if handle.fd not in ready:
                continue  # timeout or stop(): look at _stopping again
            try:
                # Raises OSError (ENODEV) once the reader is unplugged.
                events = list(handle.read())
            except BlockingIOError:
                continue
            typed = "".join(
                char
                for event in events
                if (char := self._decoder.feed(event.type, event.code, event.value)) is not None
            )
            if typed:
                self._handle(self._parser.feed, typed.encode("ascii"), self._clock())

    def _disconnect(self, handle: evdev.InputDevice[str]) -> None:
        with contextlib.suppress(OSError):  # closing also releases the grab
            handle.close()

    def _interrupt(self) -> None:
        if self._wake_w >= 0:
            with contextlib.suppress(BlockingIOError):  # already woken
                os.write(self._wake_w, b"!")

    def _finish(self) -> None:
        for fd in (self._wake_r, self._wake_w):
            if fd >= 0:
                os.close(fd)
        self._wake_r = self._wake_w = -1

    def _parser_stats(self) -> ParserStats:
        return self._parser.stats
