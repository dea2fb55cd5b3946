"""Which screen the kiosk covers, and at what device pixel ratio.

A store kiosk runs with no window manager: nothing places, sizes or decorates the
window, so the kiosk covers its screen by itself (frameless, the screen's exact
geometry, and a fixed size no screen's layout can grow).

The shopper screens are laid out for 1920x1080 (or 1080x1920) logical pixels. A
larger panel that holds a whole multiple of that (3840x2160) shows the same
layout at that device pixel ratio, so type stays the size it was designed at and
pictures are decoded at full resolution (kiosk/images.py). Qt takes the ratio only
from its environment, read when QApplication starts: `scale_environment` says what
to set, and the kiosk starts itself again once with it (`main` in kiosk/app.py).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Final

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import QWidget

from kiosk import theme

log = logging.getLogger("kiosk.display")

# Set in the environment of the kiosk restarted at its screen's pixel ratio: it is
# never restarted twice, whatever Qt makes of the factor.
RESCALED_ENV: Final = "KIOSK_SCREEN_RESCALED"


def pixel_ratio_for(width: int, height: int) -> int:
    """The whole number of layout pixels per device pixel for a panel of this size.

    1 for 1920x1080 and 1080x1920 (and anything between them and twice them: a
    2560x1440 panel shows the layout with room to spare rather than blurred at 1.33);
    2 for 3840x2160 or 2160x3840.
    """
    long_side, short_side = max(width, height), min(width, height)
    layout_long, layout_short = max(theme.SCREEN_SIZE), min(theme.SCREEN_SIZE)
    return max(1, min(long_side // layout_long, short_side // layout_short))


def choose_screen(names: Sequence[str], wanted: str | None) -> int | None:
    """Index of the screen named `wanted` (`--screen`); None: not there (or not asked)."""
    if wanted is None:
        return None
    return names.index(wanted) if wanted in names else None


def screen_named(app: QGuiApplication, wanted: str | None) -> QScreen:
    """The screen named `wanted`, else the primary one."""
    screens = app.screens()
    index = choose_screen([screen.name() for screen in screens], wanted)
    return app.primaryScreen() if index is None else screens[index]


def kiosk_screen(app: QGuiApplication, wanted: str | None) -> QScreen:
    """The screen named `wanted`, else the primary one; logged either way."""
    screens = app.screens()
    screen = screen_named(app, wanted)
    if wanted is not None and screen.name() != wanted:
        log.error(
            "no screen named %r (there are: %s): using the primary screen",
            wanted,
            ", ".join(screen.name() for screen in screens),
        )
    geometry = screen.geometry()
    log.info(
        "screen %r (%d of %d): %dx%d at %d,%d, device pixel ratio %g",
        screen.name(),
        screens.index(screen) + 1,
        len(screens),
        geometry.width(),
        geometry.height(),
        geometry.x(),
        geometry.y(),
        screen.devicePixelRatio(),
    )
    return screen


def scale_environment(screen: QScreen, environ: Mapping[str, str]) -> dict[str, str] | None:
    """The environment to start again with, so `screen` shows the layout at its whole-number
    pixel ratio; None when it already does (or the kiosk was restarted once already, or
    whoever started it chose a scale factor themselves)."""
    chosen_by_hand = ("QT_SCALE_FACTOR", "QT_SCREEN_SCALE_FACTORS", RESCALED_ENV)
    if any(name in environ for name in chosen_by_hand):
        return None
    ratio = screen.devicePixelRatio()
    size = screen.geometry().size()
    wanted = pixel_ratio_for(round(size.width() * ratio), round(size.height() * ratio))
    if wanted == ratio:
        return None
    return {"QT_SCREEN_SCALE_FACTORS": f"{screen.name()}={wanted}", RESCALED_ENV: "1"}


def restart_at_pixel_ratio(screen: QScreen) -> None:
    """Start this kiosk again (same process id, same arguments) with the environment
    that gives `screen` its layout's pixel ratio; return when it has it already."""
    rescale = scale_environment(screen, os.environ)
    if rescale is None:
        return
    log.info("starting again with %s", " ".join(f"{k}={v}" for k, v in rescale.items()))
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os.execve(sys.executable, sys.orig_argv, {**os.environ, **rescale})  # noqa: S606 - ourselves


def cover(window: QWidget, screen: QScreen) -> None:
    """Show `window` over the whole of `screen`, with or without a window manager, and
    again whenever the screen's geometry changes (a panel switched on late, rotated).

    showFullScreen() asks a window manager; with none (a store's kiosk session) the
    window keeps its own size in a corner. A frameless window at the screen's geometry
    needs nobody, and its fixed size keeps any screen's layout from growing it.
    """
    _place(window, screen)
    screen.geometryChanged.connect(lambda _geometry: _place(window, screen))


def _place(window: QWidget, screen: QScreen) -> None:
    geometry = screen.geometry()
    log.info(
        "covering screen %r: %dx%d at %d,%d",
        screen.name(),
        geometry.width(),
        geometry.height(),
        geometry.x(),
        geometry.y(),
    )
    window.setWindowFlag(Qt.WindowType.FramelessWindowHint, True)
    window.setScreen(screen)
    window.setFixedSize(geometry.size())
    window.move(geometry.topLeft())
    window.setWindowState(Qt.WindowState.WindowFullScreen)  # a window manager, if any, agrees
    window.show()
