"""HQ's hints set the pace of the relay's content and member feed polls."""

from __future__ import annotations

from backend_client.hints import BACKSTOP_S, FRESH_S, HintedPace


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_without_hints_a_poll_keeps_its_own_interval() -> None:
    assert HintedPace(60.0, clock=Clock())() == 60.0


def test_while_hints_come_a_poll_is_only_a_backstop() -> None:
    clock = Clock()
    pace = HintedPace(60.0, clock=clock)
    pace.hinted()
    assert pace() == BACKSTOP_S
    clock.now += FRESH_S - 1
    assert pace() == BACKSTOP_S


def test_when_hints_stop_coming_the_own_interval_is_back() -> None:
    clock = Clock()
    pace = HintedPace(60.0, clock=clock)
    pace.hinted()
    clock.now += FRESH_S
    assert pace() == 60.0
    pace.hinted()  # heartbeats answered again
    assert pace() == BACKSTOP_S


def test_hints_never_make_a_longer_interval_shorter() -> None:
    pace = HintedPace(3600.0, clock=Clock())
    pace.hinted()
    assert pace() == 3600.0
