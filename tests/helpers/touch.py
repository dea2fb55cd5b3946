"""Taps as a touchscreen delivers them: to the native window, which hands them to a widget."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QWidget


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
