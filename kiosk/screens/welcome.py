"""A recognised member's welcome: a greeting, what they looked at last time, and picks."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout

from kiosk.i18n import tr
from kiosk.images import ImageCache
from kiosk.pages import WELCOME_SHELF_SIZE, WelcomePage
from kiosk.screens.common import ActionBar, LanguageButton, Screen, label
from kiosk.screens.product import Shelf


class WelcomeScreen(Screen):
    recommendation_tapped = Signal(str, str)  # sku, shelf
    language_chosen = Signal(object)  # Language

    def __init__(self, images: ImageCache) -> None:
        super().__init__()
        self._images = images
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

        self.last_viewed = Shelf(WELCOME_SHELF_SIZE)
        self.picks = Shelf(WELCOME_SHELF_SIZE)
        self.last_viewed.tapped.connect(
            lambda sku: self.recommendation_tapped.emit(sku, "last_viewed")
        )
        self.picks.tapped.connect(lambda sku: self.recommendation_tapped.emit(sku, "for_you"))
        for card in (*self.last_viewed.cards, *self.picks.cards):
            keep_place = card.sizePolicy()
            keep_place.setRetainSizeWhenHidden(True)  # both rows on one grid, however full
            card.setSizePolicy(keep_place)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(96, 24, 96, 40)
        layout.setSpacing(12)
        layout.addLayout(top)
        layout.addWidget(self.greeting)
        layout.addWidget(self.subtitle)
        layout.addStretch(1)
        layout.addWidget(self.last_viewed)
        layout.addSpacing(24)
        layout.addWidget(self.picks)

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
