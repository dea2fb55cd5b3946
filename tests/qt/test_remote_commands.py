"""The screen's part of HQ's remote commands (kiosk/remote_commands.py), over a real data
link: the child's end is a socket pair's other side, as the relay child holds it."""

from __future__ import annotations

import io
import multiprocessing
from collections.abc import Iterator
from multiprocessing.connection import Connection
from typing import NamedTuple

import pytest
from PIL import Image
from PySide6.QtWidgets import QLabel, QWidget
from pytestqt.qtbot import QtBot

from backend_client.data_link import DataLink, ScreenCommand, ScreenDone
from kiosk.remote_commands import RemoteCommands
from kiosk.screens.identify import IdentifyCard


class Linked(NamedTuple):
    window: QWidget
    link: DataLink
    child_end: Connection
    restarts: list[str]
    commands: RemoteCommands


@pytest.fixture
def shopper() -> list[bool]:
    """Whether a shopper is at the screen (a session off the attract loop)."""
    return [False]


@pytest.fixture
def linked(qtbot: QtBot, shopper: list[bool]) -> Iterator[Linked]:
    window = QWidget()
    window.setFixedSize(640, 360)
    window.setStyleSheet("background: #FFF0E6;")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    link = DataLink()
    kiosk_end, child_end = multiprocessing.Pipe()
    link.attach(kiosk_end)
    restarts: list[str] = []
    commands = RemoteCommands(
        window,
        link,
        restart=lambda: restarts.append("restart"),
        identity=lambda: ("sh-jingan-k3", "sh-jingan"),
        free=lambda: not shopper[0],
    )
    yield Linked(window, link, child_end, restarts, commands)
    link.close(timeout=1.0)
    child_end.close()


def answer(qtbot: QtBot, child_end: Connection) -> ScreenDone:
    qtbot.waitUntil(lambda: child_end.poll(0), timeout=5000)
    done = child_end.recv()
    assert isinstance(done, ScreenDone)
    return done


def test_a_screenshot_is_the_windows_own_png(qtbot: QtBot, linked: Linked) -> None:
    _, _, child_end, _, _ = linked
    child_end.send(ScreenCommand("c1", "screenshot"))
    done = answer(qtbot, child_end)
    assert (done.command_id, done.ok, done.detail) == ("c1", True, "640x360 PNG")
    assert done.data is not None
    image = Image.open(io.BytesIO(done.data))
    assert (image.format, image.size) == ("PNG", (640, 360))
    assert image.convert("RGB").getpixel((320, 180)) == (255, 240, 230)  # the window's paint


def test_identify_covers_the_window_with_the_kiosk_and_store_then_goes(
    qtbot: QtBot, linked: Linked
) -> None:
    window, _, child_end, restarts, _ = linked
    child_end.send(ScreenCommand("c2", "identify"))
    assert answer(qtbot, child_end).ok
    (card,) = window.findChildren(IdentifyCard)
    assert card.isVisible()
    assert card.geometry() == window.rect()
    texts = [label.text() for label in card.findChildren(QLabel)]
    assert "sh-jingan-k3" in texts
    assert any("sh-jingan" in text and "门店" in text for text in texts)  # Chinese first
    card.close_card()  # what its 10 s timer (or a touch) does
    qtbot.waitUntil(lambda: not window.findChildren(IdentifyCard), timeout=2000)
    assert restarts == []


def test_restart_asks_the_app_to_exit_for_its_supervisor(qtbot: QtBot, linked: Linked) -> None:
    _, _, child_end, restarts, _ = linked
    child_end.send(ScreenCommand("c3", "restart"))
    qtbot.waitUntil(lambda: restarts == ["restart"], timeout=5000)


def test_a_restart_waits_for_the_shopper_to_finish(
    qtbot: QtBot,
    linked: Linked,
    shopper: list[bool],
) -> None:
    _, _, child_end, restarts, commands = linked
    shopper[0] = True
    child_end.send(ScreenCommand("c4", "restart"))
    child_end.send(ScreenCommand("c5", "identify"))  # the next command: the first was handled
    answer(qtbot, child_end)
    commands.session_changed()  # still mid-session: a product page, say
    assert restarts == []
    shopper[0] = False
    commands.session_changed()  # back on the attract loop
    assert restarts == ["restart"]
    commands.session_changed()
    assert restarts == ["restart"]  # once
