"""After a survey or at the prize draw: a message, or the coupon with its QR code.

The coupon's QR is drawn 520 px square on a 1920x1080 panel (about 14 cm on a
24-inch screen): a phone photographing it from arm's length still decodes it,
and the code under it is large enough to copy by hand.
"""

from __future__ import annotations

from typing import Final

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QVBoxLayout

from kiosk.i18n import tr
from kiosk.pages import CouponPage, MessagePage
from kiosk.qr import qr_image
from kiosk.screens.common import ImageView, LanguageButton, Screen, button, label

QR_SIZE: Final = 520


class MessageScreen(Screen):
    """A title, a line, and the draw's button while it can be pressed."""

    pressed = Signal()
    closed = Signal()
    language_chosen = Signal(object)  # Language

    def __init__(self) -> None:
        super().__init__()
        self.title = label(role="title", wrap=True)
        self.body = label(role="body", wrap=True)
        self.language = LanguageButton()
        self.language.chosen.connect(self.language_chosen)
        self.action = button("", "big")
        self.action.clicked.connect(self.pressed)
        self.close_button = button("", "secondary")
        self.close_button.clicked.connect(self.closed)
        top = QHBoxLayout()
        top.addStretch(1)
        top.addWidget(self.language)
        top.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(96, 24, 96, 64)
        layout.addLayout(top)
        layout.addStretch(1)
        layout.addWidget(self.title, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addSpacing(24)
        layout.addWidget(self.body, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addSpacing(64)
        layout.addWidget(self.action, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)

    def show_page(self, page: MessagePage) -> None:
        self.language.show_language(page.language)
        self.title.setText(page.title)
        self.body.setText(page.body)
        self.action.setVisible(page.button is not None)
        self.action.setText(page.button or "")
        self.close_button.setText(tr(page.language, "action.close"))


class CouponScreen(Screen):
    closed = Signal()
    language_chosen = Signal(object)  # Language

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
        details = QVBoxLayout()
        details.setSpacing(16)
        details.addStretch(1)
        details.addWidget(self.value)
        details.addWidget(self.title)
        details.addWidget(self.terms)
        details.addSpacing(24)
        details.addWidget(self.expires)
        details.addWidget(self.how)
        details.addStretch(1)

        panel = QFrame()
        panel.setProperty("role", "panel")
        self.qr = ImageView(QSize(QR_SIZE, QR_SIZE))
        self.qr.setFixedSize(QR_SIZE, QR_SIZE)
        self.code = label(role="code")
        self.code.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        column = QVBoxLayout(panel)
        column.setContentsMargins(48, 48, 48, 40)
        column.setSpacing(24)
        column.addWidget(self.qr, 0, Qt.AlignmentFlag.AlignHCenter)
        column.addWidget(self.code, 0, Qt.AlignmentFlag.AlignHCenter)

        body = QHBoxLayout()
        body.setSpacing(96)
        body.addLayout(details, 1)
        body.addWidget(panel, 0, Qt.AlignmentFlag.AlignVCenter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(96, 24, 96, 64)
        layout.addLayout(top)
        layout.addLayout(body, 1)

    def show_page(self, page: CouponPage) -> None:
        self.language.show_language(page.language)
        self.heading.setText(page.heading)
        self.done.setText(tr(page.language, "action.done"))
        self.value.setText(page.value)
        self.title.setText(page.title)
        self.terms.setText(page.terms)
        self.expires.setText(page.expires)
        self.how.setText(page.how)
        if page.code != self._code:
            self._code = page.code
            self.code.setText(page.code)
            # The QR holds the code without hyphens: alphanumeric mode, fewer modules.
            self.qr.set_image(qr_image(page.code.replace("-", ""), size=QR_SIZE))

    def wipe(self) -> None:
        self._code = ""
        self.code.setText("")
        self.qr.set_image(qr_image("", size=8))
