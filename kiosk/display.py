"""Which screen the kiosk covers, and at what device pixel ratio.

A store kiosk runs with no window manager: nothing places, sizes or decorates the
window, so the kiosk covers its screen by itself (frameless, the screen's exact
geometry, and a fixed size no screen's layout can grow).

The shopper screens are laid out for 1920x1080 (or 1080x1920) logical pixels. A
larger panel that holds a whole multiple of that (3840x2160) shows the same
layout at that device pixel ratio, so type stays the size it was designed at and
pictures are decoded at full resolution (kiosk/images.py). Qt takes the ratio only
from its environment, read when QApplication starts: on X11 the X screen's size is
asked first (`early_scale_environment`); otherwise, or when that guess does not fit
the chosen screen, the kiosk starts itself again once with the right factor
(`restart_at_pixel_ratio`; `main` in kiosk/app.py).
"""

from __future__ import annotations

import ctypes
import logging
import os
import struct
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
# Set with the factor guessed before QApplication (early_scale_environment): a guess
# that proves wrong for the chosen screen is corrected by one restart.
HINTED_ENV: Final = "KIOSK_SCREEN_HINTED"
_SCALE_VARIABLES: Final = ("QT_SCALE_FACTOR", "QT_SCREEN_SCALE_FACTORS")


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


def early_scale_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """What to add to the environment before QApplication starts: on X11, when the X
    screen is exactly one panel of twice (or more) the layout's size, its pixel ratio,
    so the common 4K kiosk starts once. Anything else (other platforms, several panels
    on one X screen, a factor chosen by hand) is left to `restart_at_pixel_ratio`."""
    if any(name in environ for name in (*_SCALE_VARIABLES, RESCALED_ENV)):
        return {}
    platform = environ.get("QT_QPA_PLATFORM", "")
    if platform.split(":")[0] not in ("", "xcb") or not environ.get("DISPLAY"):
        return {}
    if not platform and environ.get("XDG_SESSION_TYPE") == "wayland":
        return {}  # Qt would pick Wayland
    size = x_screen_size(environ["DISPLAY"])
    if size is None:
        return {}
    ratio = pixel_ratio_for(*size)
    layout = sorted(theme.SCREEN_SIZE)
    if ratio == 1 or sorted(size) != [ratio * side for side in layout]:
        return {}
    return {"QT_SCALE_FACTOR": str(ratio), HINTED_ENV: "1"}


def x_screen_size(display: str) -> tuple[int, int] | None:
    """The X screen's size in pixels, asked through libxcb (which Qt's X11 support loads
    anyway) in a millisecond or two; None when it cannot be asked."""
    try:
        xcb = ctypes.CDLL("libxcb.so.1")
    except OSError:
        return None

    class RootsIterator(ctypes.Structure):
        _fields_ = (("data", ctypes.c_void_p), ("rem", ctypes.c_int), ("index", ctypes.c_int))

    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = (ctypes.c_char_p, ctypes.POINTER(ctypes.c_int))
    xcb.xcb_connection_has_error.argtypes = (ctypes.c_void_p,)
    xcb.xcb_disconnect.argtypes = (ctypes.c_void_p,)
    xcb.xcb_get_setup.restype = ctypes.c_void_p
    xcb.xcb_get_setup.argtypes = (ctypes.c_void_p,)
    xcb.xcb_setup_roots_iterator.restype = RootsIterator
    xcb.xcb_setup_roots_iterator.argtypes = (ctypes.c_void_p,)
    xcb.xcb_screen_next.argtypes = (ctypes.POINTER(RootsIterator),)
    number = ctypes.c_int(0)
    connection = xcb.xcb_connect(display.encode(), ctypes.byref(number))
    try:
        if not connection or xcb.xcb_connection_has_error(connection):
            return None
        roots = xcb.xcb_setup_roots_iterator(xcb.xcb_get_setup(connection))
        for _ in range(number.value):
            xcb.xcb_screen_next(ctypes.byref(roots))
        if not roots.data:
            return None
        # xcb_screen_t: root, default_colormap, white_pixel, black_pixel and
        # current_input_masks (4 bytes each), then width and height in pixels.
        width, height = struct.unpack_from("=HH", ctypes.string_at(roots.data + 20, 4))
    finally:
        if connection:
            xcb.xcb_disconnect(connection)
    return width, height


def scale_environment(screen: QScreen, environ: Mapping[str, str]) -> dict[str, str] | None:
    """The environment to start again with, so `screen` shows the layout at its whole-number
    pixel ratio; None when it already does (or the kiosk was restarted once already, or
    whoever started it chose a scale factor themselves)."""
    hinted = HINTED_ENV in environ  # our own early guess: corrected when it was wrong
    if RESCALED_ENV in environ or (
        not hinted and any(name in environ for name in _SCALE_VARIABLES)
    ):
        return None
    ratio = screen.devicePixelRatio()
    size = screen.geometry().size()
    wanted = pixel_ratio_for(round(size.width() * ratio), round(size.height() * ratio))
    if wanted == ratio:
        return None
    rescaled = {k: v for k, v in environ.items() if k not in (*_SCALE_VARIABLES, HINTED_ENV)}
    return rescaled | {"QT_SCREEN_SCALE_FACTORS": f"{screen.name()}={wanted}", RESCALED_ENV: "1"}


def restart_at_pixel_ratio(screen: QScreen) -> None:
    """Start this kiosk again (same process id, same arguments) with the environment
    that gives `screen` its layout's pixel ratio; return when it has it already."""
    environment = scale_environment(screen, os.environ)
    if environment is None:
        return
    log.info(
        "starting again with QT_SCREEN_SCALE_FACTORS=%s", environment["QT_SCREEN_SCALE_FACTORS"]
    )
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os.execve(sys.executable, sys.orig_argv, environment)  # noqa: S606 - ourselves


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
