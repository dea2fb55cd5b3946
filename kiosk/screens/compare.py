"""Two phones side by side; rows that differ are tinted and the better value stands out."""

from __future__ import annotations

from typing import Final

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QFont, QPainter, QPaintEvent
from PySide6.QtWidgets import QHBoxLayout, QSizePolicy, QVBoxLayout, QWidget

from kiosk import theme
from kiosk.i18n import tr
from kiosk.images import ImageCache
from kiosk.pages import ComparePage, CompareSide
from kiosk.screens.common import ActionBar, ImageView, LanguageButton, Screen, label
from kiosk.specs import CompareRow

SIDE_IMAGE: Final = QSize(260, 220)
# Column shares of the width: spec name, left phone, right phone (header uses the same).
COLUMNS: Final = (22, 39, 39)
ROW_HEIGHT: Final = 48


class _CompareTable(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.rows: tuple[tuple[str, CompareRow], ...] = ()
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
        row_h = min(ROW_HEIGHT * 1.0, self.height() / max(1, len(self.rows)))
        base = QFont(self.font())
        base.setPixelSize(26)
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
                painter.drawText(rect, align, text)


class _SideHeader(QWidget):
    def __init__(self) -> None:
        super().__init__()
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
        self.image.set_image(images.get(side.image, SIDE_IMAGE))
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
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addSpacing(24)
        top.addWidget(self.hint)
        top.addStretch(1)
        top.addWidget(self.action_bar)
        top.addSpacing(16)
        top.addWidget(self.language)

        self.left = _SideHeader()
        self.right = _SideHeader()
        header = QHBoxLayout()
        header.setSpacing(0)
        header.addStretch(COLUMNS[0])
        header.addWidget(self.left, COLUMNS[1])
        header.addWidget(self.right, COLUMNS[2])

        self.table = _CompareTable()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(60, 32, 60, 32)
        layout.setSpacing(16)
        layout.addLayout(top)
        layout.addLayout(header)
        layout.addWidget(self.table, 1)

    def show_page(self, page: ComparePage) -> None:
        self.language.show_language(page.language)
        self.title.setText(tr(page.language, "compare.title"))
        self.hint.setText(tr(page.language, "compare.differs"))
        self.left.show_side(page.left, self._images)
        self.right.show_side(page.right, self._images)
        self.table.rows = page.rows
        self.table.updateGeometry()
        self.table.update()
