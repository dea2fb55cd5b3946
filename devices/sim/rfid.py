"""A serial RFID reader simulator (RDM6300 or line reader) for demos and tests.

The simulator plays the reader end on a pseudo-terminal (the host opens the
slave side, or a stable symlink to it, as if it were a USB serial adapter) or,
for bench tests, on a real serial device. A reader only talks, so there is no
thread: `present()` writes a fob's frame, repeated as a module does while the
fob stays on it; `noise()`, `bad_checksum()` and `partial()` send what a loose
connector or a fob swiped too fast would; `unplug()`/`replug()` make the
host's port vanish and return.
"""

from __future__ import annotations

import logging
import os
import random
import threading
from pathlib import Path
from typing import Final

import serial

from devices.protocols.rfid import (
    BAUDRATE,
    ETX,
    MAX_CARD_NUMBER,
    STX,
    LineFormat,
    RfidProtocol,
    encode_rdm6300,
    parse_card_number,
)
from devices.sim.links import open_pty, remove_link

_log = logging.getLogger("devices.sim")

DEFAULT_VERSION: Final = 0x0B
"""The version/customer byte of simulated fobs: not zero, so the host is seen to
drop it (the card number is the low 32 bits only)."""

HOLD_INTERVAL_S: Final = 0.1
"""How often an RDM6300 repeats the frame of a fob held on it (60-100 ms)."""

_PARTIAL_CHARS: Final = 6  # half a frame's data: what is left when a fob is swiped past

# Bytes that can never be part of a frame or an id: the top half of the byte
# range and control characters other than STX, ETX, CR and LF (and TAB, which
# a line reader's blanks may include). Noise in a frame is never read as a card.
_NOISE_BYTES: Final = bytes(range(0x80, 0x100)) + bytes(
    b for b in range(0x20) if b not in (STX, ETX, 0x09, 0x0A, 0x0D)
)


class RfidReaderSim:
    """A simulated serial RFID reader; see the module docstring."""

    def __init__(
        self,
        *,
        protocol: RfidProtocol | str = RfidProtocol.RDM6300,
        line_format: LineFormat | str = LineFormat.DECIMAL,
        version: int = DEFAULT_VERSION,
        link: Path | None = None,
        device: str | None = None,
        baudrate: int = BAUDRATE,
    ) -> None:
        if device is not None and link is not None:
            raise ValueError("a link only makes sense for a pseudo-terminal, not with a device")
        self._protocol = RfidProtocol(protocol)
        self._line_format = LineFormat(line_format)
        if self._line_format is LineFormat.AUTO:
            raise ValueError("a reader writes either hex or decimal lines, not 'auto'")
        encode_rdm6300(0, version=version)  # a bad version byte fails here, not on the wire
        self._version = version
        self._link = link
        self._device = device
        self._baudrate = baudrate

        # Guards the link's file descriptors; held for each write so a frame
        # is never interleaved with another thread's.
        self._lock = threading.Lock()
        self._fd: int | None = None  # what we write to: pty master or serial fd
        self._slave_fd: int | None = None  # held open so the pty keeps its raw settings
        self._slave_name: str | None = None
        self._serial: serial.Serial | None = None
        self._started = False
        self._stopping = threading.Event()  # cuts a present() with repeats short
        self._rng = random.Random()

    # -- lifecycle ----------------------------------------------------------

    def start(self) -> None:
        """Open the pty (or device)."""
        if self._started:
            raise RuntimeError("RfidReaderSim.start() called twice")
        with self._lock:
            self._plug_in()
        self._started = True

    def stop(self) -> None:
        """Close the port and remove the link; a present() in progress ends."""
        self._stopping.set()
        with self._lock:
            self._pull_out()

    def unplug(self) -> None:
        """Pull the cable: the host's reads fail and the link disappears.

        On a pseudo-terminal the master and slave are closed, so the host's
        read reports an error at once. On a real device we only close our side.
        """
        with self._lock:
            self._pull_out()
        _log.info("rfid sim unplugged")

    def replug(self) -> None:
        """Plug back in: a new pty behind the same link."""
        with self._lock:
            if self._fd is not None:
                return
            self._plug_in()
        _log.info("rfid sim plugged in on %s", self.port)

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

    # -- reader behaviour ---------------------------------------------------

    def frame(self, card_number: int | str) -> bytes:
        """The bytes this reader sends for one read of a card (an RDM6300 frame or a line)."""
        card = _card(card_number)
        if self._protocol is RfidProtocol.RDM6300:
            return encode_rdm6300(card, version=self._version)
        if self._line_format is LineFormat.HEX:
            return b"%02X%08X\r\n" % (self._version, card)
        return b"%010d\r\n" % card

    def present(
        self, card_number: int | str, *, repeats: int = 1, interval: float = HOLD_INTERVAL_S
    ) -> None:
        """A fob is put on the reader: its frame, `repeats` times `interval` seconds apart.

        Blocks until the last frame is sent (or stop() is called); frames sent
        while unplugged are lost, as on a real UART.
        """
        if repeats < 1:
            raise ValueError("repeats must be at least 1")
        if interval < 0:
            raise ValueError("interval must not be negative")
        data = self.frame(card_number)
        for index in range(repeats):
            if index and self._stopping.wait(interval):
                return
            self.send_raw(data)

    def hold(
        self, card_number: int | str, seconds: float, interval: float = HOLD_INTERVAL_S
    ) -> int:
        """A fob stays on the reader for `seconds`: one frame every `interval`; returns how many."""
        if interval <= 0:
            raise ValueError("interval must be positive")
        # A frame at the start and after each interval; the epsilon because 0.3 / 0.1 < 3.
        repeats = 1 + int(seconds / interval + 1e-9)
        self.present(card_number, repeats=repeats, interval=interval)
        return repeats

    def noise(self, count: int = 8) -> None:
        """Send `count` garbage bytes, as a loose connector would.

        They never contain STX, ETX, CR or LF: on an RDM6300 link the host
        counts exactly `count` noise bytes; a line reader ends them with CRLF,
        so the host drops one bad line.
        """
        if count < 1:
            raise ValueError("count must be at least 1")
        data = bytes(self._rng.choices(_NOISE_BYTES, k=count))
        self.send_raw(data if self._protocol is RfidProtocol.RDM6300 else data + b"\r\n")

    def bad_checksum(self, card_number: int | str) -> None:
        """Send a card's RDM6300 frame with a wrong checksum, as a bit flip on the wire would."""
        if self._protocol is not RfidProtocol.RDM6300:
            raise ValueError("line readers send no checksum")
        data = bytearray(self.frame(card_number))
        wrong = int(data[11:13], 16) ^ 0xFF
        data[11:13] = b"%02X" % wrong
        self.send_raw(bytes(data))

    def partial(self, card_number: int | str = 1) -> None:
        """Send the start of a frame and no more, as when a fob is swiped past too fast.

        An RDM6300 host drops it when the next frame's STX arrives. A line has
        no start mark, so a line reader's host joins the next line to it and
        drops both (a line ended short could read as another card number).
        """
        data = self.frame(card_number)
        if self._protocol is RfidProtocol.RDM6300:
            self.send_raw(data[: 1 + _PARTIAL_CHARS])
        else:
            self.send_raw(data[:_PARTIAL_CHARS])

    def send_raw(self, data: bytes) -> None:
        """Put bytes on the wire as they are (dropped while unplugged, like a real UART)."""
        with self._lock:
            self._write(data)

    # -- internals ----------------------------------------------------------

    def _write(self, data: bytes) -> None:
        """Write to the port (caller holds the lock). Never logs the bytes: they carry a card."""
        if self._fd is None:
            _log.debug("rfid sim unplugged, dropped %d bytes", len(data))
            return
        try:
            os.write(self._fd, data)
        except BlockingIOError:
            # Nobody has been reading for a while and the pty buffer is full.
            _log.debug("rfid sim: host not reading, dropped %d bytes", len(data))
        except OSError as exc:
            _log.debug("rfid sim: write failed (%s), dropped %d bytes", exc, len(data))

    def _plug_in(self) -> None:
        """Open the pty or device (caller holds the lock)."""
        if self._device is not None:
            self._serial = serial.Serial(self._device, self._baudrate, timeout=0, write_timeout=0)
            self._fd = self._serial.fileno()
            return
        master, slave, name = open_pty(self._link)
        self._fd, self._slave_fd, self._slave_name = master, slave, name

    def _pull_out(self) -> None:
        """Close the pty or device and remove the link (caller holds the lock)."""
        remove_link(self._link, self._slave_name)
        if self._serial is not None:
            self._serial.close()
        else:
            for fd in (self._fd, self._slave_fd):
                if fd is not None:
                    os.close(fd)
        self._serial = None
        self._fd = self._slave_fd = None


def _card(card_number: int | str) -> int:
    if isinstance(card_number, str):
        return parse_card_number(card_number)
    if not 0 <= card_number <= MAX_CARD_NUMBER:
        raise ValueError(f"a card number is 0 to {MAX_CARD_NUMBER}")
    return card_number
