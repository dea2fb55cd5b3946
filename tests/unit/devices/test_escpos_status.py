"""ESC/POS real-time status: which reply bytes are status bytes, and what they say."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.protocols.escpos import (
    Problem,
    StatusKind,
    is_status_byte,
    read_status,
    status_reply,
    status_request,
)

# Replies built from the bit tables of Epson's ESC/POS reference (DLE EOT).
READY = {StatusKind.PRINTER: 0x16, StatusKind.OFFLINE_CAUSE: 0x12, StatusKind.PAPER: 0x12}
COVER_OPEN = {StatusKind.PRINTER: 0x1E, StatusKind.OFFLINE_CAUSE: 0x16, StatusKind.PAPER: 0x12}
PAPER_OUT = {StatusKind.PRINTER: 0x1E, StatusKind.OFFLINE_CAUSE: 0x32, StatusKind.PAPER: 0x7E}
NEAR_END = {StatusKind.PRINTER: 0x16, StatusKind.OFFLINE_CAUSE: 0x12, StatusKind.PAPER: 0x1E}


def test_requests_are_dle_eot_n() -> None:
    assert [status_request(kind) for kind in StatusKind] == [
        b"\x10\x04\x01",
        b"\x10\x04\x02",
        b"\x10\x04\x04",
    ]


@pytest.mark.parametrize(
    ("replies", "problem", "paper_low"),
    [
        (READY, None, False),
        (COVER_OPEN, Problem.COVER_OPEN, False),
        (PAPER_OUT, Problem.PAPER_OUT, True),
        (NEAR_END, None, True),
        # A clone that sets only one of the paper-end pair still means no paper.
        ({**READY, StatusKind.PAPER: 0x32}, Problem.PAPER_OUT, False),
        # Offline with an error (a cutter jam): not paper, not cover.
        ({StatusKind.PRINTER: 0x1E, StatusKind.OFFLINE_CAUSE: 0x52, StatusKind.PAPER: 0x12},
         Problem.OFFLINE, False),
        # Cover open while out of paper (staff reloading): the cover is the news.
        ({**PAPER_OUT, StatusKind.OFFLINE_CAUSE: 0x36}, Problem.COVER_OPEN, True),
    ],
)  # fmt: skip
def test_status_bytes_say_what_stops_the_printer(
    replies: dict[StatusKind, int], problem: Problem | None, paper_low: bool
) -> None:
    assert all(is_status_byte(value) for value in replies.values())
    status = read_status(replies)
    assert (status.problem, status.paper_low, status.ok) == (problem, paper_low, problem is None)


@pytest.mark.parametrize("noise", [0x00, 0xFF, 0x80, 0x13, 0x11, ord("A"), 0x92])
def test_bytes_without_the_fixed_bits_are_noise(noise: int) -> None:
    assert not is_status_byte(noise)


@given(st.booleans(), st.booleans())
def test_the_simulators_replies_read_back_as_its_state(cover_open: bool, paper_out: bool) -> None:
    replies = {
        kind: status_reply(kind, cover_open=cover_open, paper_out=paper_out) for kind in StatusKind
    }
    assert all(is_status_byte(value) for value in replies.values())
    problem = read_status(replies).problem
    expected = Problem.COVER_OPEN if cover_open else Problem.PAPER_OUT if paper_out else None
    assert problem is expected
