"""The kiosk's thermal receipt printer: member-offer coupon tickets over ESC/POS.

An ESC/POS printer on a serial port: a USB printer's CDC device node
(/dev/ttyACM0, or a udev rule's stable name) or an RS-232 port. Two threads
share the port, taking turns under one lock, so the caller (the GUI thread)
never waits on it:

- the status thread asks the printer's real-time status (DLE EOT 1, 2 and 4:
  `devices.protocols.escpos`) every couple of seconds and reports changes as
  `DeviceHealth("printer", UP|DOWN, detail)`: paper_out, cover_open, offline,
  unplugged (the port is gone or will not open; it is reopened when it comes
  back), not_answering (no reply in time, or a reply that is not a status byte);
- the job thread takes tickets from a queue: it draws the ticket
  (`devices.ticket`, python-escpos, imported on the first job), asks the status
  once more, writes the bytes with a bounded write and reports
  `Printed(job, ok, reason)`. A ticket while the printer is not ready fails at
  once, without touching the port.

The wire format is in docs/protocols.md ("Receipt printer"). Coupon codes never
reach a log line: jobs are logged by the kiosk's job id.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import termios
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Final, Literal

import serial

from devices.events import DeviceEvent, DeviceHealth, HealthStatus, Printed
from devices.protocols.escpos import STATUS_KINDS, StatusKind, is_status_byte, read_status
from devices.protocols.escpos import status_request as _status_request

if TYPE_CHECKING:
    from devices.ticket import FontFile

_log = logging.getLogger("devices.printer")

# What a vanished port raises: pyserial's errors, the OS's, and termios's (flushing
# the buffers of a USB node that has gone, or a pty whose other end closed).
_PORT_ERRORS: Final = (serial.SerialException, OSError, termios.error)

UNPLUGGED: Final = "unplugged"
NOT_ANSWERING: Final = "not_answering"
BUSY: Final = "busy"
STOPPED: Final = "stopped"
NO_FONT: Final = "no_font"
RENDER_FAILED: Final = "render_failed"

POLL_INTERVAL_S: Final = 2.0
"""How often the status is asked: staff see a paper-out within a couple of seconds,
and three 3-byte requests every 2 s cost the printer nothing."""

STATUS_TIMEOUT_S: Final = 0.5
"""DLE EOT is answered at once, even offline; a printer silent this long is stuck."""

WRITE_TIMEOUT_S: Final = 2.0
"""Longest one chunk of a ticket may wait to leave, beyond its time on the wire: a
printer whose buffer stays full this long has stalled, and the job fails."""

CHUNK: Final = 1024  # bytes per write: each is bounded by the write timeout

QUEUE_SIZE: Final = 8
"""Tickets waiting: a shopper prints one; more than this means the printer is stuck."""

PAPER_DOTS: Final = {58: 384, 80: 576}  # printable dots across the roll at 203 dpi


@dataclass(frozen=True, slots=True)
class CouponTicket:
    """What a member-offer coupon ticket says; `devices.ticket` draws it."""

    job: str  # the kiosk's id for this print, echoed in Printed
    heading: str  # the chain/store line at the top
    title: str  # offer/campaign title, in the shopper's language
    terms: str
    code: str = field(repr=False)  # the formatted code; printed as text and as a QR
    expires_on: date
    language: str  # "zh-CN" or "en"


class ReceiptPrinter:
    """Driver for one ESC/POS receipt printer on a serial port; see the module docstring."""

    def __init__(
        self,
        port: str,
        *,
        on_event: Callable[[DeviceEvent], None],
        paper_mm: Literal[58, 80] = 80,
        baudrate: int = 115200,
        image_mode: Literal["raster", "column"] = "raster",
        font: str | None = None,
        poll_interval: float = POLL_INTERVAL_S,
        status_timeout: float = STATUS_TIMEOUT_S,
        write_timeout: float = WRITE_TIMEOUT_S,
        clock: Callable[[], float] = time.monotonic,
        name: str = "printer",
    ) -> None:
        """`paper_mm`: the roll's width (58 or 80). `baudrate`: an RS-232 printer's DIP
        switch setting (a USB printer ignores it). `image_mode` "column" (ESC *) is for
        old printers without GS v 0. `font`: a font file with Chinese glyphs
        (default: fontconfig's choice for zh-CN)."""
        if paper_mm not in PAPER_DOTS:
            raise ValueError(f"paper_mm must be one of {sorted(PAPER_DOTS)}, not {paper_mm}")
        if image_mode not in ("raster", "column"):
            raise ValueError(f"image_mode must be raster or column, not {image_mode!r}")
        if min(poll_interval, status_timeout, write_timeout) <= 0:
            raise ValueError("poll_interval, status_timeout and write_timeout must be positive")
        self._port_name = port
        self._on_event = on_event
        self._dots = PAPER_DOTS[paper_mm]
        self._baudrate = baudrate
        self._image_mode: Literal["raster", "column"] = image_mode
        self._font_path = font
        self._font: FontFile | None = None
        self._poll_interval = poll_interval
        self._status_timeout = status_timeout
        # A chunk's time on the wire (10 bits a byte) comes on top of the stall allowance.
        self._write_timeout = write_timeout + CHUNK * 10 / baudrate
        self._clock = clock
        self._name = name

        self._stopping = threading.Event()
        self._poll_now = threading.Event()
        self._threads: list[threading.Thread] = []
        self._jobs: queue.Queue[CouponTicket | None] = queue.Queue(QUEUE_SIZE)
        # Held for every use of the port: a status request never lands inside a ticket.
        self._io_lock = threading.Lock()
        self._serial: serial.Serial | None = None
        # The last reported state: (status, detail), None before the first check.
        self._state_lock = threading.Lock()
        self._reported: tuple[HealthStatus, str] | None = None
        self._down_since: float | None = None
        self._paper_low = False

    # -- public API ---------------------------------------------------------

    def start(self) -> None:
        """Start the status and job threads; returns at once."""
        if self._threads:
            raise RuntimeError("ReceiptPrinter.start() called twice")
        self._threads = [
            threading.Thread(target=self._status_loop, name=f"{self._name}-status", daemon=True),
            threading.Thread(target=self._job_loop, name=f"{self._name}-jobs", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 3.0) -> None:
        """Stop both threads and close the port; tickets still queued end Printed(stopped)."""
        self._stopping.set()
        self._poll_now.set()
        port = self._serial
        if port is not None:
            with contextlib.suppress(Exception):  # wakes a blocked read or write at once
                port.cancel_read()
                port.cancel_write()
        with contextlib.suppress(queue.Full):
            self._jobs.put_nowait(None)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                _log.warning("%s thread did not stop within %.1f s", thread.name, timeout)
                return  # it may still be using the port
        with self._io_lock:
            self._close()

    def print_ticket(self, ticket: CouponTicket) -> None:
        """Queue a ticket and return at once; Printed(ticket.job, ...) follows from a thread
        (or at once, from this one, if the queue is full or the printer stopped)."""
        if self._stopping.is_set() or not self._threads:
            self._emit(Printed(ticket.job, False, STOPPED, self._clock()))
            return
        try:
            self._jobs.put_nowait(ticket)
        except queue.Full:
            _log.warning(
                "%s: %d tickets already waiting; job %s refused", self._name, QUEUE_SIZE, ticket.job
            )
            self._emit(Printed(ticket.job, False, BUSY, self._clock()))

    @property
    def ready(self) -> bool:
        """True only when the last status said the printer can print."""
        with self._state_lock:
            return self._reported == (HealthStatus.UP, "")

    # -- status thread ------------------------------------------------------

    def _status_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                with self._io_lock:
                    detail = self._check()
                self._report(detail)
            except Exception:  # a bug here must not end the status thread
                _log.exception("%s: status check failed", self._name)
            self._poll_now.wait(self._poll_interval)
            self._poll_now.clear()

    def _check(self) -> str:
        """Ask the printer's status (caller holds `_io_lock`): "" when it can print,
        else the DeviceHealth detail saying why not."""
        port = self._serial if self._serial is not None else self._open()
        if port is None:
            return UNPLUGGED
        replies: dict[StatusKind, int] = {}
        try:
            for kind in STATUS_KINDS:
                reply = self._ask(port, kind)
                if reply is None:
                    return NOT_ANSWERING
                replies[kind] = reply
        except serial.SerialTimeoutException:
            return NOT_ANSWERING  # our request could not even leave: the printer stalled
        except _PORT_ERRORS:
            self._close()
            return UNPLUGGED
        status = read_status(replies)
        if status.paper_low != self._paper_low:
            self._paper_low = status.paper_low
            _log.info(
                "%s: paper roll %s", self._name, "near its end" if status.paper_low else "reloaded"
            )
        return "" if status.problem is None else status.problem.value

    def _ask(self, port: serial.Serial, kind: StatusKind) -> int | None:
        """One DLE EOT round trip: the status byte, or None if none came or it was noise."""
        port.reset_input_buffer()  # stale replies (or noise) from before this request
        port.write(_status_request(kind))
        data: bytes = port.read(1)
        if not data:
            return None
        waiting: int = port.in_waiting
        if waiting:
            # Bytes of a bit image can look like DLE EOT to a printer, which then answers
            # them too; such replies come before ours, so ours is the last.
            data += port.read(waiting)
        reply = data[-1]
        return reply if is_status_byte(reply) else None

    def _open(self) -> serial.Serial | None:
        try:
            port = serial.Serial(
                self._port_name,
                self._baudrate,
                timeout=self._status_timeout,
                write_timeout=self._write_timeout,
                exclusive=True,  # a second kiosk process would steal status replies
            )
        except (serial.SerialException, OSError, ValueError):
            return None
        self._serial = port
        return port

    def _close(self) -> None:
        port, self._serial = self._serial, None
        if port is not None:
            with contextlib.suppress(Exception):  # closing a vanished device may complain
                port.close()

    def _report(self, detail: str) -> None:
        """Report the state if it changed: DOWN (with why) once, and the recovery once."""
        if self._stopping.is_set():
            return
        status = HealthStatus.DOWN if detail else HealthStatus.UP
        now = self._clock()
        with self._state_lock:
            if self._reported == (status, detail):
                return
            first = self._reported is None
            self._reported = (status, detail)
            down_since = self._down_since
            if not detail:
                self._down_since = None
            elif down_since is None:
                self._down_since = now
        if detail:
            _log.warning("%s on %s cannot print: %s", self._name, self._port_name, detail)
        elif first or down_since is None:
            _log.info("%s on %s ready", self._name, self._port_name)
        else:
            _log.info(
                "%s on %s ready again after %.1f s", self._name, self._port_name, now - down_since
            )
        self._emit(DeviceHealth(self._name, status, now, detail))

    # -- job thread ---------------------------------------------------------

    def _job_loop(self) -> None:
        while True:
            ticket = self._jobs.get()
            if ticket is None:
                break
            if self._stopping.is_set():
                self._emit(Printed(ticket.job, False, STOPPED, self._clock()))
                break
            try:
                result = self._print(ticket)
            except Exception:  # a bug here must not end the job thread or lose the answer
                _log.exception("%s: job %s failed", self._name, ticket.job)
                result = Printed(ticket.job, False, RENDER_FAILED, self._clock())
            self._emit(result)
        while True:  # whatever is still queued will not be printed: say so
            try:
                left = self._jobs.get_nowait()
            except queue.Empty:
                return
            if left is not None:
                self._emit(Printed(left.job, False, STOPPED, self._clock()))

    def _print(self, ticket: CouponTicket) -> Printed:
        with self._state_lock:
            reported = self._reported
        if reported != (HealthStatus.UP, ""):
            reason = reported[1] if reported is not None else NOT_ANSWERING
            _log.info("%s: job %s refused, printer not ready (%s)", self._name, ticket.job, reason)
            return Printed(ticket.job, False, reason, self._clock())
        try:
            data = self._render(ticket)
        except _TicketProblem as problem:
            _log.warning("%s: job %s cannot be drawn: %s", self._name, ticket.job, problem)
            return Printed(ticket.job, False, problem.reason, self._clock())
        with self._io_lock:
            detail = self._check()  # the paper may have run out since the last poll
            if not detail:
                detail = self._send(data)
        self._report(detail)
        if detail:
            _log.warning("%s: job %s not printed (%s)", self._name, ticket.job, detail)
        else:
            _log.info("%s: job %s printed (%d bytes)", self._name, ticket.job, len(data))
        return Printed(ticket.job, not detail, detail, self._clock())

    def _render(self, ticket: CouponTicket) -> bytes:
        # Only here: Pillow, qrcode and python-escpos load on the first ticket, not at start-up.
        from devices.ticket import FontFile, find_cjk_font, ticket_bytes  # noqa: PLC0415

        if self._font is None:
            self._font = FontFile(self._font_path) if self._font_path else find_cjk_font()
            if self._font is None:
                raise _TicketProblem(
                    NO_FONT, "no font with Chinese glyphs (install fonts-noto-cjk)"
                )
        try:
            return ticket_bytes(
                ticket, dots=self._dots, font=self._font, image_mode=self._image_mode
            )
        except OSError as exc:  # the configured font file cannot be read
            raise _TicketProblem(NO_FONT, f"font unreadable: {exc}") from None

    def _send(self, data: bytes) -> str:
        """Write a ticket (caller holds `_io_lock`): "" or why it did not all go."""
        port = self._serial
        if port is None:
            return UNPLUGGED
        try:
            for start in range(0, len(data), CHUNK):
                if self._stopping.is_set():
                    return STOPPED
                port.write(data[start : start + CHUNK])
        except serial.SerialTimeoutException:
            return NOT_ANSWERING
        except _PORT_ERRORS:
            self._close()
            return UNPLUGGED
        return ""

    def _emit(self, event: DeviceEvent) -> None:
        try:
            self._on_event(event)
        except Exception:  # one broken listener must not stop the printer
            _log.exception("%s: listener failed on %s", self._name, type(event).__name__)


class _TicketProblem(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
