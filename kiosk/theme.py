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
SCREEN_SIZE: Final = (1920, 1080)  # the landscape layout, in logical pixels
PORTRAIT_SIZE: Final = (1080, 1920)
# Every shopper screen lays out in these (a 3840x2160 panel is the landscape layout at
# device pixel ratio 2): scripts/screenshots.py renders each, tests check each.
SCREEN_SHAPES: Final = {"landscape": SCREEN_SIZE, "portrait": PORTRAIT_SIZE}

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
QLabel[role="invite"] {{ font-size: 52px; font-weight: 700; }}
QLabel[role="invite"][thanked="true"] {{ color: {ACCENT.name()}; }}
QLabel[role="invite-other"] {{ color: {INK_SOFT.name()}; font-size: 30px; }}
QFrame[role="attract-band"] {{ background: {SURFACE.name()}; border-top: 1px solid {LINE.name()}; }}
QLabel[role="caption"] {{ color: rgba(255,255,255,230); font-size: 40px; font-weight: 500; }}
QLabel[role="caption"][welcome="true"] {{ color: {SURFACE.name()}; font-size: 64px;
    font-weight: 700; }}
QLabel[role="caption-body"] {{ color: rgba(255,255,255,200); font-size: 34px; }}
QFrame[role="card"] {{ background: {SURFACE.name()}; border-radius: 24px; }}
QFrame[role="panel"] {{ background: {SURFACE.name()}; border-radius: 32px; }}
QFrame[role="offer-hero"] {{ border-radius: 32px; border: 2px solid #F6D5C2;
    background: qlineargradient(x1:0, y1:0, x2:0, y2:1, stop:0 {ACCENT_SOFT.name()},
    stop:0.55 {SURFACE.name()}); }}
QFrame[role="offer-product"] {{ background: {SURFACE.name()}; border-radius: 24px; }}
QLabel[role="offer-badge"] {{ color: {SURFACE.name()}; background: {INK.name()};
    border-radius: 20px; padding: 6px 20px; font-size: 24px; font-weight: 700; }}
QLabel[role="offer-value"] {{ color: {ACCENT.name()}; font-size: 64px; font-weight: 700; }}
QLabel[role="offer-value-lone"] {{ color: {ACCENT.name()}; font-size: 96px; font-weight: 700; }}
QLabel[role="offer-title"] {{ font-size: 44px; font-weight: 700; }}
QLabel[role="offer-message"] {{ color: {INK_SOFT.name()}; font-size: 28px; }}
QPushButton[role="take"] {{ background: {ACCENT.name()}; color: {SURFACE.name()};
    border: none; border-radius: 56px; font-size: 40px; font-weight: 700;
    min-height: 112px; min-width: 320px; padding: 0 56px; }}
QPushButton[role="take"]:pressed {{ background: #B83A0B; }}
QLabel[role="delivery-note"] {{ color: {GOOD.name()}; font-size: 28px; font-weight: 500; }}
QPushButton[role="language"] {{ background: {SURFACE.name()}; color: {INK.name()};
    border: 2px solid {LINE.name()}; border-radius: 44px; font-size: 28px;
    min-height: {TOUCH_MIN}px; min-width: 180px; padding: 0 32px; }}
QPushButton[role="language"]:pressed {{ background: {LINE.name()}; }}
QPushButton[role="thumb"] {{ background: {SURFACE.name()}; border: 3px solid {LINE.name()};
    border-radius: 20px; min-width: {TOUCH_MIN}px; min-height: {TOUCH_MIN}px; }}
QPushButton[role="thumb"]:checked {{ border-color: {INK.name()}; }}
QPushButton[role="primary"] {{ background: {ACCENT.name()}; color: {SURFACE.name()};
    border: none; border-radius: 44px; font-size: 30px; font-weight: 700;
    min-height: {TOUCH_MIN}px; min-width: 220px; padding: 0 48px; }}
QPushButton[role="primary"]:pressed {{ background: #B83A0B; }}
QPushButton[role="big"] {{ background: {ACCENT.name()}; color: {SURFACE.name()};
    border: none; border-radius: 80px; font-size: 44px; font-weight: 700;
    min-height: 160px; min-width: 480px; padding: 0 64px; }}
QPushButton[role="big"]:pressed {{ background: #B83A0B; }}
QPushButton[role="primary"]:disabled {{ background: {LINE.name()}; color: {INK_SOFT.name()}; }}
QPushButton[role="secondary"] {{ background: {SURFACE.name()}; color: {INK.name()};
    border: 2px solid {LINE.name()}; border-radius: 44px; font-size: 28px;
    min-height: {TOUCH_MIN}px; min-width: 180px; padding: 0 36px; }}
QPushButton[role="secondary"]:pressed {{ background: {LINE.name()}; }}
QPushButton[role="action"] {{ background: {INK.name()}; color: {SURFACE.name()};
    border: none; border-radius: 44px; font-size: 28px; font-weight: 500;
    min-height: {TOUCH_MIN}px; padding: 0 36px; }}
QPushButton[role="action"]:pressed {{ background: {INK_SOFT.name()}; }}
QPushButton[role="action"]:disabled, QPushButton[role="secondary"]:disabled {{
    background: {SURFACE.name()}; color: {GOOD.name()}; border: 2px solid {LINE.name()}; }}
QPushButton[role="choice"] {{ background: {SURFACE.name()}; color: {INK.name()};
    border: 3px solid {LINE.name()}; border-radius: 28px; font-size: 30px;
    min-height: 120px; min-width: 120px; padding: 0 28px; }}
QPushButton[role="choice"]:checked {{ border-color: {ACCENT.name()};
    background: {ACCENT_SOFT.name()}; }}
QPushButton[role="choice"]:pressed {{ background: {ACCENT_SOFT.name()}; }}
QPushButton[role="score"] {{ background: {SURFACE.name()}; color: {INK.name()};
    border: 3px solid {LINE.name()}; border-radius: 28px; font-size: 40px; font-weight: 500;
    min-height: 120px; min-width: 120px; max-width: 140px; padding: 0; }}
QPushButton[role="score"]:pressed {{ background: {ACCENT_SOFT.name()};
    border-color: {ACCENT.name()}; }}
QPushButton[role="smiley"] {{ background: transparent; border: none; font-size: 96px;
    min-height: 140px; min-width: 140px; }}
QPushButton[role="smiley"]:pressed {{ background: rgba(255,255,255,60); border-radius: 70px; }}
QLineEdit[role="field"] {{ background: {SURFACE.name()}; border: 2px solid {LINE.name()};
    border-radius: 20px; font-size: 34px; min-height: 80px; padding: 0 24px; }}
QLineEdit[role="field"]:focus {{ border-color: {INK.name()}; }}
QLineEdit[role="field"][invalid="true"] {{ border-color: {ACCENT.name()}; }}
QLabel[role="field-label"] {{ color: {INK_SOFT.name()}; font-size: 24px; font-weight: 500; }}
QLabel[role="error"] {{ color: {ACCENT.name()}; font-size: 24px; font-weight: 500; }}
QLabel[role="notice-text"] {{ color: {INK_SOFT.name()}; font-size: 20px; }}
QLabel[role="body"] {{ font-size: 34px; }}
QLabel[role="code"] {{ font-family: "DejaVu Sans Mono", monospace; font-size: 44px;
    font-weight: 700; letter-spacing: 1px; }}
QLabel[role="value"] {{ color: {ACCENT.name()}; font-size: 96px; font-weight: 700; }}
QCheckBox[role="consent"] {{ font-size: 28px; font-weight: 500; spacing: 20px;
    min-height: {TOUCH_MIN}px; }}
QCheckBox[role="consent"]::indicator {{ width: 48px; height: 48px; }}
QScrollArea[role="notices"], QScrollArea[role="notices"] > QWidget > QWidget {{
    background: transparent; }}
QFrame[role="overlay"] {{ background: rgba(23,24,28,200); }}
QFrame[role="dialog"] {{ background: {SURFACE.name()}; border-radius: 32px; }}
QFrame[role="smileys"] {{ background: {BACKGROUND.name()}; border-radius: 36px; }}
QFrame[role="smileys"][thanked="true"] {{ background: {ACCENT_SOFT.name()}; }}
QProgressBar[role="download"] {{ background: rgba(255,255,255,40); border: none;
    border-radius: 4px; max-height: 8px; min-height: 8px; }}
QProgressBar[role="download"]::chunk {{ background: rgba(255,255,255,200); border-radius: 4px; }}
QLabel[role="download"] {{ color: rgba(255,255,255,200); font-size: 28px; }}
QLabel[role="smiley-question"] {{ font-size: 28px; font-weight: 500; }}
QLabel[role="smiley-question"][thanked="true"] {{ color: {ACCENT.name()}; font-weight: 700; }}
"""


def ui_font() -> QFont:
    """The first installed family from FONT_FAMILIES; Qt falls back per glyph after that."""
    installed = set(QFontDatabase.families())
    font = QFont()
    font.setFamilies([f for f in FONT_FAMILIES if f in installed] or list(FONT_FAMILIES))
    font.setHintingPreference(QFont.HintingPreference.PreferNoHinting)
    return font
