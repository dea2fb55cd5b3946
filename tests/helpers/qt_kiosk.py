"""The real kiosk in a pytest-qt test: built as `kiosk` builds it, shown, and talking to
its simulated pickup board."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from devices.sim.pickup import PickupBoardSim
from kiosk import theme
from kiosk.app import Kiosk, KioskOptions, build


def started(
    options: KioskOptions, qapp: QApplication, qtbot: QtBot, board: PickupBoardSim
) -> Kiosk:
    """Once its window is exposed and the driver has asked the board for its state
    (it does once it has opened the port)."""
    kiosk = build(options, qapp)
    kiosk.window.resize(*theme.SCREEN_SIZE)
    kiosk.window.show()
    qtbot.waitExposed(kiosk.window)
    board.wait_for(lambda m: type(m).__name__ == "StateQuery", timeout=5)
    return kiosk


def themed(qapp: QApplication) -> None:
    """The kiosk's font and style sheet on the app, as `kiosk` sets them; each only when
    different, since setting either re-polishes every widget alive (a module's shared
    kiosk among them)."""
    font = theme.ui_font()
    if qapp.font() != font:
        qapp.setFont(font)
    if qapp.styleSheet() != theme.STYLE_SHEET:
        qapp.setStyleSheet(theme.STYLE_SHEET)
