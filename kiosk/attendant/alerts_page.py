"""The alerts page: open alerts as big cards with their acknowledge button, oldest
waiting time shown, and the latest acknowledged ones with who took them and how long
the alert waited."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from content.model import Language
from kiosk.attendant.model import Alert, AttendantState
from kiosk.attendant.words import PLAIN, Names, alert_line, say
from kiosk.screens.common import label, scrolling_column

DONE_SHOWN: Final = 30


class AlertCard(QFrame):
    acknowledge = Signal(str)

    def __init__(
        self,
        alert: Alert,
        language: Language,
        now: float,
        who: str | None,
        names: Names = PLAIN,
    ) -> None:
        super().__init__()
        self.alert_id = alert.id
        self.setProperty("role", "card-alert" if alert.open else "card-done")
        self.title = title = label(
            alert_line(alert, language, names), "card-alert-title" if alert.open else "card-title"
        )
        title.setTextFormat(Qt.TextFormat.PlainText)
        title.setWordWrap(True)
        if alert.acknowledged is None:
            waited = say(language, "alerts.waiting", seconds=max(0, round(now - alert.raised)))
        else:
            waited = say(
                language,
                "alerts.acked",
                who=who or alert.acknowledged.by,
                seconds=round(alert.acknowledged.after_s),
            )
        self.note = label(waited, "small")
        column = QVBoxLayout()
        column.setSpacing(4)
        column.addWidget(title)
        column.addWidget(self.note)
        row = QHBoxLayout(self)
        row.setContentsMargins(20, 14, 20, 14)
        row.addLayout(column, 1)
        self.button: QPushButton | None = None
        if alert.open:
            self.button = QPushButton(say(language, "attendant.acknowledge"))
            self.button.setProperty("role", "primary")
            self.button.clicked.connect(lambda: self.acknowledge.emit(self.alert_id))
            row.addWidget(self.button)


class AlertsPage(QWidget):
    acknowledge_requested = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("Page")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.open_title = label(role="section")
        self.done_title = label(role="section")
        self.none_open = label(role="hint")
        self.none_done = label(role="hint")
        self.cards: list[AlertCard] = []
        self._open_box = QVBoxLayout()
        self._open_box.setSpacing(12)
        self._done_box = QVBoxLayout()
        self._done_box.setSpacing(8)
        self._shown: tuple[object, ...] | None = None
        layout = QHBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 20)
        layout.setSpacing(24)
        layout.addWidget(self._column(self.open_title, self._open_box, self.none_open), 3)
        layout.addWidget(self._column(self.done_title, self._done_box, self.none_done), 2)

    @staticmethod
    def _column(title: QWidget, box: QVBoxLayout, empty: QWidget) -> QWidget:
        scroll = scrolling_column(box, empty)
        column = QWidget()
        outer = QVBoxLayout(column)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(title)
        outer.addWidget(scroll, 1)
        return column

    def show_state(
        self,
        state: AttendantState,
        language: Language,
        now: float,
        name_of: Callable[[str], str | None],
        *,
        names: Names = PLAIN,
        names_version: int = 0,
    ) -> None:
        """`names` name kiosks and surveys; a new `names_version` (a catalog arrived)
        redraws the cards with the names."""
        done = tuple(alert for alert in state.alerts if not alert.open)[:DONE_SHOWN]
        opened = state.open_alerts()
        # Waiting times age: redrawn on every sweep, but a store has a handful open.
        shown = (opened, done, language, round(now / 5), names_version)
        if shown == self._shown:
            return
        self._shown = shown
        self.open_title.setText(f"{say(language, 'alerts.open')} · {len(opened)}")
        self.done_title.setText(say(language, "alerts.done"))
        self.none_open.setText(say(language, "attendant.no_alerts"))
        self.none_done.setText(say(language, "alerts.none_done"))
        for card in self.cards:
            card.setParent(None)
            card.deleteLater()
        self.cards = []
        for alert in opened:
            card = AlertCard(alert, language, now, None, names)
            card.acknowledge.connect(self.acknowledge_requested)
            self._open_box.addWidget(card)
            self.cards.append(card)
        for alert in done:
            who = name_of(alert.acknowledged.by) if alert.acknowledged else None
            card = AlertCard(alert, language, now, who, names)
            self._done_box.addWidget(card)
            self.cards.append(card)
        self.none_open.setVisible(not opened)
        self.none_done.setVisible(not done)
