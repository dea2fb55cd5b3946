"""The kiosk's message hand-off: kept until written, sent again to a new child, once each.

A real window file takes the lines through `Window.take`, as the server child does
(tests/integration/test_store_channel_intake.py runs the real child); here a test
decides when the "child" reads, answers, dies or loses a line.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers.pickup import wait_until

from backend_client.channel import intake
from backend_client.channel.messages import Lift
from backend_client.channel.sender import WINDOW_BYTES, ChannelSender
from backend_client.channel.window import open_window

STORE, KIOSK = "sh-nanjing-road", "sh-nanjing-road-k3"
NOW = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)


class Child:
    """A server child's stdin and its intake: lines pile up in the pipe until `read`."""

    def __init__(self, data: Path, sender: ChannelSender) -> None:
        self.window = open_window(data, store=STORE, kiosk=KIOSK)
        self.sender = sender
        self.pipe: list[bytes] = []
        self.lose_next = 0  # lines lost on their way (never in the pipe)

    def write(self, data: bytes) -> None:
        if self.lose_next:
            self.lose_next -= 1
            return
        self.pipe.append(data)

    def read(self) -> None:
        """Take everything in the pipe in one transaction and answer, as serve.py does."""
        lines, self.pipe = self.pipe, []
        if not lines:
            return
        items = [intake.parse(line.rstrip(b"\n")) for line in lines]
        taken = self.window.take(items[0].sender, items)
        self.sender.written(taken.last)

    def die(self) -> None:
        self.pipe = []
        self.sender.gone()

    def in_window(self) -> list[tuple[str, dict[str, object]]]:
        return [(m.kind, m.data.model_dump()) for m in self.window.after(0, limit=100_000)]


def sessions(child: Child) -> list[object]:
    return [data["session"] for kind, data in child.in_window() if kind == "member_left"]


@pytest.fixture
def sender() -> ChannelSender:
    return ChannelSender(heartbeat_s=3600, clock=lambda: NOW)  # not started: no heartbeats


def test_messages_put_before_the_child_is_up_reach_the_window_once_it_is(
    tmp_path: Path, sender: ChannelSender
) -> None:
    child = Child(tmp_path, sender)
    sender.connect(child.write)
    sender.put("lift", Lift(session="b-1", slot=3, sku="LY-A5"))
    sender.put("alarm", {"slot": 3, "reason": "CABLE", "sku": None}, alert=True)
    assert child.pipe == []  # nobody reads yet: nothing is sent into the void
    sender.ready()
    child.read()
    assert child.in_window() == [
        ("lift", {"session": "b-1", "slot": 3, "sku": "LY-A5"}),
        ("alarm", {"slot": 3, "reason": "CABLE", "sku": None}),
    ]
    assert child.window.after(0)[1].alert
    assert sender.waiting == 0


def test_a_child_killed_before_it_answered_is_followed_by_one_that_writes_each_once(
    tmp_path: Path, sender: ChannelSender
) -> None:
    child = Child(tmp_path, sender)
    sender.connect(child.write)
    sender.ready()
    for number in range(3):
        sender.put("member_left", {"session": f"b-{number}"})
    lines = list(child.pipe)
    child.window.take(intake.parse(lines[0][:-1]).sender, [intake.parse(x[:-1]) for x in lines])
    child.die()  # wrote all three, killed before its answer
    sender.put("member_left", {"session": "b-3"})  # while no child runs
    sender.ready()  # the next child: everything not acknowledged comes again
    child.read()
    assert sessions(child) == ["b-0", "b-1", "b-2", "b-3"]
    assert sender.waiting == 0


def test_a_line_lost_on_its_way_holds_back_the_ones_after_it_until_the_resend(
    tmp_path: Path,
) -> None:
    sender = ChannelSender(heartbeat_s=3600, resend_s=0.05)
    child = Child(tmp_path, sender)
    sender.connect(child.write)
    sender.ready()
    child.lose_next = 1
    for number in range(3):
        sender.put("member_left", {"session": f"b-{number}"})
    child.read()
    assert sessions(child) == []  # b-1 and b-2 wait for b-0
    sender.start()  # its thread resends what got no answer

    def resent() -> bool:
        child.read()
        return len(sessions(child)) == 3

    try:
        wait_until(resent, 5, "a resend")
    finally:
        sender.stop()
    assert sessions(child) == ["b-0", "b-1", "b-2"]


def test_lines_in_flight_stay_under_the_pipe_and_the_rest_follow_the_answers(
    tmp_path: Path, sender: ChannelSender
) -> None:
    child = Child(tmp_path, sender)
    sender.connect(child.write)
    sender.ready()
    for number in range(2000):
        sender.put("member_left", {"session": f"b-{number}"})
        in_pipe = sum(len(line) for line in child.pipe)
        assert in_pipe < WINDOW_BYTES + intake.MAX_LINE_BYTES < 65_536  # Linux's pipe
    while child.pipe:
        child.read()
    assert sessions(child) == [f"b-{number}" for number in range(2000)]


def test_while_nobody_takes_them_the_oldest_non_alerts_go_and_one_heartbeat_waits(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sender = ChannelSender(heartbeat_s=3600, max_queued=5, clock=lambda: NOW)
    child = Child(tmp_path, sender)
    sender.connect(child.write)
    sender.put("alarm", {"slot": 1, "reason": "CABLE", "sku": None}, alert=True)
    for number in range(8):
        sender.put("heartbeat", {"uptime_s": number})
        sender.put("member_left", {"session": f"b-{number}"})
    assert sender.waiting == 5
    with caplog.at_level(logging.INFO, "backend_client.channel.sender"):
        sender.ready()
        child.read()
    assert child.in_window() == [
        ("alarm", {"slot": 1, "reason": "CABLE", "sku": None}),
        ("member_left", {"session": "b-5"}),
        ("member_left", {"session": "b-6"}),
        ("heartbeat", {"uptime_s": 7}),
        ("member_left", {"session": "b-7"}),
    ]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1  # once for the kind, not once per message
    assert "member_left" in warnings[0]


def test_a_message_the_window_refuses_is_named_by_kind_and_does_not_hold_back_the_next(
    tmp_path: Path, sender: ChannelSender
) -> None:
    child = Child(tmp_path, sender)
    sender.connect(child.write)
    sender.ready()
    sender.put("signup", {"session": "b-1", "phone": "+8613800138000"})
    sender.put("signup", {"session": "b-2"})
    lines, child.pipe = child.pipe, []
    items = [intake.parse(line[:-1]) for line in lines]
    taken = child.window.take(items[0].sender, items)
    assert taken.refused == ("signup",)
    assert "13800138000" not in repr(taken)
    sender.written(taken.last)
    assert child.in_window() == [("signup", {"session": "b-2"})]
    assert sender.waiting == 0


def test_a_heartbeat_goes_out_every_period_with_the_uptime(tmp_path: Path) -> None:
    sender = ChannelSender(heartbeat_s=0.05, uptime=lambda: 42.9)
    child = Child(tmp_path, sender)
    sender.connect(child.write)
    sender.ready()
    sender.start()
    try:
        wait_until(lambda: len(child.pipe) >= 3, 10, "three heartbeats")
    finally:
        sender.stop()
    child.read()
    beats = [data for kind, data in child.in_window() if kind == "heartbeat"]
    assert len(beats) >= 3
    assert beats[0] == {"uptime_s": 42}


def test_a_new_kiosk_process_starts_its_ids_again_and_nothing_is_skipped(tmp_path: Path) -> None:
    first = ChannelSender(heartbeat_s=3600)
    child = Child(tmp_path, first)
    first.connect(child.write)
    first.ready()
    first.put("member_left", {"session": "b-1"})
    child.read()
    second = ChannelSender(heartbeat_s=3600)  # the kiosk restarted: its ids begin at 1
    child.sender = second
    second.connect(child.write)
    second.ready()
    second.put("member_left", {"session": "b-2"})
    child.read()
    assert sessions(child) == ["b-1", "b-2"]
