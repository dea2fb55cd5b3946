"""HQ's "identify": a calm full-window card naming this kiosk, so staff in a store with
several screens see which one HQ means. Chinese first, then English; it goes by itself
after `IDENTIFY_S` or at a touch. Imported only when HQ asks (kiosk/remote_commands.py).
"""

from __future__ import annotations

from typing import Final

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from kiosk import theme

IDENTIFY_S: Final = 10.0

_STYLE: Final = f"""
#Identify {{ background: {theme.INK.name()}; }}
#Identify QLabel {{ color: {theme.SURFACE.name()}; }}
QLabel[role="identify-title"] {{ font-size: 44px; color: {theme.ACCENT_SOFT.name()}; }}
QLabel[role="identify-id"] {{ font-size: 96px; font-weight: 600; }}
QLabel[role="identify-store"] {{ font-size: 40px; }}
"""


class IdentifyCard(QWidget):
    """Covers `parent` (the kiosk's window) until it closes itself."""

    def __init__(self, parent: QWidget, kiosk_id: str, store_id: str) -> None:
        super().__init__(parent)
        self.setObjectName("Identify")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(_STYLE)
        column = QVBoxLayout(self)
        column.setAlignment(Qt.AlignmentFlag.AlignCenter)
        column.setSpacing(36)
        for text, role in (
            ("总部正在识别这块屏幕 · HQ is identifying this screen", "identify-title"),
            (kiosk_id, "identify-id"),
            (f"门店 Store  {store_id}", "identify-store"),
        ):
            line = QLabel(text)
            line.setProperty("role", role)
            line.setAlignment(Qt.AlignmentFlag.AlignCenter)
            line.setWordWrap(True)
            column.addWidget(line)
        self.setGeometry(parent.rect())
        self._timer = QTimer(self, singleShot=True, interval=int(IDENTIFY_S * 1000))
        self._timer.timeout.connect(self.close_card)
        self._timer.start()
        self.show()
        self.raise_()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.close_card()
        event.accept()

    def close_card(self) -> None:
        self._timer.stop()
        self.hide()
        self.deleteLater()
