"""One phone, large: pictures, price, key specs, then related models and best sellers.

A lift must paint within a frame or two, so the screen keeps a prepared panel per
phone of the cabinet (`prepare`, while the attract loop plays): texts set, pictures
chosen, laid out. Showing a lifted phone then swaps panels, and only what differs
from the prepared page (a notice, another language) is set on the spot.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Final

from PySide6.QtCore import QPointF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QFont,
    QFontMetrics,
    QIcon,
    QPainter,
    QPaintEvent,
    QPixmap,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QBoxLayout,
    QButtonGroup,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from content.model import Language
from kiosk import theme
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
# Panels kept ready: a cabinet holds at most a few dozen phones (each panel ~0.75 MB of
# widgets, measured; its pictures are the image cache's, shared). Beyond this the least
# recently shown panel goes.
MAX_PANELS: Final = 48

_LANDSCAPE = QBoxLayout.Direction.LeftToRight
_PORTRAIT = QBoxLayout.Direction.TopToBottom


class Shelf(QWidget):
    """A titled row of product cards."""

    tapped = Signal(str)

    def __init__(self, size: int) -> None:
        super().__init__()
        self.title = label(role="section")
        self.cards = [ProductCard() for _ in range(size)]
        self._shown: tuple[tuple[Card, ...], Language] | None = None
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
        if self._shown == (cards, language):
            return  # a prepared shelf: nothing to look up again
        self._shown = (cards, language)
        for widget, card in zip(self.cards, [*cards, *[None] * len(self.cards)], strict=False):
            widget.setVisible(card is not None)
            if card is not None:
                image = images.get(card.image, ProductCard.THUMB)
                widget.show_product(
                    card.sku, card.name, card.price, slot_badge(language, card.slot), image
                )


class SpecGrid(QWidget):
    """The key specs, two rows of four: a name in small grey type above its value.

    Drawn by one widget rather than sixteen labels: each styled widget costs ~14 KB
    (Qt's per-widget style sheet rules) and a paint, and every prepared panel has one."""

    COLUMNS: Final = 4
    H_GAP: Final = 40
    V_GAP: Final = 20
    NAME_GAP: Final = 4  # between a spec's name and its value

    def __init__(self) -> None:
        super().__init__()
        self.specs: tuple[tuple[str, str], ...] = ()
        self._name_font = QFont(self.font())
        self._name_font.setPixelSize(24)
        self._value_font = QFont(self.font())
        self._value_font.setPixelSize(30)
        self._value_font.setWeight(QFont.Weight.Medium)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    def show_specs(self, specs: tuple[tuple[str, str], ...]) -> None:
        if specs != self.specs:
            self.specs = specs
            self.updateGeometry()
            self.update()

    def _rows(self) -> int:
        return max(1, -(-len(self.specs) // self.COLUMNS))

    def _cell_height(self) -> int:
        names, values = QFontMetrics(self._name_font), QFontMetrics(self._value_font)
        return names.height() + self.NAME_GAP + values.height()

    def sizeHint(self) -> QSize:
        names, values = QFontMetrics(self._name_font), QFontMetrics(self._value_font)
        widest = max(
            (max(names.horizontalAdvance(n), values.horizontalAdvance(v)) for n, v in self.specs),
            default=0,
        )
        rows = self._rows()
        return QSize(
            self.COLUMNS * widest + (self.COLUMNS - 1) * self.H_GAP,
            rows * self._cell_height() + (rows - 1) * self.V_GAP,
        )

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        column_w = (self.width() - (self.COLUMNS - 1) * self.H_GAP) / self.COLUMNS
        names, values = QFontMetrics(self._name_font), QFontMetrics(self._value_font)
        cell_h = self._cell_height() + self.V_GAP
        for index, (name, value) in enumerate(self.specs):
            x = (index % self.COLUMNS) * (column_w + self.H_GAP)
            y = (index // self.COLUMNS) * cell_h
            painter.setFont(self._name_font)
            painter.setPen(theme.INK_SOFT)
            painter.drawText(
                QPointF(x, y + names.ascent()), names.elidedText(name, _ELIDE, int(column_w))
            )
            painter.setFont(self._value_font)
            painter.setPen(theme.INK)
            baseline = y + names.height() + self.NAME_GAP + values.ascent()
            painter.drawText(QPointF(x, baseline), values.elidedText(value, _ELIDE, int(column_w)))


_ELIDE = Qt.TextElideMode.ElideRight


class ProductPanel(QWidget):
    """One phone's pictures, name, price, specs and shelves: what changes per phone."""

    recommendation_tapped = Signal(str, str)  # sku, shelf

    def __init__(self, images: ImageCache, shelf_size: int, views: ImageCache) -> None:
        super().__init__()
        self._images = images
        self._views = views
        self.page: ProductPage | None = None
        self.needs_layout = True  # until laid out ahead at the size it will be shown

        self.hero = ImageView(HERO)
        self._thumbs = QButtonGroup(self)
        self._thumbs.setExclusive(True)
        self._thumbs.idClicked.connect(self._show_picture)
        self._thumb_column = QBoxLayout(QBoxLayout.Direction.TopToBottom)
        self._thumb_column.setSpacing(16)
        self._thumb_column.addStretch(1)
        self._gallery = QBoxLayout(_LANDSCAPE)
        self._gallery.addLayout(self._thumb_column)
        self._gallery.addWidget(self.hero, 1)

        self.title = label(role="title", wrap=True)
        self.colour = label(role="subtitle")
        self.price = label(role="price")
        self.stock = label(role="stock")
        self.specs = SpecGrid()
        self._info_panel = QFrame()
        self._info_panel.setProperty("role", "panel")
        info = QVBoxLayout(self._info_panel)
        # Tight enough that title, price and both rows of specs fit the 1080 px screen.
        info.setContentsMargins(56, 28, 56, 28)
        info.setSpacing(8)
        info.addWidget(self.title)
        info.addWidget(self.colour)
        price_row = QHBoxLayout()
        price_row.addWidget(self.price)
        price_row.addSpacing(24)
        price_row.addWidget(self.stock, 0, Qt.AlignmentFlag.AlignBottom)
        price_row.addStretch(1)
        info.addLayout(price_row)
        info.addStretch(1)
        info.addWidget(self.specs)

        self._main = QBoxLayout(_LANDSCAPE)
        self._main.setSpacing(40)
        self._main.addLayout(self._gallery, 5)
        self._main.addWidget(self._info_panel, 7)

        self.related = Shelf(shelf_size)
        self.best_sellers = Shelf(shelf_size)
        self.related.tapped.connect(lambda sku: self.recommendation_tapped.emit(sku, "related"))
        self.best_sellers.tapped.connect(
            lambda sku: self.recommendation_tapped.emit(sku, "best_sellers")
        )
        self._shelves = QBoxLayout(_LANDSCAPE)
        self._shelves.setSpacing(48)
        self._shelves.addWidget(self.related)
        self._shelves.addWidget(self.best_sellers)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(20)
        layout.addLayout(self._main, 1)
        layout.addLayout(self._shelves)

    def set_portrait(self, portrait: bool) -> None:
        """Portrait: pictures above the facts, the two shelves one above the other;
        landscape: side by side. Thumbnails stay in a column beside the hero."""
        self._main.setDirection(_PORTRAIT if portrait else _LANDSCAPE)
        # Portrait: the facts take the height they need, the pictures the rest.
        self._main.setStretch(0, 1 if portrait else 5)
        self._main.setStretch(1, 0 if portrait else 7)
        self._main.setSpacing(24 if portrait else 40)
        self._shelves.setDirection(_PORTRAIT if portrait else _LANDSCAPE)
        self._shelves.setSpacing(24 if portrait else 48)

    def show_page(self, page: ProductPage) -> None:
        """Set what differs from the page shown before (everything, the first time)."""
        if page == self.page:
            return
        same_phone = self.page is not None and self.page.images == page.images
        self.page = page
        language = page.language
        self.title.setText(page.title)
        self.colour.setText(page.colour)
        self.price.setText(page.price)
        self.stock.setText(
            tr(language, "product.in_stock" if page.in_stock else "product.out_of_stock")
        )
        role = "stock" if page.in_stock else "stock-out"
        if self.stock.property("role") != role:
            self.stock.setProperty("role", role)
            self.stock.style().polish(self.stock)
        self.specs.show_specs(page.specs)
        if not same_phone:
            self._set_pictures(page)
        self.related.show_cards(
            tr(language, "product.related"), page.related, language, self._images
        )
        self.best_sellers.show_cards(
            tr(language, "product.best_sellers"), page.best_sellers, language, self._images
        )

    def preload_views(self) -> None:
        """Decode this phone's other pictures in the background: once it is on screen,
        not while the first frame is being painted."""
        if self.page is not None:
            self._views.preload([(path, HERO) for path in self.page.images[1:]])

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
        self._show_picture(0)

    def _show_picture(self, index: int) -> None:
        if self.page is not None and index < len(self.page.images):
            cache = self._images if index == 0 else self._views
            self.hero.set_image(cache.get(self.page.images[index], HERO))


class _PanelHost(QWidget):
    """Where the panels sit, one visible, all at its size. It has no layout on purpose:
    a layout (QStackedLayout too) asks every widget in it for its height-for-width on
    each pass, and a few dozen hidden panels would make every lift pay for them all."""

    def __init__(self) -> None:
        super().__init__()
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def resizeEvent(self, event: QResizeEvent) -> None:
        direct = Qt.FindChildOption.FindDirectChildrenOnly
        for panel in self.findChildren(ProductPanel, options=direct):
            panel.setGeometry(self.rect())
            panel.needs_layout = True
        super().resizeEvent(event)


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
        self._shelf_size = shelf_size
        self._portrait = False
        self._page: ProductPage | None = None

        self.brand = label(role="brand")
        self.hint = label(role="hint")
        self.notice = label(role="notice")  # where to find a tapped phone; replaces the hint
        self.notice.hide()
        self.action_bar = ActionBar()
        self.language = LanguageButton()
        self.language.chosen.connect(self.language_chosen)
        self._top = QGridLayout()
        self._top.setHorizontalSpacing(16)
        self._top.setVerticalSpacing(16)
        self._lay_out_top(portrait=False)

        self._panels: OrderedDict[str, ProductPanel] = OrderedDict()  # by SKU, LRU order
        self._host = _PanelHost()
        # For a phone without a panel of its own (a recommendation from elsewhere in
        # the catalog): one panel, refilled each time, so browsing never adds panels.
        self._spare = self._new_panel()
        self._current = self._spare
        self._current.show()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(60, 24, 60, 28)
        layout.setSpacing(20)
        layout.addLayout(self._top)
        layout.addWidget(self._host, 1)
        # Once the lifted phone's frame is up, its other pictures may decode.
        self._views_timer = QTimer(self)  # one timer: singleShot(callable) leaks per call
        self._views_timer.setSingleShot(True)
        self._views_timer.timeout.connect(self._preload_shown_views)
        self.frame_painted.connect(lambda: self._views_timer.start(0))

    # The panel on screen's parts, by the names the screen has always had.
    @property
    def hero(self) -> ImageView:
        return self._current.hero

    @property
    def title(self) -> QLabel:
        return self._current.title

    @property
    def colour(self) -> QLabel:
        return self._current.colour

    @property
    def price(self) -> QLabel:
        return self._current.price

    @property
    def stock(self) -> QLabel:
        return self._current.stock

    @property
    def related(self) -> Shelf:
        return self._current.related

    @property
    def best_sellers(self) -> Shelf:
        return self._current.best_sellers

    @property
    def prepared(self) -> tuple[str, ...]:
        """SKUs with a panel ready, least recently shown first."""
        return tuple(self._panels)

    def set_portrait(self, portrait: bool) -> None:
        self._portrait = portrait
        self._lay_out_top(portrait)
        for panel in {*self._panels.values(), self._spare}:
            panel.set_portrait(portrait)

    def _lay_out_top(self, portrait: bool) -> None:
        """Landscape: one row. Portrait (1080 px wide): brand and language above, the
        hint or notice and the actions below, so nothing is squeezed."""
        for widget in (self.brand, self.hint, self.notice, self.action_bar, self.language):
            self._top.removeWidget(widget)
        for column in range(6):
            self._top.setColumnStretch(column, 0)
        if portrait:
            self._top.addWidget(self.brand, 0, 0)
            self._top.addWidget(self.language, 0, 2, Qt.AlignmentFlag.AlignRight)
            self._top.addWidget(self.hint, 1, 0)
            self._top.addWidget(self.notice, 1, 0)
            self._top.addWidget(self.action_bar, 1, 2, Qt.AlignmentFlag.AlignRight)
            self._top.setColumnStretch(1, 1)
        else:
            self._top.addWidget(self.brand, 0, 0)
            self._top.addWidget(self.hint, 0, 2)
            self._top.addWidget(self.notice, 0, 2)
            self._top.addWidget(self.action_bar, 0, 3)
            self._top.addWidget(self.language, 0, 4)
            self._top.setColumnStretch(1, 1)

    def prepare(self, page: ProductPage) -> None:
        """Make `page`'s phone ready to show: its own panel, filled in and laid out at the
        size it will have (the screen is hidden, so Qt has not sized it yet)."""
        panel = self._panels.get(page.sku)
        if panel is None:
            panel = self._new_panel()
            self._panels[page.sku] = panel
            self._forget_oldest()
        host = self.parentWidget()
        if host is not None and self.size() != host.size():
            self.resize(host.size())
            for each in self._panels.values():
                each.needs_layout = True
        if panel.page == page and not panel.needs_layout:
            return  # ready as it is
        panel.show_page(page)
        own = self.layout()
        if own is not None:
            own.activate()
            own.setGeometry(self.rect())
        if panel.geometry() != self._host.rect():
            panel.setGeometry(self._host.rect())
        _lay_out_now(panel)
        panel.needs_layout = False

    def forget_prepared(self) -> None:
        """Drop every prepared panel (new content): the next lifts use fresh ones."""
        for sku in list(self._panels):
            panel = self._panels.pop(sku)
            if panel is not self._current:  # that one goes when a page replaces it
                self._drop(panel)

    def show_page(self, page: ProductPage) -> None:
        self._page = page
        language = page.language
        self.language.show_language(language)
        self.brand.setText(page.brand.upper())
        self.hint.setText(page.hint)
        panel = self._panels.get(page.sku)
        if panel is None:
            panel = self._spare
        else:
            self._panels.move_to_end(page.sku)
        panel.show_page(page)
        if panel is not self._current:
            shown, self._current = self._current, panel
            panel.show()
            shown.hide()
            if shown is not self._spare and shown not in self._panels.values():
                self._drop(shown)  # forgotten while on screen (new content)
        self._show_notice(page.notice)

    def _preload_shown_views(self) -> None:
        self._current.preload_views()

    def _new_panel(self) -> ProductPanel:
        panel = ProductPanel(self._images, self._shelf_size, self._views)
        panel.set_portrait(self._portrait)
        panel.recommendation_tapped.connect(self.recommendation_tapped)
        panel.hide()
        panel.setParent(self._host)
        panel.setGeometry(self._host.rect())
        return panel

    def _forget_oldest(self) -> None:
        while len(self._panels) > MAX_PANELS:
            sku = next(iter(self._panels))
            panel = self._panels.pop(sku)
            if panel is not self._current:  # that one goes when a page replaces it
                self._drop(panel)

    def _drop(self, panel: ProductPanel) -> None:
        panel.setParent(None)  # freed now: its widgets and picture references go
        panel.deleteLater()

    def _show_notice(self, text: str | None) -> None:
        self.notice.setText(text or "")
        self.notice.setVisible(text is not None)
        self.hint.setVisible(text is None)


def _lay_out_now(panel: QWidget) -> None:
    """Lay out a hidden panel now, while the attract loop plays, not on the lift.

    Qt lays out a hidden widget's children when it is first shown; going down the
    tree (parents first: each child's size comes from its parent's layout) does that
    work ahead."""
    panel.ensurePolished()
    for widget in (panel, *panel.findChildren(QWidget)):
        layout = widget.layout()
        if layout is not None:
            layout.activate()
            layout.setGeometry(widget.rect())
