"""A member offer on the shopper's screens: the welcome's hero card and the offer's
coupon with "send to my phone" and "print", in both shapes and languages, with the
QR read off the screen by a real decoder (zxing-cpp)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from helpers.bundles import sample_bundle
from helpers.geometry import layout_problems
from helpers.qr import decode_qr
from helpers.qt_kiosk import themed
from helpers.touch import tap
from PySide6.QtCore import QSize
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from content.bundle import Bundle, load_bundle
from content.model import Language
from content.offers import Offer
from content.sample import CASE_DISCOUNT
from kiosk import pages, theme
from kiosk.images import ImageCache
from kiosk.screens.common import Screen
from kiosk.screens.reward import CouponScreen
from kiosk.screens.welcome import WelcomeScreen
from kiosk.session import (
    CouponView,
    IssuedCoupon,
    MemberOffer,
    MemberVisit,
    OfferStep,
    PrintStep,
    SessionState,
    WelcomeView,
)

SHAPES = tuple(theme.SCREEN_SHAPES)
LANGUAGES = (Language.ZH_CN, Language.EN)
WALL = datetime(2026, 12, 7, 4, 30, tzinfo=UTC)
MEMBER = MemberVisit("0a1b2c3d-0000-4000-8000-0000000000aa", "王芳", (), marketing=True)
CODE = IssuedCoupon("201G-008G-04K7-0GZV-1RJJ-WHXA", CASE_DISCOUNT, date(2026, 12, 23), 7)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    return load_bundle(sample_bundle(tmp_path_factory.mktemp("offer-screens") / "bundle"))


@pytest.fixture
def images() -> Iterator[ImageCache]:
    cache = ImageCache()
    yield cache
    cache.close()


def gold_offer(bundle: Bundle, *, coupon: bool = True, product: bool = True) -> Offer:
    return Offer.model_validate(
        {
            "id": "gold-case",
            "title": {"zh-CN": "金卡会员专享：手机壳立减", "en": "Gold members: money off a case"},
            "message": {"zh-CN": "今天到店即可使用", "en": "Use it in store today"},
            "campaign": CASE_DISCOUNT if coupon else None,
            "product": bundle.sku_on_slot(3) if product else None,
            "starts_at": "2026-12-01T00:00:00+08:00",
            "ends_at": "2027-01-01T00:00:00+08:00",
        }
    )


def state(
    bundle: Bundle, language: Language, offer: MemberOffer, **changes: object
) -> SessionState:
    base = SessionState(
        boot="t", number=1, language=language, member=MEMBER, view=WelcomeView(1), offer=offer
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def shown(qtbot: QtBot, qapp: QApplication, screen: Screen, shape: str) -> Screen:
    themed(qapp)
    qtbot.addWidget(screen)
    width, height = theme.SCREEN_SHAPES[shape]
    screen.set_portrait(height > width)
    screen.resize(width, height)
    screen.show()
    qtbot.waitExposed(screen)
    qtbot.wait(30)
    return screen


def fits(screen: Screen, shape: str) -> None:
    width, height = theme.SCREEN_SHAPES[shape]
    hint = screen.minimumSizeHint()
    assert hint.width() <= width, f"would grow the window to {hint.width()} px wide"
    assert hint.height() <= height, f"would grow the window to {hint.height()} px high"
    assert screen.size() == QSize(width, height)
    assert layout_problems(screen) == []


def welcome(
    bundle: Bundle, images: ImageCache, language: Language, offer: MemberOffer
) -> WelcomeScreen:
    screen = WelcomeScreen(images)
    session = state(bundle, language, offer)
    screen.show_page(pages.welcome_page(bundle, MEMBER, session, WALL))
    return screen


def coupon_screen(bundle: Bundle, language: Language, offer: MemberOffer, **changes: object):
    view = CouponView(1, CODE, offer="gold-case")
    session = state(bundle, language, offer, view=view, **changes)
    screen = CouponScreen()
    screen.show_page(pages.coupon_page(bundle, view, session))
    return screen


@pytest.mark.parametrize("language", LANGUAGES, ids=lambda lang: lang.value)
@pytest.mark.parametrize("shape", SHAPES)
def test_the_welcome_shows_the_member_offer_as_its_hero_card(
    qtbot: QtBot,
    qapp: QApplication,
    bundle: Bundle,
    images: ImageCache,
    shape: str,
    language: Language,
) -> None:
    offer = gold_offer(bundle)
    screen = welcome(bundle, images, language, MemberOffer(1, WALL, offer, OfferStep.SHOWN))
    shown(qtbot, qapp, screen, shape)
    fits(screen, shape)
    hero = screen.hero
    assert hero is not None
    assert hero.isVisible()
    assert hero.title.text() == offer.title.get(language)
    assert hero.take.isVisible()
    assert hero.take.text() == ("领取" if language is Language.ZH_CN else "Take it")
    assert hero.take.height() >= theme.TOUCH_MIN  # a thumb finds it first time
    product = bundle.product(bundle.sku_on_slot(3) or "")
    assert product is not None
    assert hero.product.isVisible()
    assert hero.product.name.text() == product.name.get(language)
    # The draw and the survey are not squeezed beside it: the action bar has them.
    assert not any(panel.isVisible() for panel in screen.offers)
    top_of_hero = hero.mapTo(screen, hero.rect().topLeft())
    top_of_shelves = screen.picks.mapTo(screen, screen.picks.rect().topLeft())
    if shape == "portrait":  # first, under the greeting
        assert top_of_hero.y() < top_of_shelves.y()
    else:  # a column beside the shelves
        assert top_of_hero.x() > screen.picks.geometry().right()
    # Painted: the card is on the frame, not only laid out.
    frame = screen.grab().toImage()
    inside = hero.mapTo(screen, hero.rect().center())
    assert frame.pixelColor(inside) != theme.BACKGROUND


def test_taking_the_offer_is_one_tap_on_its_button(
    qtbot: QtBot, qapp: QApplication, bundle: Bundle, images: ImageCache
) -> None:
    screen = welcome(
        bundle, images, Language.ZH_CN, MemberOffer(1, WALL, gold_offer(bundle), OfferStep.SHOWN)
    )
    shown(qtbot, qapp, screen, "landscape")
    assert screen.hero is not None
    with qtbot.waitSignal(screen.offer_taken, timeout=1000):
        tap(screen.hero.take)


def test_the_featured_phone_is_tapped_like_a_recommendation(
    qtbot: QtBot, qapp: QApplication, bundle: Bundle, images: ImageCache
) -> None:
    screen = welcome(
        bundle, images, Language.EN, MemberOffer(1, WALL, gold_offer(bundle), OfferStep.SHOWN)
    )
    shown(qtbot, qapp, screen, "portrait")
    assert screen.hero is not None
    with qtbot.waitSignal(screen.recommendation_tapped, timeout=1000) as tapped:
        tap(screen.hero.product)
    assert tapped.args == [bundle.sku_on_slot(3), "member_offer"]


def test_a_message_only_offer_has_no_button(
    qtbot: QtBot, qapp: QApplication, bundle: Bundle, images: ImageCache
) -> None:
    offer = gold_offer(bundle, coupon=False, product=False)
    screen = welcome(bundle, images, Language.ZH_CN, MemberOffer(1, WALL, offer, OfferStep.SHOWN))
    shown(qtbot, qapp, screen, "landscape")
    assert screen.hero is not None
    assert screen.hero.title.isVisible()
    assert not screen.hero.take.isVisible()
    assert not screen.hero.product.isVisible()


def test_a_refused_offer_says_so_kindly_without_a_button(
    qtbot: QtBot, qapp: QApplication, bundle: Bundle, images: ImageCache
) -> None:
    offer = MemberOffer(1, WALL, gold_offer(bundle), OfferStep.REFUSED, refusal="budget_spent")
    screen = welcome(bundle, images, Language.ZH_CN, offer)
    shown(qtbot, qapp, screen, "landscape")
    assert screen.hero is not None
    assert not screen.hero.take.isVisible()
    assert screen.hero.status.text() == "今天的名额已经领完了，明天再来试试"


def test_without_an_offer_the_welcome_keeps_its_small_offers(
    qtbot: QtBot, qapp: QApplication, bundle: Bundle, images: ImageCache
) -> None:
    screen = WelcomeScreen(images)
    session = dataclasses.replace(state(bundle, Language.ZH_CN, MemberOffer(1, WALL)), offer=None)
    screen.show_page(pages.welcome_page(bundle, MEMBER, session, WALL))
    shown(qtbot, qapp, screen, "landscape")
    assert screen.hero is None  # not even built
    assert screen.offers[0].isVisible()


@pytest.mark.parametrize("language", LANGUAGES, ids=lambda lang: lang.value)
@pytest.mark.parametrize("shape", SHAPES)
def test_the_offers_coupon_shows_its_qr_send_and_print(
    qtbot: QtBot, qapp: QApplication, bundle: Bundle, shape: str, language: Language
) -> None:
    taken = MemberOffer(1, WALL, gold_offer(bundle), OfferStep.TAKEN, coupon=CODE)
    screen = coupon_screen(bundle, language, taken, printer_ready=True)
    shown(qtbot, qapp, screen, shape)
    fits(screen, shape)
    assert decode_qr(screen.qr.grab().toImage()) == CODE.code.replace("-", "")
    assert screen.send.isVisible()
    assert screen.print.isVisible()
    english = language is Language.EN
    assert screen.send.text() == ("Send to my phone" if english else "发送到我的手机")
    assert screen.print.text() == ("Print" if english else "打印")
    with qtbot.waitSignal(screen.text_asked, timeout=1000):
        tap(screen.send)
    with qtbot.waitSignal(screen.print_asked, timeout=1000):
        tap(screen.print)


def test_print_is_hidden_while_the_printer_is_not_ready(
    qtbot: QtBot, qapp: QApplication, bundle: Bundle
) -> None:
    taken = MemberOffer(1, WALL, gold_offer(bundle), OfferStep.TAKEN, coupon=CODE)
    screen = coupon_screen(bundle, Language.ZH_CN, taken, printer_ready=False)
    shown(qtbot, qapp, screen, "landscape")
    assert screen.send.isVisible()
    assert not screen.print.isVisible()


@pytest.mark.parametrize(
    ("online", "said"),
    [(True, "短信将在几分钟内送达"), (False, "门店网络恢复后，短信将发送到您的手机")],
)
def test_once_sent_the_button_becomes_when_the_text_will_arrive(
    qtbot: QtBot, qapp: QApplication, bundle: Bundle, online: bool, said: str
) -> None:
    sent = MemberOffer(1, WALL, gold_offer(bundle), OfferStep.TAKEN, coupon=CODE, texted=True)
    screen = coupon_screen(bundle, Language.ZH_CN, sent, hq_online=online)
    shown(qtbot, qapp, screen, "landscape")
    # The button stays where the finger was, saying what it did, and takes no second tap.
    assert screen.send.isVisible()
    assert not screen.send.isEnabled()
    assert screen.send.text() == "✓ 已发送到手机"
    assert screen.phone_note.isVisible()
    assert screen.phone_note.text() == said


@pytest.mark.parametrize(
    ("step", "said"),
    [
        (PrintStep.PRINTED, "请在下方取券"),
        (PrintStep.FAILED, "打印机暂时不可用，请发送到手机或拍下二维码"),
    ],
)
def test_after_printing_the_screen_says_what_happened(
    qtbot: QtBot, qapp: QApplication, bundle: Bundle, step: PrintStep, said: str
) -> None:
    offer = MemberOffer(1, WALL, gold_offer(bundle), OfferStep.TAKEN, coupon=CODE, printing=step)
    screen = coupon_screen(bundle, Language.ZH_CN, offer, printer_ready=step is PrintStep.FAILED)
    shown(qtbot, qapp, screen, "landscape")
    assert screen.print_note.text() == said
    # Printed: no second ticket offered (the button stays, done); failed and ready again:
    # it may be tried again.
    assert screen.print.isVisible()
    assert screen.print.isEnabled() is (step is PrintStep.FAILED)
    assert screen.print.text() == ("打印" if step is PrintStep.FAILED else "✓ 已打印")


def test_other_coupons_offer_neither_send_nor_print(
    qtbot: QtBot, qapp: QApplication, bundle: Bundle
) -> None:
    view = CouponView(1, CODE)
    session = state(bundle, Language.ZH_CN, MemberOffer(1, WALL), view=view, printer_ready=True)
    screen = CouponScreen()
    screen.show_page(pages.coupon_page(bundle, view, session))
    shown(qtbot, qapp, screen, "landscape")
    assert not screen.send.isVisible()
    assert not screen.print.isVisible()
