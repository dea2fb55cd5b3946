"""Small widgets the screens share. Widgets draw and emit intents; they decide nothing."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from PySide6.QtCore import QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QImage, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLayout,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from content.model import Language
from kiosk.i18n import tr
from kiosk.pages import Actions


def scrolling_column(*parts: QLayout | QWidget, right: int = 8) -> QScrollArea:
    """`parts` top down, room below them, scrolling up and down only (touch screens
    never scroll sideways); `right` keeps the content clear of the scroll bar."""
    holder = QWidget()
    column = QVBoxLayout(holder)
    column.setContentsMargins(0, 0, right, 0)
    for part in parts:
        if isinstance(part, QLayout):
            column.addLayout(part)
        else:
            column.addWidget(part)
    column.addStretch(1)
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setWidget(holder)
    return scroll


def label(text: str = "", role: str = "", *, wrap: bool = False) -> QLabel:
    widget = QLabel(text)
    if role:
        widget.setProperty("role", role)
    widget.setWordWrap(wrap)
    return widget


class Screen(QWidget):
    """Base of every full screen; remembers whether it has painted since it was shown."""

    frame_painted = Signal()  # the first paint since `painted` was reset

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("Screen")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.painted = False

    def set_portrait(self, portrait: bool) -> None:
        """Lay out for a portrait window (taller than wide, 1080x1920) or a landscape one.

        KioskWindow calls it when the screen is added and whenever the window's shape
        changes; 4K is the landscape layout at device pixel ratio 2. Screens whose
        layout suits both shapes keep this default.
        """

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self.painted:
            self.painted = True
            self.frame_painted.emit()


class ImageView(QWidget):
    """Draws one picture centred and scaled to fit, without distortion."""

    def __init__(self, box: QSize) -> None:
        super().__init__()
        self.box = box
        self._image = QImage()
        self.setMinimumSize(box.width() // 2, box.height() // 2)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_image(self, image: QImage) -> None:
        self._image = image
        self.update()

    def sizeHint(self) -> QSize:
        return self.box

    def paintEvent(self, event: QPaintEvent) -> None:
        if self._image.isNull():
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        size = self._image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        x = (self.width() - size.width()) / 2
        y = (self.height() - size.height()) / 2
        painter.drawImage(QRectF(x, y, size.width(), size.height()), self._image)


class ProductCard(QFrame):
    """A recommended phone: picture, name, price, and its slot when it is in this cabinet."""

    THUMB = QSize(160, 170)
    tapped = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.setProperty("role", "card")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setMinimumSize(240, 270)
        self.sku = ""
        self.image = ImageView(self.THUMB)
        self.name = label(role="card-name", wrap=True)
        self.price = label(role="card-price")
        self.slot = label(role="card-slot")
        keep_place = self.slot.sizePolicy()
        keep_place.setRetainSizeWhenHidden(True)  # every card the same height, slot or not
        self.slot.setSizePolicy(keep_place)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        layout.setSpacing(8)
        layout.addWidget(self.image, 1)
        layout.addWidget(self.name)
        layout.addWidget(self.price)
        layout.addWidget(self.slot, 0, Qt.AlignmentFlag.AlignLeft)

    def show_product(
        self, sku: str, name: str, price: str, slot_text: str | None, image: QImage
    ) -> None:
        self.sku = sku
        self.name.setText(name)
        self.price.setText(price)
        self.slot.setVisible(slot_text is not None)
        self.slot.setText(slot_text or "")
        self.image.set_image(image)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self.sku and self.rect().contains(event.position().toPoint()):
            self.tapped.emit(self.sku)
        super().mouseReleaseEvent(event)


class LanguageButton(QPushButton):
    """Switches between Chinese and English; labelled in the language it switches to."""

    chosen = Signal(object)  # Language

    def __init__(self) -> None:
        super().__init__()
        self.setProperty("role", "language")
        self._current = Language.ZH_CN
        self.clicked.connect(self._toggle)
        self.show_language(Language.ZH_CN)

    def show_language(self, language: Language) -> None:
        self._current = language
        self.setText(tr(language, "language.switch"))

    def _toggle(self) -> None:
        other = Language.EN if self._current is Language.ZH_CN else Language.ZH_CN
        self.chosen.emit(other)


def slot_badge(language: Language, slot: int | None) -> str | None:
    if slot is None:
        return None
    return f"{slot} 号位" if language is Language.ZH_CN else f"Slot {slot}"


def button(text: str, role: str) -> QPushButton:
    widget = QPushButton(text)
    widget.setProperty("role", role)
    widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # a tap must not take focus from a field
    return widget


class ActionBar(QWidget):
    """Join, feedback and prize draw: offered on every browsing screen when available."""

    join = Signal()
    feedback = Signal(str)  # survey id
    draw = Signal(str)  # draw id

    def __init__(self) -> None:
        super().__init__()
        self._survey = ""
        self._draw = ""
        self.join_button = button("", "action")
        self.feedback_button = button("", "action")
        self.draw_button = button("", "action")
        self.join_button.clicked.connect(self.join)
        self.feedback_button.clicked.connect(lambda: self.feedback.emit(self._survey))
        self.draw_button.clicked.connect(lambda: self.draw.emit(self._draw))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(16)
        for each in (self.join_button, self.feedback_button, self.draw_button):
            layout.addWidget(each)

    def show_actions(self, actions: Actions) -> None:
        self.join_button.setVisible(actions.join is not None)
        self.join_button.setText(actions.join or "")
        self.feedback_button.setVisible(actions.feedback is not None)
        self._survey, text = actions.feedback or ("", "")
        self.feedback_button.setText(text)
        self.draw_button.setVisible(actions.draw is not None)
        self._draw, text = actions.draw or ("", "")
        self.draw_button.setText(text)


class Countdown(QFrame):
    """The walk-away warning over a form: "still there?" and the seconds left.

    The session machine decides when it starts and when the screen is wiped; this
    only counts the seconds down on screen."""

    stay = Signal()

    def __init__(self, parent: QWidget, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(parent)
        self.setProperty("role", "overlay")
        self._host = parent
        self._clock = clock
        self._until = 0.0
        self._language = Language.ZH_CN
        dialog = QFrame()
        dialog.setProperty("role", "dialog")
        dialog.setFixedWidth(900)
        self.title = label(role="title")
        self.body = label(role="body", wrap=True)
        self.button = button("", "primary")
        self.button.clicked.connect(self.stay)
        inner = QVBoxLayout(dialog)
        inner.setContentsMargins(64, 56, 64, 56)
        inner.setSpacing(24)
        inner.addWidget(self.title)
        inner.addWidget(self.body)
        inner.addWidget(self.button, 0, Qt.AlignmentFlag.AlignRight)
        outer = QVBoxLayout(self)
        outer.addWidget(dialog, 0, Qt.AlignmentFlag.AlignCenter)
        self._tick = QTimer(self)
        self._tick.setInterval(250)
        self._tick.timeout.connect(self._show_seconds)
        self.hide()

    def show_until(self, until: float | None, language: Language) -> None:
        if until is None:
            self._tick.stop()
            self.hide()
            return
        self._until = until
        self._language = language
        self.title.setText(tr(language, "countdown.title"))
        self.button.setText(tr(language, "countdown.stay"))
        self._show_seconds()
        self.setGeometry(self._host.rect())
        self.raise_()
        self.show()
        self._tick.start()

    def _show_seconds(self) -> None:
        seconds = max(0, math.ceil(self._until - self._clock()))
        self.body.setText(tr(self._language, "countdown.body", seconds=seconds))
