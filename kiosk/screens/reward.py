"""After a survey, at the prize draw, after a fob: a message, the draw, or the coupon.

The coupon's QR is drawn 520 px square on a 1920x1080 panel (about 14 cm on a
24-inch screen): a phone photographing it from arm's length still decodes it,
and the code under it is large enough to copy by hand.
"""

from __future__ import annotations

from typing import Final

from PySide6.QtCore import (
    QEasingCurve,
    QRectF,
    QSize,
    Qt,
    QVariantAnimation,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QBoxLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from kiosk import theme
from kiosk.i18n import tr
from kiosk.images import ImageCache
from kiosk.pages import CouponPage, DrawPage, MessagePage, PrizeCard
from kiosk.qr import qr_image
from kiosk.screens.common import ImageView, LanguageButton, Screen, button, label

QR_SIZE: Final = 520
PRIZE_PICTURE: Final = QSize(480, 320)  # decoded at the size the tiles show it
# The highlight's run over the prizes; the session holds the result back a little
# longer (SessionConfig.draw_suspense, 1.6 s), so the run ends before the result shows.
DRAW_ANIMATION_MS: Final = 1500
PRIZE_COLUMNS: Final = {False: 4, True: 2}  # landscape, portrait


class MessageScreen(Screen):
    """A title, a line, and a next step to press when there is one."""

    join_requested = Signal()
    closed = Signal()
    language_chosen = Signal(object)  # Language

    def __init__(self) -> None:
        super().__init__()
        self._action = ""
        self.title = label(role="title", wrap=True)
        self.title.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.body = label(role="body", wrap=True)
        self.body.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.language = LanguageButton()
        self.language.chosen.connect(self.language_chosen)
        self.action = button("", "big")
        self.action.clicked.connect(self._pressed)  # the page's next step
        self.close_button = button("", "secondary")
        self.close_button.clicked.connect(self.closed)
        top = QHBoxLayout()
        top.addStretch(1)
        top.addWidget(self.language)
        top.addWidget(self.close_button)
        self._layout = QVBoxLayout(self)
        self._layout.addLayout(top)
        self._layout.addStretch(1)
        self._layout.addWidget(self.title)
        self._layout.addSpacing(24)
        self._layout.addWidget(self.body)
        self._layout.addSpacing(64)
        self._layout.addWidget(self.action, 0, Qt.AlignmentFlag.AlignHCenter)
        self._layout.addStretch(2)
        self.set_portrait(False)

    def set_portrait(self, portrait: bool) -> None:
        margin = 64 if portrait else 96
        self._layout.setContentsMargins(margin, 24, margin, 64)

    def show_page(self, page: MessagePage) -> None:
        self._action = page.action
        self.language.show_language(page.language)
        self.title.setText(page.title)
        self.body.setText(page.body)
        self.action.setVisible(page.button is not None)
        self.action.setText(page.button or "")
        self.close_button.setText(tr(page.language, "action.close"))

    def _pressed(self) -> None:
        if self._action == "join":
            self.join_requested.emit()


class PrizeTile(QWidget):
    """A prize: its picture (or a ticket with its value), its name and its chance.

    Painted, with the draw's highlight as a thick accent ring: no style sheet
    change per frame of the animation."""

    def __init__(self, images: ImageCache) -> None:
        super().__init__()
        self._images = images
        self._lit = False
        self._value = ""
        self.picture = ImageView(PRIZE_PICTURE)
        self.picture.setMinimumSize(160, 120)
        # One line: a wrapping label would make the scroll area size the prizes to their
        # preferred height (height-for-width) and hide their names below the fold.
        self.name = label(role="section")
        self.odds = label(role="hint")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 24)
        layout.setSpacing(10)
        layout.addWidget(self.picture, 1)
        layout.addWidget(self.name)
        layout.addWidget(self.odds)

    def show_prize(self, prize: PrizeCard) -> None:
        self.name.setText(prize.name)
        self.odds.setText(prize.odds)
        self._value = prize.value
        if prize.image is not None:
            self.picture.set_image(self._images.get(prize.image, PRIZE_PICTURE))
        else:
            self.picture.set_image(_ticket(prize.value))
        self.update()

    def set_lit(self, lit: bool) -> None:
        if lit != self._lit:
            self._lit = lit
            self.update()

    @property
    def lit(self) -> bool:
        return self._lit

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        ring = 6.0
        box = QRectF(self.rect()).adjusted(ring / 2, ring / 2, -ring / 2, -ring / 2)
        painter.setBrush(theme.ACCENT_SOFT if self._lit else theme.SURFACE)
        painter.setPen(QPen(theme.ACCENT, ring) if self._lit else Qt.PenStyle.NoPen)
        painter.drawRoundedRect(box, 28, 28)


def _ticket(value: str) -> QImage:
    """A coupon ticket showing what the prize is worth, for a prize without a picture."""
    image = QImage(PRIZE_PICTURE, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    box = QRectF(8, 8, PRIZE_PICTURE.width() - 16, PRIZE_PICTURE.height() - 16)
    painter.setBrush(theme.ACCENT)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawRoundedRect(box, 32, 32)
    # The ticket's two notches and its perforation.
    painter.setBrush(theme.SURFACE)
    notch = 26.0
    for x in (box.left(), box.right()):
        painter.drawEllipse(QRectF(x - notch, box.center().y() - notch, 2 * notch, 2 * notch))
    dashes = QPen(QColor(255, 255, 255, 150), 4, Qt.PenStyle.DashLine)
    painter.setPen(dashes)
    cut = box.left() + box.width() * 0.26
    painter.drawLine(int(cut), int(box.top() + 16), int(cut), int(box.bottom() - 16))
    font = QFont(theme.FONT_FAMILIES[0])
    font.setPixelSize(96 if len(value) <= 5 else 64)
    font.setWeight(QFont.Weight.Bold)
    painter.setFont(font)
    painter.setPen(theme.SURFACE)
    text_box = QRectF(cut, box.top(), box.right() - cut, box.height())
    painter.drawText(text_box, Qt.AlignmentFlag.AlignCenter, value)
    painter.end()
    return image


class DrawScreen(Screen):
    """The prize draw: prizes with their pictures and chances, the rules, the button;
    then a short highlight running over the prizes (a tap skips it); then the result
    and what to do next. A member who has had today's draw is told before any button."""

    pressed = Signal()  # draw
    skipped = Signal()
    feedback_chosen = Signal(str)  # survey id: the next step after a loss
    closed = Signal()
    language_chosen = Signal(object)  # Language

    def __init__(self, images: ImageCache) -> None:
        super().__init__()
        self._images = images
        self._page: DrawPage | None = None
        self._portrait = False
        self._next: tuple[str, str] | None = None
        self.heading = label(role="brand")
        self.language = LanguageButton()
        self.language.chosen.connect(self.language_chosen)
        self.close_button = button("", "secondary")
        self.close_button.clicked.connect(self.closed)
        top = QHBoxLayout()
        top.addWidget(self.heading)
        top.addStretch(1)
        top.addWidget(self.language)
        top.addWidget(self.close_button)

        self.title = label(role="title", wrap=True)
        self.prizes_title = label(role="section")
        self.tiles: list[PrizeTile] = []
        # A draw may have up to 20 prizes: beyond what the screen holds, they scroll.
        holder = QWidget()
        self._grid = QGridLayout(holder)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(24)
        self.prize_area = QScrollArea()
        self.prize_area.setWidgetResizable(True)
        self.prize_area.setFrameShape(QFrame.Shape.NoFrame)
        self.prize_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.prize_area.setStyleSheet(
            "QScrollArea, QScrollArea > QWidget > QWidget { background: transparent; }"
        )
        self.prize_area.setWidget(holder)
        self.rules_title = label(role="section")
        self.rules = label(role="hint", wrap=True)

        self.message = label(role="section", wrap=True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.next_step = label(role="hint", wrap=True)
        self.next_step.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.action = button("", "big")
        self.action.clicked.connect(self.pressed)
        self.next_button = button("", "primary")
        self.next_button.clicked.connect(self._next_chosen)
        self.hint = label(role="hint")  # "drawing…  tap to skip"
        self.hint.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.action)
        buttons.addWidget(self.next_button)
        buttons.addStretch(1)
        finale = QVBoxLayout()
        finale.setSpacing(16)
        finale.addWidget(self.message)
        finale.addWidget(self.next_step)
        finale.addWidget(self.hint)
        finale.addLayout(buttons)

        rules = QVBoxLayout()
        rules.setSpacing(8)
        rules.addWidget(self.rules_title)
        rules.addWidget(self.rules)
        self._middle = QBoxLayout(QBoxLayout.Direction.TopToBottom)
        self._middle.setSpacing(24)
        self._middle.addWidget(self.prizes_title)
        self._middle.addWidget(self.prize_area, 1)
        self._middle.addLayout(rules)

        self._layout = QVBoxLayout(self)
        self._layout.setSpacing(20)
        self._layout.addLayout(top)
        self._layout.addWidget(self.title)
        self._layout.addLayout(self._middle, 1)
        self._layout.addSpacing(8)
        self._layout.addLayout(finale)

        self._run = QVariantAnimation(self)
        self._run.setDuration(DRAW_ANIMATION_MS)
        # Fast, then slowing to a stop: the wheel of fortune's calm cousin.
        self._run.setEasingCurve(QEasingCurve.Type.OutCubic)
        self._run.valueChanged.connect(self._light)
        self.set_portrait(False)

    def set_portrait(self, portrait: bool) -> None:
        self._portrait = portrait
        margin = 64 if portrait else 96
        self._layout.setContentsMargins(margin, 24, margin, 48)
        self._place_tiles()

    def show_page(self, page: DrawPage) -> None:
        previous, self._page = self._page, page
        language = page.language
        self.language.show_language(language)
        self.heading.setText(tr(language, "draw.title").upper())
        self.close_button.setText(page.close)
        self.title.setText(page.title)
        self.prizes_title.setText(tr(language, "draw.prizes"))
        self.rules_title.setText(tr(language, "draw.rules"))
        self.rules.setText("\n".join(f"·  {line}" for line in page.rules))
        if len(self.tiles) != len(page.prizes):
            self._make_tiles(len(page.prizes))
        for tile, prize in zip(self.tiles, page.prizes, strict=True):
            tile.show_prize(prize)
        self._keep_a_row_in_view()
        self.action.setVisible(page.button is not None)
        self.action.setText(page.button or "")
        self.message.setVisible(page.message is not None)
        self.message.setText(page.message or "")
        self.next_step.setVisible(page.next_step is not None)
        self.next_step.setText(page.next_step or "")
        self._next = None if page.next_action is None else page.next_action[:2]
        self.next_button.setVisible(page.next_action is not None)
        self.next_button.setText("" if page.next_action is None else page.next_action[2])
        self.hint.setVisible(page.drawing)
        self.hint.setText(f"{tr(language, 'draw.drawing')}   {tr(language, 'draw.skip')}")
        if page.drawing and not (previous is not None and previous.drawing):
            self._start_run()
        elif not page.drawing:
            self._run.stop()
            for tile in self.tiles:
                tile.set_lit(False)

    @property
    def animating(self) -> bool:
        return self._run.state() is QVariantAnimation.State.Running

    def _start_run(self) -> None:
        if not self.tiles:
            return
        # Three times round and a little more: every prize gets its moment.
        self._run.setStartValue(0)
        self._run.setEndValue(3 * len(self.tiles) + len(self.tiles) // 2)
        self._run.start()

    def _light(self, value: object) -> None:
        if not self.tiles or not isinstance(value, int):
            return
        lit = value % len(self.tiles)
        for index, tile in enumerate(self.tiles):
            tile.set_lit(index == lit)

    def _make_tiles(self, count: int) -> None:
        for tile in self.tiles:
            self._grid.removeWidget(tile)
            tile.deleteLater()
        self.tiles = [PrizeTile(self._images) for _ in range(count)]
        self._place_tiles()

    def _place_tiles(self) -> None:
        columns = min(PRIZE_COLUMNS[self._portrait], max(1, len(self.tiles)))
        for index, tile in enumerate(self.tiles):
            self._grid.removeWidget(tile)
            self._grid.addWidget(tile, index // columns, index % columns)
        for column in range(max(PRIZE_COLUMNS.values())):
            self._grid.setColumnStretch(column, 1 if column < columns else 0)
        self._keep_a_row_in_view()

    def _keep_a_row_in_view(self) -> None:
        """The area shows at least one whole row of prizes; the rest scroll."""
        for tile in self.tiles:
            tile.ensurePolished()  # the style sheet's type sizes decide the tile's height
        row = max((tile.minimumSizeHint().height() for tile in self.tiles), default=0)
        self.prize_area.setMinimumHeight(row)

    def showEvent(self, event: QShowEvent) -> None:
        self._keep_a_row_in_view()
        super().showEvent(event)

    def _next_chosen(self) -> None:
        if self._next is not None and self._next[0] == "feedback":
            self.feedback_chosen.emit(self._next[1])

    def mousePressEvent(self, event: QMouseEvent) -> None:
        # Anywhere on the screen: the moment is the shopper's to cut short.
        if self._page is not None and self._page.drawing:
            self.skipped.emit()
        super().mousePressEvent(event)


class CouponScreen(Screen):
    """A coupon's code and QR. A member offer's coupon also offers "send to my phone"
    and, while the receipt printer is ready, "print"; each says what happened."""

    closed = Signal()
    language_chosen = Signal(object)  # Language
    text_asked = Signal()  # "send to my phone"
    print_asked = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._code = ""
        self.heading = label(role="section")
        self.language = LanguageButton()
        self.language.chosen.connect(self.language_chosen)
        self.done = button("", "primary")
        self.done.clicked.connect(self.closed)
        top = QHBoxLayout()
        top.addWidget(self.heading)
        top.addStretch(1)
        top.addWidget(self.language)
        top.addWidget(self.done)

        self.value = label(role="value")
        self.title = label(role="title", wrap=True)
        self.terms = label(role="subtitle", wrap=True)
        self.expires = label(role="section")
        self.how = label(role="hint", wrap=True)
        self.send = button("", "action")
        self.send.clicked.connect(self.text_asked)
        self.print = button("", "secondary")
        self.print.clicked.connect(self.print_asked)
        self.phone_note = label(role="delivery-note", wrap=True)
        self.print_note = label(role="delivery-note", wrap=True)
        delivery = QHBoxLayout()
        delivery.setSpacing(20)
        delivery.addWidget(self.send)
        delivery.addWidget(self.print)
        delivery.addStretch(1)
        details = QVBoxLayout()
        details.setSpacing(16)
        details.addStretch(1)
        details.addWidget(self.value)
        details.addWidget(self.title)
        details.addWidget(self.terms)
        details.addSpacing(24)
        details.addWidget(self.expires)
        details.addWidget(self.how)
        details.addSpacing(16)
        details.addLayout(delivery)
        details.addWidget(self.phone_note)
        details.addWidget(self.print_note)
        details.addStretch(1)

        self.panel = QFrame()
        self.panel.setProperty("role", "panel")
        self.qr = ImageView(QSize(QR_SIZE, QR_SIZE))
        self.qr.setFixedSize(QR_SIZE, QR_SIZE)
        self.code = label(role="code")
        self.code.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        column = QVBoxLayout(self.panel)
        column.setContentsMargins(48, 48, 48, 40)
        column.setSpacing(24)
        column.addWidget(self.qr, 0, Qt.AlignmentFlag.AlignHCenter)
        column.addWidget(self.code, 0, Qt.AlignmentFlag.AlignHCenter)

        self._body = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        self._body.setSpacing(96)
        self._body.addLayout(details, 1)
        self._body.addWidget(self.panel, 0, Qt.AlignmentFlag.AlignCenter)
        self._layout = QVBoxLayout(self)
        self._layout.addLayout(top)
        self._layout.addLayout(self._body, 1)
        self.set_portrait(False)

    def set_portrait(self, portrait: bool) -> None:
        """Portrait: the code on top, where a phone held up meets it, the details below."""
        if portrait:
            self._layout.setContentsMargins(64, 24, 64, 64)
            self._body.setDirection(QBoxLayout.Direction.BottomToTop)
            self._body.setSpacing(48)
        else:
            self._layout.setContentsMargins(96, 24, 96, 64)
            self._body.setDirection(QBoxLayout.Direction.LeftToRight)
            self._body.setSpacing(96)

    def show_page(self, page: CouponPage) -> None:
        self.language.show_language(page.language)
        self.heading.setText(page.heading)
        self.done.setText(tr(page.language, "action.done"))
        self.value.setText(page.value)
        self.title.setText(page.title)
        self.terms.setText(page.terms)
        self.expires.setText(page.expires)
        self.how.setText(page.how)
        delivery = page.delivery
        for widget, text in (
            (self.send, None if delivery is None else delivery.phone),
            (self.print, None if delivery is None else delivery.print),
            (self.phone_note, None if delivery is None else delivery.phone_note),
            (self.print_note, None if delivery is None else delivery.print_note),
        ):
            widget.setVisible(text is not None)
            widget.setText(text or "")
        self.send.setEnabled(delivery is not None and delivery.phone_enabled)
        self.print.setEnabled(delivery is not None and delivery.print_enabled)
        if page.code != self._code:
            self._code = page.code
            self.code.setText(page.code)
            # The QR holds the code without hyphens: alphanumeric mode, fewer modules.
            self.qr.set_image(qr_image(page.code.replace("-", ""), size=QR_SIZE))

    def wipe(self) -> None:
        self._code = ""
        self.code.setText("")
        self.qr.set_image(qr_image("", size=8))
