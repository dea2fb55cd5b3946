"""What the sign-up, survey, thanks, draw and coupon screens show, without Qt, from the
sample bundle."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest
from helpers.bundles import sample_bundle
from hypothesis import given
from hypothesis import strategies as st

from content.bundle import Bundle, load_bundle
from content.model import (
    ConsentPurpose,
    CouponCampaign,
    Language,
    LocalizedText,
    Money,
    QuestionKind,
)
from content.sample import (
    CASE_DISCOUNT,
    DAILY_DRAW,
    NOTICE_VERSION,
    SURVEY_REWARD,
    VISIT_SURVEY,
)
from kiosk.i18n import tr
from kiosk.pages import (
    actions,
    coupon_page,
    coupon_value,
    draw_page,
    signup_page,
    survey_page,
    thanks_page,
)
from kiosk.session import (
    Binding,
    CouponView,
    DrawView,
    IssuedCoupon,
    MemberVisit,
    ProductView,
    RewardStatus,
    SessionState,
    SignupStep,
    SignupView,
    SurveyView,
    ThanksView,
)
from kiosk.signup import FormField, Problem

ZH, EN = Language.ZH_CN, Language.EN
ANNA = MemberVisit("7d1c0c1e-5b0e-4c1a-9d4e-0a0a0a0a0a01", "Anna", ())
COUPON = IssuedCoupon("7K2M-Q9TX-0000-0000-0000-0001", SURVEY_REWARD, date(2026, 12, 31))
CASE_COUPON = IssuedCoupon("7K2M-Q9TX-0000-0000-0000-0002", CASE_DISCOUNT, date(2026, 12, 14))


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    return load_bundle(sample_bundle(tmp_path_factory.mktemp("flow-pages") / "bundle"))


def state(
    language: Language = ZH,
    *,
    member: MemberVisit | None = None,
    surveyed: bool = False,
) -> SessionState:
    return SessionState(
        boot="t",
        number=1,
        view=ProductView("XH-N1", in_hand=True),
        language=language,
        member=member,
        surveyed=surveyed,
    )


# --- the buttons on browsing screens ------------------------------------------------------


def test_a_shopper_is_offered_to_join_and_to_give_feedback_but_not_the_draw(
    bundle: Bundle,
) -> None:
    offered = actions(bundle, state())
    assert offered.join == "注册会员"
    assert offered.feedback == (VISIT_SURVEY, "评价有礼")
    assert offered.draw is None


def test_a_member_is_offered_the_draw_and_not_to_join(bundle: Bundle) -> None:
    offered = actions(bundle, state(EN, member=ANNA))
    assert offered.join is None
    assert offered.feedback == (VISIT_SURVEY, "Feedback")
    assert offered.draw == (DAILY_DRAW, "Prize draw")


def test_feedback_is_not_offered_twice_in_a_session(bundle: Bundle) -> None:
    assert actions(bundle, state(surveyed=True)).feedback is None


def test_a_bundle_without_notices_surveys_or_draws_offers_none_of_them(bundle: Bundle) -> None:
    bare = dataclasses.replace(bundle, notices=(), surveys=(), campaigns=(), prize_draws=())
    offered = actions(bare, state(member=ANNA))
    assert (offered.join, offered.feedback, offered.draw) == (None, None, None)
    assert actions(bare, state()).join is None


# --- sign-up ------------------------------------------------------------------------------


def test_the_sign_up_shows_each_consent_with_its_notice_and_version(bundle: Bundle) -> None:
    page = signup_page(bundle, SignupView(1, SignupStep.FORM), state())
    assert page.title == "注册会员"
    assert [c.purpose for c in page.consents] == list(ConsentPurpose)
    membership = page.consents[0]
    assert membership.label == "成为会员（必选）"
    notice = bundle.notice(ConsentPurpose.MEMBERSHIP)
    assert notice is not None
    assert membership.text == notice.text.zh_cn
    assert membership.version == f"告知书版本 {NOTICE_VERSION}"
    english = signup_page(bundle, SignupView(1, SignupStep.FORM), state(EN))
    assert english.consents[1].label == "Offers by SMS and email (optional)"
    assert english.consents[1].version == f"Notice version {NOTICE_VERSION}"
    assert page.errors == ()
    assert page.binding is None
    assert page.draw is None


def test_each_problem_is_explained_beside_its_field(bundle: Bundle) -> None:
    view = SignupView(1, SignupStep.FORM, (Problem.PHONE_NOT_MOBILE, Problem.MEMBERSHIP_REQUIRED))
    assert signup_page(bundle, view, state()).errors == (
        (FormField.PHONE, "请填写手机号码（不支持固定电话）"),
        (FormField.CONSENT, "注册需要勾选“成为会员”"),
    )
    assert signup_page(bundle, view, state(EN)).errors[0] == (
        FormField.PHONE,
        "Please give a mobile number, not a landline",
    )


@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize("problem", list(Problem))
def test_every_problem_has_words_in_every_language(
    bundle: Bundle, problem: Problem, language: Language
) -> None:
    page = signup_page(bundle, SignupView(1, SignupStep.FORM, (problem,)), state(language))
    ((_, words),) = page.errors
    assert words.strip()
    assert "signup.error" not in words


def test_under_14_are_asked_to_see_staff(bundle: Bundle) -> None:
    page = signup_page(bundle, SignupView(1, SignupStep.UNDER_AGE), state())
    assert page.title == "请联系店员"
    assert page.draw is None


@pytest.mark.parametrize(
    ("binding", "says"),
    [
        (Binding.WAITING, "如有会员钥匙扣，现在将它贴近感应区，即可绑定（可跳过）"),
        (Binding.BOUND, "钥匙扣已绑定"),
        (Binding.TAKEN, "这个钥匙扣已属于其他会员，请联系店员"),
        (Binding.NONE, None),
    ],
)
def test_after_joining_the_page_welcomes_says_how_the_fob_went_and_offers_the_draw(
    bundle: Bundle, binding: Binding, says: str | None
) -> None:
    new_member = MemberVisit("7d1c0c1e-5b0e-4c1a-9d4e-0a0a0a0a0a03", None, ())
    view = SignupView(1, SignupStep.DONE, binding=binding)
    page = signup_page(bundle, view, state(member=new_member))
    assert page.title == "欢迎成为会员！"
    assert page.binding == says
    assert page.draw == (DAILY_DRAW, "会员抽奖")


def test_the_new_member_is_greeted_by_name_told_what_they_get_and_what_to_do_next(
    bundle: Bundle,
) -> None:
    new_member = MemberVisit("7d1c0c1e-5b0e-4c1a-9d4e-0a0a0a0a0a03", None, (), joined=True)
    view = SignupView(1, SignupStep.DONE, binding=Binding.WAITING, name="王芳")
    page = signup_page(bundle, view, state(member=new_member))
    assert page.title == "王芳，欢迎成为会员！"
    assert page.benefits == (
        "会员抽奖：会员每日幸运抽奖，每天都可以参加",  # the draw's title, from the bundle
        "会员优惠券，凭手机号码在门店使用",
        "下次来店轻触钥匙扣，即可看到上次看过的手机和为您挑选的推荐",
    )
    assert page.next_step == "下一步：现在就参加今天的会员抽奖"
    english = signup_page(bundle, view, state(EN, member=new_member))
    assert english.title == "Welcome, 王芳: you are a member!"
    assert english.benefits[0] == "The member draw, every day: Members' daily lucky draw"


def test_the_welcome_coupon_shows_its_offer_code_and_expiry_once_issued(bundle: Bundle) -> None:
    new_member = MemberVisit("7d1c0c1e-5b0e-4c1a-9d4e-0a0a0a0a0a03", None, (), joined=True)
    waiting = SignupView(1, SignupStep.DONE, name="Li", reward=RewardStatus.PENDING)
    assert signup_page(bundle, waiting, state(member=new_member)).coupon is None
    issued = dataclasses.replace(waiting, reward=RewardStatus.NONE, coupon=CASE_COUPON)
    coupon = signup_page(bundle, issued, state(member=new_member)).coupon
    assert coupon is not None
    case = bundle.campaign(CASE_DISCOUNT)
    assert case is not None
    assert coupon.offer == case.title.zh_cn
    assert coupon.code == CASE_COUPON.code
    assert coupon.expires == "有效期至 2026-12-14"


def test_without_a_draw_or_a_fob_the_next_step_is_a_look_at_the_phones(bundle: Bundle) -> None:
    no_draws = dataclasses.replace(bundle, prize_draws=())
    new_member = MemberVisit("7d1c0c1e-5b0e-4c1a-9d4e-0a0a0a0a0a03", None, (), joined=True)
    view = SignupView(1, SignupStep.DONE, name="Li")
    page = signup_page(no_draws, view, state(EN, member=new_member))
    assert page.draw is None
    assert page.benefits == (
        "Member coupons, used in store with your mobile number",
        "Picks chosen for you beside every phone on display",
    )
    assert page.next_step == "Next: pick up any phone to see what we picked for you"


# --- surveys ------------------------------------------------------------------------------


def test_a_smiley_question_shows_four_faces_in_order(bundle: Bundle) -> None:
    page = survey_page(bundle, SurveyView(1, VISIT_SURVEY, "experience"), state())
    assert page is not None
    assert page.title == "一分钟购物体验调查"
    assert page.progress == "1/3"  # a happy score skips "what went wrong"
    assert page.prompt == "今天的购物体验如何？"
    assert page.kind is QuestionKind.SMILEY
    assert page.choices == (
        ("1", "非常不满意"),
        ("2", "不满意"),
        ("3", "满意"),
        ("4", "非常满意"),
    )
    assert not page.optional


def test_an_nps_question_shows_zero_to_ten(bundle: Bundle) -> None:
    # The happy branch skips "what went wrong": the second answer is question 2.
    page = survey_page(bundle, SurveyView(1, VISIT_SURVEY, "recommend", answered=1), state(EN))
    assert page is not None
    assert page.progress == "2/3"
    assert page.choices == tuple((str(n), str(n)) for n in range(11))


def test_a_choice_question_shows_its_own_choices_in_the_shoppers_language(
    bundle: Bundle,
) -> None:
    page = survey_page(bundle, SurveyView(1, VISIT_SURVEY, "what-went-wrong"), state(EN))
    assert page is not None
    assert page.kind is QuestionKind.SINGLE
    assert page.choices[0] == ("waiting", "Waiting too long")
    assert [cid for cid, _ in page.choices] == [
        "waiting",
        "staff",
        "price",
        "stock",
        "kiosk",
        "other",
    ]


def test_a_text_question_is_optional_with_its_length(bundle: Bundle) -> None:
    page = survey_page(bundle, SurveyView(1, VISIT_SURVEY, "comments"), state())
    assert page is not None
    assert page.kind is QuestionKind.TEXT
    assert page.optional
    assert page.max_length == 200
    assert page.choices == ()


def test_an_unknown_survey_or_question_has_no_page(bundle: Bundle) -> None:
    assert survey_page(bundle, SurveyView(1, "nope", "experience"), state()) is None
    assert survey_page(bundle, SurveyView(1, VISIT_SURVEY, "nope"), state()) is None


@pytest.mark.parametrize(
    ("reward", "body", "busy"),
    [
        (RewardStatus.PENDING, "正在为您领取优惠券…", True),
        (RewardStatus.NONE, "我们会认真阅读每一条意见。", False),
        (RewardStatus.REFUSED, "今天的优惠券已发完，感谢您的参与。", False),
    ],
)
def test_the_thanks_says_what_happens_to_the_reward(
    reward: RewardStatus, body: str, busy: bool
) -> None:
    page = thanks_page(ThanksView(1, VISIT_SURVEY, reward), state())
    assert page.title == "感谢您的反馈！"
    assert page.body == body
    assert page.busy is busy
    assert page.button is None


# --- the prize draw -----------------------------------------------------------------------


def test_the_draw_shows_its_prizes_with_pictures_and_chances_its_rules_and_a_button(
    bundle: Bundle,
) -> None:
    page = draw_page(bundle, DrawView(1, DAILY_DRAW), state(member=ANNA))
    assert page is not None
    assert page.title == "会员每日幸运抽奖"
    # The grand prize first; a prize's picture from the bundle, else the value's ticket.
    assert [(p.name, p.value, p.odds) for p in page.prizes] == [
        ("购机立减¥200", "¥200", "中奖概率 5%"),
        ("手机壳9折", "9折", "中奖概率 20%"),
    ]
    grand, case = page.prizes
    assert grand.image is not None
    assert grand.image.is_file()
    assert case.image is None
    assert page.rules == (
        "每位会员每天可抽 1 次",
        tr(ZH, "draw.rule.coupons"),
        "活动截止 2029-12-31",
    )
    assert page.button == "点击抽奖"
    assert page.message is None
    assert not page.drawing


def test_the_bundles_own_rules_replace_the_kiosks(bundle: Bundle) -> None:
    (shown,) = bundle.prize_draws
    rules = LocalizedText.model_validate(
        {"zh-CN": "限本店会员。\n每人每天一次。", "en": "Members only.\nOnce a day."}
    )
    edited = dataclasses.replace(bundle, prize_draws=(shown.model_copy(update={"rules": rules}),))
    page = draw_page(edited, DrawView(1, DAILY_DRAW), state(EN, member=ANNA))
    assert page is not None
    assert page.rules == ("Members only.", "Once a day.")


def test_a_member_who_drew_today_is_told_so_instead_of_a_button(bundle: Bundle) -> None:
    drew = dataclasses.replace(state(member=ANNA), draw_refusals=((DAILY_DRAW, "member_limit"),))
    page = draw_page(bundle, DrawView(1, DAILY_DRAW), drew)
    assert page is not None
    assert page.button is None
    assert page.message == "您今天已经抽过奖了，明天再来吧"
    assert page.prizes  # the prizes and rules stay in view
    # Not offered on the browsing screens either.
    assert actions(bundle, drew).draw is None
    assert actions(bundle, state(member=ANNA)).draw is not None


def test_while_drawing_the_button_is_gone(bundle: Bundle) -> None:
    page = draw_page(
        bundle, DrawView(1, DAILY_DRAW, drawing=True, started_at=1.0), state(EN, member=ANNA)
    )
    assert page is not None
    assert page.drawing
    assert page.button is None
    assert page.message is None


@pytest.mark.parametrize(
    ("outcome", "key"),
    [
        ("no_win", "draw.no_win"),
        ("already_drawn", "draw.already_drawn"),
        ("member_limit", "draw.already_drawn"),
        ("not_started", "draw.closed"),
        ("ended", "draw.closed"),
        ("something_new", "draw.unavailable"),
    ],
)
def test_a_draw_without_a_prize_says_why_and_cannot_be_pressed_again(
    bundle: Bundle, outcome: str, key: str
) -> None:
    page = draw_page(bundle, DrawView(1, DAILY_DRAW, outcome=outcome), state(member=ANNA))
    assert page is not None
    assert page.message == tr(ZH, key)
    assert page.button is None
    assert not page.drawing


def test_after_a_miss_the_next_step_is_tomorrow_and_the_survey(bundle: Bundle) -> None:
    lost = DrawView(1, DAILY_DRAW, outcome="no_win")
    page = draw_page(bundle, lost, state(EN, member=ANNA))
    assert page is not None
    assert page.next_step == tr(EN, "draw.next.feedback")
    assert page.next_action == ("feedback", VISIT_SURVEY, "Give feedback")
    page = draw_page(bundle, lost, state(EN, member=ANNA, surveyed=True))
    assert page is not None
    assert page.next_step == "Come back tomorrow for another go"
    assert page.next_action is None


def test_an_unknown_draw_has_no_page(bundle: Bundle) -> None:
    assert draw_page(bundle, DrawView(1, "nope"), state(member=ANNA)) is None


# --- coupons ------------------------------------------------------------------------------


def test_an_earned_coupon_shows_its_value_terms_code_and_last_day(bundle: Bundle) -> None:
    page = coupon_page(bundle, CouponView(1, COUPON), state())
    assert page.heading == "您的优惠券"
    assert page.title == "配件立减¥50"
    assert page.value == "¥50"
    assert page.terms.startswith("购买配件满¥199可用")
    assert page.code == COUPON.code
    assert page.expires == "有效期至 2026-12-31"
    assert page.how == "拍下或扫描此码，结账时出示给店员"


def test_a_won_percentage_coupon_reads_the_way_each_language_says_it(bundle: Bundle) -> None:
    won = CouponView(1, CASE_COUPON, prize="case")
    chinese = coupon_page(bundle, won, state(member=ANNA))
    assert chinese.heading == "恭喜中奖！"
    assert chinese.value == "9折"
    english = coupon_page(bundle, won, state(EN, member=ANNA))
    assert english.heading == "You won!"
    assert english.value == "10% off"
    assert english.title == "10% off a phone case"
    assert english.expires == "Valid until 2026-12-14"


def test_a_coupon_of_an_unknown_campaign_still_shows_its_code(bundle: Bundle) -> None:
    lost = IssuedCoupon("7K2M-Q9TX-0000-0000-0000-0003", "gone", date(2026, 1, 31))
    page = coupon_page(bundle, CouponView(1, lost), state())
    assert page.code == lost.code
    assert (page.title, page.value, page.terms) == ("", "", "")


def campaign(*, percent_off: int | None = None, value: Money | None = None) -> CouponCampaign:
    return CouponCampaign(
        id="c",
        number=9,
        title=LocalizedText(zh_cn="优惠", en="Offer"),
        terms=LocalizedText(zh_cn="条款", en="Terms"),
        percent_off=percent_off,
        value=value,
        starts_at="2025-01-01T00:00:00+08:00",
        ends_at="2030-01-01T00:00:00+08:00",
        daily_budget=10,
    )


@pytest.mark.parametrize(
    ("percent", "chinese", "english"),
    [
        (10, "9折", "10% off"),
        (15, "8.5折", "15% off"),
        (25, "7.5折", "25% off"),
        (5, "9.5折", "5% off"),
        (50, "5折", "50% off"),
    ],
)
def test_percent_off_is_said_as_zhe_in_chinese(percent: int, chinese: str, english: str) -> None:
    offer = campaign(percent_off=percent)
    assert coupon_value(offer, ZH) == chinese
    assert coupon_value(offer, EN) == english


def test_money_off_reads_as_a_price_in_both_languages() -> None:
    offer = campaign(value=Money(amount="50.00"))
    assert coupon_value(offer, ZH) == coupon_value(offer, EN) == "¥50"
    assert coupon_value(campaign(value=Money(amount="9.90")), ZH) == "¥9.90"


@given(st.integers(1, 99))
def test_any_zhe_reads_back_as_the_percent_off(percent: int) -> None:
    said = coupon_value(campaign(percent_off=percent), ZH)
    assert said.endswith("折")
    assert round(float(said.removesuffix("折")) * 10) == 100 - percent
    assert "e" not in said, "never in scientific notation"
