"""The till: a field that always has the keyboard focus, so a USB barcode scanner (a
keyboard to the computer) types the shopper's code and its Enter without anyone
tapping first; the result in a big panel; this shift's redemptions beside it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from PySide6.QtCore import Qt, QTime, QTimer, Signal
from PySide6.QtGui import QFocusEvent, QShowEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from content.model import Language
from kiosk.attendant.till import HERE, TillOutcome, TillResult
from kiosk.attendant.words import say
from kiosk.screens.common import label

RECENT_SHOWN: Final = 50
_ROLE_OF: Final = {
    TillOutcome.REDEEMED: "result-ok",
    TillOutcome.ALREADY: "result-warn",
}


class ScanField(QLineEdit):
    """Takes the focus back whenever it loses it while its page is on screen."""

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        QTimer.singleShot(0, self._refocus)

    def _refocus(self) -> None:
        if self.isVisible() and self.window().isActiveWindow() is not False:
            self.setFocus(Qt.FocusReason.OtherFocusReason)


class TillPage(QWidget):
    code_entered = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("Page")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.language = Language.ZH_CN
        self.title = label(role="title")
        self.hint = label(role="hint", wrap=True)
        self.scan = ScanField()
        self.scan.setProperty("role", "scan")
        self.scan.setMaxLength(64)
        self.scan.returnPressed.connect(self._entered)
        self.redeem = QPushButton()
        self.redeem.setProperty("role", "primary")
        self.redeem.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.redeem.clicked.connect(self._entered)
        entry = QHBoxLayout()
        entry.setSpacing(12)
        entry.addWidget(self.scan, 1)
        entry.addWidget(self.redeem)

        self.result = QFrame()
        self.result.setProperty("role", "result-idle")
        self.result_title = label(role="result-title")
        self.result_body = label(role="result-body", wrap=True)
        self.result_body.setTextFormat(Qt.TextFormat.PlainText)
        inner = QVBoxLayout(self.result)
        inner.setContentsMargins(32, 28, 32, 28)
        inner.setSpacing(10)
        inner.addWidget(self.result_title)
        inner.addWidget(self.result_body)
        inner.addStretch(1)

        left = QVBoxLayout()
        left.setSpacing(16)
        left.addWidget(self.title)
        left.addWidget(self.hint)
        left.addLayout(entry)
        left.addWidget(self.result, 1)

        self.recent_title = label(role="section")
        self.recent = QListWidget()
        self.recent.setProperty("role", "list")
        self.recent.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.recent.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.recent.setWordWrap(True)
        right = QVBoxLayout()
        right.addWidget(self.recent_title)
        right.addWidget(self.recent, 1)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 24)
        layout.setSpacing(28)
        layout.addLayout(left, 3)
        layout.addLayout(right, 2)
        self.last: TillResult | None = None
        self._retranslate()
        self.show_idle()

    def set_language(self, language: Language) -> None:
        self.language = language
        self._retranslate()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.scan.setFocus(Qt.FocusReason.OtherFocusReason)

    def _entered(self) -> None:
        text = self.scan.text().strip()
        self.scan.clear()
        if text:
            self.show_checking()
            self.code_entered.emit(text)

    def show_idle(self) -> None:
        self._panel(
            "result-idle", say(self.language, "till.idle"), say(self.language, "till.idle_body")
        )

    def show_checking(self) -> None:
        self._panel("result-idle", say(self.language, "till.checking"), "")

    def show_result(
        self,
        result: TillResult,
        name_of: Callable[[str], str],
        kiosk_name: Callable[[str], str] = str,
    ) -> None:
        self.last = result
        language = self.language
        code = result.code
        if result.outcome is TillOutcome.REDEEMED and code is not None:
            title = say(language, "till.redeemed")
            body = say(
                language,
                "till.redeemed_body",
                code=code.text,
                campaign=code.campaign_no,
                expires=code.expires_on.isoformat(),
            )
            if result.offline:
                body += "\n" + say(language, "till.offline")
        elif result.outcome is TillOutcome.ALREADY:
            title = say(language, "till.already")
            where = (
                say(language, "till.here")
                if result.where == HERE
                else kiosk_name(result.where or "?")
            )
            when = "?" if result.at is None else result.at.astimezone().strftime("%m-%d %H:%M")
            body = say(
                language,
                "till.already_body",
                when=when,
                by=name_of(result.by) if result.by else "?",
                where=where,
            )
        elif result.outcome is TillOutcome.EXPIRED and code is None:
            title, body = say(language, "till.expired"), ""
        else:
            title = say(language, f"till.{result.outcome.value}")
            body = say(language, f"till.{result.outcome.value}_body")
        self._panel(_ROLE_OF.get(result.outcome, "result-bad"), title, body)
        stamp = QTime.currentTime().toString("HH:mm:ss")
        tail = "" if code is None else f" · …{code.text[-4:]}"
        self.recent.insertItem(0, f"{stamp}  {title}{tail}")
        surplus = self.recent.count() - RECENT_SHOWN
        if surplus > 0:  # the model deletes its rows; takeItem() would leak each item
            self.recent.model().removeRows(RECENT_SHOWN, surplus)

    def _panel(self, role: str, title: str, body: str) -> None:
        self.result.setProperty("role", role)
        self.result.style().unpolish(self.result)
        self.result.style().polish(self.result)
        self.result_title.setText(title)
        self.result_body.setText(body)
        self.result_body.setVisible(bool(body))

    def _retranslate(self) -> None:
        language = self.language
        self.title.setText(say(language, "till.title"))
        self.hint.setText(say(language, "till.hint"))
        self.scan.setPlaceholderText(say(language, "till.placeholder"))
        self.redeem.setText(say(language, "till.redeem"))
        self.recent_title.setText(say(language, "till.recent"))
