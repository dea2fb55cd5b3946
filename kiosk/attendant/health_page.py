"""Kiosk health: one row per kiosk of the store. The link (live, reconnecting, key
refused), each device (pickup board, readers, BLE adapter; up, down, reconnecting),
the sync backlog and dead letters, the content release, the update from HQ under way
(a progress bar while it downloads), and the last contact."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QProgressBar,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from content.model import Language
from kiosk.attendant.model import ContentUpdate, DeviceStatus, KioskHealth
from kiosk.attendant.words import device_detail, say
from kiosk.screens.common import label
from kiosk.theme import ACCENT, GOOD, INK

COLUMNS: Final = (
    "health.kiosk",
    "health.link",
    "health.devices",
    "health.sync",
    "health.release",
    "health.contact",
    "health.update",
)
UPDATE_COLUMN: Final = COLUMNS.index("health.update")
UPDATE_WIDTH: Final = 240
ROW_HEIGHT: Final = 64


def device_name(name: str, language: Language) -> str:
    try:
        return say(language, f"device.{name}")
    except KeyError:
        return name


def ago(seconds: float, language: Language) -> str:
    if seconds < 120:
        return say(language, "seconds_ago", seconds=max(0, round(seconds)))
    return say(language, "minutes_ago", minutes=round(seconds / 60))


def health_cells(
    kiosk: str, health: KioskHealth, link: str | None, now: float, language: Language
) -> list[tuple[str, bool | None]]:
    """The row's texts, each with True (good), False (needs a look) or None (neutral)."""
    link_state = link or "connecting"
    devices = [
        (
            say(language, f"attendant.device.{status.status}", device=device_name(name, language))
            + device_detail(status.status, status.detail, language),
            status.status == DeviceStatus.UP,
        )
        for name, status in sorted(health.devices.items())
    ]
    devices_text = "  ".join(text for text, _ in devices) or "—"
    devices_ok = all(ok for _, ok in devices) if devices else None
    if health.faulty(now):
        devices_text = say(language, "attendant.health.faulty", reason=health.fault_reason)
        devices_ok = False
    sync = "—"
    sync_ok: bool | None = None
    if health.backlog is not None:
        sync = f"{health.backlog} / {health.dead_letters}"
        sync_ok = not health.dead_letters and health.backlog < 1000
    contact = (
        say(language, "attendant.health.never")
        if health.last_contact is None
        else ago(now - health.last_contact, language)
    )
    contact_ok = None if health.last_contact is None else now - health.last_contact < 60
    return [
        (kiosk, None),
        (say(language, f"link.{link_state}"), link_state == "live"),
        (devices_text, devices_ok),
        (sync, sync_ok),
        (health.release or "—", None),
        (contact, contact_ok),
    ]


def update_bar(update: ContentUpdate | None, language: Language) -> tuple[str, int | None]:
    """The update column: its text (Qt's %p% is the percentage) and the bar's value
    (None: no bar, only the text, e.g. ready or failed)."""
    if update is None:
        return "—", None
    number = update.number if update.number is not None else "?"
    if update.state == "downloading":
        return say(language, "update.downloading", number=number), update.percent or 0
    if update.state == "failed":
        return say(language, "update.failed", reason=update.reason or "?"), None
    return say(language, "update.ready", number=number), None


class HealthPage(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("Page")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.title = label(role="section")
        self.empty = label(role="hint")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setWordWrap(True)
        self.table.setShowGrid(False)
        header = self.table.horizontalHeader()
        for column in range(len(COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        # Room for "下载版本 12：60%" on one line inside the bar.
        header.setSectionResizeMode(UPDATE_COLUMN, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(UPDATE_COLUMN, UPDATE_WIDTH)
        self.table.verticalHeader().setDefaultSectionSize(ROW_HEIGHT)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 20)
        layout.setSpacing(12)
        layout.addWidget(self.title)
        layout.addWidget(self.empty)
        layout.addWidget(self.table, 1)
        self._shown: object = None

    def show_health(
        self,
        kiosks: Mapping[str, KioskHealth],
        links: Mapping[str, str],
        language: Language,
        now: float,
        kiosk_name: Callable[[str], str] = str,
    ) -> None:
        names = sorted(set(kiosks) | set(links))
        rows = [
            health_cells(
                kiosk_name(name), kiosks.get(name, KioskHealth()), links.get(name), now, language
            )
            for name in names
        ]
        updates = [update_bar(kiosks.get(name, KioskHealth()).update, language) for name in names]
        if (rows, updates, language) == self._shown:
            return
        self._shown = (rows, updates, language)
        self.title.setText(say(language, "attendant.health"))
        self.empty.setText(say(language, "health.none"))
        self.empty.setVisible(not rows)
        self.table.setHorizontalHeaderLabels([say(language, key) for key in COLUMNS])
        self.table.setRowCount(len(rows))
        for r, cells in enumerate(rows):
            for c, (text, ok) in enumerate(cells):
                item = QTableWidgetItem(text)
                colour = INK if ok is None else (GOOD if ok else ACCENT)
                item.setForeground(QColor(colour))
                if c == 0:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.table.setItem(r, c, item)
            self._show_update(r, *updates[r])

    def update_bar(self, row: int) -> QProgressBar | None:
        """The row's download progress bar, while that kiosk downloads a release."""
        widget = self.table.cellWidget(row, UPDATE_COLUMN)
        return widget if isinstance(widget, QProgressBar) else None

    def _show_update(self, row: int, text: str, percent: int | None) -> None:
        if percent is None:
            self.table.removeCellWidget(row, UPDATE_COLUMN)
            self.table.setItem(row, UPDATE_COLUMN, QTableWidgetItem(text))
            return
        self.table.setItem(row, UPDATE_COLUMN, QTableWidgetItem(""))
        bar = self.update_bar(row)
        if bar is None:
            bar = QProgressBar()
            bar.setProperty("role", "update")
            bar.setRange(0, 100)
            self.table.setCellWidget(row, UPDATE_COLUMN, bar)
        bar.setValue(percent)
        bar.setFormat(text)
