"""The sign-in screen: a staff member taps their name, then types their PIN on a big pad.

With nobody on the device yet it sets up the first store manager instead (name, PIN,
PIN again). It draws and emits what was typed; the app decides (gate.py), then tells
it what to show: a wrong PIN, or the lockout's countdown with the pad disabled.
Digits typed on a counter PC's keyboard count as taps on the pad.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from content.model import Language
from kiosk.attendant.staff import PIN_PATTERN, StaffMember
from kiosk.attendant.words import say
from kiosk.screens.common import label, scrolling_column

MAX_PIN: Final = 8


class PinPad(QWidget):
    """Digits 1-9, clear, 0, back: keys of at least 76x104 px."""

    digit = Signal(str)
    back = Signal()
    clear = Signal()

    def __init__(self) -> None:
        super().__init__()
        grid = QGridLayout(self)
        grid.setSpacing(12)
        grid.setContentsMargins(0, 0, 0, 0)
        self.keys: dict[str, QPushButton] = {}
        for n, text in enumerate(["1", "2", "3", "4", "5", "6", "7", "8", "9", "C", "0", "⌫"]):
            key = QPushButton(text)
            key.setProperty("role", "key")
            key.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            if text == "C":
                key.clicked.connect(self.clear)
            elif text == "⌫":
                key.clicked.connect(self.back)
            else:
                key.clicked.connect(lambda _=False, t=text: self.digit.emit(t))
            grid.addWidget(key, n // 3, n % 3)
            self.keys[text] = key

    def set_enabled(self, enabled: bool) -> None:
        for key in self.keys.values():
            key.setEnabled(enabled)


class SignInScreen(QWidget):
    pin_entered = Signal(str, str)  # member id, PIN
    first_manager = Signal(str, str)  # name, PIN

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("SignIn")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.language = Language.ZH_CN
        self._pin = ""
        self._first_pin: str | None = None  # set-up: the PIN typed once, awaiting the repeat
        self._setting_up = False
        self._locked = False
        self._members: tuple[StaffMember, ...] = ()

        self.brand = label(role="title")
        self.prompt = label(role="hint", wrap=True)
        self.tiles = QButtonGroup(self)
        self.tiles.setExclusive(True)
        self.tiles.idClicked.connect(lambda _id: self._chose())
        self._tile_box = QGridLayout()
        self._tile_box.setSpacing(12)
        scroll = scrolling_column(self._tile_box, right=0)
        self.name = QLineEdit()
        self.name.setProperty("role", "field")
        self.name.setMaxLength(32)
        self.name_label = label(role="section")

        left = QVBoxLayout()
        left.setSpacing(16)
        left.addWidget(self.brand)
        left.addWidget(self.prompt)
        left.addWidget(self.name_label)
        left.addWidget(self.name)
        left.addWidget(scroll, 1)

        self.who = label(role="section")
        self.who.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.dots = label(role="pin-dots")
        self.dots.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message = label(role="error", wrap=True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setMinimumHeight(56)
        self.pad = PinPad()
        self.pad.digit.connect(self._digit)
        self.pad.back.connect(self._back)
        self.pad.clear.connect(self._clear)
        self.enter = QPushButton()
        self.enter.setProperty("role", "primary")
        self.enter.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.enter.clicked.connect(self._submit)
        panel = QFrame()
        panel.setProperty("role", "card")
        right = QVBoxLayout(panel)
        right.setContentsMargins(28, 24, 28, 24)
        right.setSpacing(14)
        right.addWidget(self.who)
        right.addWidget(self.dots)
        right.addWidget(self.message)
        right.addWidget(self.pad)
        right.addWidget(self.enter)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(48, 40, 48, 40)
        layout.setSpacing(40)
        layout.addLayout(left, 5)
        layout.addWidget(panel, 4)
        self._retranslate()

    # -- what the app tells it ------------------------------------------------------

    def set_language(self, language: Language) -> None:
        self.language = language
        self._retranslate()

    def set_staff(self, members: Sequence[StaffMember]) -> None:
        """The staff to choose from; none at all: set up the first store manager."""
        self._members = tuple(members)
        self._setting_up = not members
        for button in self.tiles.buttons():
            self.tiles.removeButton(button)
            self._tile_box.removeWidget(button)
            button.deleteLater()
        for n, member in enumerate(self._members):
            tile = QPushButton(
                f"{member.display_name}   ·   {say(self.language, f'role.{member.role.value}')}"
            )
            tile.setProperty("role", "tile")
            tile.setCheckable(True)
            tile.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            self.tiles.addButton(tile, n)
            self._tile_box.addWidget(tile, n // 2, n % 2)
        if len(self._members) == 1:
            self.tiles.button(0).setChecked(True)
        self.reset()

    def reset(self) -> None:
        self._pin, self._first_pin = "", None
        self.message.clear()
        self._retranslate()

    def show_refusal(self, text: str) -> None:
        self._pin = ""
        self.message.setText(text)
        self._show_pin()

    def set_wait(self, seconds: float) -> None:
        """Locked out for `seconds` more (0: the pad works again)."""
        locked = seconds > 0
        if locked:
            self.message.setText(say(self.language, "signin.locked", seconds=int(seconds + 0.999)))
        elif self._locked:
            self.message.setText(say(self.language, "signin.try_again"))
        self._locked = locked
        self.pad.set_enabled(not locked)
        self.enter.setEnabled(not locked)

    def chosen(self) -> StaffMember | None:
        index = self.tiles.checkedId()
        return self._members[index] if 0 <= index < len(self._members) else None

    def choose(self, member_id: str) -> None:
        for n, member in enumerate(self._members):
            if member.id == member_id:
                self.tiles.button(n).setChecked(True)
                self._chose()

    def type_pin(self, pin: str) -> None:
        """As if the digits were tapped, then 登录 (for tests and a keyboard)."""
        for digit in pin:
            self._digit(digit)
        self._submit()

    # -- taps -----------------------------------------------------------------------

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self.name.hasFocus():
            super().keyPressEvent(event)
            return
        text = event.text()
        if text.isdigit() and len(text) == 1 and not self._locked:
            self._digit(text)
        elif event.key() == Qt.Key.Key_Backspace:
            self._back()
        elif event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not self._locked:
            self._submit()
        else:
            super().keyPressEvent(event)

    def _chose(self) -> None:
        self._pin = ""
        self.message.clear()
        self._retranslate()

    def _digit(self, digit: str) -> None:
        if len(self._pin) < MAX_PIN:
            self._pin += digit
        self._show_pin()

    def _back(self) -> None:
        self._pin = self._pin[:-1]
        self._show_pin()

    def _clear(self) -> None:
        self._pin = ""
        self._show_pin()

    def _submit(self) -> None:
        if self._locked:
            return
        pin, self._pin = self._pin, ""
        self._show_pin()
        if self._setting_up:
            self._set_up(pin)
            return
        member = self.chosen()
        if member is None:
            self.message.setText(say(self.language, "signin.choose_first"))
            return
        if pin:
            self.pin_entered.emit(member.id, pin)

    def _set_up(self, pin: str) -> None:
        name = self.name.text().strip()
        if not name:
            self.message.setText(say(self.language, "signin.need_name"))
            return
        if PIN_PATTERN.fullmatch(pin) is None:
            self.message.setText(say(self.language, "signin.pin_rule"))
            return
        if self._first_pin is None:
            self._first_pin = pin
            self.message.clear()
            self._retranslate()
            return
        first, self._first_pin = self._first_pin, None
        if first != pin:
            self.message.setText(say(self.language, "signin.pins_differ"))
            self._retranslate()
            return
        self.first_manager.emit(name, pin)

    def _show_pin(self) -> None:
        self.dots.setText("●" * len(self._pin) if self._pin else "○ ○ ○ ○")

    def _retranslate(self) -> None:
        language = self.language
        self.brand.setText(say(language, "app.name"))
        setting_up = self._setting_up
        self.name.setVisible(setting_up)
        self.name_label.setVisible(setting_up)
        self.name_label.setText(say(language, "signin.manager_name"))
        self.name.setPlaceholderText(say(language, "signin.name_placeholder"))
        if setting_up:
            self.prompt.setText(say(language, "signin.first_run"))
            step = "signin.pin_again" if self._first_pin is not None else "signin.new_pin"
            self.who.setText(say(language, step))
            self.enter.setText(say(language, "signin.set_up"))
        else:
            self.prompt.setText(say(language, "signin.choose"))
            member = self.chosen()
            self.who.setText(
                say(language, "signin.pin_for", name=member.display_name)
                if member is not None
                else say(language, "signin.enter_pin")
            )
            self.enter.setText(say(language, "signin.enter"))
        self._show_pin()
