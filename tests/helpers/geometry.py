"""What a shopper would see cut off: widgets outside the window, text that does not fit.

`layout_problems(window)` walks every visible label, button and text field and
returns one line per problem, empty when the screen fits:

- the widget leaves its parent, or the window (inside a scroll area: the area's
  content, which may be taller than the area and scrolls, but not wider);
- a label's text does not fit its box (one line wider than the label, or wrapped
  text taller than it), or a button is smaller than its own minimum size hint
  (its text and padding).

Call it after the window has been shown, resized and given a turn of the event
loop (layouts settle on the next event-loop turn).
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractScrollArea,
    QLabel,
    QLineEdit,
    QWidget,
)

_CHECKED = (QLabel, QAbstractButton, QLineEdit)
SLACK = 1  # px: rounding of fractional font metrics


def layout_problems(window: QWidget) -> list[str]:
    problems: list[str] = []
    for widget in window.findChildren(QWidget):
        if not isinstance(widget, _CHECKED) or not widget.isVisibleTo(window):
            continue
        if widget.width() <= 0 or widget.height() <= 0:
            continue  # collapsed on purpose (an empty placeholder)
        name = _describe(widget)
        parent = widget.parentWidget()
        if parent is not None and not _inside(widget.geometry(), parent.rect()):
            problems.append(f"{name} leaves its parent {_describe(parent)}: {_rect(widget)}")
        bounds, bounds_name = _bounds(widget, window)
        box = QRect(widget.mapTo(bounds, QPoint(0, 0)), widget.size())
        if not _inside(box, bounds.rect()):
            problems.append(f"{name} leaves the {bounds_name}: {box} of {bounds.rect()}")
        viewport = bounds.parentWidget()
        if bounds_name == "scroll area's content" and viewport is not None:
            # Shopper screens scroll up and down only: sideways, the visible area bounds.
            seen = QRect(widget.mapTo(viewport, QPoint(0, 0)), widget.size())
            if seen.left() < -SLACK or seen.right() > viewport.width() + SLACK:
                problems.append(f"{name} runs past the scroll area's side: {seen}")
        problems += _clipped(widget, name)
    return problems


def _clipped(widget: QWidget, name: str) -> list[str]:
    if isinstance(widget, QLabel):
        return _label_clipped(widget, name)
    if isinstance(widget, QAbstractButton):
        hint = widget.minimumSizeHint()
        if widget.width() + SLACK < hint.width() or widget.height() + SLACK < hint.height():
            return [
                f"{name} is {widget.width()}x{widget.height()}, its text and padding need "
                f"{hint.width()}x{hint.height()}: {widget.text()!r}"
            ]
    return []


def _label_clipped(label: QLabel, name: str) -> list[str]:
    text = label.text()
    if not text or label.textFormat() == Qt.TextFormat.RichText or "<" in text:
        return []  # pictures and rich text: their own layout
    if label.wordWrap():
        needed = label.heightForWidth(label.width())
        if needed > label.height() + SLACK:
            return [f"{name} wraps to {needed} px in a {label.height()} px box: {text!r}"]
        return []
    room = label.contentsRect()
    metrics = label.fontMetrics()
    width = max(metrics.horizontalAdvance(line) for line in text.split("\n"))
    if width > room.width() + SLACK:
        return [f"{name} needs {width} px in a {room.width()} px box: {text!r}"]
    if metrics.height() > room.height() + SLACK:
        return [f"{name} is {room.height()} px high, its text {metrics.height()}: {text!r}"]
    return []


def _bounds(widget: QWidget, window: QWidget) -> tuple[QWidget, str]:
    """The window, or the content of the innermost scroll area holding `widget`."""
    ancestor = widget.parentWidget()
    while ancestor is not None and ancestor is not window:
        if isinstance(ancestor, QAbstractScrollArea) and ancestor.viewport().isAncestorOf(widget):
            content = ancestor.viewport()
            for child in content.children():
                if isinstance(child, QWidget) and (child is widget or child.isAncestorOf(widget)):
                    return child, "scroll area's content"
            return content, "scroll area"
        ancestor = ancestor.parentWidget()
    return window, "window"


def _inside(inner: QRect, outer: QRect) -> bool:
    grown = outer.adjusted(-SLACK, -SLACK, SLACK, SLACK)
    return grown.contains(inner)


def _rect(widget: QWidget) -> str:
    geometry = widget.geometry()
    return f"{geometry.x()},{geometry.y()} {geometry.width()}x{geometry.height()}"


def _describe(widget: QWidget) -> str:
    role = widget.property("role")
    text = widget.text() if isinstance(widget, QLabel | QAbstractButton | QLineEdit) else ""
    return (
        f"{type(widget).__name__}"
        + (f"[role={role}]" if role else "")
        + (f"[{widget.objectName()}]" if widget.objectName() else "")
        + (f" {text[:30]!r}" if text else "")
    )
