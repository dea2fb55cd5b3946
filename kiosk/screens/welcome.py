"""A recognised member's welcome: a greeting, what they looked at last time (and when),
picks drawn from them, what is on offer to them, and a word before it goes.

Landscape: the two shelves fill the left, the offers stand in a column on the right.
Portrait: one column, the offers side by side under the shelves. A member offer
(kiosk/screens/member_offer.py) takes the offers' place as the hero card; the
draw and the survey stay a tap away in the action bar.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from content.model import Language
from kiosk.i18n import tr
from kiosk.images import ImageCache
from kiosk.pages import WELCOME_SHELF_SIZE, Card, Offer, WelcomePage
from kiosk.screens.common import (
    ActionBar,
    LanguageButton,
    ProductCard,
    Screen,
    button,
    label,
    slot_badge,
)

if TYPE_CHECKING:
    from kiosk.screens.member_offer import MemberOfferHero

LEAVING_WARNING: Final = 10.0  # s: the welcome says it is going this long before it goes
MAX_OFFERS: Final = 2  # the draw and a survey's coupon


class WelcomeShelf(QWidget):
    """A titled row of up to WELCOME_SHELF_SIZE cards; the cards share the row's width
    and grow with the height the screen gives the shelf."""

    tapped = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.title = label(role="section")
        self.cards = [ProductCard() for _ in range(WELCOME_SHELF_SIZE)]
        self._row = QGridLayout()
        self._row.setSpacing(20)
        for column, card in enumerate(self.cards):
            card.tapped.connect(self.tapped)
            keep_place = card.sizePolicy()
            keep_place.setRetainSizeWhenHidden(True)  # both rows on one grid, however full
            card.setSizePolicy(keep_place)
            self._row.addWidget(card, 0, column)
            self._row.setColumnStretch(column, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(12)
        layout.addWidget(self.title)
        layout.addLayout(self._row, 1)

    def set_narrow(self, narrow: bool) -> None:
        """Portrait: four cards in 950 px, so a little narrower than their default."""
        for card in self.cards:
            card.setMinimumSize(200 if narrow else 240, 240)
        self._row.setSpacing(16 if narrow else 20)

    def show_cards(
        self, title: str, cards: tuple[Card, ...], language: Language, images: ImageCache
    ) -> None:
        self.title.setText(title)
        for widget, card in zip(self.cards, [*cards, *[None] * len(self.cards)], strict=False):
            widget.setVisible(card is not None)
            if card is not None:
                image = images.get(card.image, ProductCard.THUMB)
                widget.show_product(
                    card.sku, card.name, card.price, slot_badge(language, card.slot), image
                )


class OfferPanel(QFrame):
    """One offer: a title, a line, and its button (none when there is nothing to press)."""

    chosen = Signal(str, str)  # kind ("draw", "feedback"), id

    def __init__(self) -> None:
        super().__init__()
        self.setProperty("role", "panel")
        self._action: tuple[str, str] | None = None
        self.title = label(role="section", wrap=True)
        self.body = label(role="hint", wrap=True)
        self.button: QPushButton = button("", "primary")
        self.button.clicked.connect(self._chosen)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(36, 32, 36, 32)
        layout.setSpacing(12)
        layout.addWidget(self.title)
        layout.addWidget(self.body)
        layout.addStretch(1)
        layout.addWidget(self.button, 0, Qt.AlignmentFlag.AlignLeft)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def show_offer(self, offer: Offer) -> None:
        self._action = offer.action
        self.title.setText(offer.title)
        self.body.setText(offer.body)
        self.body.setVisible(bool(offer.body))
        self.button.setVisible(offer.button is not None)
        self.button.setText(offer.button or "")

    def _chosen(self) -> None:
        if self._action is not None:
            self.chosen.emit(*self._action)


class WelcomeScreen(Screen):
    recommendation_tapped = Signal(str, str)  # sku, shelf
    language_chosen = Signal(object)  # Language
    draw_chosen = Signal(str)  # draw id, from the offer panel
    feedback_chosen = Signal(str)  # survey id, from the offer panel
    offer_taken = Signal()  # the member offer's "take it" (or "show my coupon")
    offer_painted = Signal()  # a member offer's card painted its first frame

    def __init__(self, images: ImageCache, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._images = images
        self._clock = clock
        self._leaves_at: float | None = None
        self._leaving_text = ""
        self.member = label(role="brand")
        self.action_bar = ActionBar()
        self.language = LanguageButton()
        self.language.chosen.connect(self.language_chosen)
        top = QHBoxLayout()
        top.addWidget(self.member)
        top.addStretch(1)
        top.addWidget(self.action_bar)
        top.addSpacing(16)
        top.addWidget(self.language)

        self.greeting = label(role="title", wrap=True)
        # The name is what the shopper typed at sign-up: never markup.
        self.greeting.setTextFormat(Qt.TextFormat.PlainText)
        self.subtitle = label(role="subtitle", wrap=True)

        self.last_viewed = WelcomeShelf()
        self.picks = WelcomeShelf()
        self.last_viewed.tapped.connect(
            lambda sku: self.recommendation_tapped.emit(sku, "last_viewed")
        )
        self.picks.tapped.connect(lambda sku: self.recommendation_tapped.emit(sku, "for_you"))
        shelves = QVBoxLayout()
        shelves.setSpacing(28)
        shelves.addWidget(self.last_viewed, 1)
        shelves.addWidget(self.picks, 1)

        self.offers = [OfferPanel() for _ in range(MAX_OFFERS)]
        self._offer_box = QBoxLayout(QBoxLayout.Direction.TopToBottom)
        self._offer_box.setSpacing(24)
        for panel in self.offers:
            panel.chosen.connect(self._offer_chosen)
            self._offer_box.addWidget(panel, 1)
        self._offer_column = QWidget()
        self._offer_column.setLayout(self._offer_box)
        self._offer_box.setContentsMargins(0, 0, 0, 0)
        self.hero: MemberOfferHero | None = None  # built for the first member offer
        self._portrait = False

        self._body = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        self._body.setSpacing(48)
        self._body.addLayout(shelves, 2)
        self._body.addWidget(self._offer_column, 1)

        # Over the bottom margin, outside the layout: nothing moves when it comes.
        self.leaving = label(role="notice")
        self.leaving.setParent(self)
        self.leaving.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.leaving.hide()
        self._tick = QTimer(self)
        self._tick.setInterval(250)
        self._tick.timeout.connect(self._show_leaving)

        self._layout = QVBoxLayout(self)
        self._layout.setSpacing(12)
        self._layout.addLayout(top)
        self._layout.addWidget(self.greeting)
        self._layout.addWidget(self.subtitle)
        self._layout.addSpacing(12)
        self._layout.addLayout(self._body, 1)
        self.set_portrait(False)

    def set_portrait(self, portrait: bool) -> None:
        self._portrait = portrait
        if self.hero is not None:
            self.hero.set_portrait(portrait)
        if portrait:
            self._layout.setContentsMargins(64, 32, 64, 96)
            self._body.setDirection(self._portrait_direction())
            self._offer_box.setDirection(QBoxLayout.Direction.LeftToRight)
            self._body.setStretch(0, 1)
            self._body.setStretch(1, 0)  # the offers' own height; the shelves the rest
        else:
            self._layout.setContentsMargins(96, 24, 96, 84)
            self._body.setDirection(QBoxLayout.Direction.LeftToRight)
            self._offer_box.setDirection(QBoxLayout.Direction.TopToBottom)
            self._body.setStretch(0, 2)  # four cards of 270 px and more
            self._body.setStretch(1, 1)  # an offer's title on one line
        for shelf in (self.last_viewed, self.picks):
            shelf.set_narrow(portrait)

    def show_page(self, page: WelcomePage) -> None:
        language = page.language
        self.language.show_language(language)
        self.member.setText(tr(language, "welcome.member").upper())
        self.greeting.setText(page.greeting)
        self.subtitle.setText(page.subtitle)
        self.last_viewed.setVisible(bool(page.last_viewed))
        self.last_viewed.show_cards(
            page.last_viewed_title, page.last_viewed, language, self._images
        )
        self.picks.show_cards(page.picks_title, page.picks, language, self._images)
        hero = page.member_offer
        shown = () if hero is not None else page.offers  # the hero takes their place
        for panel, offer in zip(self.offers, [*shown, *[None] * MAX_OFFERS], strict=False):
            panel.setVisible(offer is not None)
            if offer is not None:
                panel.show_offer(offer)
        if hero is not None:
            card = self._member_hero()
            card.setVisible(True)  # before its words: a card arriving on show fades in
            card.show_card(hero)
        elif self.hero is not None:
            self.hero.setVisible(False)
            self.hero.forget()
        self._offer_column.setVisible(bool(shown) or hero is not None)
        if self._portrait:
            self._body.setDirection(self._portrait_direction())
        self._leaving_text = page.leaving
        self._show_leaving()

    def _portrait_direction(self) -> QBoxLayout.Direction:
        """Portrait: a member offer comes first, under the greeting, where the eye is;
        the draw and survey panels stay under the shelves."""
        hero = self.hero is not None and not self.hero.isHidden()
        return QBoxLayout.Direction.BottomToTop if hero else QBoxLayout.Direction.TopToBottom

    def _member_hero(self) -> MemberOfferHero:
        """The hero card, built (and its module loaded) for the first member offer."""
        if self.hero is None:
            from kiosk.screens.member_offer import MemberOfferHero  # noqa: PLC0415

            self.hero = MemberOfferHero(self._images)
            self.hero.set_portrait(self._portrait)
            self.hero.taken.connect(self.offer_taken)
            self.hero.first_frame.connect(self.offer_painted)
            self.hero.product_tapped.connect(
                lambda sku: self.recommendation_tapped.emit(sku, "member_offer")
            )
            self._offer_box.insertWidget(0, self.hero, 1)
        return self.hero

    def show_leaving(self, leaves_at: float | None) -> None:
        """When the welcome returns to the attract loop (None: it stays); the warning
        shows for the last LEAVING_WARNING seconds. The session decides the time."""
        self._leaves_at = leaves_at
        if leaves_at is None:
            self._tick.stop()
        elif not self._tick.isActive():
            self._tick.start()
        self._show_leaving()

    def _show_leaving(self) -> None:
        left = None if self._leaves_at is None else self._leaves_at - self._clock()
        warn = left is not None and 0 < left <= LEAVING_WARNING
        if warn and left is not None:
            seconds = math.ceil(left)
            self.leaving.setText(self._leaving_text.format(seconds=seconds))
            self._place_leaving()
            self.leaving.raise_()
        self.leaving.setVisible(warn)

    def _place_leaving(self) -> None:
        """Centred in the bottom margin."""
        size = self.leaving.sizeHint()
        bottom = self._layout.contentsMargins().bottom()
        x = (self.width() - size.width()) // 2
        y = self.height() - bottom + (bottom - size.height()) // 2
        self.leaving.setGeometry(x, y, size.width(), size.height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place_leaving()

    def _offer_chosen(self, kind: str, target: str) -> None:
        if kind == "draw":
            self.draw_chosen.emit(target)
        elif kind == "feedback":
            self.feedback_chosen.emit(target)
