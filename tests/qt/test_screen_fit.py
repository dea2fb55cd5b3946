"""Every shopper screen fits the kiosk's screen, in both shapes, and none grows the window.

The real kiosk (kiosk.app.build, the sample bundle) is driven to each view as a shopper
gets there, in a window of the screen's fixed size (as kiosk/display.py covers a
screen); each view must keep every label, button and field inside the window with its
text whole (tests/helpers/geometry.py), and its layout must fit the screen even were the
window free to grow (the wrong-number message once grew it to 1924x1104).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from helpers.bundles import sample_bundle
from helpers.geometry import layout_problems
from helpers.qt_kiosk import themed
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from content.model import ConsentPurpose, Language
from devices.events import Lifted
from kiosk import theme
from kiosk.app import Kiosk, KioskOptions, build
from kiosk.session import (
    DrawView,
    IssuedCoupon,
    MemberArrived,
    MemberVisit,
    RewardReady,
    SignupStep,
    SignupView,
)
from kiosk.signup import SignupForm
from kiosk.survey import Answer

WAIT_MS = 3000


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sample_bundle(tmp_path_factory.mktemp("content") / "bundle")


@pytest.fixture
def kiosk(qtbot: QtBot, qapp: QApplication, bundle: Path, tmp_path: Path) -> Iterator[Kiosk]:
    themed(qapp)
    built = build(KioskOptions(content=bundle, data_dir=tmp_path / "data"), qapp)
    yield built
    built.close()


def lift(kiosk: Kiosk, *slots: int, language: Language | None = None) -> None:
    for slot in slots:
        kiosk.bridge.post(Lifted(slot, time.monotonic()))
    if language is not None:
        QTest.qWait(100)  # the lifts handled
        kiosk.controller.language_chosen(language)


def member(kiosk: Kiosk) -> MemberVisit:
    assert kiosk.bundle is not None
    looked_at = tuple(kiosk.bundle.sku_on_slot(slot) or "" for slot in (3, 7, 10))
    visit = MemberVisit("fit-member", "王芳", looked_at)
    kiosk.bridge.post(MemberArrived(visit, deliberate=True))
    QTest.qWait(100)  # the bridge's queued event handled
    return visit


def signup_form(kiosk: Kiosk, *, phone: str) -> None:
    kiosk.controller.signup_opened()
    kiosk.controller.age_answered(True)
    signup = kiosk.window.signup
    signup.phone.edit.setText(phone)
    signup.name.edit.setText("王")
    signup.submit.click()


def signed_up(kiosk: Kiosk) -> None:
    kiosk.controller.signup_opened()
    kiosk.controller.age_answered(True)
    form = SignupForm(
        phone="139 1234 5678",
        name="王芳",
        consents=frozenset({ConsentPurpose.MEMBERSHIP, ConsentPurpose.MARKETING}),
    )
    kiosk.controller.signup_submitted(form)


def drawn(kiosk: Kiosk, *, won: bool | None) -> None:
    """The member draw: offered (`won` None), lost, or won."""
    member(kiosk)
    kiosk.controller.draw_opened("daily-draw")
    session = kiosk.controller.state.number
    if won is None:
        return
    if not won:
        kiosk.bridge.post(RewardReady(session, None, refusal="no_win", draw="daily-draw"))
        return
    coupon = IssuedCoupon("FIT-NOT-A-CODE", "phone-200", date(2026, 12, 23))
    kiosk.bridge.post(RewardReady(session, coupon, prize="grand", draw="daily-draw"))


def surveyed(kiosk: Kiosk) -> None:
    kiosk.controller.survey_opened("visit")
    kiosk.controller.survey_answered(Answer(score=4))


def thanked(kiosk: Kiosk) -> None:
    kiosk.controller.survey_opened("visit")
    for _ in range(6):  # every question answered: the thank-you
        kiosk.controller.survey_answered(Answer(score=4))


# Each view as a shopper reaches it; the name as scripts/screenshots.py calls it.
VIEWS: dict[str, Callable[[Kiosk], object]] = {
    "attract": lambda kiosk: None,
    "attract-thanks": lambda kiosk: kiosk.window.attract.faces[3].click(),
    "product": lambda kiosk: lift(kiosk, 3),
    "product-en": lambda kiosk: lift(kiosk, 3, language=Language.EN),
    "compare": lambda kiosk: lift(kiosk, 3, 7),
    "welcome": member,
    "signup-age": lambda kiosk: kiosk.controller.signup_opened(),
    "signup-form": lambda kiosk: signup_form(kiosk, phone=""),
    "signup-wrong-number": lambda kiosk: signup_form(kiosk, phone="138 0013 800"),
    "signup-done": signed_up,
    "survey": lambda kiosk: kiosk.controller.survey_opened("visit"),
    "survey-nps": surveyed,
    "survey-thanks": thanked,
    "draw": lambda kiosk: drawn(kiosk, won=None),
    "draw-lost": lambda kiosk: drawn(kiosk, won=False),
    "coupon": lambda kiosk: drawn(kiosk, won=True),
}


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("shape", theme.SCREEN_SHAPES)
def test_every_shopper_view_fits_the_screen_without_growing_the_window(
    qtbot: QtBot, kiosk: Kiosk, shape: str, view: str
) -> None:
    window = kiosk.window
    size = theme.SCREEN_SHAPES[shape]
    window.setFixedSize(*size)  # as display.cover fixes it to its screen
    window.show()
    qtbot.waitExposed(window)
    VIEWS[view](kiosk)
    QTest.qWait(300)  # the bridge's events handled, layouts settled
    assert_reached(kiosk, view)
    assert (window.width(), window.height()) == size
    problems = layout_problems(window)
    assert problems == [], "\n".join(problems)
    # Were the window free to grow, this view would still not need more than the screen.
    needed = window.current_screen().minimumSizeHint()
    assert needed.width() <= size[0], needed
    assert needed.height() <= size[1], needed


def assert_reached(kiosk: Kiosk, view: str) -> None:
    """The view the test means to check is on screen (not the attract loop by default)."""
    state = kiosk.controller.state
    screen = kiosk.window.current_screen()
    if view.startswith("attract"):
        assert screen is kiosk.window.attract
        return
    assert screen is not kiosk.window.attract, f"{view}: still on the attract loop"
    if view.startswith("signup"):
        assert isinstance(state.view, SignupView)
        step = SignupStep.DONE if view == "signup-done" else None
        step = SignupStep.AGE if view == "signup-age" else step
        assert step is None or state.view.step is step
    if view in ("draw", "draw-lost"):
        assert isinstance(state.view, DrawView)
