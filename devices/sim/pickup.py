"""A pickup sensor board simulator for demos and tests.

The simulator plays the board end of the line protocol on a pseudo-terminal
(the host opens the slave side, or a stable symlink to it, as if it were a
USB serial adapter) or, for bench tests, on a real serial device. It answers
STATE?, records LED commands and sends periodic STATE lines like the
firmware does; `unplug()`/`replug()` make the host's port vanish and return.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import select
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

import serial

from devices.protocols.pickup import (
    BAUDRATE,
    MAX_SLOT,
    MIN_SLOT,
    Hello,
    Led,
    LedMode,
    LineSplitter,
    Message,
    Rejected,
    RejectReason,
    State,
    StateQuery,
    checksum,
    format_message,
    frame,
    parse_line,
)
from devices.sim.links import plug_in, pull_out

_log = logging.getLogger("devices.sim")

_IDLE_POLL_S: Final = 0.5
"""Poll timeout when no periodic STATE is due; wake-ups come through a pipe, so
this only bounds how stale a stop request can get if a wake-up is lost."""

_READ_CHUNK: Final = 4096  # one pty buffer's worth; host commands are a few bytes each

# Bytes that can never form a valid line: the top half of the byte range and
# control characters (LF excepted, so each noise line ends where we say).
_NOISE_BYTES: Final = bytes(range(0x80, 0x100)) + bytes(b for b in range(0x20) if b != 0x0A)


class PickupBoardSim:
    """A simulated pickup board; see the module docstring."""

    def __init__(
        self,
        *,
        slots: int = 12,
        board_id: str = "SIM-0001",
        firmware: str = "1.4.2",
        link: Path | None = None,
        state_interval: float | None = 2.0,
        checksum: bool = True,
        device: str | None = None,
        baudrate: int = BAUDRATE,
        on_host_message: Callable[[Message], None] | None = None,
    ) -> None:
        if not MIN_SLOT <= slots <= MAX_SLOT:
            raise ValueError(f"slots must be {MIN_SLOT}..{MAX_SLOT}")
        if state_interval is not None and state_interval <= 0:
            raise ValueError("state_interval must be positive (or None for no periodic STATE)")
        if device is not None and link is not None:
            raise ValueError("a link only makes sense for a pseudo-terminal, not with a device")
        self._hello = Hello(board_id, firmware, slots)
        format_message(self._hello)  # a bad board id or firmware fails here, not on the wire
        self._slots = slots
        self._link = link
        self._state_interval = state_interval
        self._checksum = checksum
        self._device = device
        self._baudrate = baudrate
        self._on_host_message = on_host_message

        # `_lock` guards the link's file descriptors and the board state below;
        # `_changed` wakes wait_for() when a host line arrives.
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._fd: int | None = None  # what we read and write: pty master or serial fd
        self._slave_fd: int | None = None  # held open so the pty keeps its settings
        self._slave_name: str | None = None
        self._serial: serial.Serial | None = None
        self._generation = 0  # bumped whenever `_fd` changes, so a stale poll is ignored
        self._lifted: set[int] = set()
        self._leds: dict[int, LedMode] = {}
        self._host_lines: list[Message] = []
        self._host_raw: list[bytes] = []
        self._host_rejects: list[Rejected] = []
        self._splitter = LineSplitter()

        self._stopping = threading.Event()
        self._wake_r, self._wake_w = -1, -1
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------

    def start(self) -> None:
        """Open the pty (or device), say HELLO, and start answering the host."""
        if self._thread is not None:
            raise RuntimeError("PickupBoardSim.start() called twice")
        with self._lock:
            self._plug_in()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._thread = threading.Thread(target=self._run, name="pickup-sim", daemon=True)
        self._thread.start()
        self.send_hello()

    def stop(self) -> None:
        """Stop the board thread, close the port and remove the link."""
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
        """Pull the cable: the host's reads fail and the link disappears.

        On a pseudo-terminal the master and slave are closed, so the host's
        read reports an error at once. On a real device we only close our side.
        The lifted phones stay lifted (they are physical); the LEDs go dark.
        """
        with self._lock:
            self._pull_out()
        self._wake()
        _log.info("pickup sim unplugged")

    def replug(self) -> None:
        """Plug back in: a new pty behind the same link, and HELLO like a fresh boot."""
        with self._lock:
            if self._fd is not None:
                return
            self._plug_in()
        self._wake()
        _log.info("pickup sim plugged in on %s", self.port)
        self.send_hello()

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

    # -- board behaviour ----------------------------------------------------

    def lift(self, slot: int, *, corrupt: bool = False) -> None:
        """A phone leaves `slot`; `corrupt` sends its LIFT with a wrong checksum, as noise would."""
        self._check_slot(slot)
        body = f"LIFT {slot}"
        if corrupt:
            wrong = checksum(body.encode("ascii")) ^ 0xFF
            data = f"{body}*{wrong:02X}\n".encode("ascii")
        else:
            data = frame(body, with_checksum=self._checksum)
        with self._lock:  # one step, so no STATE can slip between the change and its line
            self._lifted.add(slot)
            self._write(data)

    def drop(self, slot: int) -> None:
        """A phone goes back on `slot`."""
        self._check_slot(slot)
        with self._lock:
            self._lifted.discard(slot)
            self._write(frame(f"DROP {slot}", with_checksum=self._checksum))

    def alarm(self, slot: int, reason: str = "CABLE") -> None:
        """Raise an alarm; any single word is sent as is (the host reads unknown ones as OTHER)."""
        self._check_slot(slot)
        if not reason or not reason.isascii() or not reason.isalnum():
            raise ValueError(f"alarm reason must be one word of letters and digits: {reason!r}")
        self._send_line(f"ALARM {slot} {reason}")

    def send_state(self) -> None:
        """Send STATE with the current lifted set."""
        with self._lock:
            body = format_message(State(frozenset(self._lifted)))
            self._write(frame(body, with_checksum=self._checksum))

    def send_hello(self) -> None:
        """Send HELLO, as the firmware does after a reset."""
        self._send_line(format_message(self._hello))

    def send_noise(self, lines: int = 3) -> None:
        """Send `lines` lines of garbage bytes, as a loose connector would."""
        rng = random.Random()
        data = b"".join(
            bytes(rng.choices(_NOISE_BYTES, k=rng.randint(4, 40))) + b"\n" for _ in range(lines)
        )
        self.send_raw(data)

    def send_raw(self, data: bytes) -> None:
        """Put bytes on the wire as they are (dropped while unplugged, like a real UART)."""
        with self._lock:
            self._write(data)

    @property
    def lifted(self) -> frozenset[int]:
        with self._lock:
            return frozenset(self._lifted)

    @property
    def leds(self) -> dict[int, LedMode]:
        """The LED mode of every slot the host has set since the last (re)plug."""
        with self._lock:
            return dict(self._leds)

    def host_lines(self) -> list[Message]:
        """Every valid command received from the host, in order."""
        with self._lock:
            return list(self._host_lines)

    def host_raw_lines(self) -> list[bytes]:
        """The bytes of every line received from the host (without LF), valid or not."""
        with self._lock:
            return list(self._host_raw)

    def host_rejects(self) -> list[Rejected]:
        """Lines from the host that were not valid host commands."""
        with self._lock:
            return list(self._host_rejects)

    def wait_for(
        self, predicate: Callable[[Message], bool], timeout: float = 2.0, *, since: int = 0
    ) -> Message:
        """Return the first host command from index `since` on that matches; raise TimeoutError."""
        deadline = time.monotonic() + timeout
        index = since
        with self._changed:
            while True:
                while index < len(self._host_lines):
                    if predicate(self._host_lines[index]):
                        return self._host_lines[index]
                    index += 1
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no matching host command within {timeout} s")
                self._changed.wait(remaining)

    # -- internals ----------------------------------------------------------

    def _check_slot(self, slot: int) -> None:
        if not MIN_SLOT <= slot <= self._slots:
            raise ValueError(f"slot must be {MIN_SLOT}..{self._slots}, not {slot}")

    def _send_line(self, body: str) -> None:
        self.send_raw(frame(body, with_checksum=self._checksum))

    def _write(self, data: bytes) -> None:
        """Write to the port (caller holds the lock)."""
        if self._fd is None:
            _log.debug("pickup sim unplugged, dropped %r", data[:40])
            return
        try:
            os.write(self._fd, data)
        except BlockingIOError:
            # Nobody has been reading for a while and the pty buffer is full.
            _log.debug("pickup sim: host not reading, dropped %r", data[:40])
        except OSError as exc:
            _log.debug("pickup sim: write failed (%s), dropped %r", exc, data[:40])

    def _plug_in(self) -> None:
        """Open the pty or device (caller holds the lock)."""
        opened = plug_in(self._device, self._baudrate, self._link)
        self._serial, self._fd, self._slave_fd, slave_name = opened
        if slave_name is not None:
            self._slave_name = slave_name
        self._generation += 1
        self._leds.clear()  # a fresh boot: LEDs are dark until the host sets them
        self._splitter.reset()

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
        next_state = (
            time.monotonic() + self._state_interval if self._state_interval is not None else None
        )
        while not self._stopping.is_set():
            with self._lock:
                fd, generation = self._fd, self._generation
            timeout = (
                _IDLE_POLL_S if next_state is None else max(0.0, next_state - time.monotonic())
            )
            poller = select.poll()
            poller.register(self._wake_r, select.POLLIN)
            if fd is not None:
                poller.register(fd, select.POLLIN)
            ready = {ready_fd for ready_fd, _ in poller.poll(timeout * 1000)}
            if self._wake_r in ready:
                with contextlib.suppress(BlockingIOError):
                    os.read(self._wake_r, 64)
            if fd is not None and fd in ready:
                self._read_host(fd, generation)
            if next_state is not None and time.monotonic() >= next_state:
                self.send_state()
                next_state = time.monotonic() + (self._state_interval or 0)

    def _read_host(self, fd: int, generation: int) -> None:
        with self._lock:
            # The fd may have been closed (and its number reused) since poll():
            # only read if it is still the one we polled.
            if generation != self._generation:
                return
            try:
                data = os.read(fd, _READ_CHUNK)
            except BlockingIOError:
                return
            except OSError as exc:
                _log.warning("pickup sim: read failed (%s); unplugging", exc)
                self._pull_out()
                return
            if not data:  # a real device went away
                _log.warning("pickup sim: port closed; unplugging")
                self._pull_out()
                return
            lines = self._splitter.feed(data)
        for line in lines:
            self._handle_host_line(line)

    def _handle_host_line(self, line: bytes) -> None:
        msg = parse_line(line)
        if not isinstance(msg, StateQuery | Led | Rejected):
            msg = Rejected(
                RejectReason.UNKNOWN_COMMAND, f"board line from host: {format_message(msg)}"
            )
        with self._changed:
            self._host_raw.append(line)
            if isinstance(msg, Rejected):
                self._host_rejects.append(msg)
            else:
                self._host_lines.append(msg)
                if isinstance(msg, Led) and msg.slot <= self._slots:
                    self._leds[msg.slot] = msg.mode
            self._changed.notify_all()
        if isinstance(msg, Rejected):
            _log.debug("pickup sim: host line rejected (%s): %r", msg.reason, line[:40])
            return
        if isinstance(msg, StateQuery):
            self.send_state()
        if self._on_host_message is not None:
            try:
                self._on_host_message(msg)
            except Exception:
                _log.exception("pickup sim: host message listener failed")
