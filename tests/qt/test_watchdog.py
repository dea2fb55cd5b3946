"""The kiosk tells systemd it is ready once the attract screen is painted and then pings its
watchdog from the GUI thread: a real datagram socket stands for systemd's $NOTIFY_SOCKET."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, Signal
from pytestqt.qtbot import QtBot

from kiosk import watchdog


class Window(QObject):
    first_paint = Signal(str, float)


@pytest.fixture
def systemd(tmp_path: Path) -> Iterator[socket.socket]:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(tmp_path / "notify"))
    listener.setblocking(False)
    yield listener
    listener.close()


def received(listener: socket.socket) -> list[str]:
    messages = []
    while True:
        try:
            messages.append(listener.recv(4096).decode())
        except BlockingIOError:
            return messages


@pytest.mark.parametrize(
    ("watchdog_usec", "interval_ms"),
    [("2000000", 500), ("3", 1), (None, None), ("", None), ("0", None), ("2s", None)],
)
def test_pings_four_times_per_watchdog_period(
    watchdog_usec: str | None, interval_ms: int | None
) -> None:
    assert watchdog.ping_interval_ms(watchdog_usec) == interval_ms


def test_ready_once_the_attract_screen_is_painted_then_pings_until_stopping(
    qtbot: QtBot, tmp_path: Path, systemd: socket.socket
) -> None:
    window = Window()
    environ = {"NOTIFY_SOCKET": str(tmp_path / "notify"), "WATCHDOG_USEC": "40000", "HOME": "/"}
    stopping = watchdog.start(window, window.first_paint, environ)
    assert stopping is not None
    # Read once: what the kiosk starts later never speaks for the service.
    assert environ == {"HOME": "/"}
    qtbot.wait(30)
    assert received(systemd) == []  # not ready before the first frame

    window.first_paint.emit("attract", 1.0)
    window.first_paint.emit("product:sku-1", 2.0)
    messages: list[str] = []

    def pinged() -> bool:
        messages.extend(received(systemd))
        return "WATCHDOG=1" in messages

    qtbot.waitUntil(pinged, timeout=2000)
    # READY once, at the first paint only; then pings every 10 ms (a quarter of 40 ms).
    assert messages[0] == "READY=1\nSTATUS=showing attract"
    assert set(messages[1:]) == {"WATCHDOG=1"}
    received(systemd)
    time.sleep(0.1)  # the GUI thread frozen for ten periods: its timer sends nothing
    assert received(systemd) == []
    qtbot.waitUntil(lambda: "WATCHDOG=1" in received(systemd), timeout=2000)
    stopping()
    qtbot.wait(30)
    assert received(systemd) == ["STOPPING=1"]


def test_first_message_is_ready_with_the_painted_view(
    qtbot: QtBot, tmp_path: Path, systemd: socket.socket
) -> None:
    window = Window()
    environ = {"NOTIFY_SOCKET": str(tmp_path / "notify")}  # no WatchdogSec: no pings
    stopping = watchdog.start(window, window.first_paint, environ)
    window.first_paint.emit("attract", 1.0)
    qtbot.wait(20)
    assert received(systemd) == ["READY=1\nSTATUS=showing attract"]
    assert stopping is not None
    stopping()


def test_abstract_socket_names_are_understood(qtbot: QtBot, tmp_path: Path) -> None:
    name = f"kiosk-test-{tmp_path.name}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind("\0" + name)
        listener.settimeout(2)
        window = Window()
        stopping = watchdog.start(window, window.first_paint, {"NOTIFY_SOCKET": "@" + name})
        window.first_paint.emit("attract", 1.0)
        assert listener.recv(4096).startswith(b"READY=1")
        assert stopping is not None
        stopping()


def test_without_systemd_nothing_is_sent_and_no_timer_runs() -> None:
    window = Window()
    assert watchdog.start(window, window.first_paint, {"WATCHDOG_USEC": "2000000"}) is None
    assert window.findChildren(QObject) == []


def test_a_vanished_socket_is_logged_once_and_never_raised(
    qtbot: QtBot, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    window = Window()
    environ = {"NOTIFY_SOCKET": str(tmp_path / "gone"), "WATCHDOG_USEC": "20000"}
    stopping = watchdog.start(window, window.first_paint, environ)
    window.first_paint.emit("attract", 1.0)
    qtbot.wait(40)  # several pings, none delivered
    warnings = [r for r in caplog.records if r.name == "kiosk.watchdog"]
    assert len(warnings) == 1
    assert "cannot notify systemd" in warnings[0].getMessage()
    assert stopping is not None
    stopping()
