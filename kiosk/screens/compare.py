"""Two phones side by side; rows that differ are tinted and the better value stands out."""

from __future__ import annotations

from typing import Final

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QFont, QPainter, QPaintEvent
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QSizePolicy, QVBoxLayout, QWidget

from kiosk import theme
from kiosk.i18n import tr
from kiosk.images import ImageCache
from kiosk.pages import ComparePage, CompareSide
from kiosk.screens.common import ActionBar, ImageView, LanguageButton, Screen, label
from kiosk.specs import CompareRow

SIDE_IMAGE: Final = QSize(260, 220)
# Portrait has the height for large pictures: the product screen's hero size, which the
# cabinet's phones already have decoded (a compare opens without decoding anything).
SIDE_IMAGE_PORTRAIT: Final = QSize(560, 560)
# Column shares of the width: spec name, left phone, right phone (header uses the same).
COLUMNS: Final = (22, 39, 39)
ROW_HEIGHT: Final = 48
ROW_HEIGHT_PORTRAIT: Final = 76  # portrait is taller: rows as tall as the table allows


class _CompareTable(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.rows: tuple[tuple[str, CompareRow], ...] = ()
        self.portrait = False
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:
        return QSize(1800, ROW_HEIGHT * max(1, len(self.rows)))

    def minimumSizeHint(self) -> QSize:
        return QSize(600, 36 * max(1, len(self.rows)))  # rows shrink to fit, down to this

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        total = sum(COLUMNS)
        widths = [self.width() * c / total for c in COLUMNS]
        lefts = [0.0, widths[0], widths[0] + widths[1]]
        tallest = ROW_HEIGHT_PORTRAIT if self.portrait else ROW_HEIGHT
        row_h = min(tallest * 1.0, self.height() / max(1, len(self.rows)))
        base = QFont(self.font())
        base.setPixelSize(30 if self.portrait else 26)
        strong = QFont(base)
        strong.setWeight(QFont.Weight.Bold)
        for index, (name, row) in enumerate(self.rows):
            top = index * row_h
            if row.differs:
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(theme.ACCENT_SOFT)
                painter.drawRoundedRect(QRectF(0, top + 3, self.width(), row_h - 6), 14, 14)
            cells = [(name, 0), (row.left, -1), (row.right, 1)]
            for column, (text, side) in enumerate(cells):
                rect = QRectF(lefts[column] + 24, top, widths[column] - 48, row_h)
                wins = row.winner != 0 and row.winner == side
                painter.setFont(strong if wins else base)
                painter.setPen(
                    theme.INK_SOFT if column == 0 else theme.ACCENT if wins else theme.INK
                )
                align = Qt.AlignmentFlag.AlignVCenter | (
                    Qt.AlignmentFlag.AlignLeft if column == 0 else Qt.AlignmentFlag.AlignHCenter
                )
                # A long value wraps inside its row rather than running into the next cell.
                painter.drawText(rect, int(align) | Qt.TextFlag.TextWordWrap, text)


class _SideHeader(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.box = SIDE_IMAGE
        self.image = ImageView(SIDE_IMAGE)
        self.brand = label(role="brand")
        self.title = label(role="section", wrap=True)
        for widget in (self.brand, self.title):
            widget.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.image, 1)
        layout.addWidget(self.brand)
        layout.addWidget(self.title)

    def show_side(self, side: CompareSide, images: ImageCache) -> None:
        self.image.set_image(images.get(side.image, self.box))
        self.brand.setText(side.brand.upper())
        self.title.setText(side.title)


class CompareScreen(Screen):
    language_chosen = Signal(object)  # Language

    def __init__(self, images: ImageCache) -> None:
        super().__init__()
        self._images = images
        self.title = label(role="section")
        self.hint = label(role="hint")
        self.action_bar = ActionBar()
        self.language = LanguageButton()
        self.language.chosen.connect(self.language_chosen)
        self._page: ComparePage | None = None
        self._top = QGridLayout()
        self._top.setHorizontalSpacing(24)
        self._top.setVerticalSpacing(16)
        self._lay_out_top(portrait=False)

        self.left = _SideHeader()
        self.right = _SideHeader()
        header = QHBoxLayout()
        header.setSpacing(0)
        header.addStretch(COLUMNS[0])
        header.addWidget(self.left, COLUMNS[1])
        header.addWidget(self.right, COLUMNS[2])

        self.table = _CompareTable()
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(60, 32, 60, 32)
        self._layout.setSpacing(16)
        self._layout.addLayout(self._top)
        self._layout.addLayout(header)
        self._layout.addWidget(self.table, 1)

    def set_portrait(self, portrait: bool) -> None:
        """Portrait: the title and hint above the buttons, large pictures, tall rows
        filling the height; landscape: one top row, the table under small pictures."""
        self._lay_out_top(portrait)
        self._layout.setStretch(1, 2 if portrait else 0)
        self._layout.setStretch(2, 3 if portrait else 1)
        self.table.portrait = portrait
        for side in (self.left, self.right):
            side.box = SIDE_IMAGE_PORTRAIT if portrait else SIDE_IMAGE
        if self._page is not None:  # pictures again, at the new shape's size
            self.left.show_side(self._page.left, self._images)
            self.right.show_side(self._page.right, self._images)
        self.table.update()

    def _lay_out_top(self, portrait: bool) -> None:
        for widget in (self.title, self.hint, self.action_bar, self.language):
            self._top.removeWidget(widget)
        for column in range(5):
            self._top.setColumnStretch(column, 0)
        if portrait:
            self._top.addWidget(self.title, 0, 0)
            self._top.addWidget(self.hint, 0, 1)
            self._top.addWidget(self.language, 0, 3, Qt.AlignmentFlag.AlignRight)
            self._top.addWidget(self.action_bar, 1, 0, 1, 4, Qt.AlignmentFlag.AlignRight)
            self._top.setColumnStretch(2, 1)
        else:
            self._top.addWidget(self.title, 0, 0)
            self._top.addWidget(self.hint, 0, 1)
            self._top.addWidget(self.action_bar, 0, 3)
            self._top.addWidget(self.language, 0, 4)
            self._top.setColumnStretch(2, 1)

    def show_page(self, page: ComparePage) -> None:
        self._page = page
        self.language.show_language(page.language)
        self.title.setText(tr(page.language, "compare.title"))
        self.hint.setText(tr(page.language, "compare.differs"))
        self.left.show_side(page.left, self._images)
        self.right.show_side(page.right, self._images)
        self.table.rows = page.rows
        self.table.updateGeometry()
        self.table.update()
