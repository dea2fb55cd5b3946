"""The on-screen keyboard on a real X server: the kiosk window keeps its native window
when the keyboard first appears, and every press after it still counts.

Only a real window system shows this: on Qt's offscreen platform Qt Quick has no GPU
and never asks for a new kind of native window. tests/e2e/test_x11.py runs this folder
under Xvfb (KIOSK_TEST_QT_PLATFORM=xcb).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers.bundles import sample_bundle
from helpers.keyboard import type_keys, visible_keys
from helpers.pickup import running_board
from helpers.signup import answer_age, open_form, start_kiosk
from helpers.touch import tap, tap_when_placed, x_tap
from PySide6.QtGui import QColor
from PySide6.QtOpenGLWidgets import QOpenGLWidget
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from content.bundle import Bundle, load_bundle
from devices.sim.pickup import PickupBoardSim
from kiosk.app import Kiosk
from kiosk.session import ProductView, SessionConfig, SignupView

# Each press restarts these; the test taps every ~0.3 s, ten times as often as they need.
FORM_TIMEOUT = 3.0
FORM_COUNTDOWN = 2.0
IDLE = 3.0
GRACE = 2.0
TAP_EVERY_S = 0.3


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Bundle]:
    path = sample_bundle(tmp_path_factory.mktemp("content") / "bundle")
    return path, load_bundle(path, verify_hashes=False)


@pytest.fixture
def board(tmp_path: Path) -> Iterator[PickupBoardSim]:
    with running_board(tmp_path) as sim:
        yield sim


@pytest.fixture
def kiosk(
    qtbot: QtBot,
    qapp: QApplication,
    bundle: tuple[Path, Bundle],
    tmp_path: Path,
    board: PickupBoardSim,
) -> Iterator[Kiosk]:
    session = SessionConfig(
        form_timeout=FORM_TIMEOUT,
        form_countdown=FORM_COUNTDOWN,
        idle_timeout=IDLE,
        drop_grace=GRACE,
    )
    built = start_kiosk(qtbot, qapp, bundle, tmp_path, pickup_port=board.port, session=session)
    board.wait_for(lambda m: type(m).__name__ == "StateQuery", timeout=5)
    assert QApplication.platformName() == "xcb"
    # With no window manager nothing gives the window X's keyboard focus: ask for it,
    # or no field could take the keyboard's text.
    built.window.activateWindow()
    qtbot.waitActive(built.window)
    yield built
    built.close()


def keyboard_on_screen(qtbot: QtBot, kiosk: Kiosk) -> None:
    """Wait until the keyboard's keys are laid out and the X server shows its panel."""
    keyboard = kiosk.window.signup.keyboard
    assert keyboard is not None
    qtbot.waitUntil(lambda: bool(visible_keys(keyboard)), timeout=5000)
    screen = kiosk.window.screen()
    # Left of the keys: the panel's own background, drawn by Qt Quick.
    corner = keyboard.mapToGlobal(keyboard.rect().topLeft())
    root = keyboard.rootObject()
    assert root is not None
    panel = QColor(root.property("color")).rgb()

    def shown() -> bool:
        pixel = screen.grabWindow(0, corner.x() + 2, corner.y() + 2, 1, 1).toImage()
        return pixel.pixel(0, 0) == panel

    qtbot.waitUntil(shown, timeout=5000)


def keep_tapping(
    qtbot: QtBot, seconds: float, tap_once: Callable[[], None], still: Callable[[], bool]
) -> None:
    """Tap like a busy shopper for `seconds`, checking `still()` after every tap."""
    until = time.monotonic() + seconds
    taps = 0
    while time.monotonic() < until:
        tap_once()
        taps += 1
        qtbot.wait(round(TAP_EVERY_S * 1000))
        assert still(), f"ended after {taps} taps, {seconds - (until - time.monotonic()):.1f} s"


def test_the_window_keeps_its_native_window_when_the_keyboard_first_appears(
    qtbot: QtBot, kiosk: Kiosk
) -> None:
    window = kiosk.window
    native = window.windowHandle()
    x_window = int(window.winId())
    open_form(qtbot, kiosk)
    keyboard_on_screen(qtbot, kiosk)
    assert int(window.winId()) == x_window
    assert window.windowHandle() is native


def test_the_first_tap_on_the_form_reaches_it_and_counts(qtbot: QtBot, kiosk: Kiosk) -> None:
    open_form(qtbot, kiosk)
    keyboard_on_screen(qtbot, kiosk)
    name = kiosk.window.signup.name.edit
    assert not name.hasFocus()
    with qtbot.waitSignal(kiosk.window.touched, timeout=3000):
        x_tap(name)
    qtbot.waitUntil(name.hasFocus, timeout=3000)


def test_taps_on_the_form_and_its_keys_keep_a_sign_up_going(qtbot: QtBot, kiosk: Kiosk) -> None:
    open_form(qtbot, kiosk)
    keyboard_on_screen(qtbot, kiosk)
    signup = kiosk.window.signup
    keyboard = signup.keyboard
    assert keyboard is not None
    presses = itertools.count()

    def tap_field_or_key() -> None:
        if next(presses) % 2 == 0:
            tap(signup.phone.edit)
        else:
            type_keys(qtbot, keyboard, "1")

    def form_kept() -> bool:
        in_form = isinstance(kiosk.controller.state.view, SignupView)
        return in_form and not kiosk.window.countdown.isVisible()

    # Well past the time after which an untouched form would have been wiped.
    keep_tapping(qtbot, FORM_TIMEOUT + FORM_COUNTDOWN + 2, tap_field_or_key, form_kept)
    assert "1" in signup.phone.edit.text()  # the keys typed, too


def test_touches_after_the_keyboard_keep_browsing_going(
    qtbot: QtBot, kiosk: Kiosk, board: PickupBoardSim, bundle: tuple[Path, Bundle]
) -> None:
    window = kiosk.window
    slot = bundle[1].planogram.slots[0].slot
    board.lift(slot)
    qtbot.waitUntil(window.product.isVisible, timeout=3000)
    tap_when_placed(qtbot, window.product.action_bar.join_button)
    qtbot.waitUntil(window.signup.isVisible, timeout=3000)
    answer_age(qtbot, kiosk)
    keyboard_on_screen(qtbot, kiosk)
    tap(window.signup.cancel)  # back to the phone in hand
    qtbot.waitUntil(window.product.isVisible, timeout=3000)

    def browsing() -> bool:
        return isinstance(kiosk.controller.state.view, ProductView)

    def tap_product() -> None:
        tap(window.product)

    keep_tapping(qtbot, IDLE + 2, tap_product, browsing)  # the idle timer restarts
    board.drop(slot)
    qtbot.waitUntil(lambda: not kiosk.controller.state.picks, timeout=3000)
    keep_tapping(qtbot, GRACE + 2, tap_product, browsing)  # and so does the drop's grace
    qtbot.waitUntil(window.attract.isVisible, timeout=round(GRACE * 1000) + 5000)


def test_presses_count_after_qt_replaces_the_native_window(qtbot: QtBot, kiosk: Kiosk) -> None:
    """Whatever makes Qt re-create the window (here an OpenGL widget, as a future screen
    might bring), the presses on the new one keep the session going."""
    window = kiosk.window
    x_window = int(window.winId())
    gl = QOpenGLWidget(window)
    gl.resize(10, 10)
    gl.show()
    qtbot.waitUntil(lambda: int(window.winId()) != x_window, timeout=5000)
    qtbot.waitExposed(window)
    with qtbot.waitSignal(window.touched, timeout=3000):
        x_tap(window.attract.join_button)
