"""One phone, large: pictures, price, key specs, then related models and best sellers."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from content.model import Language
from kiosk.i18n import tr
from kiosk.images import ImageCache
from kiosk.pages import Card, ProductPage
from kiosk.screens.common import (
    ActionBar,
    ImageView,
    LanguageButton,
    ProductCard,
    Screen,
    label,
    slot_badge,
)

HERO = QSize(560, 560)
THUMB_ICON = QSize(72, 72)


class Shelf(QWidget):
    """A titled row of product cards."""

    tapped = Signal(str)

    def __init__(self, size: int) -> None:
        super().__init__()
        self.title = label(role="section")
        self.cards = [ProductCard() for _ in range(size)]
        row = QHBoxLayout()
        row.setSpacing(20)
        for card in self.cards:
            card.tapped.connect(self.tapped)
            row.addWidget(card)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(16)
        layout.addWidget(self.title)
        layout.addLayout(row)

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


class ProductScreen(Screen):
    recommendation_tapped = Signal(str, str)  # sku, shelf
    language_chosen = Signal(object)  # Language

    def __init__(self, images: ImageCache, shelf_size: int, views: ImageCache) -> None:
        """`views` holds this phone's other pictures (back, side) at full size: a small
        cache of its own, so they do not crowd the cabinet's front pictures out of
        `images` (each 1 MB; a shopper taps to them far less than they lift)."""
        super().__init__()
        self._images = images
        self._views = views
        self._page: ProductPage | None = None

        self.brand = label(role="brand")
        self.hint = label(role="hint")
        self.notice = label(role="notice")  # where to find a tapped phone; replaces the hint
        self.notice.hide()
        self.action_bar = ActionBar()
        self.language = LanguageButton()
        self.language.chosen.connect(self.language_chosen)
        top = QHBoxLayout()
        top.addWidget(self.brand)
        top.addStretch(1)
        top.addWidget(self.hint)
        top.addWidget(self.notice)
        top.addSpacing(32)
        top.addWidget(self.action_bar)
        top.addSpacing(16)
        top.addWidget(self.language)

        self.hero = ImageView(HERO)
        self._thumbs = QButtonGroup(self)
        self._thumbs.setExclusive(True)
        self._thumbs.idClicked.connect(self._show_picture)
        self._thumb_column = QVBoxLayout()
        self._thumb_column.setSpacing(16)
        self._thumb_column.addStretch(1)
        gallery = QHBoxLayout()
        gallery.addLayout(self._thumb_column)
        gallery.addWidget(self.hero, 1)

        self.title = label(role="title", wrap=True)
        self.colour = label(role="subtitle")
        self.price = label(role="price")
        self.stock = label(role="stock")
        self._spec_grid = QGridLayout()
        self._spec_grid.setHorizontalSpacing(40)
        self._spec_grid.setVerticalSpacing(20)
        self._spec_labels: list[tuple[QLabel, QLabel]] = []
        for i in range(8):
            name, value = label(role="spec-label"), label(role="spec-value", wrap=True)
            cell = QVBoxLayout()
            cell.setSpacing(4)
            cell.addWidget(name)
            cell.addWidget(value)
            self._spec_grid.addLayout(cell, i // 4, i % 4)
            self._spec_labels.append((name, value))
        info_panel = QFrame()
        info_panel.setProperty("role", "panel")
        info = QVBoxLayout(info_panel)
        info.setContentsMargins(56, 36, 56, 36)
        info.setSpacing(12)
        info.addWidget(self.title)
        info.addWidget(self.colour)
        info.addSpacing(8)
        price_row = QHBoxLayout()
        price_row.addWidget(self.price)
        price_row.addSpacing(24)
        price_row.addWidget(self.stock, 0, Qt.AlignmentFlag.AlignBottom)
        price_row.addStretch(1)
        info.addLayout(price_row)
        info.addStretch(1)
        info.addLayout(self._spec_grid)

        main = QHBoxLayout()
        main.setSpacing(40)
        main.addLayout(gallery, 5)
        main.addWidget(info_panel, 7)

        self.related = Shelf(shelf_size)
        self.best_sellers = Shelf(shelf_size)
        self.related.tapped.connect(lambda sku: self.recommendation_tapped.emit(sku, "related"))
        self.best_sellers.tapped.connect(
            lambda sku: self.recommendation_tapped.emit(sku, "best_sellers")
        )
        shelves = QHBoxLayout()
        shelves.setSpacing(48)
        shelves.addWidget(self.related)
        shelves.addWidget(self.best_sellers)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(60, 24, 60, 28)
        layout.setSpacing(20)
        layout.addLayout(top)
        layout.addLayout(main, 1)
        layout.addLayout(shelves)

    def show_page(self, page: ProductPage) -> None:
        same_phone = self._page is not None and self._page.sku == page.sku
        self._page = page
        language = page.language
        self.language.show_language(language)
        self.brand.setText(page.brand.upper())
        self.hint.setText(page.hint)
        self.title.setText(page.title)
        self.colour.setText(page.colour)
        self.price.setText(page.price)
        self.stock.setText(
            tr(language, "product.in_stock" if page.in_stock else "product.out_of_stock")
        )
        self.stock.setProperty("role", "stock" if page.in_stock else "stock-out")
        self.stock.style().polish(self.stock)
        for (name, value), (spec_name, spec_value) in zip(
            self._spec_labels, page.specs, strict=True
        ):
            name.setText(spec_name)
            value.setText(spec_value)
        if not same_phone:
            self._set_pictures(page)
        self.related.show_cards(
            tr(language, "product.related"), page.related, language, self._images
        )
        self.best_sellers.show_cards(
            tr(language, "product.best_sellers"), page.best_sellers, language, self._images
        )
        self._show_notice(page.notice)

    def _set_pictures(self, page: ProductPage) -> None:
        for button in self._thumbs.buttons():
            self._thumbs.removeButton(button)
            self._thumb_column.removeWidget(button)
            button.setParent(None)  # gone now, not at the next deferred-delete pass
        if len(page.images) > 1:
            for index, path in enumerate(page.images):
                button = QPushButton()
                button.setProperty("role", "thumb")
                button.setCheckable(True)
                thumb = self._images.get(path, THUMB_ICON)
                button.setIcon(QIcon(QPixmap.fromImage(thumb)))
                button.setIconSize(THUMB_ICON)
                self._thumbs.addButton(button, index)
                self._thumb_column.insertWidget(index, button)
            self._thumbs.buttons()[0].setChecked(True)
        self._views.preload([(path, HERO) for path in page.images[1:]])
        self._show_picture(0)

    def _show_picture(self, index: int) -> None:
        if self._page is not None and index < len(self._page.images):
            cache = self._images if index == 0 else self._views
            self.hero.set_image(cache.get(self._page.images[index], HERO))

    def _show_notice(self, text: str | None) -> None:
        self.notice.setText(text or "")
        self.notice.setVisible(text is not None)
        self.hint.setVisible(text is None)
