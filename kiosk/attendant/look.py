"""The attendant app's look: the kiosk's palette (kiosk/theme.py) at a staff tablet's scale.

1280x800, touch: anything tapped is at least TOUCH px on its short side (64 px is
about 11 mm on a 10" tablet). One style sheet for every attendant screen.
"""

from __future__ import annotations

from typing import Final

from kiosk.theme import ACCENT, ACCENT_SOFT, BACKGROUND, GOOD, INK, INK_SOFT, LINE, SURFACE

TOUCH: Final = 64
SCREEN_SIZE: Final = (1280, 800)
GOOD_SOFT: Final = "#E7F4EC"
WARN: Final = "#B7791F"
WARN_SOFT: Final = "#FDF3E1"

STYLE_SHEET: Final = f"""
QWidget {{ color: {INK.name()}; font-size: 18px; }}
#AttendantWindow, #Page, #SignIn {{ background: {BACKGROUND.name()}; }}
QFrame[role="topbar"] {{ background: {INK.name()}; }}
QLabel[role="brand"] {{ color: {SURFACE.name()}; font-size: 22px; font-weight: 700; }}
QLabel[role="store"] {{ color: #B9BAC2; font-size: 16px; }}
QLabel[role="who"] {{ color: {SURFACE.name()}; font-size: 17px; }}
QPushButton[role="nav"] {{ background: transparent; color: #C9CAD1; border: none;
    border-radius: 12px; font-size: 18px; min-height: {TOUCH}px; padding: 0 14px; }}
QPushButton[role="nav"]:checked {{ background: #2C2E35; color: {SURFACE.name()};
    font-weight: 700; }}
QPushButton[role="nav"][alerting="true"] {{ color: {SURFACE.name()}; background: {ACCENT.name()};
    font-weight: 700; }}
QPushButton[role="bar"] {{ background: #2C2E35; color: {SURFACE.name()}; border: none;
    border-radius: 12px; font-size: 16px; min-height: {TOUCH}px; min-width: 72px;
    padding: 0 14px; }}
QPushButton[role="bar"]:pressed {{ background: {INK_SOFT.name()}; }}
QFrame[role="banner"] {{ background: {ACCENT.name()}; }}
QLabel[role="banner-text"] {{ color: {SURFACE.name()}; font-size: 19px; font-weight: 700; }}
QPushButton[role="banner"] {{ background: {SURFACE.name()}; color: {ACCENT.name()};
    border: none; border-radius: 10px; font-size: 17px; font-weight: 700; min-height: 40px;
    padding: 0 18px; }}
QLabel[role="title"] {{ font-size: 28px; font-weight: 700; }}
QLabel[role="section"] {{ font-size: 22px; font-weight: 700; }}
QLabel[role="hint"] {{ color: {INK_SOFT.name()}; font-size: 17px; }}
QLabel[role="small"] {{ color: {INK_SOFT.name()}; font-size: 15px; }}
QLabel[role="error"] {{ color: {ACCENT.name()}; font-size: 19px; font-weight: 700; }}
QFrame[role="card"] {{ background: {SURFACE.name()}; border: 1px solid {LINE.name()};
    border-radius: 16px; }}
QFrame[role="card-alert"] {{ background: {ACCENT_SOFT.name()}; border: 2px solid {ACCENT.name()};
    border-radius: 16px; }}
QFrame[role="card-done"] {{ background: {SURFACE.name()}; border: 1px solid {LINE.name()};
    border-radius: 16px; }}
QLabel[role="card-title"] {{ font-size: 20px; font-weight: 700; }}
QLabel[role="card-alert-title"] {{ color: {ACCENT.name()}; font-size: 20px; font-weight: 700; }}
QLabel[role="pin-dots"] {{ font-size: 40px; letter-spacing: 12px; min-height: 56px; }}
QPushButton[role="key"] {{ background: {SURFACE.name()}; border: 1px solid {LINE.name()};
    border-radius: 20px; font-size: 30px; font-weight: 500; min-height: 76px; min-width: 104px; }}
QPushButton[role="key"]:pressed {{ background: {LINE.name()}; }}
QPushButton[role="key"]:disabled {{ color: {LINE.name()}; }}
QPushButton[role="tile"] {{ background: {SURFACE.name()}; border: 2px solid {LINE.name()};
    border-radius: 18px; font-size: 20px; font-weight: 500; min-height: 72px; padding: 0 16px;
    text-align: left; }}
QPushButton[role="tile"]:checked {{ border-color: {ACCENT.name()};
    background: {ACCENT_SOFT.name()}; }}
QPushButton[role="primary"] {{ background: {ACCENT.name()}; color: {SURFACE.name()};
    border: none; border-radius: {TOUCH // 2}px; font-size: 20px; font-weight: 700;
    min-height: {TOUCH}px; min-width: 140px; padding: 0 28px; }}
QPushButton[role="primary"]:pressed {{ background: #B83A0B; }}
QPushButton[role="primary"]:disabled {{ background: {LINE.name()}; color: {INK_SOFT.name()}; }}
QPushButton[role="secondary"] {{ background: {SURFACE.name()}; color: {INK.name()};
    border: 2px solid {LINE.name()}; border-radius: {TOUCH // 2}px; font-size: 18px;
    min-height: {TOUCH}px; min-width: 120px; padding: 0 24px; }}
QPushButton[role="secondary"]:pressed {{ background: {LINE.name()}; }}
QPushButton[role="slot"] {{ background: {SURFACE.name()}; border: 1px solid {LINE.name()};
    border-radius: 16px; font-size: 17px; min-height: 112px; padding: 8px 12px;
    text-align: left; }}
QPushButton[role="slot"]:checked {{ border: 2px solid {ACCENT.name()};
    background: {ACCENT_SOFT.name()}; }}
QPushButton[role="slot"][edited="true"] {{ border: 2px solid {GOOD.name()}; }}
QLineEdit[role="field"] {{ background: {SURFACE.name()}; border: 2px solid {LINE.name()};
    border-radius: 14px; font-size: 20px; min-height: {TOUCH - 8}px; padding: 0 16px; }}
QLineEdit[role="field"]:focus {{ border-color: {INK.name()}; }}
QLineEdit[role="scan"] {{ background: {SURFACE.name()}; border: 3px solid {INK.name()};
    border-radius: 18px; font-size: 30px; font-family: "DejaVu Sans Mono", monospace;
    min-height: 84px; padding: 0 24px; }}
QComboBox, QSpinBox {{ background: {SURFACE.name()}; border: 2px solid {LINE.name()};
    border-radius: 12px; font-size: 18px; min-height: 52px; min-width: 160px; padding: 0 12px; }}
QComboBox::drop-down {{ width: 40px; border: none; }}
QComboBox QAbstractItemView {{ font-size: 18px; background: {SURFACE.name()};
    selection-background-color: {ACCENT_SOFT.name()}; selection-color: {INK.name()}; }}
QSpinBox::up-button, QSpinBox::down-button {{ width: 44px; }}
QRadioButton {{ font-size: 19px; min-height: 52px; spacing: 12px; }}
QRadioButton::indicator {{ width: 28px; height: 28px; }}
QListWidget[role="list"] {{ background: {SURFACE.name()}; border: 1px solid {LINE.name()};
    border-radius: 16px; padding: 6px; font-size: 18px; }}
QListWidget[role="list"]::item {{ min-height: 52px; border-bottom: 1px solid {LINE.name()};
    padding: 0 8px; }}
QListWidget[role="list"]::item:selected {{ background: {ACCENT_SOFT.name()}; color: {INK.name()}; }}
QTableWidget {{ background: {SURFACE.name()}; border: 1px solid {LINE.name()};
    border-radius: 16px; gridline-color: {LINE.name()}; font-size: 17px; }}
QTableWidget::item {{ padding: 0 12px; }}
QProgressBar[role="update"] {{ background: {LINE.name()}; border: none; border-radius: 8px;
    margin: 16px 12px; color: {INK.name()};
    font-size: 15px; font-weight: 600; text-align: center; }}
QProgressBar[role="update"]::chunk {{ background: {GOOD_SOFT}; border-radius: 8px;
    border: 2px solid {GOOD.name()}; }}
QHeaderView::section {{ background: {BACKGROUND.name()}; color: {INK_SOFT.name()}; border: none;
    border-bottom: 1px solid {LINE.name()}; font-size: 15px; font-weight: 700;
    padding: 8px 10px; }}
QFrame[role="result-ok"] {{ background: {GOOD_SOFT}; border: 2px solid {GOOD.name()};
    border-radius: 20px; }}
QFrame[role="result-bad"] {{ background: {ACCENT_SOFT.name()}; border: 2px solid {ACCENT.name()};
    border-radius: 20px; }}
QFrame[role="result-warn"] {{ background: {WARN_SOFT}; border: 2px solid {WARN};
    border-radius: 20px; }}
QFrame[role="result-idle"] {{ background: {SURFACE.name()}; border: 2px dashed {LINE.name()};
    border-radius: 20px; }}
QLabel[role="result-title"] {{ font-size: 34px; font-weight: 700; }}
QLabel[role="result-body"] {{ font-size: 20px; }}
QLabel[role="ok"] {{ color: {GOOD.name()}; font-weight: 700; }}
QLabel[role="bad"] {{ color: {ACCENT.name()}; font-weight: 700; }}
QScrollArea {{ background: transparent; border: none; }}
QScrollArea > QWidget > QWidget {{ background: transparent; }}
"""
