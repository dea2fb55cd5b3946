"""The member's screens (welcome, draw, coupon, messages, survey) in both shapes of the
kiosk's panel: each screen, showing real pages of the sample bundle in both languages,
fits a landscape 1920x1080 and a portrait 1080x1920 window without growing it, with
nothing cut off, and lays itself out for the shape."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from helpers.bundles import sample_bundle
from helpers.geometry import layout_problems
from helpers.qt_kiosk import themed
from PySide6.QtCore import QSize
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from content.bundle import Bundle, load_bundle
from content.model import Language
from content.sample import DAILY_DRAW, VISIT_SURVEY
from kiosk import pages, theme
from kiosk.images import ImageCache
from kiosk.screens.common import Screen
from kiosk.screens.reward import CouponScreen, DrawScreen, MessageScreen
from kiosk.screens.survey import SurveyScreen
from kiosk.screens.welcome import WelcomeScreen
from kiosk.session import (
    CouponView,
    DrawView,
    FobView,
    IssuedCoupon,
    MemberVisit,
    RewardStatus,
    SessionState,
    SurveyView,
    ThanksView,
    WelcomeView,
)

SHAPES = tuple(theme.SCREEN_SHAPES)
LANGUAGES = (Language.ZH_CN, Language.EN)
# A long greeting name: 40 characters is the sign-up's limit.
MEMBER = MemberVisit(
    "m-1",
    "Alexandra Konstantinopoulou-Worthington",
    (),
    last_seen=datetime(2026, 12, 1, 10, tzinfo=UTC),
)
COUPON = IssuedCoupon("201G-008G-04K7-0GZV-1RJJ-WHXA", "phone-200", date(2026, 12, 23))


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    return load_bundle(sample_bundle(tmp_path_factory.mktemp("member-screens") / "bundle"))


@pytest.fixture
def images() -> Iterator[ImageCache]:
    cache = ImageCache()
    yield cache
    cache.close()


def state(bundle: Bundle, language: Language, **changes: object) -> SessionState:
    looked = tuple(bundle.sku_on_slot(slot) or "" for slot in (3, 7, 10))
    member = dataclasses.replace(MEMBER, last_viewed=looked)
    base = SessionState(boot="t", number=1, language=language, member=member)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def shown(qtbot: QtBot, qapp: QApplication, screen: Screen, shape: str) -> Screen:
    themed(qapp)
    qtbot.addWidget(screen)
    width, height = theme.SCREEN_SHAPES[shape]
    screen.set_portrait(height > width)
    screen.resize(width, height)
    screen.show()
    qtbot.waitExposed(screen)
    qtbot.wait(30)  # layouts settle on the next turns of the event loop
    return screen


def fits(screen: Screen, shape: str) -> None:
    width, height = theme.SCREEN_SHAPES[shape]
    hint = screen.minimumSizeHint()
    assert hint.width() <= width, f"would grow the window to {hint.width()} px wide"
    assert hint.height() <= height, f"would grow the window to {hint.height()} px high"
    assert screen.size() == QSize(width, height)
    assert layout_problems(screen) == []


def welcome(bundle: Bundle, images: ImageCache, language: Language) -> Screen:
    screen = WelcomeScreen(images)
    session = state(bundle, language, view=WelcomeView(1))
    assert session.member is not None
    now = datetime(2026, 12, 6, 10, tzinfo=UTC)
    screen.show_page(pages.welcome_page(bundle, session.member, session, now))
    return screen


def draw(bundle: Bundle, images: ImageCache, language: Language, view: DrawView) -> Screen:
    screen = DrawScreen(images)
    page = pages.draw_page(bundle, view, state(bundle, language, view=view))
    assert page is not None
    screen.show_page(page)
    return screen


def coupon(bundle: Bundle, images: ImageCache, language: Language) -> Screen:
    screen = CouponScreen()
    view = CouponView(1, COUPON, prize="grand")
    screen.show_page(pages.coupon_page(bundle, view, state(bundle, language, view=view)))
    return screen


def fob(bundle: Bundle, images: ImageCache, language: Language) -> Screen:
    screen = MessageScreen()
    session = state(bundle, language, view=FobView(1), member=None)
    screen.show_page(pages.fob_page(FobView(1), session, can_join=True))
    return screen


def thanks(bundle: Bundle, images: ImageCache, language: Language) -> Screen:
    screen = MessageScreen()
    view = ThanksView(1, VISIT_SURVEY, RewardStatus.REFUSED)
    screen.show_page(pages.thanks_page(view, state(bundle, language, view=view)))
    return screen


def survey(question: str, answered: int = 0) -> Callable[[Bundle, ImageCache, Language], Screen]:
    def make(bundle: Bundle, images: ImageCache, language: Language) -> Screen:
        screen = SurveyScreen(lambda: pytest.fail("no keyboard for this question"))
        view = SurveyView(1, VISIT_SURVEY, question, answered)
        page = pages.survey_page(bundle, view, state(bundle, language, view=view))
        assert page is not None
        screen.show_page(page)
        return screen

    return make


SCREENS: dict[str, Callable[[Bundle, ImageCache, Language], Screen]] = {
    "welcome": welcome,
    "draw": lambda b, i, lang: draw(b, i, lang, DrawView(1, DAILY_DRAW)),
    "drawing": lambda b, i, lang: draw(b, i, lang, DrawView(1, DAILY_DRAW, drawing=True)),
    "draw-lost": lambda b, i, lang: draw(b, i, lang, DrawView(1, DAILY_DRAW, outcome="no_win")),
    "coupon": coupon,
    "fob": fob,
    "thanks": thanks,
    "survey-smiley": survey("experience"),
    "survey-choice": survey("what-went-wrong", 1),
    "survey-nps": survey("recommend", 1),
}


@pytest.mark.parametrize("language", LANGUAGES, ids=lambda lang: lang.value)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", list(SCREENS))
def test_each_member_screen_fits_both_shapes_with_nothing_cut_off(
    qtbot: QtBot,
    qapp: QApplication,
    bundle: Bundle,
    images: ImageCache,
    name: str,
    shape: str,
    language: Language,
) -> None:
    screen = shown(qtbot, qapp, SCREENS[name](bundle, images, language), shape)
    fits(screen, shape)


@pytest.mark.parametrize("shape", SHAPES)
def test_the_welcome_puts_its_offers_beside_the_shelves_or_under_them(
    qtbot: QtBot, qapp: QApplication, bundle: Bundle, images: ImageCache, shape: str
) -> None:
    screen = shown(qtbot, qapp, welcome(bundle, images, Language.ZH_CN), shape)
    assert isinstance(screen, WelcomeScreen)
    offer = screen.offers[0].geometry().translated(screen.offers[0].parentWidget().pos())
    shelf = screen.picks.geometry()
    if shape == "portrait":
        assert offer.top() > shelf.bottom()  # under the shelves, full width
    else:
        assert offer.left() > shelf.right()  # a column to the right
    # The shelves and offers take the room there is: no empty band under them, only
    # the margin where the warning before leaving appears.
    lowest = max(shelf.bottom(), offer.bottom())
    assert screen.height() - lowest < 140
    assert [c.isVisible() for c in screen.picks.cards] == [True] * 4


@pytest.mark.parametrize("shape", SHAPES)
def test_the_coupons_code_stays_in_reach_of_a_phone_camera(
    qtbot: QtBot, qapp: QApplication, bundle: Bundle, images: ImageCache, shape: str
) -> None:
    screen = shown(qtbot, qapp, coupon(bundle, images, Language.ZH_CN), shape)
    assert isinstance(screen, CouponScreen)
    qr = screen.qr
    assert qr.size() == QSize(520, 520)
    top_of_qr = qr.mapTo(screen, qr.rect().topLeft()).y()
    top_of_value = screen.value.mapTo(screen, screen.value.rect().topLeft()).y()
    if shape == "portrait":
        assert top_of_qr < top_of_value  # the code first, at the height of a raised phone
    else:
        assert qr.mapTo(screen, qr.rect().topLeft()).x() > screen.width() // 2


def test_a_portrait_survey_puts_0_to_10_on_two_rows(
    qtbot: QtBot, qapp: QApplication, bundle: Bundle, images: ImageCache
) -> None:
    screen = shown(qtbot, qapp, survey("recommend", 1)(bundle, images, Language.EN), "portrait")
    assert isinstance(screen, SurveyScreen)
    rows = {b.y() for b in screen._buttons}
    assert len(rows) == 2
    assert screen.progress.text() == "2/3"
    screen.set_portrait(False)
    screen.resize(*theme.SCREEN_SIZE)
    qtbot.wait(30)
    assert len({b.y() for b in screen._buttons}) == 1


def test_the_prize_draw_survives_a_bundle_with_many_prizes(
    qtbot: QtBot, qapp: QApplication, bundle: Bundle, images: ImageCache, tmp_path: Path
) -> None:
    (shown_draw,) = bundle.prize_draws
    first = shown_draw.prizes[0]
    many = tuple(
        first.model_copy(update={"id": f"p{n}", "chance": first.chance / 8}) for n in range(8)
    )
    edited = dataclasses.replace(
        bundle, prize_draws=(shown_draw.model_copy(update={"prizes": many}),)
    )
    for shape in SHAPES:
        screen = shown(
            qtbot, qapp, draw(edited, images, Language.EN, DrawView(1, DAILY_DRAW)), shape
        )
        fits(screen, shape)
