"""ESC/POS receipt printers' real-time status: DLE EOT requests and their reply bytes, no I/O.

The host sends DLE EOT n (0x10 0x04 n) and the printer answers one byte at
once, even while offline or in an error. Each reply has fixed bits (bit 1 and
bit 4 set, bits 0 and 7 clear) that tell a status byte from line noise; the
rest (docs/protocols.md, "Receipt printer"):

- n=1 printer status: bit 3 offline.
- n=2 offline cause: bit 2 cover open, bit 3 paper fed by the FEED button,
  bit 5 printing stopped at paper end, bit 6 an error occurred.
- n=4 roll paper sensor: bits 2-3 paper near its end, bits 5-6 paper end
  (Epson sets both bits of a pair; some clones set one, so either counts).

`PrinterStatus` folds the three replies into what the kiosk acts on.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

DLE: Final = 0x10
EOT: Final = 0x04


class StatusKind(enum.IntEnum):
    """The `n` of DLE EOT n this driver asks."""

    PRINTER = 1
    OFFLINE_CAUSE = 2
    PAPER = 4


STATUS_KINDS: Final = (StatusKind.PRINTER, StatusKind.OFFLINE_CAUSE, StatusKind.PAPER)

_FIXED_MASK: Final = 0b1001_0011  # bits 7, 4, 1 and 0
_FIXED_VALUE: Final = 0b0001_0010  # bits 4 and 1 set, 7 and 0 clear

_OFFLINE: Final = 0b0000_1000  # n=1
_COVER_OPEN: Final = 0b0000_0100  # n=2
_PAPER_END_STOP: Final = 0b0010_0000  # n=2
_ERROR: Final = 0b0100_0000  # n=2
_NEAR_END: Final = 0b0000_1100  # n=4
_PAPER_END: Final = 0b0110_0000  # n=4


def status_request(kind: StatusKind) -> bytes:
    """The three bytes that ask the printer for one status byte."""
    return bytes((DLE, EOT, kind))


def is_status_byte(value: int) -> bool:
    """Whether `value` has the fixed bits every DLE EOT reply has (else it is noise)."""
    return value & _FIXED_MASK == _FIXED_VALUE


class Problem(enum.StrEnum):
    """Why a printer that answers cannot print; the values are DeviceHealth details."""

    COVER_OPEN = "cover_open"
    PAPER_OUT = "paper_out"
    OFFLINE = "offline"  # offline for another reason: an error, paper being fed by hand


@dataclass(frozen=True, slots=True)
class PrinterStatus:
    """What the printer's three status bytes say."""

    problem: Problem | None
    paper_low: bool  # the roll is near its end: still prints, staff should reload soon

    @property
    def ok(self) -> bool:
        return self.problem is None


def read_status(replies: Mapping[StatusKind, int]) -> PrinterStatus:
    """Fold the replies to DLE EOT 1, 2 and 4 (each already `is_status_byte`) into a status.

    The cover outranks paper: a cover opened to load paper is what staff are doing.
    """
    printer = replies[StatusKind.PRINTER]
    cause = replies[StatusKind.OFFLINE_CAUSE]
    paper = replies[StatusKind.PAPER]
    problem: Problem | None = None
    if cause & _COVER_OPEN:
        problem = Problem.COVER_OPEN
    elif paper & _PAPER_END or cause & _PAPER_END_STOP:
        problem = Problem.PAPER_OUT
    elif printer & _OFFLINE or cause & _ERROR:
        problem = Problem.OFFLINE
    return PrinterStatus(problem, paper_low=bool(paper & _NEAR_END))


def status_reply(kind: StatusKind, *, cover_open: bool, paper_out: bool) -> int:
    """The byte a printer in this state answers to DLE EOT `kind` (for the simulator and tests)."""
    value = _FIXED_VALUE
    offline = cover_open or paper_out
    if kind is StatusKind.PRINTER:
        value |= _OFFLINE if offline else 0
    elif kind is StatusKind.OFFLINE_CAUSE:
        value |= (_COVER_OPEN if cover_open else 0) | (_PAPER_END_STOP if paper_out else 0)
    elif kind is StatusKind.PAPER:
        value |= _PAPER_END | _NEAR_END if paper_out else 0
    return value
