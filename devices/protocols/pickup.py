"""Pickup sensor board line protocol: bytes <-> typed messages, no I/O.

The board and the host exchange ASCII lines ending in LF (a CR before the LF
is tolerated), optionally followed by an NMEA-style checksum `*HH`. The full
specification, including what the host does with each kind of bad input, is
the "Pickup sensor board" section of docs/protocols.md.

Board -> host:  HELLO <board-id> <firmware> <slot-count> | LIFT <slot> |
                DROP <slot> | ALARM <slot> <reason> | STATE <hex bitmask>
Host -> board:  LED <slot> ON|OFF|BLINK | STATE?

`parse_line` reads both directions (the simulator parses host commands with
it) and never raises: anything it cannot read comes back as `Rejected`.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Final

from devices.events import AlarmReason

BAUDRATE: Final = 115200
"""The board's UART speed (8N1); fixed in its firmware."""

MAX_LINE_BYTES: Final = 128
"""Longest line either side may send, counting the `*HH` suffix but not CR/LF.

The longest line the protocol needs, a full 256-slot STATE with checksum, is
73 bytes; anything past 128 is line noise, and the cap bounds reader memory.
"""

MIN_SLOT: Final = 1
MAX_SLOT: Final = 256
"""Slots are numbered from 1; the largest cabinet controller has 256 inputs."""

_STATE_HEX_DIGITS: Final = MAX_SLOT // 4  # 256 slots -> a 64-digit hex mask at most
_SLOT_DIGITS: Final = len(str(MAX_SLOT))  # "256": longer numbers are malformed, not parsed

_PRINTABLE = re.compile(rb"[\x20-\x7e]*")
_COMMAND_WORD = re.compile(r"[A-Za-z]+\??")  # lower case reads as a word, then as unknown
_HEX = re.compile(r"[0-9A-Fa-f]+")
_CHECKSUM_DIGITS = re.compile(r"[0-9A-Fa-f]{2}")


class LedMode(enum.StrEnum):
    """What a slot's LED does; the values are the wire words."""

    ON = "ON"
    OFF = "OFF"
    BLINK = "BLINK"


class RejectReason(enum.StrEnum):
    """Why a line was not accepted; the values name the host's stats counters."""

    NOISE = "noise"  # not printable ASCII, empty, or not shaped like a command at all
    BAD_CHECKSUM = "bad_checksum"  # `*HH` present but wrong or unreadable
    UNKNOWN_COMMAND = "unknown_command"  # a well-formed word we do not know
    MALFORMED = "malformed"  # a known command with wrong arguments (incl. slot out of range)
    OVERLONG = "overlong"  # longer than MAX_LINE_BYTES


@dataclass(frozen=True, slots=True)
class Hello:
    """The board (re)started: sent once after power-up or reset."""

    board_id: str
    firmware: str
    slot_count: int


@dataclass(frozen=True, slots=True)
class Lift:
    """A phone left `slot`."""

    slot: int


@dataclass(frozen=True, slots=True)
class Drop:
    """A phone went back on `slot`."""

    slot: int


@dataclass(frozen=True, slots=True)
class AlarmLine:
    """The board raised an alarm on `slot`; unknown reason words read as OTHER."""

    slot: int
    reason: AlarmReason


@dataclass(frozen=True, slots=True)
class State:
    """The full set of lifted slots; lets the host resynchronise after lost lines."""

    lifted: frozenset[int]


@dataclass(frozen=True, slots=True)
class StateQuery:
    """Host asks the board for an immediate STATE line."""


@dataclass(frozen=True, slots=True)
class Led:
    """Host sets the LED of `slot`."""

    slot: int
    mode: LedMode


@dataclass(frozen=True, slots=True)
class Rejected:
    """A line that was not accepted; `detail` is for debug logs only."""

    reason: RejectReason
    detail: str = ""


BoardMessage = Hello | Lift | Drop | AlarmLine | State
HostCommand = StateQuery | Led
Message = BoardMessage | HostCommand


def checksum(data: bytes) -> int:
    """NMEA-style checksum: XOR of every byte (of the line before the `*`)."""
    value = 0
    for byte in data:
        value ^= byte
    return value


def parse_line(raw: bytes) -> Message | Rejected:
    """Read one line (with or without its CR/LF). Never raises."""
    body = _unframe(raw)
    if isinstance(body, Rejected):
        return body
    words = body.split()
    if not words:
        return Rejected(RejectReason.NOISE, "empty line")
    command, args = words[0], words[1:]
    if _COMMAND_WORD.fullmatch(command) is None:
        return Rejected(RejectReason.NOISE, "no command word")
    parser = _PARSERS.get(command)
    if parser is None:
        return Rejected(RejectReason.UNKNOWN_COMMAND, command[:16])
    return parser(args)


def _unframe(raw: bytes) -> str | Rejected:
    """Strip CR/LF, check length, character set and checksum; return the line body."""
    line = raw[:-1] if raw.endswith(b"\n") else raw
    if line.endswith(b"\r"):
        line = line[:-1]
    if len(line) > MAX_LINE_BYTES:
        return Rejected(RejectReason.OVERLONG, f"{len(line)} bytes")
    if _PRINTABLE.fullmatch(line) is None:
        return Rejected(RejectReason.NOISE, "not printable ASCII")
    body, star, suffix = line.decode("ascii").rpartition("*")
    if not star:
        return suffix  # no '*': rpartition put the whole line here
    if _CHECKSUM_DIGITS.fullmatch(suffix) is None:
        return Rejected(RejectReason.BAD_CHECKSUM, f"unreadable checksum {suffix[:8]!r}")
    if int(suffix, 16) != checksum(body.encode("ascii")):
        return Rejected(RejectReason.BAD_CHECKSUM, f"checksum {suffix} does not match")
    return body


def format_message(msg: Message) -> str:  # noqa: PLR0911 (one return per message type)
    """The line for `msg` without checksum or terminator, e.g. "LED 3 ON" (also used in logs).

    Raises ValueError for values the protocol cannot carry (slot out of range,
    a board id with spaces), so that no invalid line is ever put on the wire.
    """
    match msg:
        case Hello(board_id, firmware, slot_count):
            _check_slot(slot_count)
            return f"HELLO {_check_token(board_id)} {_check_token(firmware)} {slot_count}"
        case Lift(slot):
            return f"LIFT {_check_slot(slot)}"
        case Drop(slot):
            return f"DROP {_check_slot(slot)}"
        case AlarmLine(slot, reason):
            return f"ALARM {_check_slot(slot)} {AlarmReason(reason).value}"
        case State(lifted):
            mask = 0
            for slot in lifted:
                mask |= 1 << (_check_slot(slot) - 1)
            return f"STATE {mask:X}"
        case StateQuery():
            return "STATE?"
        case Led(slot, mode):
            return f"LED {_check_slot(slot)} {LedMode(mode).value}"
    raise TypeError(f"not a pickup board message: {msg!r}")


def frame(body: str, *, with_checksum: bool = True) -> bytes:
    """Turn a line body into wire bytes: ASCII, optional `*HH`, LF."""
    data = body.encode("ascii")
    if _PRINTABLE.fullmatch(data) is None:
        raise ValueError(f"line body must be printable ASCII: {body!r}")
    if with_checksum:
        data += b"*%02X" % checksum(data)
    if len(data) > MAX_LINE_BYTES:
        raise ValueError(f"line longer than {MAX_LINE_BYTES} bytes: {body[:32]!r}...")
    return data + b"\n"


def encode(msg: Message, *, with_checksum: bool = True) -> bytes:
    """Wire bytes for `msg` (the host always uses the default, with checksum)."""
    return frame(format_message(msg), with_checksum=with_checksum)


class LineSplitter:
    """Cuts a byte stream into lines for `parse_line`.

    Memory stays bounded: once a pending line exceeds the cap it is handed
    out once, cut short (so `parse_line` rejects it as OVERLONG), and the rest
    up to the next LF is dropped.
    """

    # One byte of slack for a CR before the LF; two so a cut line still reads as overlong.
    _KEEP: Final = MAX_LINE_BYTES + 2

    def __init__(self) -> None:
        self._pending = bytearray()
        self._discarding = False

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return the lines they completed (without LF)."""
        lines: list[bytes] = []
        start = 0
        while (end := data.find(b"\n", start)) >= 0:
            if self._discarding:
                self._discarding = False
            else:
                self._pending += data[start : min(end, start + self._KEEP)]
                lines.append(bytes(self._pending[: self._KEEP]))
            self._pending.clear()
            start = end + 1
        if not self._discarding and start < len(data):
            self._pending += data[start : start + self._KEEP]
            if len(self._pending) > MAX_LINE_BYTES + 1:  # no CR/LF can make this fit any more
                lines.append(bytes(self._pending[: self._KEEP]))
                self._pending.clear()
                self._discarding = True
        return lines

    def reset(self) -> None:
        """Forget a partial line (after a reconnect the rest of it is gone)."""
        self._pending.clear()
        self._discarding = False


def _check_slot(slot: int) -> int:
    if not MIN_SLOT <= slot <= MAX_SLOT:
        raise ValueError(f"slot {slot} out of range {MIN_SLOT}..{MAX_SLOT}")
    return slot


def _check_token(word: str) -> str:
    if not word or not word.isascii() or not word.isprintable() or " " in word or "*" in word:
        raise ValueError(f"not a single printable ASCII word without '*': {word!r}")
    return word


def _slot(word: str) -> int | None:
    # isdigit() on an ASCII word accepts only 0-9: no sign, no underscores.
    if len(word) > _SLOT_DIGITS or not word.isdigit():
        return None
    slot = int(word)
    return slot if MIN_SLOT <= slot <= MAX_SLOT else None


def _malformed(detail: str) -> Rejected:
    return Rejected(RejectReason.MALFORMED, detail)


def _parse_hello(args: list[str]) -> Message | Rejected:
    if len(args) != 3:
        return _malformed("HELLO takes board id, firmware and slot count")
    slot_count = _slot(args[2])
    if slot_count is None:
        return _malformed(f"HELLO slot count {args[2][:8]!r}")
    return Hello(args[0], args[1], slot_count)


def _parse_lift(args: list[str]) -> Message | Rejected:
    slot = _slot(args[0]) if len(args) == 1 else None
    return _malformed("LIFT takes one slot 1..256") if slot is None else Lift(slot)


def _parse_drop(args: list[str]) -> Message | Rejected:
    slot = _slot(args[0]) if len(args) == 1 else None
    return _malformed("DROP takes one slot 1..256") if slot is None else Drop(slot)


def _parse_alarm(args: list[str]) -> Message | Rejected:
    slot = _slot(args[0]) if len(args) == 2 else None
    if slot is None:
        return _malformed("ALARM takes a slot 1..256 and a reason")
    try:
        reason = AlarmReason(args[1])
    except ValueError:
        reason = AlarmReason.OTHER
    return AlarmLine(slot, reason)


def _parse_state(args: list[str]) -> Message | Rejected:
    if len(args) != 1 or len(args[0]) > _STATE_HEX_DIGITS or _HEX.fullmatch(args[0]) is None:
        return _malformed("STATE takes a hex bitmask of at most 64 digits")
    mask = int(args[0], 16)
    return State(frozenset(bit + 1 for bit in range(mask.bit_length()) if mask >> bit & 1))


def _parse_state_query(args: list[str]) -> Message | Rejected:
    return _malformed("STATE? takes no arguments") if args else StateQuery()


def _parse_led(args: list[str]) -> Message | Rejected:
    slot = _slot(args[0]) if len(args) == 2 else None
    if slot is None or args[1] not in LedMode.__members__:
        return _malformed("LED takes a slot 1..256 and ON, OFF or BLINK")
    return Led(slot, LedMode(args[1]))


_PARSERS: Final = {
    "HELLO": _parse_hello,
    "LIFT": _parse_lift,
    "DROP": _parse_drop,
    "ALARM": _parse_alarm,
    "STATE": _parse_state,
    "STATE?": _parse_state_query,
    "LED": _parse_led,
}
