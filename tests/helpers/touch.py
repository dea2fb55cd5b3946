"""Taps as a touchscreen delivers them: to the native window, which hands them to a widget."""

from __future__ import annotations

import subprocess

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot


def tap(widget: QWidget, pos: QPoint | None = None) -> None:
    """Press and release at `pos` in `widget` (its centre by default), through its window.

    QTest's widget overloads send straight to the widget and skip the window, where
    the kiosk notices that a shopper is still there.
    """
    window = widget.window()
    handle = window.windowHandle()
    assert handle is not None, "the widget's window is not shown"
    at = widget.mapTo(window, widget.rect().center() if pos is None else pos)
    QTest.mouseClick(handle, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at)


def tap_when_placed(qtbot: QtBot, widget: QWidget) -> None:
    """Tap `widget` once it is on screen and its layout has put it in place.

    Buttons made for a new question are laid out on a later turn of the event loop;
    a finger (and this) waits until the button stops moving."""
    window = widget.window()
    seen: list[QPoint] = []

    def placed() -> bool:
        if not widget.isVisible() or widget.width() <= 0:
            return False
        seen.append(widget.mapTo(window, QPoint(0, 0)))
        return len(seen) >= 2 and seen[-1] == seen[-2]

    qtbot.waitUntil(placed, timeout=2000)
    tap(widget)


def x_tap(widget: QWidget) -> None:
    """Press and release on the centre of `widget` through the X server (XTest, by
    xdotool), as a touchscreen's driver does: the event goes to whatever X window is
    at that spot, and Qt learns of it only from there. Needs a real X display (tests/x11).
    """
    at = widget.mapToGlobal(widget.rect().center())
    subprocess.run(["xdotool", "mousemove", str(at.x()), str(at.y()), "click", "1"], check=True)
