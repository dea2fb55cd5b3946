"""What the screens show, worked out without Qt from the sample bundle."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from helpers.bundles import sample_bundle

from content.bundle import Bundle, load_bundle
from content.model import Language, Money
from content.recommend import best_sellers, related
from content.sample import DAILY_DRAW, VISIT_SURVEY
from devices.events import Lifted
from kiosk.i18n import STRINGS, format_price
from kiosk.pages import (
    WELCOME_SHELF_SIZE,
    Offer,
    cabinet_skus,
    compare_page,
    lifted_page,
    product_page,
    welcome_page,
)
from kiosk.session import (
    CompareView,
    LocateNotice,
    MemberVisit,
    Pick,
    ProductView,
    SessionConfig,
    SessionMachine,
    SessionState,
    WelcomeView,
)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    return load_bundle(sample_bundle(tmp_path_factory.mktemp("pages") / "bundle"))


def sku(bundle: Bundle, slot: int) -> str:
    found = bundle.sku_on_slot(slot)
    assert found is not None
    return found


def test_every_screen_word_exists_in_both_languages() -> None:
    for key, texts in STRINGS.items():
        assert set(texts) == set(Language), key
        assert all(text.strip() for text in texts.values()), key


def test_prices_read_the_way_shoppers_expect() -> None:
    assert format_price(Money(amount="5999.00", currency="CNY")) == "¥5,999"
    assert format_price(Money(amount="5999.50", currency="CNY")) == "¥5,999.50"


def test_product_page_never_recommends_the_phones_in_hand(bundle: Bundle) -> None:
    a, b = sku(bundle, 1), sku(bundle, 2)
    state = SessionState(
        boot="t",
        number=1,
        view=ProductView(a, in_hand=True),
        picks=(Pick(1, a, 0.0, 1, True), Pick(2, b, 0.0, 1, True)),
    )
    page = product_page(bundle, ProductView(a, in_hand=True), state)
    assert page is not None
    shown = {card.sku for card in page.related + page.best_sellers}
    assert not shown & {a, b}
    assert len(shown) == len(page.related) + len(page.best_sellers), "no phone twice"


def test_product_page_speaks_the_chosen_language(bundle: Bundle) -> None:
    a = sku(bundle, 1)
    product = bundle.product(a)
    assert product is not None
    state = SessionState(boot="t", number=1, language=Language.EN)
    page = product_page(bundle, ProductView(a, in_hand=True), state)
    assert page is not None
    assert page.title == product.name.en
    assert dict(page.specs).keys() >= {"Display", "Battery"}


def test_locate_notice_names_the_slot_or_sends_to_staff(bundle: Bundle) -> None:
    a = sku(bundle, 4)
    base = SessionState(boot="t", number=1, notice=LocateNotice(a, 4, 99.0))
    page = product_page(bundle, ProductView(a, in_hand=False), base)
    assert page is not None
    assert page.notice is not None
    assert "4" in page.notice
    elsewhere = SessionState(boot="t", number=1, notice=LocateNotice(a, None, 99.0))
    page = product_page(bundle, ProductView(a, in_hand=False), elsewhere)
    assert page is not None
    assert page.notice == STRINGS["locate.ask_staff"][Language.ZH_CN]


def test_compare_page_flags_exactly_the_rows_that_differ(bundle: Bundle) -> None:
    a, b = sku(bundle, 1), sku(bundle, 9)
    page = compare_page(bundle, CompareView(a, b), SessionState(boot="t", number=1))
    assert page is not None
    assert any(row.differs for _, row in page.rows)
    for _, row in page.rows:
        assert row.differs == (row.left != row.right)
        assert row.winner == 0 or row.differs


def test_unknown_sku_gives_no_page(bundle: Bundle) -> None:
    state = SessionState(boot="t", number=1)
    assert product_page(bundle, ProductView("NOPE", in_hand=True), state) is None
    assert compare_page(bundle, CompareView("NOPE", sku(bundle, 1)), state) is None


def member(*last_viewed: str, name: str | None = None) -> MemberVisit:
    return MemberVisit("7d1c0c1e-5b0e-4c1a-9d4e-0a0a0a0a0a01", name, last_viewed)


def test_welcome_shows_what_the_member_looked_at_and_picks_drawn_from_it(bundle: Bundle) -> None:
    a, b = sku(bundle, 1), sku(bundle, 5)
    visit = member(a, "NOT-SOLD-HERE", b, a, name="王芳")
    visit = dataclasses.replace(visit, personalised=True)  # picks from their history
    state = SessionState(boot="t", number=1, view=WelcomeView(1), member=visit)
    page = welcome_page(bundle, visit, state)
    assert page.greeting == "欢迎回来，王芳"
    assert [c.sku for c in page.last_viewed] == [a, b]  # in their order, sold here only
    assert len(page.picks) == WELCOME_SHELF_SIZE
    picked = [c.sku for c in page.picks]
    assert not {a, b} & set(picked), "picks are new to them"
    assert len(set(picked)) == len(picked)
    alike = {p.sku for s in (a, b) for p in related(bundle, s, limit=WELCOME_SHELF_SIZE)}
    assert picked[0] in alike, "the first pick comes from what they looked at"


def test_without_personalisation_consent_the_picks_are_best_sellers_only(bundle: Bundle) -> None:
    a, b = sku(bundle, 1), sku(bundle, 5)
    visit = member(a, b)  # personalised is False: recognised, but no personal picks
    state = SessionState(boot="t", number=1, view=WelcomeView(1), member=visit)
    page = welcome_page(bundle, visit, state)
    assert [c.sku for c in page.last_viewed] == [a, b]  # recognition shows what they saw
    best = best_sellers(bundle, limit=WELCOME_SHELF_SIZE, exclude=(a, b))
    assert [c.sku for c in page.picks] == [p.sku for p in best]
    assert page.picks_title == "本店热销"


def test_a_member_who_just_joined_is_welcomed_not_welcomed_back(bundle: Bundle) -> None:
    joined = dataclasses.replace(member(name="王芳"), joined=True)
    state = SessionState(boot="t", number=1, view=WelcomeView(1), member=joined)
    assert welcome_page(bundle, joined, state).greeting == "欢迎您，王芳"
    nameless = dataclasses.replace(joined, greeting_name=None)
    english = dataclasses.replace(state, member=nameless, language=Language.EN)
    assert welcome_page(bundle, nameless, english).greeting == "Welcome"


def test_welcome_greets_without_a_name_unless_allowed_and_speaks_english(bundle: Bundle) -> None:
    visit = member()
    state = SessionState(
        boot="t", number=1, view=WelcomeView(1), member=visit, language=Language.EN
    )
    page = welcome_page(bundle, visit, state)
    assert page.greeting == "Welcome back"
    assert page.last_viewed == ()
    assert [c.sku for c in page.picks] == [
        p.sku for p in best_sellers(bundle, limit=WELCOME_SHELF_SIZE)
    ]


def test_welcome_says_when_the_member_last_looked_in_the_stores_days(bundle: Bundle) -> None:
    a = sku(bundle, 1)
    # 23:00 UTC on the 2nd is 07:00 on the 3rd in Shanghai: the store's day counts.
    visit = dataclasses.replace(member(a), last_seen=datetime(2026, 12, 2, 23, tzinfo=UTC))
    state = SessionState(boot="t", number=1, view=WelcomeView(1), member=visit)
    shanghai = ZoneInfo("Asia/Shanghai")
    titles = [
        welcome_page(
            bundle, visit, state, datetime(2026, 12, day, 18, tzinfo=shanghai)
        ).last_viewed_title
        for day in (3, 4, 6)
    ]
    assert titles == ["您上次看过 · 今天早些时候", "您上次看过 · 昨天", "您上次看过 · 3 天前"]
    english = dataclasses.replace(state, language=Language.EN)
    page = welcome_page(bundle, visit, english, datetime(2026, 12, 6, 9, tzinfo=shanghai))
    assert page.last_viewed_title == "You looked at · 3 days ago"
    # Without the time of their visit the title does not make one up.
    now = datetime(2026, 12, 6, 9, tzinfo=shanghai)
    assert welcome_page(bundle, member(a), state, now).last_viewed_title == "您上次看过"


def test_welcome_offers_the_draw_until_it_is_had_and_the_surveys_coupon(bundle: Bundle) -> None:
    visit = member(sku(bundle, 1))
    state = SessionState(boot="t", number=1, view=WelcomeView(1), member=visit)
    draw, feedback = welcome_page(bundle, visit, state).offers
    assert draw == Offer(
        "会员每日幸运抽奖", "今天就来试试手气，最高可得购机立减¥200", "去抽奖", ("draw", DAILY_DRAW)
    )
    assert (feedback.title, feedback.body) == ("评价有礼", "回答一分钟问卷，即可领取配件立减¥50")
    assert feedback.action == ("feedback", VISIT_SURVEY)
    drew = dataclasses.replace(state, draw_refusals=((DAILY_DRAW, "member_limit"),), surveyed=True)
    (told,) = welcome_page(bundle, visit, drew).offers
    assert told == Offer("会员每日幸运抽奖", "您今天已经抽过奖了，明天再来吧", None, None)


def test_the_page_prepared_for_each_phone_is_the_page_its_lift_shows(bundle: Bundle) -> None:
    """The product screen prepares `lifted_page` ahead; a lift from the attract loop must
    then ask for nothing else, in either language."""
    slots = {a.slot: a.sku for a in bundle.planogram.slots}
    machine = SessionMachine(SessionConfig(), slots)
    for language in Language:
        for slot, phone in slots.items():
            idle = SessionState(boot="t", number=3, language=language)
            state = machine.step(idle, Lifted(slot, 100.0), 100.0).state
            assert isinstance(state.view, ProductView)
            assert product_page(bundle, state.view, state) == lifted_page(bundle, phone, language)
    assert cabinet_skus(bundle) == tuple(sku for _, sku in sorted(slots.items()))
