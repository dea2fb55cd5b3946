"""Look of the shopper screens: one palette, one type scale, one style sheet.

Designed for a 1920x1080 touchscreen read from arm's length next to brand
flagship displays: large type, calm neutral ground, one warm accent, and touch
targets of at least 88 px (a thumb is about 10 mm; 88 px is ~16 mm on a 24" panel).
"""

from __future__ import annotations

from typing import Final

from PySide6.QtGui import QColor, QFont, QFontDatabase

FONT_FAMILIES: Final = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "sans-serif")

BACKGROUND: Final = QColor("#F4F4F6")
SURFACE: Final = QColor("#FFFFFF")
INK: Final = QColor("#17181C")
INK_SOFT: Final = QColor("#5E6068")
LINE: Final = QColor("#E3E3E8")
ACCENT: Final = QColor("#D9480F")  # warm orange-red: prices, highlights, lit-slot notices
ACCENT_SOFT: Final = QColor("#FFF0E6")  # background of a row that differs
GOOD: Final = QColor("#1F7A4D")

TOUCH_MIN: Final = 88  # px, smallest side of anything a shopper taps
SCREEN_SIZE: Final = (1920, 1080)

STYLE_SHEET: Final = f"""
QWidget {{ color: {INK.name()}; }}
#KioskWindow, #Screen {{ background: {BACKGROUND.name()}; }}
QLabel[role="brand"] {{ color: {INK_SOFT.name()}; font-size: 28px; font-weight: 500;
    letter-spacing: 2px; }}
QLabel[role="title"] {{ font-size: 64px; font-weight: 700; }}
QLabel[role="subtitle"] {{ color: {INK_SOFT.name()}; font-size: 30px; }}
QLabel[role="price"] {{ color: {ACCENT.name()}; font-size: 60px; font-weight: 700; }}
QLabel[role="stock"] {{ color: {GOOD.name()}; font-size: 26px; }}
QLabel[role="stock-out"] {{ color: {INK_SOFT.name()}; font-size: 26px; }}
QLabel[role="section"] {{ font-size: 32px; font-weight: 700; }}
QLabel[role="spec-label"] {{ color: {INK_SOFT.name()}; font-size: 24px; }}
QLabel[role="spec-value"] {{ font-size: 30px; font-weight: 500; }}
QLabel[role="hint"] {{ color: {INK_SOFT.name()}; font-size: 26px; }}
QLabel[role="card-name"] {{ font-size: 24px; font-weight: 500; }}
QLabel[role="card-price"] {{ color: {ACCENT.name()}; font-size: 24px; font-weight: 700; }}
QLabel[role="card-slot"] {{ color: {SURFACE.name()}; background: {INK.name()};
    border-radius: 14px; padding: 2px 12px; font-size: 20px; }}
QLabel[role="notice"] {{ color: {SURFACE.name()}; background: {ACCENT.name()};
    border-radius: 36px; padding: 16px 40px; font-size: 30px; font-weight: 500; }}
QLabel[role="vs"] {{ color: {INK_SOFT.name()}; font-size: 40px; font-weight: 700; }}
QLabel[role="invite"] {{ color: {SURFACE.name()}; font-size: 64px; font-weight: 700; }}
QLabel[role="invite-other"] {{ color: rgba(255,255,255,200); font-size: 34px; }}
QLabel[role="caption"] {{ color: rgba(255,255,255,230); font-size: 40px; font-weight: 500; }}
QFrame[role="card"] {{ background: {SURFACE.name()}; border-radius: 24px; }}
QFrame[role="panel"] {{ background: {SURFACE.name()}; border-radius: 32px; }}
QPushButton[role="language"] {{ background: {SURFACE.name()}; color: {INK.name()};
    border: 2px solid {LINE.name()}; border-radius: 44px; font-size: 28px;
    min-height: {TOUCH_MIN}px; min-width: 180px; padding: 0 32px; }}
QPushButton[role="language"]:pressed {{ background: {LINE.name()}; }}
QPushButton[role="thumb"] {{ background: {SURFACE.name()}; border: 3px solid {LINE.name()};
    border-radius: 20px; min-width: {TOUCH_MIN}px; min-height: {TOUCH_MIN}px; }}
QPushButton[role="thumb"]:checked {{ border-color: {INK.name()}; }}
"""


def ui_font() -> QFont:
    """The first installed family from FONT_FAMILIES; Qt falls back per glyph after that."""
    installed = set(QFontDatabase.families())
    font = QFont()
    font.setFamilies([f for f in FONT_FAMILIES if f in installed] or list(FONT_FAMILIES))
    font.setHintingPreference(QFont.HintingPreference.PreferNoHinting)
    return font
