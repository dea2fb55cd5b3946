"""The attendant's first screen: the live feed beside the open alerts and kiosk health.

Sized for a 1280x800 staff tablet held at arm's length; the kiosk's palette from
kiosk/theme.py, alerts in its accent. The screen draws an `AttendantState` and
emits what staff tapped; `AttendantDesk` decides what happens next.
"""

from __future__ import annotations

from typing import Final

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from content.model import Language
from kiosk.attendant.model import FEED_KINDS, Alert, AttendantState, FeedEntry, visible_feed
from kiosk.attendant.words import (
    PLAIN,
    Names,
    alert_line,
    feed_line,
    health_line,
    say,
)
from kiosk.screens.common import label
from kiosk.theme import ACCENT, ACCENT_SOFT, BACKGROUND, GOOD, INK, INK_SOFT, LINE, SURFACE

SCREEN_SIZE: Final = (1280, 800)
_KIND_COLOURS: Final[dict[str, QColor]] = {
    "member_arrived": GOOD,
    "signup": GOOD,
    "ack": INK_SOFT,
    "heartbeat": INK_SOFT,
    "planogram": INK_SOFT,
}
# The feed list shows what fits a long scroll; the model keeps its own bound.
FEED_ROWS_SHOWN: Final = 300

STYLE_SHEET: Final = f"""
QWidget {{ color: {INK.name()}; font-size: 18px; }}
#AttendantScreen {{ background: {BACKGROUND.name()}; }}
QLabel[role="section"] {{ font-size: 24px; font-weight: 700; }}
QLabel[role="hint"] {{ color: {INK_SOFT.name()}; font-size: 18px; }}
QListWidget[role="feed"] {{ background: {SURFACE.name()}; border: 1px solid {LINE.name()};
    border-radius: 16px; padding: 8px; }}
QListWidget[role="feed"]::item {{ min-height: 40px; border-bottom: 1px solid {LINE.name()}; }}
QFrame[role="alert"] {{ background: {ACCENT_SOFT.name()}; border: 2px solid {ACCENT.name()};
    border-radius: 16px; }}
QLabel[role="alert-text"] {{ color: {ACCENT.name()}; font-size: 20px; font-weight: 700; }}
QPushButton[role="acknowledge"] {{ background: {ACCENT.name()}; color: {SURFACE.name()};
    border: none; border-radius: 32px; font-size: 20px; font-weight: 700;
    min-height: 64px; min-width: 96px; padding: 0 20px; }}
QPushButton[role="acknowledge"]:pressed {{ background: #B83A0B; }}
QComboBox[role="filter"] {{ background: {SURFACE.name()}; border: 2px solid {LINE.name()};
    border-radius: 12px; font-size: 18px; min-height: 48px; min-width: 160px;
    padding: 0 12px; }}
QScrollArea[role="alerts"], QScrollArea[role="alerts"] > QWidget > QWidget {{
    background: transparent; border: none; }}
"""


class AlertRow(QFrame):
    """One open alert: what and where, and the button that acknowledges it."""

    acknowledge = Signal(str)  # alert id

    def __init__(self, alert: Alert, language: Language, names: Names = PLAIN) -> None:
        super().__init__()
        self.alert_id = alert.id
        self.setProperty("role", "alert")
        self.text = label(alert_line(alert, language, names), role="alert-text", wrap=True)
        self.text.setTextFormat(Qt.TextFormat.PlainText)  # kiosk-sent text is never markup
        self.button = QPushButton(say(language, "attendant.acknowledge"))
        self.button.setProperty("role", "acknowledge")
        self.button.clicked.connect(lambda: self.acknowledge.emit(self.alert_id))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.button)


class AttendantScreen(QWidget):
    acknowledge_requested = Signal(str)  # alert id

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("AttendantScreen")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(STYLE_SHEET)
        self.language = Language.ZH_CN
        self._titled = False
        # What is on screen now, to redraw only what changed.
        self._shown_feed: tuple[FeedEntry, ...] | None = None
        self._feed_view: object = None
        self._shown_alerts: tuple[Alert, ...] | None = None
        self._alerts_names_version = 0
        self._shown_health: list[str] = []
        self._now = 0.0
        self.feed_title = label(role="section")
        self.feed = QListWidget()
        self.feed.setProperty("role", "feed")
        self.feed.setVerticalScrollMode(QListWidget.ScrollMode.ScrollPerPixel)
        self.alerts_title = label(role="section")
        self.no_alerts = label(role="hint")
        self.alert_rows: list[AlertRow] = []
        self._alerts_box = QVBoxLayout()
        self._alerts_box.setSpacing(12)
        scroll = self._alerts_scroll()

        # Filters: one kiosk and/or one kind of event (the first choice of each: all).
        self.kiosk_choice = QComboBox()
        self.kind_choice = QComboBox()
        for choice in (self.kiosk_choice, self.kind_choice):
            choice.setProperty("role", "filter")
            choice.currentIndexChanged.connect(self._refilter)
        self._state: AttendantState | None = None
        self._names: Names = PLAIN
        self._names_version = 0

        heading = QHBoxLayout()
        heading.addWidget(self.feed_title)
        heading.addStretch(1)
        heading.addWidget(self.kiosk_choice)
        heading.addWidget(self.kind_choice)
        left = QVBoxLayout()
        left.addLayout(heading)
        left.addWidget(self.feed, 1)
        self.health_title = label(role="section")
        self.health = QListWidget()
        self.health.setProperty("role", "feed")
        self.health.setWordWrap(True)  # no sideways scrolling on a tablet
        self.health.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.feed.setWordWrap(True)
        self.feed.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        right = QVBoxLayout()
        right.addWidget(self.alerts_title)
        right.addWidget(scroll, 2)
        right.addWidget(self.health_title)
        right.addWidget(self.health, 1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(24, 16, 24, 16)
        layout.setSpacing(24)
        layout.addLayout(left, 3)
        layout.addLayout(right, 2)

    def _alerts_scroll(self) -> QScrollArea:
        """The alert rows, then "no alerts" when there are none, scrolling if many."""
        holder = QWidget()
        column = QVBoxLayout(holder)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(self._alerts_box)
        column.addWidget(self.no_alerts)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setProperty("role", "alerts")
        scroll.setWidgetResizable(True)
        scroll.setWidget(holder)
        return scroll

    def show_state(
        self,
        state: AttendantState,
        language: Language,
        now: float,
        *,
        names: Names = PLAIN,
        names_version: int = 0,
    ) -> None:
        """Redrawn after every message: only what changed is touched, so a busy store
        costs the tablet a few new rows, not a whole list. `now` (monotonic) ages the
        kiosks' last contact. `product` and `staff` name SKUs and staff ids; a new
        `names_version` (a catalog arrived) redraws the feed with the names."""
        self._now = now
        self._names, self._names_version = names, names_version
        self._state = state
        if language != self.language or not self._titled:
            self.language = language
            self._titled = True
            self.feed_title.setText(say(language, "attendant.feed"))
            self.alerts_title.setText(say(language, "attendant.alerts"))
            self.no_alerts.setText(say(language, "attendant.no_alerts"))
            self.health_title.setText(say(language, "attendant.health"))
            self._fill_kinds(language)
            self._shown_feed, self._shown_alerts = None, None
        self._fill_kiosks(state, language)
        kiosk = self.kiosk_choice.currentData()
        kind = self.kind_choice.currentData()
        kinds = None if kind is None else frozenset({kind})
        view = (kiosk, kinds, names_version)
        self._show_feed(visible_feed(state, kiosk, kinds)[:FEED_ROWS_SHOWN], view)
        self._show_alerts(state.open_alerts(), names_version)
        lines = [
            health_line(names.kiosk(k), h, now, language) for k, h in sorted(state.kiosks.items())
        ]
        if lines != self._shown_health:  # a store's worth of short lines: redrawn whole
            self._shown_health = lines
            self.health.clear()
            self.health.addItems(lines)

    def _refilter(self) -> None:
        if self._state is not None:
            self.show_state(
                self._state,
                self.language,
                self._now,
                names=self._names,
                names_version=self._names_version,
            )

    def _fill_kinds(self, language: Language) -> None:
        member = say(language, "attendant.member")
        self._refill(
            self.kind_choice,
            [(say(language, "attendant.all_kinds"), None)]
            + [(say(language, f"attendant.kind.{kind}", who=member), kind) for kind in FEED_KINDS],
        )

    def _fill_kiosks(self, state: AttendantState, language: Language) -> None:
        kiosks = sorted(state.kiosks)
        all_kiosks = say(language, "attendant.all_kiosks")
        offered = [self.kiosk_choice.itemData(n) for n in range(1, self.kiosk_choice.count())]
        if offered == kiosks and self.kiosk_choice.itemText(0) == all_kiosks:
            return  # the usual case: nothing new to offer
        self._refill(
            self.kiosk_choice, [(all_kiosks, None), *((self._names.kiosk(k), k) for k in kiosks)]
        )

    @staticmethod
    def _refill(choice: QComboBox, items: list[tuple[str, str | None]]) -> None:
        """New items, the same choice kept selected."""
        chosen = choice.currentData()
        choice.blockSignals(True)
        choice.clear()
        for text, data in items:
            choice.addItem(text, data)
        choice.setCurrentIndex(max(0, choice.findData(chosen)))
        choice.blockSignals(False)

    def _show_feed(self, entries: tuple[FeedEntry, ...], view: object) -> None:
        shown = self._shown_feed
        # The feed only grows at the top: find the newest row already shown.
        new = next((n for n, entry in enumerate(entries) if shown and entry is shown[0]), None)
        if shown is None or view != self._feed_view or new is None:
            self.feed.clear()
            for entry in entries:
                self.feed.addItem(self._item(entry))
        else:
            for entry in reversed(entries[:new]):
                self.feed.insertItem(0, self._item(entry))
            surplus = self.feed.count() - len(entries)
            if surplus > 0:  # the model deletes its rows; takeItem() would leak each item
                self.feed.model().removeRows(len(entries), surplus)
        self._shown_feed, self._feed_view = entries, view

    def _item(self, entry: FeedEntry) -> QListWidgetItem:
        """A feed row; what raised an alert in the accent, a member's arrival in green."""
        item = QListWidgetItem(feed_line(entry, self.language, self._names))
        colour = _KIND_COLOURS.get(entry.kind)
        if entry.alert_id is not None:
            colour = ACCENT
        if colour is not None:
            item.setForeground(colour)
            if colour is not INK_SOFT:
                font = item.font()
                font.setBold(True)
                item.setFont(font)
        return item

    def _show_alerts(self, alerts: tuple[Alert, ...], names_version: int) -> None:
        if alerts == self._shown_alerts and names_version == self._alerts_names_version:
            return
        # A new language, or names from a catalog: every row is made again.
        retranslate = self._shown_alerts is None or names_version != self._alerts_names_version
        self._shown_alerts, self._alerts_names_version = alerts, names_version
        open_ids = {alert.id for alert in alerts}
        for row in self.alert_rows:
            if retranslate or row.alert_id not in open_ids:
                self._alerts_box.removeWidget(row)
                row.deleteLater()
        kept = [r for r in self.alert_rows if not retranslate and r.alert_id in open_ids]
        shown_ids = {row.alert_id for row in kept}
        # A new alert is always the newest: new rows go on top, in the model's order.
        new_rows = []
        for index, alert in enumerate(a for a in alerts if a.id not in shown_ids):
            row = AlertRow(alert, self.language, self._names)
            row.acknowledge.connect(self.acknowledge_requested)
            self._alerts_box.insertWidget(index, row)
            new_rows.append(row)
        self.alert_rows = new_rows + kept
        self.no_alerts.setVisible(not alerts)
