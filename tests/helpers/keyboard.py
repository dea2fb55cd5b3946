"""Typing on the kiosk's on-screen keyboard the way a shopper does: tapping its keys.

The keys are QML items inside the keyboard's QQuickWidget; each tap goes through
the kiosk's native window to the key's position on screen, like a touch.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPoint, QPointF
from PySide6.QtGui import QGuiApplication
from PySide6.QtQuick import QQuickItem
from pytestqt.qtbot import QtBot

from helpers.touch import tap
from kiosk.screens.keyboard import Keyboard


def _items(root: QQuickItem) -> list[QQuickItem]:
    found: list[QQuickItem] = []
    stack = list(root.childItems())
    while stack:
        item = stack.pop()
        found.append(item)
        stack.extend(item.childItems())
    return found


def visible_keys(keyboard: Keyboard) -> dict[str, QQuickItem]:
    """The keys on the current layout, by the text on them."""
    root = keyboard.rootObject()
    assert root is not None, "the keyboard did not load"
    keys: dict[str, QQuickItem] = {}
    for item in _items(root):
        text = item.property("text")
        is_key = item.property("key") is not None and isinstance(text, str) and bool(text)
        if is_key and item.isVisible() and item.width() > 0 and item.opacity() > 0:
            keys.setdefault(text, item)
    return keys


def candidates(keyboard: Keyboard) -> dict[str, QQuickItem]:
    """The Pinyin candidates on show (inside the candidate bar), by their characters."""
    root = keyboard.rootObject()
    assert root is not None
    shown: dict[str, QQuickItem] = {}
    for item in _items(root):
        if not item.metaObject().className().startswith("SelectionListItem"):
            continue
        left = item.mapToScene(QPointF(0, 0)).x()
        if left < 0 or left + item.width() > root.width() or not item.isVisible():
            continue  # scrolled out of the candidate bar: a thumb cannot reach it
        for child in _items(item):
            text = child.property("text")
            if isinstance(text, str) and text and child.isVisible():
                shown.setdefault(text, item)
    return shown


def tap_item(qtbot: QtBot, keyboard: Keyboard, item: QQuickItem) -> None:
    centre = item.mapToScene(QPointF(item.width() / 2, item.height() / 2))
    tap(keyboard, QPoint(round(centre.x()), round(centre.y())))
    qtbot.wait(10)


def _at_rest(item: QQuickItem, positions: list[QPointF]) -> bool:
    """True once `item` stood still over three looks (the panel slides in when shown,
    the candidate bar scrolls)."""
    positions.append(item.mapToScene(QPointF(0, 0)))
    return len(positions) >= 3 and positions[-1] == positions[-2] == positions[-3]


def _still_key(qtbot: QtBot, keyboard: Keyboard, char: str) -> QQuickItem:
    keys: dict[str, QQuickItem] = {}
    positions: list[QPointF] = []

    def shown() -> bool:
        keys.clear()
        keys.update(visible_keys(keyboard))
        if char not in keys:
            positions.clear()
            return False
        return _at_rest(keys[char], positions)

    qtbot.waitUntil(shown, timeout=2000)
    return keys[char]


def type_keys(qtbot: QtBot, keyboard: Keyboard, text: str) -> None:
    """Tap the key of each character of `text` on the layout shown, once it is still."""
    for char in text:
        tap_item(qtbot, keyboard, _still_key(qtbot, keyboard, char))


def pick_candidate(
    qtbot: QtBot, keyboard: Keyboard, characters: str, typed: Callable[[], str]
) -> None:
    """Tap `characters` among the Pinyin candidates, until `typed()` ends with them.

    The bar refills after every key and slides its list into place; a tap that
    lands while it moves only stops it, as on a phone. So tap once it has come to
    rest, and like a thumb, tap again if the choice did not take."""
    found: dict[str, QQuickItem] = {}
    positions: list[QPointF] = []

    def resting() -> bool:
        found.clear()
        found.update(candidates(keyboard))
        if characters not in found:
            positions.clear()
            return False
        return _at_rest(found[characters], positions)

    for _attempt in range(3):
        positions.clear()
        qtbot.waitUntil(resting, timeout=2000)
        tap_item(qtbot, keyboard, found[characters])
        try:
            qtbot.waitUntil(lambda: typed().endswith(characters), timeout=500)
        except qtbot.TimeoutError:
            continue
        return
    raise AssertionError(
        f"could not pick {characters!r} among the candidates {sorted(candidates(keyboard))},"
        f" typed {typed()!r}; input method visible"
        f" {QGuiApplication.inputMethod().isVisible()}, focus {QGuiApplication.focusObject()}"
    )
