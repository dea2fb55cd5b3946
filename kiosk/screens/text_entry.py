"""Typing on the kiosk: the input method's set-up, and the one on-screen keyboard that
the sign-up and survey screens share (built on first use: see `kiosk.screens.keyboard`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFocusEvent, QGuiApplication
from PySide6.QtWidgets import QBoxLayout, QLineEdit, QScrollArea, QWidget

from content.model import Language

if TYPE_CHECKING:
    from kiosk.screens.keyboard import Keyboard


def input_method_environment() -> dict[str, str]:
    """What the process environment needs before QApplication exists."""
    return {
        "QT_IM_MODULE": "qtvirtualkeyboard",
        # No separate keyboard window on the desktop: ours lives inside the form.
        "QT_VIRTUALKEYBOARD_DESKTOP_DISABLE": "1",
    }


def dock_keyboard(keyboard: Keyboard, slot: QBoxLayout, language: Language) -> Keyboard:
    """Move the window's one keyboard into `slot` (one QML engine for every form)."""
    if slot.indexOf(keyboard) < 0:
        slot.addWidget(keyboard)
    keyboard.show_language(language)
    keyboard.show()
    return keyboard


class SharedKeyboard:
    """Builds the keyboard the first time a form asks for it (~40 MB), then hands out
    the same one."""

    def __init__(self, user_data: Path) -> None:
        self._user_data = user_data
        self._keyboard: Keyboard | None = None

    def __call__(self) -> Keyboard:
        if self._keyboard is None:
            # Qt Quick's Python bindings cost ~12 MB: only in a kiosk someone typed on.
            from kiosk.screens.keyboard import Keyboard  # noqa: PLC0415

            self._keyboard = Keyboard(self._user_data)
        return self._keyboard

    def forget(self) -> None:
        """The panel forgets what it learned from the last shopper (if it was built)."""
        if self._keyboard is not None:
            self._keyboard.forget()


def focus_for_typing(field: QWidget) -> None:
    """Give `field` the keyboard's input once it is on screen.

    Focus alone is not enough: Qt Virtual Keyboard sends text only while the input
    method is "shown", which a tap on a field asks for and `setFocus` does not. So
    once the screen is on show (next turn of the event loop), focus the field and
    show the input method, as a tap would."""

    def focus() -> None:
        if field.isVisible():
            field.setFocus(Qt.FocusReason.OtherFocusReason)
            _show_input_method()

    QTimer.singleShot(0, field, focus)


class TextField(QLineEdit):
    """A line edit the on-screen keyboard types into as soon as it has focus.

    Qt asks for the input panel only on a tap into a field that already had focus
    (its default for desktops); on a touchscreen the first tap must do."""

    def focusInEvent(self, event: QFocusEvent) -> None:
        super().focusInEvent(event)
        # A field scrolled out of its column comes into view as it takes the typing.
        holder = self.parentWidget()
        while holder is not None and not isinstance(holder, QScrollArea):
            holder = holder.parentWidget()
        if holder is not None:
            holder.ensureWidgetVisible(self)
        # After Qt Virtual Keyboard has seen the focus change, which may hide it.
        QTimer.singleShot(0, self, _show_input_method)


def _show_input_method() -> None:
    QGuiApplication.inputMethod().show()
