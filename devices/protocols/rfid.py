"""RFID member-fob readers: bytes and key events -> card numbers, no I/O.

Three kinds of 125 kHz (EM4100) reader reach the kiosk; the full
specification is the "RFID readers" section of docs/protocols.md.

- RDM6300 modules on a UART (9600 8N1) send a frame per read:
  STX (0x02), ten ASCII hex characters (a version/customer byte and the four
  card bytes), two ASCII hex characters of checksum (XOR of those five bytes),
  ETX (0x03). `Rdm6300Parser` reads them from a byte stream.
- Line readers (USB serial) send one id per line, ended by CR, LF or CRLF,
  as hex (8 or 10 digits) or decimal (the card number). `LineParser`.
- Keyboard wedges type the id and press Enter. `WedgeDecoder` turns Linux
  input key events into characters for a `LineParser`.

Every reader is reduced to one canonical card number, the low 32 bits of the
EM4100 id as ten decimal digits (see `devices.events.TagId`). That number is
personal data: nothing here puts it, or the characters a rejected frame
carried, into a `Rejected` detail or an exception message.

A fob held on a reader is read again and again; `RepeatFilter` decides which
reads are new.
"""

from __future__ import annotations

import enum
from collections.abc import Hashable
from dataclasses import dataclass, fields
from typing import Final

from devices.events import TagId, TagKind

BAUDRATE: Final = 9600
"""The RDM6300's UART speed (8N1); fixed in the module. Line readers use it too."""

STX: Final = 0x02
ETX: Final = 0x03

FRAME_DATA_CHARS: Final = 10  # five bytes: version/customer byte + four card bytes
FRAME_BODY_CHARS: Final = FRAME_DATA_CHARS + 2  # ... and the checksum byte, all as ASCII hex

MAX_LINE_BYTES: Final = 32
"""Longest line a line reader may send, not counting CR/LF. The longest id is
10 characters; the slack is for readers that pad with spaces. Anything longer
is noise, and the cap bounds reader memory."""

CARD_NUMBER_DIGITS: Final = 10  # 2**32 - 1 = 4294967295 has ten digits
MAX_CARD_NUMBER: Final = 0xFFFF_FFFF

DEFAULT_REPEAT_WINDOW_S: Final = 1.5
"""An RDM6300 repeats a held fob's frame every 60-100 ms and some wedges re-type
it about once a second; 1.5 s of silence is longer than those gaps and shorter
than taking a fob away and tapping it again on purpose."""

_HEX_DIGITS: Final = frozenset(b"0123456789ABCDEFabcdef")
_BLANK: Final = b" \t"


class RejectReason(enum.StrEnum):
    """Why a frame or line was dropped; the values name the stats counters."""

    BAD_CHECKSUM = "bad_checksum"  # an RDM6300 frame whose checksum does not match
    MALFORMED = "malformed"  # wrong length, not hex/decimal, cut short by the next frame
    OVERLONG = "overlong"  # a line longer than MAX_LINE_BYTES


class RfidProtocol(enum.StrEnum):
    """What a serial reader sends."""

    RDM6300 = "rdm6300"  # STX + 10 hex + 2 hex checksum + ETX
    LINE = "line"  # one id per line, in a `LineFormat`


class LineFormat(enum.StrEnum):
    """How a line reader writes the id; `AUTO` tells them apart by shape."""

    HEX = "hex"  # 8 or 10 hex digits: the low 32 bits are the card number
    DECIMAL = "decimal"  # the card number itself, up to 10 digits
    AUTO = "auto"  # ten decimal digits: decimal; otherwise hex if it reads as hex


@dataclass(frozen=True, slots=True)
class Rejected:
    """A frame or line that was dropped; `detail` is safe to log (never the characters)."""

    reason: RejectReason
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ParserStats:
    """What a parser has seen since it was made (a `reset()` keeps the counts)."""

    frames: int = 0  # good frames or lines, each repeat of a held fob included
    bad_checksum: int = 0
    malformed: int = 0
    overlong: int = 0
    noise_bytes: int = 0  # bytes outside any frame (RDM6300 only)


ReadResult = TagId | Rejected


def rfid_tag(card_number: int) -> TagId:
    """The canonical tag for an EM4100 id (or a card number): its low 32 bits, ten digits."""
    if card_number < 0:
        raise ValueError("an EM4100 id is not negative")
    return TagId(TagKind.RFID, f"{card_number & MAX_CARD_NUMBER:0{CARD_NUMBER_DIGITS}d}")


def parse_card_number(text: str) -> int:
    """A card number as people write it (up to ten decimal digits); ValueError otherwise.

    The message never repeats the text: it may be a real member's number.
    """
    if not 1 <= len(text) <= CARD_NUMBER_DIGITS or not (text.isascii() and text.isdigit()):
        raise ValueError(f"a card number is 1 to {CARD_NUMBER_DIGITS} decimal digits")
    value = int(text)
    if value > MAX_CARD_NUMBER:
        raise ValueError(f"a card number is at most {MAX_CARD_NUMBER}")
    return value


def rdm6300_checksum(data: bytes) -> int:
    """XOR of the five data bytes (not of their ASCII characters)."""
    value = 0
    for byte in data:
        value ^= byte
    return value


def encode_rdm6300(card_number: int, *, version: int = 0) -> bytes:
    """The 14-byte frame an RDM6300 sends for a card (simulator and tests)."""
    if not 0 <= card_number <= MAX_CARD_NUMBER:
        raise ValueError(f"card number out of range 0..{MAX_CARD_NUMBER}")
    if not 0 <= version <= 0xFF:
        raise ValueError("version byte out of range 0..255")
    data = bytes([version]) + card_number.to_bytes(4, "big")
    return b"\x02%s%02X\x03" % (data.hex().upper().encode("ascii"), rdm6300_checksum(data))


class _Counters:
    """Mutable counters behind a parser's `stats` snapshot."""

    def __init__(self) -> None:
        self.values = dict.fromkeys((f.name for f in fields(ParserStats)), 0)

    def reject(self, reason: RejectReason, detail: str) -> Rejected:
        self.values[reason.value] += 1
        return Rejected(reason, detail)

    def snapshot(self) -> ParserStats:
        return ParserStats(**self.values)


class Rdm6300Parser:
    """Finds RDM6300 frames in a byte stream, however it is chunked.

    Resynchronises on every STX: bytes before one are noise, a frame that an
    STX interrupts is malformed (the module lost power or the port opened
    mid-frame). Memory stays bounded: a frame body longer than 12 characters
    is dropped at once and what follows is noise up to the next STX.
    """

    def __init__(self) -> None:
        self._body = bytearray()
        self._in_frame = False
        self._counters = _Counters()

    def feed(self, data: bytes) -> list[ReadResult]:
        """Add received bytes; return the tags and rejects of the frames they completed."""
        results: list[ReadResult] = []
        for byte in data:
            if byte == STX:
                if self._in_frame:
                    results.append(self._counters.reject(RejectReason.MALFORMED, "frame cut short"))
                self._in_frame = True
                self._body.clear()
            elif not self._in_frame:
                self._counters.values["noise_bytes"] += 1
            elif byte == ETX:
                results.append(self._decode(bytes(self._body)))
                self._in_frame = False
                self._body.clear()
            else:
                self._body.append(byte)
                if len(self._body) > FRAME_BODY_CHARS:
                    results.append(self._counters.reject(RejectReason.MALFORMED, "no ETX"))
                    self._in_frame = False
                    self._body.clear()
        return results

    def reset(self) -> None:
        """Forget a partial frame (after a reconnect the rest of it is gone)."""
        self._body.clear()
        self._in_frame = False

    @property
    def stats(self) -> ParserStats:
        return self._counters.snapshot()

    @property
    def buffered(self) -> int:
        """Bytes held for an unfinished frame; never more than 12."""
        return len(self._body)

    def _decode(self, body: bytes) -> ReadResult:
        if len(body) != FRAME_BODY_CHARS:
            return self._counters.reject(RejectReason.MALFORMED, f"{len(body)} characters")
        if not _HEX_DIGITS.issuperset(body):
            return self._counters.reject(RejectReason.MALFORMED, "not hex")
        data = bytes.fromhex(body[:FRAME_DATA_CHARS].decode("ascii"))
        if int(body[FRAME_DATA_CHARS:], 16) != rdm6300_checksum(data):
            return self._counters.reject(RejectReason.BAD_CHECKSUM, "checksum does not match")
        self._counters.values["frames"] += 1
        return rfid_tag(int.from_bytes(data[1:], "big"))


def parse_card_line(text: bytes, line_format: LineFormat) -> int | None:
    """The card number in one line (without CR/LF and blanks), or None if it has none."""
    if not text.isascii() or not text.isalnum():
        return None
    if line_format is LineFormat.DECIMAL or (
        line_format is LineFormat.AUTO and len(text) == CARD_NUMBER_DIGITS and text.isdigit()
    ):
        if len(text) <= CARD_NUMBER_DIGITS and text.isdigit() and int(text) <= MAX_CARD_NUMBER:
            return int(text)
        if line_format is LineFormat.DECIMAL:
            return None
        # AUTO: ten digits above 4294967295 cannot be a card number, so they are hex.
    if len(text) not in (8, 10) or not _HEX_DIGITS.issuperset(text):
        return None
    return int(text, 16) & MAX_CARD_NUMBER


class LineParser:
    """Reads one id per line (CR, LF or CRLF) from a line reader or a keyboard wedge.

    Empty and blank lines are skipped (the LF of a CRLF makes one). Memory
    stays bounded: a line longer than MAX_LINE_BYTES is rejected once, as
    soon as it is too long, and the rest of it is dropped up to the next CR/LF.
    """

    def __init__(self, line_format: LineFormat | str = LineFormat.AUTO) -> None:
        self._format = LineFormat(line_format)
        self._pending = bytearray()
        self._discarding = False
        self._counters = _Counters()

    @property
    def line_format(self) -> LineFormat:
        return self._format

    def feed(self, data: bytes) -> list[ReadResult]:
        """Add received bytes; return the tags and rejects of the lines they completed."""
        results: list[ReadResult] = []
        for byte in data:
            if byte in b"\r\n":
                if self._pending:
                    result = self._decode(bytes(self._pending))
                    if result is not None:
                        results.append(result)
                self._pending.clear()
                self._discarding = False
            elif not self._discarding:
                self._pending.append(byte)
                if len(self._pending) > MAX_LINE_BYTES:
                    results.append(
                        self._counters.reject(RejectReason.OVERLONG, f"over {MAX_LINE_BYTES} bytes")
                    )
                    self._pending.clear()
                    self._discarding = True
        return results

    def reset(self) -> None:
        """Forget a partial line."""
        self._pending.clear()
        self._discarding = False

    @property
    def stats(self) -> ParserStats:
        return self._counters.snapshot()

    @property
    def buffered(self) -> int:
        """Bytes held for an unfinished line; never more than MAX_LINE_BYTES."""
        return len(self._pending)

    def _decode(self, line: bytes) -> ReadResult | None:
        text = line.strip(_BLANK)
        if not text:
            return None
        card = parse_card_line(text, self._format)
        if card is None:
            return self._counters.reject(
                RejectReason.MALFORMED, f"{len(text)} bytes, no {self._format.value} card id"
            )
        self._counters.values["frames"] += 1
        return rfid_tag(card)


class RepeatFilter:
    """Decides whether a read is a new tap or the same fob still on the reader.

    A read counts when its value has not been seen for `window_s`; every read
    (counted or not) restarts that value's window, so a fob left on the reader
    is one read however long it stays. Values are independent. Time is a
    parameter; only values seen within the last window are remembered.
    """

    def __init__(self, window_s: float = DEFAULT_REPEAT_WINDOW_S) -> None:
        if window_s < 0:
            raise ValueError("window_s must not be negative")
        self._window = window_s
        self._last_seen: dict[Hashable, float] = {}

    def accept(self, value: Hashable, now: float) -> bool:
        """Record a read of `value` at `now`; True if it is a new read."""
        for stale in [v for v, at in self._last_seen.items() if now - at >= self._window]:
            del self._last_seen[stale]
        is_new = value not in self._last_seen
        self._last_seen[value] = now
        return is_new

    def __len__(self) -> int:
        """How many values are remembered (all seen within the last window)."""
        return len(self._last_seen)


# Linux input event codes (linux/input-event-codes.h, a stable kernel ABI),
# spelled out so this module needs no evdev; the tests check them against it.
EV_KEY: Final = 0x01
KEY_ENTER: Final = 28
KEY_KPENTER: Final = 96
KEY_PRESSED: Final = 1  # 0 is a release, 2 an autorepeat: neither types a character

_KEY_CHARACTERS: Final[dict[int, str]] = {
    # the digit row: KEY_1 = 2 ... KEY_9 = 10, KEY_0 = 11
    **{2 + i: str((i + 1) % 10) for i in range(10)},
    # the keypad: KEY_KP7 = 71 ... KEY_KP0 = 82 (non-digit keypad keys skipped)
    71: "7",
    72: "8",
    73: "9",
    75: "4",
    76: "5",
    77: "6",
    79: "1",
    80: "2",
    81: "3",
    82: "0",
    # hex letters: KEY_A = 30, KEY_B = 48, KEY_C = 46, KEY_D = 32, KEY_E = 18, KEY_F = 33
    30: "A",
    48: "B",
    46: "C",
    32: "D",
    18: "E",
    33: "F",
}
# Shift (for upper-case hex), Caps Lock and Num Lock (some wedges toggle it
# before keypad digits) change no character we read.
_IGNORED_KEYS: Final = frozenset({42, 54, 58, 69})  # LEFTSHIFT, RIGHTSHIFT, CAPSLOCK, NUMLOCK

UNKNOWN_KEY: Final = "?"
"""Typed for any other key, so the line it is in is rejected rather than read short."""


class WedgeDecoder:
    """Turns a keyboard wedge's input events into characters for a `LineParser`.

    Only key presses type: digits (top row and keypad) and A-F; Enter and
    keypad Enter end the line ("\\n"). Releases, autorepeats, Shift/Caps/Num
    Lock and non-key events (EV_SYN, EV_MSC scan codes) give nothing.
    """

    def feed(self, event_type: int, code: int, value: int) -> str | None:
        """The character one input event types, or None."""
        if event_type != EV_KEY or value != KEY_PRESSED or code in _IGNORED_KEYS:
            return None
        if code in (KEY_ENTER, KEY_KPENTER):
            return "\n"
        return _KEY_CHARACTERS.get(code, UNKNOWN_KEY)
