"""The staff maintenance screen over the shopper's window: PIN pad, sections, calibration.

Widgets only: they draw what kiosk/maintenance_desk.py tells them and emit what staff
tap. It covers the whole window (opaque), so nothing of a shopper's screen shows, and
lays out for landscape and portrait windows alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QMouseEvent, QPainter, QPaintEvent, QPen, QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QStackedLayout,
    QVBoxLayout,
    QWidget,
)

from content.model import Language
from kiosk import theme
from kiosk.attendant.signin import MAX_PIN, PinPad
from kiosk.i18n import tr
from kiosk.screens.common import LanguageButton, button, label, scrolling_column

# The pad's keys, as big as the shopper screens' choices; the rest is the house theme.
_STYLE: Final = f"""
#Maintenance, #Calibration {{ background: {theme.BACKGROUND.name()}; }}
QLabel[role="pin-dots"] {{ font-size: 56px; letter-spacing: 16px; min-height: 72px; }}
QPushButton[role="key"] {{ background: {theme.SURFACE.name()};
    border: 2px solid {theme.LINE.name()}; border-radius: 24px; font-size: 40px;
    font-weight: 500; min-height: 110px; min-width: 150px; }}
QPushButton[role="key"]:pressed {{ background: {theme.LINE.name()}; }}
QPushButton[role="key"]:disabled {{ color: {theme.LINE.name()}; }}
QLabel[role="maint-line"] {{ font-size: 26px; }}
QPushButton[role="action"]:disabled {{ background: {theme.LINE.name()};
    color: {theme.INK_SOFT.name()}; }}
#Maintenance QScrollArea, #Maintenance QScrollArea > QWidget > QWidget {{
    background: transparent; border: none; }}
"""
CROSS_PX: Final = 48  # half the arm of a calibration cross


class PinPage(QWidget):
    entered = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self._pin = ""
        self.title = label(role="title")
        self.prompt = label(role="subtitle")
        self.dots = label(role="pin-dots")
        self.message = label(role="error", wrap=True)
        self.message.setMinimumHeight(40)
        self.pad = PinPad()
        self.pad.digit.connect(self._digit)
        self.pad.back.connect(lambda: self._set(self._pin[:-1]))
        self.pad.clear.connect(lambda: self._set(""))
        self.enter = button("", "primary")
        self.enter.clicked.connect(self._submit)
        self.close_button = button("", "secondary")
        for each in (self.title, self.prompt, self.dots, self.message):
            each.setAlignment(Qt.AlignmentFlag.AlignCenter)
        card = QFrame()
        card.setProperty("role", "panel")
        column = QVBoxLayout(card)
        column.setContentsMargins(48, 40, 48, 40)
        column.setSpacing(18)
        for part in (self.title, self.prompt, self.dots, self.message, self.pad):
            column.addWidget(part)
        buttons = QHBoxLayout()
        buttons.addWidget(self.close_button)
        buttons.addWidget(self.enter)
        column.addLayout(buttons)
        outer = QHBoxLayout(self)
        outer.addStretch(1)
        outer.addWidget(card, 0, Qt.AlignmentFlag.AlignVCenter)
        outer.addStretch(1)
        self._set("")

    def retranslate(self, language: Language) -> None:
        self.title.setText(tr(language, "maint.title"))
        self.prompt.setText(tr(language, "maint.pin.prompt"))
        self.enter.setText(tr(language, "maint.pin.enter"))
        self.close_button.setText(tr(language, "maint.close"))

    def type_pin(self, pin: str) -> None:
        """As if tapped digit by digit, then 确定."""
        for digit in pin:
            self.pad.keys[digit].click()
        self.enter.click()

    def show_message(self, text: str, *, locked: bool = False) -> None:
        self.message.setText(text)
        self.pad.set_enabled(not locked)
        self.enter.setEnabled(not locked)

    def _digit(self, digit: str) -> None:
        if len(self._pin) < MAX_PIN:
            self._set(self._pin + digit)

    def _set(self, pin: str) -> None:
        self._pin = pin
        self.dots.setText("●" * len(pin) if pin else "○ ○ ○ ○")

    def _submit(self) -> None:
        pin = self._pin
        self._set("")
        if pin:
            self.entered.emit(pin)


class Section(QFrame):
    """A card: a heading, lines of status, and the buttons given."""

    def __init__(self, *buttons: QWidget) -> None:
        super().__init__()
        self.setProperty("role", "card")
        self.heading = label(role="section")
        self._lines = QVBoxLayout()
        self._lines.setSpacing(6)
        column = QVBoxLayout(self)
        column.setContentsMargins(32, 24, 32, 24)
        column.setSpacing(12)
        column.addWidget(self.heading)
        column.addLayout(self._lines)
        column.addStretch(1)
        for each in buttons:
            column.addWidget(each)
        self.lines: list[QLabel] = []

    def show_lines(self, lines: Sequence[str]) -> None:
        while len(self.lines) < len(lines):
            line = label(role="maint-line", wrap=True)
            self.lines.append(line)
            self._lines.addWidget(line)
        for line, text in zip(self.lines, [*lines, *[""] * len(self.lines)], strict=False):
            line.setText(text)
            line.setVisible(bool(text))


class SectionsPage(QWidget):
    language_chosen = Signal(object)
    closed = Signal()
    led_test = Signal()
    restart = Signal()
    calibrate = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.title = label(role="title")
        self.language = LanguageButton()
        self.language.chosen.connect(self.language_chosen)
        self.close_button = button("", "secondary")
        self.close_button.clicked.connect(self.closed)
        header = QHBoxLayout()
        header.addWidget(self.title, 1)
        header.addWidget(self.language)
        header.addWidget(self.close_button)

        self.led_button = button("", "action")
        self.led_button.clicked.connect(self.led_test)
        self.restart_button = button("", "primary")
        self.restart_button.clicked.connect(self.restart)
        self.calibrate_button = button("", "action")
        self.calibrate_button.clicked.connect(self.calibrate)
        self.devices = Section(self.led_button)
        self.network = Section()
        self.enrolment = Section()
        self.content = Section()
        self.restarting = Section(self.restart_button)
        self.calibration = Section(self.calibrate_button)
        self.sections = (
            self.devices,
            self.network,
            self.enrolment,
            self.content,
            self.restarting,
            self.calibration,
        )
        self._grid = QGridLayout()
        self._grid.setSpacing(24)
        self._columns = 0
        self.set_columns(3)
        column = QVBoxLayout(self)
        column.setContentsMargins(48, 36, 48, 36)
        column.setSpacing(24)
        column.addLayout(header)
        column.addWidget(scrolling_column(self._grid), 1)

    def set_columns(self, columns: int) -> None:
        """Three cards a row on a landscape window, two on a portrait one."""
        if columns == self._columns:
            return
        self._columns = columns
        for section in self.sections:
            self._grid.removeWidget(section)
        for n, section in enumerate(self.sections):
            self._grid.addWidget(section, n // columns, n % columns)
        for column in range(3):  # equal columns, whatever each card holds
            self._grid.setColumnStretch(column, 1 if column < columns else 0)

    def retranslate(self, language: Language) -> None:
        self.title.setText(tr(language, "maint.title"))
        self.language.show_language(language)
        self.close_button.setText(tr(language, "maint.close"))
        self.led_button.setText(tr(language, "maint.leds"))
        self.restart_button.setText(tr(language, "maint.restart.confirm"))
        self.calibrate_button.setText(tr(language, "maint.calibrate.start"))
        for section, key in zip(
            self.sections,
            (
                "maint.devices",
                "maint.network",
                "maint.enrolment",
                "maint.content",
                "maint.restart",
                "maint.calibrate",
            ),
            strict=True,
        ):
            section.heading.setText(tr(language, key))


class CalibrationPage(QWidget):
    """One cross at a time; a press anywhere is the tap on it (normalised position)."""

    tapped = Signal(float, float)

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("Calibration")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.hint = label(role="subtitle", wrap=True)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        column = QVBoxLayout(self)
        column.addStretch(2)
        column.addWidget(self.hint)
        column.addStretch(3)
        self.target: tuple[float, float] | None = None

    def show_target(self, target: tuple[float, float] | None) -> None:
        self.target = target
        self.update()

    def target_position(self) -> QPointF:
        assert self.target is not None
        return QPointF(self.target[0] * self.width(), self.target[1] * self.height())

    def mousePressEvent(self, event: QMouseEvent) -> None:
        at = event.position()
        self.tapped.emit(at.x() / max(1, self.width()), at.y() / max(1, self.height()))

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if self.target is None:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(theme.ACCENT, 4))
        centre = self.target_position()
        painter.drawLine(centre - QPointF(CROSS_PX, 0), centre + QPointF(CROSS_PX, 0))
        painter.drawLine(centre - QPointF(0, CROSS_PX), centre + QPointF(0, CROSS_PX))
        painter.drawEllipse(centre, CROSS_PX / 2, CROSS_PX / 2)


class MaintenanceScreen(QFrame):
    """The three pages, over the whole window."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("Maintenance")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(_STYLE)
        self.pin = PinPage()
        self.sections = SectionsPage()
        self.calibration = CalibrationPage()
        self._stack = QStackedLayout(self)
        for page in (self.pin, self.sections, self.calibration):
            self._stack.addWidget(page)

    def show_page(self, page: QWidget) -> None:
        self._stack.setCurrentWidget(page)

    def current_page(self) -> QWidget:
        return self._stack.currentWidget()

    def retranslate(self, language: Language) -> None:
        self.pin.retranslate(language)
        self.sections.retranslate(language)
        self.calibration.hint.setText(tr(language, "maint.calibrate.explain"))

    def resizeEvent(self, event: QResizeEvent) -> None:
        portrait = event.size().height() > event.size().width()
        self.sections.set_columns(2 if portrait else 3)
        super().resizeEvent(event)
