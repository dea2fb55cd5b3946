"""The member offer on the welcome: the hero card a recognised member sees first.

Built the first time a member is offered something (the attract screen never needs
it). It lays out `pages.MemberOfferCard`: a "members only" badge, what it is worth,
the offer's title and line, the featured phone's picture, name and price (tapped
like a recommendation), and one large "take it" button a thumb finds first time.

Landscape: a column beside the shelves. Portrait: a band under them, the phone on
the left and the words and the button on the right.
"""

from __future__ import annotations

from typing import Final

from PySide6.QtCore import QEasingCurve, QPropertyAnimation, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QMouseEvent, QPaintEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QFrame,
    QGraphicsOpacityEffect,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
)

from kiosk.images import ImageCache
from kiosk.pages import MemberOfferCard
from kiosk.screens.common import ImageView, button, label

PRODUCT_PICTURE: Final = QSize(260, 260)
# Landscape: the phone's band under this height, so two lines of title, the line
# under it and the button keep their full height in the column beside the shelves.
LANDSCAPE_PRODUCT_HEIGHT: Final = 180
FADE_MS: Final = 220  # calm: the card settles in, it does not jump


class FeaturedProduct(QFrame):
    """The offer's phone: picture, name and price; a tap shows the phone."""

    tapped = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.setProperty("role", "offer-product")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.sku = ""
        self.image = ImageView(PRODUCT_PICTURE)
        self.image.setMinimumSize(160, 160)
        self.name = label(role="card-name", wrap=True)
        self.price = label(role="card-price")
        words = QVBoxLayout()
        words.setSpacing(6)
        words.addStretch(1)
        words.addWidget(self.name)
        words.addWidget(self.price)
        words.addStretch(1)
        self._row = QBoxLayout(QBoxLayout.Direction.LeftToRight, self)
        self._row.setContentsMargins(16, 12, 24, 12)
        self._row.setSpacing(20)
        self._row.addWidget(self.image, 1)
        self._row.addLayout(words, 0)
        self._words = words

    def set_portrait(self, portrait: bool) -> None:
        """Portrait: the picture large over its name and price; landscape: beside them."""
        if portrait:
            self._row.setDirection(QBoxLayout.Direction.TopToBottom)
            self._row.setContentsMargins(24, 24, 24, 20)
            self._words.setStretch(0, 0)
            self._words.setStretch(3, 0)
        else:
            self._row.setDirection(QBoxLayout.Direction.LeftToRight)
            self._row.setContentsMargins(16, 12, 24, 12)
            self._words.setStretch(0, 1)
            self._words.setStretch(3, 1)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self.sku and self.rect().contains(event.position().toPoint()):
            self.tapped.emit(self.sku)
        super().mouseReleaseEvent(event)


class MemberOfferHero(QFrame):
    taken = Signal()  # "take it" or "show my coupon"
    product_tapped = Signal(str)  # sku
    # A new offer's first frame is painted (its fade starts there): for the trace.
    first_frame = Signal()

    def __init__(self, images: ImageCache) -> None:
        super().__init__()
        self.setProperty("role", "offer-hero")
        self._images = images
        self._shown: MemberOfferCard | None = None
        self._frame_due = False
        self.badge = label(role="offer-badge")
        self.value = label(role="offer-value")
        self.title = label(role="offer-title", wrap=True)
        self.message = label(role="offer-message", wrap=True)
        for words in (self.title, self.message):
            words.setTextFormat(Qt.TextFormat.PlainText)  # HQ's words, never markup
        self.product = FeaturedProduct()
        self.product.tapped.connect(self.product_tapped)
        self.status = label(role="hint", wrap=True)
        self.take: QPushButton = button("", "take")
        self.take.clicked.connect(self.taken)

        heading = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        heading.setSpacing(16)
        heading.addWidget(self.badge, 0, Qt.AlignmentFlag.AlignVCenter)
        heading.addStretch(1)
        heading.addWidget(self.value)
        self._words = QVBoxLayout()
        self._words.setSpacing(12)
        self._words.addStretch(0)  # grows when no phone is featured: the words centred
        self._words.addLayout(heading)
        self._words.addWidget(self.title)
        self._words.addWidget(self.message)
        self._words.addStretch(1)
        self._words.addWidget(self.status)
        self._words.addWidget(self.take)
        self._body = QBoxLayout(QBoxLayout.Direction.TopToBottom, self)
        self._body.setContentsMargins(40, 36, 40, 36)
        self._body.setSpacing(24)
        self._body.addLayout(self._words, 1)
        self._body.insertWidget(0, self.product, 0)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._fade = QGraphicsOpacityEffect(self)
        self._fade.setEnabled(False)
        self.setGraphicsEffect(self._fade)
        self._settle = QPropertyAnimation(self._fade, b"opacity", self)
        self._settle.setDuration(FADE_MS)
        self._settle.setStartValue(0.0)
        self._settle.setEndValue(1.0)
        self._settle.setEasingCurve(QEasingCurve.Type.OutCubic)
        # Off again when settled: an opacity effect repaints the card through a buffer.
        self._settle.finished.connect(lambda: self._fade.setEnabled(False))
        self.set_portrait(False)

    def set_portrait(self, portrait: bool) -> None:
        """Portrait: the phone beside the words, in a band under the shelves; landscape:
        the phone on top of the words in a column."""
        self.product.set_portrait(portrait)
        if portrait:
            self._body.setDirection(QBoxLayout.Direction.LeftToRight)
            self._body.setContentsMargins(36, 28, 40, 28)
            self._body.setStretch(0, 1)
            self.product.setMaximumHeight(16777215)
        else:
            self._body.setDirection(QBoxLayout.Direction.TopToBottom)
            self._body.setContentsMargins(40, 32, 40, 32)
            self._body.setStretch(0, 0)
            self.product.setMaximumHeight(LANDSCAPE_PRODUCT_HEIGHT)

    def show_card(self, card: MemberOfferCard) -> None:
        if card == self._shown:
            return
        arriving = self._shown is None or self._shown.offer != card.offer
        self._shown = card
        self.badge.setText(card.badge)
        self.value.setVisible(card.value is not None)
        self.value.setText(card.value or "")
        self.title.setText(card.title)
        self.message.setVisible(bool(card.message))
        self.message.setText(card.message)
        featured = card.product
        self.product.setVisible(featured is not None)
        # Without a phone the card's words would float over an empty lower half: the
        # value grows into the headline and the words sit in the middle of the card.
        lone = featured is None
        self._words.setStretch(0, 1 if lone else 0)
        role = "offer-value-lone" if lone else "offer-value"
        if self.value.property("role") != role:
            self.value.setProperty("role", role)
            self.value.style().unpolish(self.value)
            self.value.style().polish(self.value)
        if featured is not None:
            self.product.sku = featured.sku
            self.product.name.setText(featured.name)
            self.product.price.setText(featured.price)
            self.product.image.set_image(self._images.get(featured.image, PRODUCT_PICTURE))
        self.status.setVisible(card.status is not None)
        self.status.setText(card.status or "")
        self.take.setVisible(card.button is not None)
        self.take.setText(card.button or "")
        if arriving:
            self._frame_due = True
            if self.isVisible():  # the welcome is up already: the card settles in
                self._fade.setEnabled(True)
                self._settle.start()

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if self._frame_due:
            self._frame_due = False
            # Reported once the event loop turns: the frame is then on its way out.
            QTimer.singleShot(0, self, self.first_frame.emit)

    def forget(self) -> None:
        """The session is over: the next member's card is a new arrival."""
        self._shown = None

    @property
    def settling(self) -> bool:
        return self._settle.state() is QPropertyAnimation.State.Running
