"""A thermal receipt printer simulator (ESC/POS) for demos and tests.

The simulator plays the printer end of a pseudo-terminal (the host opens the
slave side, or a stable symlink to it, as if it were a USB printer's serial
node) or, for bench tests, a real serial device. Like a real printer it
answers DLE EOT status requests at once, wherever they fall in the stream, in
its current state: ready, paper out, cover open, stalled (it stops reading:
no answer, and the host's writes back up) or garbled (it answers bytes that
are not status bytes). Everything else it receives is recorded and laid onto
paper by `devices.sim.escpos_page`; each cut ends a ticket, kept as a picture
(and saved as ticket-N.png in `out_dir`), with the QR codes on it read by
zxing-cpp. `unplug()`/`replug()` make the host's port vanish and return.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import os
import random
import select
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import serial
from PIL import Image

from devices.protocols.escpos import StatusKind, status_reply
from devices.sim.escpos_page import PageDecoder, RealtimeScanner, read_qr_codes
from devices.sim.links import plug_in, pull_out

_log = logging.getLogger("devices.sim")

_IDLE_POLL_S: Final = 0.5  # bounds how stale a lost wake-up can make a stop request
_READ_CHUNK: Final = 4096


class Answering(enum.StrEnum):
    """How the printer answers status requests."""

    NORMAL = "normal"
    SILENT = "silent"  # stalled: reads nothing, answers nothing
    GARBAGE = "garbage"  # answers noise (a wrong baud rate, a broken board)


@dataclass(frozen=True, slots=True)
class Ticket:
    """A ticket the printer cut: its picture, the QR codes read off it (None: no zxing-cpp)."""

    number: int
    page: Image.Image
    qr_codes: tuple[str, ...] | None
    path: Path | None


class PrinterSim:
    """A simulated ESC/POS receipt printer; see the module docstring."""

    def __init__(
        self,
        *,
        dots: int = 576,
        out_dir: Path | None = None,
        link: Path | None = None,
        device: str | None = None,
        baudrate: int = 115200,
        on_ticket: Callable[[Ticket], None] | None = None,
    ) -> None:
        if device is not None and link is not None:
            raise ValueError("a link only makes sense for a pseudo-terminal, not with a device")
        self._out_dir = out_dir
        self._link = link
        self._device = device
        self._baudrate = baudrate
        self._on_ticket = on_ticket

        # `_lock` guards the port's descriptors and the state below; `_changed` wakes
        # wait_for_ticket() when a ticket is cut.
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._fd: int | None = None
        self._slave_fd: int | None = None
        self._slave_name: str | None = None
        self._serial: serial.Serial | None = None
        self._generation = 0  # bumped whenever `_fd` changes, so a stale poll is ignored
        self._paper_out = False
        self._cover_open = False
        self._answering = Answering.NORMAL
        self._decoder = PageDecoder(dots)
        self._scanner = RealtimeScanner()
        self._received = 0
        self._stall_at: int | None = None
        self._status_requests = 0
        self._tickets: list[Ticket] = []
        self._rng = random.Random()

        self._stopping = threading.Event()
        self._wake_r, self._wake_w = -1, -1
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------

    def start(self) -> None:
        """Open the pty (or device) and start answering the host."""
        if self._thread is not None:
            raise RuntimeError("PrinterSim.start() called twice")
        if self._out_dir is not None:
            self._out_dir.mkdir(parents=True, exist_ok=True)
        with self._lock:
            self._plug_in()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._thread = threading.Thread(target=self._run, name="printer-sim", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the printer thread, close the port and remove the link."""
        self._stopping.set()
        if self._thread is not None:
            self._wake()
            self._thread.join(2.0)
        with self._lock:
            self._pull_out()
        for fd in (self._wake_r, self._wake_w):
            if fd >= 0:
                os.close(fd)
        self._wake_r = self._wake_w = -1

    def unplug(self) -> None:
        """Pull the USB cable: the host's port fails and the link disappears."""
        with self._lock:
            self._pull_out()
        self._wake()
        _log.info("printer sim unplugged")

    def replug(self) -> None:
        """Plug back in: a new pty behind the same link; a ticket half received is lost."""
        with self._lock:
            if self._fd is not None:
                return
            self._plug_in()
        self._wake()
        _log.info("printer sim plugged in on %s", self.port)

    @property
    def port(self) -> str:
        """What the host should open: the link if given, else the device or pty name."""
        if self._link is not None:
            return str(self._link)
        if self._device is not None:
            return self._device
        return self._slave_name or ""

    @property
    def plugged_in(self) -> bool:
        with self._lock:
            return self._fd is not None

    # -- printer state --------------------------------------------------------

    def set_paper_out(self, out: bool) -> None:
        """The roll ran out (True) or was reloaded (False)."""
        with self._lock:
            self._paper_out = out

    def set_cover_open(self, is_open: bool) -> None:
        with self._lock:
            self._cover_open = is_open

    def set_answering(self, answering: Answering | str) -> None:
        """Answer normally, stall (read and answer nothing) or answer garbage."""
        with self._lock:
            self._answering = Answering(answering)
        self._wake()  # a stalled printer starts reading again at once

    def stall_after(self, count: int) -> None:
        """Take `count` more bytes, then stall: a printer that jams in the middle of a ticket."""
        with self._lock:
            self._stall_at = self._received + count

    def fix(self) -> None:
        """Paper in, cover closed, answering normally."""
        with self._lock:
            self._paper_out = self._cover_open = False
            self._stall_at = None
        self.set_answering(Answering.NORMAL)

    @property
    def state(self) -> str:
        """One line for the shell: what a status request would say."""
        with self._lock:
            problems = [
                word
                for word, on in (
                    ("paper out", self._paper_out),
                    ("cover open", self._cover_open),
                    ("stalled", self._answering is Answering.SILENT),
                    ("answering garbage", self._answering is Answering.GARBAGE),
                )
                if on
            ]
        return ", ".join(problems) or "ready"

    # -- what was printed -------------------------------------------------------

    @property
    def tickets(self) -> list[Ticket]:
        with self._lock:
            return list(self._tickets)

    @property
    def bytes_received(self) -> int:
        """Every byte the host sent, status requests included."""
        with self._lock:
            return self._received

    @property
    def status_requests(self) -> int:
        with self._lock:
            return self._status_requests

    @property
    def unknown_commands(self) -> int:
        with self._lock:
            return self._decoder.unknown

    def wait_for_ticket(self, number: int = 1, timeout: float = 5.0) -> Ticket:
        """The `number`th ticket (from 1), waiting up to `timeout` s; TimeoutError if none."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._tickets) < number:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no ticket {number} within {timeout} s")
                self._changed.wait(remaining)
            return self._tickets[number - 1]

    # -- internals ----------------------------------------------------------

    def _plug_in(self) -> None:
        """Open the pty or device (caller holds the lock)."""
        opened = plug_in(self._device, self._baudrate, self._link)
        self._serial, self._fd, self._slave_fd, slave_name = opened
        if slave_name is not None:
            self._slave_name = slave_name
        self._generation += 1
        self._decoder.reset()
        self._scanner.reset()

    def _pull_out(self) -> None:
        """Close the pty or device and remove the link (caller holds the lock)."""
        pull_out(self._link, self._slave_name, self._serial, (self._fd, self._slave_fd))
        self._serial = None
        self._fd = self._slave_fd = None
        self._generation += 1

    def _wake(self) -> None:
        if self._wake_w >= 0:
            with contextlib.suppress(BlockingIOError):  # already woken
                os.write(self._wake_w, b"!")

    def _run(self) -> None:
        while not self._stopping.is_set():
            with self._lock:
                fd, generation = self._fd, self._generation
                reading = self._answering is not Answering.SILENT
            poller = select.poll()
            poller.register(self._wake_r, select.POLLIN)
            if fd is not None and reading:
                poller.register(fd, select.POLLIN)
            ready = {ready_fd for ready_fd, _ in poller.poll(_IDLE_POLL_S * 1000)}
            if self._wake_r in ready:
                with contextlib.suppress(BlockingIOError):
                    os.read(self._wake_r, 64)
            if fd is not None and fd in ready:
                try:
                    self._read_host(fd, generation)
                except Exception:  # the simulator keeps serving whatever the host sends
                    _log.exception("printer sim: failed to handle the host's bytes")

    def _read_host(self, fd: int, generation: int) -> None:
        with self._lock:
            if generation != self._generation:
                return  # closed (and maybe reused) since poll()
            try:
                data = os.read(fd, _READ_CHUNK)
            except BlockingIOError:
                return
            except OSError as exc:
                _log.warning("printer sim: read failed (%s); unplugging", exc)
                self._pull_out()
                return
            if not data:
                _log.warning("printer sim: port closed; unplugging")
                self._pull_out()
                return
            self._received += len(data)
            if self._stall_at is not None and self._received >= self._stall_at:
                self._answering, self._stall_at = Answering.SILENT, None
            answers = bytearray()
            for kind in self._scanner.feed(data):
                self._status_requests += 1
                answers += self._answer(kind)
            if answers:
                self._write(answers)
            pages = self._decoder.feed(data)
        for page in pages:
            self._cut(page)

    def _answer(self, kind: int) -> bytes:
        """The reply to DLE EOT `kind` in the current state (caller holds the lock)."""
        if self._answering is Answering.GARBAGE:
            # Bit 7 set: never a status byte, so the host must see it as noise.
            return bytes(self._rng.randrange(0x80, 0x100) for _ in range(self._rng.randint(1, 4)))
        if kind not in tuple(StatusKind):
            return bytes((status_reply(StatusKind.PRINTER, cover_open=False, paper_out=False),))
        return bytes(
            (
                status_reply(
                    StatusKind(kind), cover_open=self._cover_open, paper_out=self._paper_out
                ),
            )
        )

    def _write(self, data: bytes | bytearray) -> None:
        """Answer the host (caller holds the lock)."""
        if self._fd is None:
            return
        try:
            os.write(self._fd, data)
        except OSError as exc:  # BlockingIOError too: the host has stopped reading
            _log.debug("printer sim: answer dropped (%s)", exc)

    def _cut(self, page: Image.Image) -> None:
        codes = read_qr_codes(page)
        with self._lock:
            number = len(self._tickets) + 1
        path = None
        if self._out_dir is not None:
            path = self._out_dir / f"ticket-{number}.png"
            try:
                page.save(path)
            except OSError as exc:
                _log.warning("printer sim: cannot save %s: %s", path, exc)
                path = None
        ticket = Ticket(number, page, None if codes is None else tuple(codes), path)
        with self._changed:
            self._tickets.append(ticket)
            self._changed.notify_all()
        if self._on_ticket is not None:
            try:
                self._on_ticket(ticket)
            except Exception:
                _log.exception("printer sim: ticket listener failed")
