"""The channel writer thread: what the kiosk puts reaches the window, in order, off its thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from helpers.pickup import wait_until

from backend_client.channel.messages import ChannelMessage, Lift
from backend_client.channel.window import Window, open_window
from backend_client.channel.writer import ChannelWriter

STORE, KIOSK = "sh-nanjing-road", "sh-nanjing-road-k3"


class WatchedWindow(Window):
    """A real window that notes which thread appends."""

    threads: list[str]

    def append(self, kind: str, data: Any, *, at: datetime, alert: bool = False) -> ChannelMessage:
        self.threads.append(threading.current_thread().name)
        return super().append(kind, data, at=at, alert=alert)


def watched(threads: list[str]) -> Callable[[Path, str, str], Window]:
    def open_(path: Path, store: str, kiosk: str) -> Window:
        window = WatchedWindow(path, store=store, kiosk=kiosk)
        window.threads = threads
        return window

    return open_


def read(data: Path) -> list[tuple[str, dict[str, object], bool]]:
    window = open_window(data, store=STORE, kiosk=KIOSK)
    try:
        return [(m.kind, m.data.model_dump(), m.alert) for m in window.after(0)]
    finally:
        window.close()


def test_messages_put_on_any_thread_are_appended_in_order_by_the_writer_thread(
    tmp_path: Path,
) -> None:
    threads: list[str] = []
    writer = ChannelWriter(
        tmp_path, store=STORE, kiosk=KIOSK, heartbeat_s=3600, open_window=watched(threads)
    )
    writer.start()
    try:
        writer.put("lift", Lift(session="b-1", slot=3, sku="LY-A5"))
        writer.put("alarm", {"slot": 3, "reason": "CABLE", "sku": None}, alert=True)
        assert writer.flush()
    finally:
        assert writer.stop()
    assert [kind for kind, _, _ in read(tmp_path)] == ["heartbeat", "lift", "alarm"]
    assert read(tmp_path)[2] == ("alarm", {"slot": 3, "reason": "CABLE", "sku": None}, True)
    assert set(threads) == {"channel-writer"}


def test_a_heartbeat_goes_out_every_period_with_the_uptime(tmp_path: Path) -> None:
    writer = ChannelWriter(
        tmp_path, store=STORE, kiosk=KIOSK, heartbeat_s=0.05, uptime=lambda: 42.9
    )
    writer.start()
    try:
        wait_until(lambda: writer.written >= 3, 10, "three heartbeats")
    finally:
        writer.stop()
    beats = [data for kind, data, _ in read(tmp_path) if kind == "heartbeat"]
    assert len(beats) >= 3
    assert beats[0] == {"uptime_s": 42}


def test_a_message_the_window_refuses_is_dropped_and_named_by_kind_only(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    writer = ChannelWriter(tmp_path, store=STORE, kiosk=KIOSK, heartbeat_s=3600)
    writer.start()
    try:
        writer.put("signup", {"session": "b-1", "phone": "+8613800138000"})
        writer.put("signup", {"session": "b-2"})
        assert writer.flush()
    finally:
        writer.stop()
    assert [data for kind, data, _ in read(tmp_path) if kind == "signup"] == [{"session": "b-2"}]
    assert "signup" in caplog.text
    assert "13800138000" not in caplog.text


def test_stop_writes_what_was_queued_first(tmp_path: Path) -> None:
    writer = ChannelWriter(tmp_path, store=STORE, kiosk=KIOSK, heartbeat_s=3600)
    writer.start()
    for number in range(200):
        writer.put("member_left", {"session": f"b-{number}"}, at=datetime.now(UTC))
    assert writer.stop()
    assert len([kind for kind, _, _ in read(tmp_path) if kind == "member_left"]) == 200
