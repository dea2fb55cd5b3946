"""Sign-up, surveys, the attract smiley, the prize draw and the walk-away wipe, as
session rules fed inputs and times by hand: no Qt, no clock, no devices."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from content.model import (
    ConsentNotice,
    ConsentPurpose,
    Language,
    LocalizedText,
    QuestionKind,
    Survey,
    SurveyQuestion,
)
from content.sample import (
    CASE_DISCOUNT,
    DAILY_DRAW,
    SMILEY_SURVEY,
    SURVEY_REWARD,
    VISIT_SURVEY,
    sample_notices,
    sample_prize_draws,
    sample_surveys,
)
from devices.events import Dropped, Lifted
from devices.protocols.pickup import LedMode
from kiosk.session import (
    ATTRACT,
    AgeAnswered,
    Binding,
    CheckDraws,
    CompareView,
    CouponView,
    DrawOpened,
    DrawPrize,
    DrawRequested,
    DrawSkipped,
    DrawStanding,
    DrawView,
    FlowClosed,
    FobView,
    IssueCoupon,
    IssuedCoupon,
    LanguageChosen,
    MemberArrived,
    MemberLeft,
    MemberVisit,
    ProductView,
    RecommendationTapped,
    Record,
    RewardReady,
    RewardStatus,
    SessionConfig,
    SessionInput,
    SessionMachine,
    SessionState,
    SetLed,
    SignupOpened,
    SignupStep,
    SignupSubmitted,
    SignupView,
    SmileyPressed,
    StoreMessage,
    SurveyAnswered,
    SurveyOpened,
    SurveyView,
    TagPresented,
    ThanksView,
    Touched,
    Transition,
    WelcomeView,
    draw_refusal,
)
from kiosk.signup import Problem, SignupForm
from kiosk.survey import SKIPPED, Answer

PLANOGRAM = {1: "XH-N1", 2: "XH-N1P", 3: "LY-A5", 4: "QL-S3"}
NOTICES = sample_notices().notices
SURVEYS = sample_surveys().surveys
DRAWS = sample_prize_draws().draws
CONFIG = SessionConfig()  # form_timeout 60 s, countdown 10 s, smiley every 5 s, thanks 3 s

ANNA = MemberVisit("7d1c0c1e-5b0e-4c1a-9d4e-0a0a0a0a0a01", "Anna", ("LY-A5", "XH-N1"))
BO = MemberVisit("7d1c0c1e-5b0e-4c1a-9d4e-0a0a0a0a0a02", None, ())
NEW_MEMBER = "7d1c0c1e-5b0e-4c1a-9d4e-0a0a0a0a0a03"
TAG_HASH = "ab" * 32
PHONE = "138 0013 8000"
EVERYTHING = frozenset(ConsentPurpose)
COUPON = IssuedCoupon("7K2M-Q9TX-0000-0000-0000-0001", SURVEY_REWARD, date(2026, 12, 31))
CASE_COUPON = IssuedCoupon("7K2M-Q9TX-0000-0000-0000-0002", CASE_DISCOUNT, date(2026, 12, 14))


class Driver:
    """Feeds inputs and lets time pass the way the controller does: its timer fires
    at every deadline the machine reports, on time."""

    def __init__(
        self,
        config: SessionConfig = CONFIG,
        *,
        notices: tuple[ConsentNotice, ...] = NOTICES,
        surveys: tuple[Survey, ...] = SURVEYS,
    ) -> None:
        self.machine = SessionMachine(config, PLANOGRAM, notices, surveys, DRAWS)
        self.state = SessionState(boot="b00t")
        self.effects: list[object] = []

    def at(self, now: float, event: SessionInput | None = None) -> SessionState:
        self.timers_until(now)
        if event is None:
            self._apply(self.machine.advance(self.state, now), now)
        else:
            self._apply(self.machine.step(self.state, event, now), now)
        return self.state

    def timers_until(self, now: float) -> SessionState:
        """The timer fires at each deadline up to `now`, in order."""
        deadline = self.machine.next_deadline(self.state)
        while deadline is not None and deadline <= now:
            self._apply(self.machine.advance(self.state, deadline), deadline)
            later = self.machine.next_deadline(self.state)
            assert later is None or later > deadline, "a deadline left due after its timer"
            deadline = later
        return self.state

    def _apply(self, transition: Transition, now: float) -> None:
        for effect in transition.effects:
            if isinstance(effect, Record):  # stamped with when it happened, never later
                assert effect.at <= now, effect
        self.state = transition.state
        self.effects.extend(transition.effects)

    def records(self, kind: str | None = None) -> list[Record]:
        return [e for e in self.effects if isinstance(e, Record) and kind in (None, e.kind)]

    def messages(self, kind: str | None = None) -> list[StoreMessage]:
        return [e for e in self.effects if isinstance(e, StoreMessage) and kind in (None, e.kind)]

    def coupons_asked(self) -> list[IssueCoupon]:
        return [e for e in self.effects if isinstance(e, IssueCoupon)]

    def draws(self) -> list[DrawPrize]:
        return [e for e in self.effects if isinstance(e, DrawPrize)]


def form(
    phone: str = PHONE,
    consents: frozenset[ConsentPurpose] = EVERYTHING,
    *,
    greet_by_name: bool = False,
) -> SignupForm:
    return SignupForm(phone, "王芳", "", consents, greet_by_name)


def submitted(
    typed: SignupForm | None = None, *, can_bind: bool = True, member_id: str = NEW_MEMBER
) -> SignupSubmitted:
    return SignupSubmitted(typed or form(), member_id, can_bind)


def to_the_form(d: Driver, now: float = 10.0) -> SessionState:
    d.at(now, SignupOpened())
    return d.at(now + 1, AgeAnswered(old_enough=True))


def joined(
    d: Driver, now: float = 10.0, *, typed: SignupForm | None = None, can_bind: bool = True
) -> SessionState:
    """Through the sign-up, from `now` to `now + 2`."""
    to_the_form(d, now)
    return d.at(now + 2, submitted(typed, can_bind=can_bind))


def answered(d: Driver, now: float, *answers: Answer) -> SessionState:
    for i, answer in enumerate(answers):
        d.at(now + i, SurveyAnswered(answer))
    return d.state


HAPPY = (Answer(score=4), Answer(score=9), Answer(text="店员很耐心"))


# --- sign-up ------------------------------------------------------------------------------


def test_join_asks_the_age_before_anything_is_typed() -> None:
    d = Driver()
    state = d.at(10.0, SignupOpened())
    assert state.view == SignupView(1, SignupStep.AGE)
    assert state.number == 1


def test_under_14_are_sent_to_staff_and_nothing_is_recorded() -> None:
    d = Driver()
    d.at(10.0, SignupOpened())
    assert d.at(11.0, AgeAnswered(old_enough=False)).view.key == "signup:1:under-age"
    state = d.at(12.0, submitted())  # a form cannot be sent from this screen
    assert state.view == SignupView(1, SignupStep.UNDER_AGE)
    assert state.member is None
    assert d.records() == []


def test_14_or_older_get_the_form_and_the_age_is_asked_once() -> None:
    d = Driver()
    state = to_the_form(d)
    assert state.view == SignupView(1, SignupStep.FORM)
    assert d.at(12.0, AgeAnswered(old_enough=False)).view == SignupView(1, SignupStep.FORM)


def test_a_form_with_problems_stays_open_and_shows_them_until_corrected() -> None:
    d = Driver()
    to_the_form(d)
    state = d.at(12.0, submitted(form(phone="010 6552 9988", consents=frozenset())))
    assert state.view == SignupView(
        1, SignupStep.FORM, (Problem.PHONE_NOT_MOBILE, Problem.MEMBERSHIP_REQUIRED)
    )
    assert d.records() == []
    assert d.messages() == []
    state = d.at(20.0, submitted())
    assert isinstance(state.view, SignupView)
    assert state.view.step is SignupStep.DONE
    assert state.view.problems == ()


def test_joining_records_the_member_and_every_consent_and_tells_the_store() -> None:
    d = Driver()
    joined(d, typed=form(consents=frozenset({ConsentPurpose.MEMBERSHIP})))
    records = d.records()
    assert [r.kind for r in records] == ["member_signup"] + ["consent"] * 4
    assert {r.payload["session"] for r in records} == {"b00t-1"}
    assert {r.at for r in records} == {12.0}
    member = records[0].payload
    assert member["member_id"] == NEW_MEMBER
    assert member["phone"] == "+8613800138000"
    assert member["region"] == "CN"
    given_ = {r.payload["purpose"]: r.payload["given"] for r in records[1:]}
    assert given_ == {
        "membership": True,
        "marketing": False,
        "recognition": False,
        "personalisation": False,
    }
    # Staff hear someone joined, and nothing about who.
    assert d.messages() == [StoreMessage("signup", {"session": "b00t-1"})]


def test_the_consents_record_the_notice_in_the_language_the_shopper_read() -> None:
    d = Driver()
    to_the_form(d)
    d.at(11.5, LanguageChosen(Language.EN))
    d.at(12.0, submitted())
    membership = next(n for n in NOTICES if n.purpose is ConsentPurpose.MEMBERSHIP)
    english = hashlib.sha256(membership.text.en.encode()).hexdigest()
    (record,) = [r for r in d.records("consent") if r.payload["purpose"] == "membership"]
    assert record.payload["notice_sha256"] == english
    assert d.records("member_signup")[0].payload["language"] == "en"


def test_a_new_member_is_theirs_for_the_rest_of_the_session() -> None:
    d = Driver()
    joined(d, typed=form(greet_by_name=True))
    assert d.state.member is not None
    assert d.state.member.member_id == NEW_MEMBER
    assert d.state.member.greeting_name == "王芳"
    d.at(13.0, Lifted(3, 13.0))
    d.at(14.0, Dropped(3, 14.0))
    assert {r.payload.get("member_id") for r in d.records("drop")} == {NEW_MEMBER}


def test_a_new_member_is_greeted_by_name_only_with_recognition_consent() -> None:
    d = Driver()
    no_recognition = EVERYTHING - {ConsentPurpose.RECOGNITION}
    joined(d, typed=form(consents=no_recognition, greet_by_name=True))
    assert d.state.member is not None
    assert d.state.member.greeting_name is None


def test_join_is_not_offered_without_a_membership_notice() -> None:
    d = Driver(notices=())
    assert d.at(10.0, SignupOpened()).view == ATTRACT


def test_a_recognised_member_is_not_asked_to_join_again() -> None:
    d = Driver()
    d.at(10.0, MemberArrived(ANNA, deliberate=True))
    assert d.at(11.0, SignupOpened()).view == WelcomeView(1)


def test_the_new_member_is_greeted_on_the_last_step_and_then_welcomed_as_new() -> None:
    d = Driver()
    state = joined(d, typed=form(greet_by_name=True))
    assert isinstance(state.view, SignupView)
    assert state.view.name == "王芳"  # for "王芳，欢迎成为会员！"
    assert "王芳" not in repr(state)  # never in a log line
    assert state.member is not None
    assert state.member.joined
    state = d.at(15.0, FlowClosed())
    assert state.view == WelcomeView(1)
    assert state.member is not None
    assert state.member.joined  # their welcome says "welcome", not "welcome back"


def test_with_a_welcome_campaign_the_new_member_gets_its_coupon_on_the_last_step() -> None:
    d = Driver()
    d.machine = dataclasses.replace(d.machine, welcome="case-10-off")
    state = joined(d)
    asked = [e for e in d.effects if isinstance(e, IssueCoupon)]
    assert asked == [IssueCoupon("case-10-off", "signup", NEW_MEMBER, state.session_id, 1)]
    assert isinstance(state.view, SignupView)
    assert state.view.reward is RewardStatus.PENDING
    state = d.at(12.5, RewardReady(1, COUPON))
    assert isinstance(state.view, SignupView)
    assert state.view.step is SignupStep.DONE  # it stays: the fob may still be linked
    assert state.view.coupon == COUPON
    assert COUPON.code not in repr(state)  # never in the trace
    refused = Driver()
    refused.machine = d.machine
    joined(refused)
    state = refused.at(12.5, RewardReady(1, None, refusal="budget"))
    assert isinstance(state.view, SignupView)
    assert state.view.reward is RewardStatus.REFUSED
    assert state.view.coupon is None


def test_a_welcome_coupon_that_comes_after_the_draw_opened_is_not_shown_as_a_prize() -> None:
    d = Driver()
    d.machine = dataclasses.replace(d.machine, welcome="case-10-off")
    joined(d)
    draw = d.at(12.1, DrawOpened(DAILY_DRAW)).view
    assert isinstance(draw, DrawView)
    assert d.at(12.5, RewardReady(1, COUPON)).view == draw


def test_without_a_welcome_campaign_joining_asks_for_no_coupon() -> None:
    d = Driver()
    state = joined(d)
    assert not [e for e in d.effects if isinstance(e, IssueCoupon)]
    assert isinstance(state.view, SignupView)
    assert state.view.reward is RewardStatus.NONE


# --- linking a fob ------------------------------------------------------------------------


def test_a_fob_tapped_after_joining_is_linked_to_the_new_member() -> None:
    d = Driver()
    state = joined(d)
    assert isinstance(state.view, SignupView)
    assert state.view.binding is Binding.WAITING
    state = d.at(15.0, TagPresented(TAG_HASH, "rfid"))
    assert isinstance(state.view, SignupView)
    assert state.view.binding is Binding.BOUND
    (bound,) = d.records("tag_bound")
    assert bound.payload == {"member_id": NEW_MEMBER, "tag_hash": TAG_HASH, "tag_kind": "rfid"}
    d.at(16.0, TagPresented("cd" * 32, "rfid"))  # a second fob links nothing more
    assert len(d.records("tag_bound")) == 1


@pytest.mark.parametrize(
    ("consents", "can_bind"),
    [(EVERYTHING - {ConsentPurpose.RECOGNITION}, True), (EVERYTHING, False)],
)
def test_no_fob_is_linked_without_recognition_consent_or_a_reader(
    consents: frozenset[ConsentPurpose], can_bind: bool
) -> None:
    d = Driver()
    state = joined(d, typed=form(consents=consents), can_bind=can_bind)
    assert isinstance(state.view, SignupView)
    assert state.view.binding is Binding.NONE
    d.at(15.0, TagPresented(TAG_HASH, "rfid"))
    assert d.records("tag_bound") == []


def test_a_known_members_fob_during_linking_is_taken_and_the_new_member_keeps_the_screen() -> None:
    d = Driver()
    joined(d)
    state = d.at(15.0, MemberArrived(ANNA, deliberate=True))
    assert state.view == SignupView(1, SignupStep.DONE, binding=Binding.TAKEN)
    assert state.member is not None
    assert state.member.member_id == NEW_MEMBER
    assert d.records("tag_bound") == []


def test_a_known_tag_passing_by_during_linking_changes_nothing() -> None:
    d = Driver()
    before = joined(d)
    assert d.at(15.0, MemberArrived(ANNA, deliberate=False)) == before


def test_a_fob_that_recognises_no_one_gets_the_same_neutral_answer_whoever_it_is() -> None:
    answers = []
    for tag_hash in (TAG_HASH, "cd" * 32, None):  # anyone's, or before the feed came
        d = Driver()
        state = d.at(5.0, TagPresented(tag_hash, "rfid"))
        answers.append((state.view, state.member, d.effects))
        assert d.records("tag_bound") == []
    assert answers == [(FobView(1), None, [])] * 3
    # It goes by itself, and "close" goes back to the attract loop at once.
    assert d.at(5.0 + CONFIG.fob_seconds).view == ATTRACT
    d.at(30.0, TagPresented(None, "rfid"))
    assert d.at(31.0, FlowClosed()).view == ATTRACT


def test_a_stray_fob_never_takes_a_form_or_a_phone_away() -> None:
    d = Driver()
    d.at(10.0, Lifted(3, 10.0))
    state = d.at(12.0, TagPresented(TAG_HASH, "rfid"))
    assert state.view == FobView(1)
    assert d.at(13.0, FlowClosed()).view == ProductView("LY-A5", in_hand=True)
    d.at(14.0, SignupOpened())
    before = d.at(15.0)
    assert d.at(15.0, TagPresented(TAG_HASH, "rfid")) == before
    # A BLE tag walking past is not answered at all.
    d = Driver()
    assert d.at(5.0, TagPresented(TAG_HASH, "ble")) == SessionState(boot="b00t")


def test_a_phone_the_previous_shopper_left_out_is_not_the_new_members() -> None:
    d = Driver()
    d.at(10.0, Lifted(3, 10.0))  # left on the counter; the session idles out at 130
    d.at(200.0, SignupOpened())
    assert d.state.number == 2
    d.at(201.0, AgeAnswered(old_enough=True))
    d.at(202.0, submitted())
    assert d.state.member is not None
    assert d.state.member.last_viewed == ()


# --- surveys ------------------------------------------------------------------------------


def test_feedback_opens_the_visit_survey_at_its_first_question() -> None:
    d = Driver()
    d.at(10.0, Lifted(3, 10.0))
    state = d.at(12.0, SurveyOpened(VISIT_SURVEY))
    assert state.view == SurveyView(1, VISIT_SURVEY, "experience")
    assert state.number == 1


def test_each_answer_is_recorded_and_a_low_one_alerts_the_store() -> None:
    d = Driver()
    d.at(10.0, SurveyOpened(VISIT_SURVEY))
    state = d.at(11.0, SurveyAnswered(Answer(score=2)))
    assert state.view == SurveyView(1, VISIT_SURVEY, "what-went-wrong", answered=1)
    (record,) = d.records("survey_answer")
    assert record.payload == {
        "session": "b00t-1",
        "survey": VISIT_SURVEY,
        "question": "experience",
        "kind": "smiley",
        "score": 2,
        "choices": None,
        "text": None,
        "member_id": None,
        "low": True,
    }
    (message,) = d.messages("survey_answer")
    assert message.alert
    assert message.payload["score"] == 2
    d.at(12.0, SurveyAnswered(Answer(choices=("waiting",))))
    assert d.records("survey_answer")[-1].payload["choices"] == ["waiting"]
    assert d.messages("survey_answer")[-1].payload["choices"] == ["waiting"]
    assert not d.messages("survey_answer")[-1].alert


def test_a_happy_answer_is_not_an_alert() -> None:
    d = Driver()
    d.at(10.0, SurveyOpened(VISIT_SURVEY))
    d.at(11.0, SurveyAnswered(Answer(score=4)))
    assert d.records("survey_answer")[0].payload["low"] is False
    assert not d.messages("survey_answer")[0].alert


def test_free_text_goes_to_hq_but_never_into_the_live_message() -> None:
    d = Driver()
    d.at(10.0, MemberArrived(ANNA, deliberate=True))
    d.at(11.0, SurveyOpened(VISIT_SURVEY))
    answered(d, 12.0, Answer(score=4), Answer(score=3), Answer(text="王经理  13800138000"))
    text_record = d.records("survey_answer")[-1]
    assert text_record.payload["text"] == "王经理 13800138000"
    assert text_record.payload["member_id"] == ANNA.member_id
    nps = d.messages("survey_answer")[1]
    assert nps.alert, "an NPS of 3 is a detractor"
    for message in d.messages():
        assert "text" not in message.payload
        assert "member_id" not in message.payload
        assert "13800138000" not in repr(message)


def test_finishing_the_survey_thanks_and_asks_for_its_reward() -> None:
    d = Driver()
    d.at(10.0, SurveyOpened(VISIT_SURVEY))
    state = answered(d, 11.0, *HAPPY)
    assert state.view == ThanksView(1, VISIT_SURVEY, RewardStatus.PENDING)
    assert d.coupons_asked() == [IssueCoupon(SURVEY_REWARD, "survey", None, "b00t-1", 1)]
    (completed,) = d.records("survey_completed")
    assert completed.payload == {
        "session": "b00t-1",
        "survey": VISIT_SURVEY,
        "member_id": None,
        "answers": 3,
        "reward_code": None,  # the coupon_issued record names the session
    }
    assert len(d.records("survey_answer")) == 3


def test_the_completed_survey_tells_hq_how_many_questions_were_answered() -> None:
    d = Driver()
    d.at(10.0, SurveyOpened(VISIT_SURVEY))
    answered(d, 11.0, Answer(score=2), Answer(choices=("price",)), Answer(score=8), SKIPPED)
    (completed,) = d.records("survey_completed")
    assert completed.payload["answers"] == 4


def test_a_members_reward_is_asked_for_them() -> None:
    d = Driver()
    d.at(10.0, MemberArrived(ANNA, deliberate=True))
    d.at(11.0, SurveyOpened(VISIT_SURVEY))
    answered(d, 12.0, *HAPPY)
    assert d.coupons_asked() == [IssueCoupon(SURVEY_REWARD, "survey", ANNA.member_id, "b00t-1", 1)]
    assert d.records("survey_completed")[0].payload["member_id"] == ANNA.member_id


def test_the_reward_shows_as_a_coupon_or_a_polite_refusal() -> None:
    d = Driver()
    d.at(10.0, SurveyOpened(VISIT_SURVEY))
    answered(d, 11.0, *HAPPY)
    assert d.at(14.1, RewardReady(1, COUPON)).view == CouponView(1, COUPON)
    d = Driver()
    d.at(10.0, SurveyOpened(VISIT_SURVEY))
    answered(d, 11.0, *HAPPY)
    refused = d.at(14.1, RewardReady(1, None, refusal="budget"))
    assert refused.view == ThanksView(1, VISIT_SURVEY, RewardStatus.REFUSED)


def test_a_survey_without_a_reward_just_thanks() -> None:
    quick = Survey(
        id="quick",
        title=LocalizedText(zh_cn="快速调查", en="Quick survey"),
        questions=(
            SurveyQuestion(
                id="nps",
                kind=QuestionKind.NPS,
                prompt=LocalizedText(zh_cn="推荐吗？", en="Recommend us?"),
            ),
        ),
    )
    d = Driver(surveys=(quick,))
    d.at(10.0, SurveyOpened("quick"))
    assert d.at(11.0, SurveyAnswered(Answer(score=10))).view == ThanksView(1, "quick")
    assert d.coupons_asked() == []
    assert len(d.records("survey_completed")) == 1


def test_an_answer_the_question_does_not_allow_is_ignored() -> None:
    d = Driver()
    d.at(10.0, SurveyOpened(VISIT_SURVEY))
    for wrong in (Answer(score=7), Answer(choices=("waiting",)), SKIPPED):
        assert d.at(11.0, SurveyAnswered(wrong)).view == SurveyView(1, VISIT_SURVEY, "experience")
    assert d.records() == []
    assert d.messages() == []


def test_an_unknown_survey_opens_nothing() -> None:
    d = Driver()
    assert d.at(10.0, SurveyOpened("nope")).view == ATTRACT


def test_one_survey_per_session() -> None:
    d = Driver()
    d.at(10.0, Lifted(3, 10.0))
    d.at(11.0, SurveyOpened(VISIT_SURVEY))
    answered(d, 12.0, *HAPPY)
    d.at(15.0, FlowClosed())
    assert d.state.surveyed
    assert d.at(16.0, SurveyOpened(VISIT_SURVEY)).view == ProductView("LY-A5", in_hand=True)
    assert len(d.records("survey_completed")) == 1
    # The next shopper may answer it again.
    d.at(17.0, Dropped(3, 17.0))
    assert d.at(30.0).view == ATTRACT
    assert d.at(40.0, SurveyOpened(VISIT_SURVEY)).view == SurveyView(2, VISIT_SURVEY, "experience")


def test_a_reward_for_an_earlier_session_never_reaches_the_next_shopper() -> None:
    d = Driver()
    d.at(10.0, SurveyOpened(VISIT_SURVEY))
    answered(d, 11.0, *HAPPY)
    d.at(14.0, FlowClosed())  # they walked off before the code came
    assert d.state.view == ATTRACT
    d.at(20.0, SurveyOpened(VISIT_SURVEY))
    state = d.at(21.0, RewardReady(1, COUPON))
    assert state.view == SurveyView(2, VISIT_SURVEY, "experience")
    d.at(22.0, FlowClosed())
    assert d.at(23.0, RewardReady(1, COUPON)).view == ATTRACT


# --- the attract screen's smiley ------------------------------------------------------


def test_a_smiley_press_on_attract_is_counted_and_thanked_without_starting_a_session() -> None:
    d = Driver()
    state = d.at(10.0, SmileyPressed(4))
    assert state.view == ATTRACT
    assert state.number == 0
    assert state.smiley_thanks_until == pytest.approx(12.0)
    assert d.machine.next_deadline(state) == pytest.approx(12.0)
    (record,) = d.records("survey_answer")
    assert record.payload["session"] == "b00t-terminal"
    assert record.payload["survey"] == SMILEY_SURVEY
    assert record.payload["score"] == 4
    assert record.payload["low"] is False
    assert d.at(12.0).smiley_thanks_until is None


def test_presses_within_five_seconds_count_once_but_each_is_thanked() -> None:
    d = Driver()
    d.at(10.0, SmileyPressed(1))
    d.at(11.0, SmileyPressed(1))
    state = d.at(14.9, SmileyPressed(1))
    assert state.smiley_thanks_until == pytest.approx(16.9)
    assert len(d.records("survey_answer")) == 1
    d.at(15.0, SmileyPressed(3))
    assert [r.payload["score"] for r in d.records("survey_answer")] == [1, 3]


def test_an_unhappy_face_on_attract_alerts_the_store() -> None:
    d = Driver()
    d.at(10.0, SmileyPressed(1))
    (message,) = d.messages("survey_answer")
    assert message.alert
    assert message.payload["score"] == 1


def test_the_smiley_does_not_count_during_a_session_or_without_its_survey() -> None:
    d = Driver()
    d.at(10.0, Lifted(3, 10.0))
    d.at(11.0, SmileyPressed(2))
    no_smiley = Driver(surveys=tuple(s for s in SURVEYS if not s.terminal))
    no_smiley.at(10.0, SmileyPressed(2))
    odd = Driver()
    for score in (0, 5):
        assert odd.at(10.0, SmileyPressed(score)) == SessionState(boot="b00t")
    assert d.records("survey_answer") == no_smiley.records() == odd.records() == []


# --- the prize draw -----------------------------------------------------------------------


def test_only_members_can_open_the_draw() -> None:
    d = Driver()
    d.at(10.0, Lifted(3, 10.0))
    assert d.at(11.0, DrawOpened(DAILY_DRAW)).view == ProductView("LY-A5", in_hand=True)
    d.at(12.0, MemberArrived(ANNA, deliberate=True))
    assert d.at(13.0, DrawOpened("no-such-draw")).view == ProductView("LY-A5", in_hand=True)
    assert d.at(14.0, DrawOpened(DAILY_DRAW)).view == DrawView(1, DAILY_DRAW)


def test_one_press_draws_once() -> None:
    d = Driver()
    d.at(10.0, MemberArrived(ANNA, deliberate=True))
    d.at(11.0, DrawOpened(DAILY_DRAW))
    state = d.at(12.0, DrawRequested())
    assert state.view == DrawView(1, DAILY_DRAW, drawing=True, started_at=12.0)
    d.at(12.1, DrawRequested())
    assert d.draws() == [DrawPrize(DAILY_DRAW, ANNA.member_id, "b00t-1", 1)]
    d.at(12.5, RewardReady(1, None))
    d.at(13.0, DrawRequested())  # nor after the outcome
    assert len(d.draws()) == 1


def test_a_newly_joined_member_may_draw() -> None:
    d = Driver()
    joined(d)
    d.at(13.0, DrawOpened(DAILY_DRAW))
    d.at(14.0, DrawRequested())
    assert d.draws() == [DrawPrize(DAILY_DRAW, NEW_MEMBER, "b00t-1", 1)]


def test_a_won_prize_shows_its_coupon_after_the_animation_and_a_miss_says_why() -> None:
    suspense = CONFIG.draw_suspense
    assert suspense < 2.0
    d = Driver()
    d.at(10.0, MemberArrived(ANNA, deliberate=True))
    d.at(11.0, DrawOpened(DAILY_DRAW))
    d.at(12.0, DrawRequested())
    state = d.at(12.2, RewardReady(1, CASE_COUPON, prize="case"))
    assert isinstance(state.view, DrawView)
    assert state.view.drawing  # still animating
    told = d.messages("coupon_issued")  # staff hear at once, whatever the shopper does
    state = d.at(12.0 + suspense)
    assert state.view == CouponView(1, CASE_COUPON, prize="case")
    assert len(told) == len(d.messages("coupon_issued")) == 1
    for refusal, outcome in ((None, "no_win"), ("already_drawn", "already_drawn")):
        d = Driver()
        d.at(10.0, MemberArrived(ANNA, deliberate=True))
        d.at(11.0, DrawOpened(DAILY_DRAW))
        d.at(12.0, DrawRequested())
        d.at(12.2, RewardReady(1, None, refusal=refusal))
        state = d.at(12.0 + suspense)
        assert state.view == DrawView(
            1, DAILY_DRAW, drawing=False, outcome=outcome, started_at=12.0
        )


def test_a_tap_skips_the_draws_animation() -> None:
    d = Driver()
    d.at(10.0, MemberArrived(ANNA, deliberate=True))
    d.at(11.0, DrawOpened(DAILY_DRAW))
    d.at(12.0, DrawRequested())
    d.at(12.1, RewardReady(1, CASE_COUPON, prize="case"))
    assert d.at(12.3, DrawSkipped()).view == CouponView(1, CASE_COUPON, prize="case")
    # Skipped before the desk answered: the answer shows the moment it comes.
    d = Driver()
    d.at(10.0, MemberArrived(ANNA, deliberate=True))
    d.at(11.0, DrawOpened(DAILY_DRAW))
    d.at(12.0, DrawRequested())
    d.at(12.05, DrawSkipped())
    state = d.at(12.1, RewardReady(1, None))
    assert isinstance(state.view, DrawView)
    assert state.view.outcome == "no_win"


def test_a_member_who_drew_today_is_told_before_the_button() -> None:
    d = Driver()
    d.at(10.0, MemberArrived(ANNA, deliberate=True))
    # The desk is asked on arrival ...
    assert [e for e in d.effects if isinstance(e, CheckDraws)] == [
        CheckDraws((DAILY_DRAW,), ANNA.member_id, 1)
    ]
    state = d.at(10.1, DrawStanding(1, DAILY_DRAW, "member_limit"))
    assert draw_refusal(state, DAILY_DRAW) == "member_limit"
    # ... so a tap that still comes through draws nothing and says why.
    d.at(11.0, DrawOpened(DAILY_DRAW))
    state = d.at(12.0, DrawRequested())
    assert d.draws() == []
    assert state.view == DrawView(1, DAILY_DRAW, outcome="member_limit")
    # An answer about a session that is over changes nothing.
    d.at(13.0, FlowClosed())
    d.at(14.0, MemberArrived(BO, deliberate=True))
    assert draw_refusal(d.at(14.1, DrawStanding(1, DAILY_DRAW, "member_limit")), DAILY_DRAW) is None


def test_after_a_draw_the_same_member_is_not_offered_another_today() -> None:
    d = Driver()
    d.at(10.0, MemberArrived(ANNA, deliberate=True))
    d.at(11.0, DrawOpened(DAILY_DRAW))
    d.at(12.0, DrawRequested())
    d.at(12.1, RewardReady(1, None))
    state = d.at(14.0)
    assert draw_refusal(state, DAILY_DRAW) == "member_limit"
    # A desk that could not answer is not a draw had.
    d = Driver()
    d.at(10.0, MemberArrived(ANNA, deliberate=True))
    d.at(11.0, DrawOpened(DAILY_DRAW))
    d.at(12.0, DrawRequested())
    d.at(12.1, RewardReady(1, None, refusal="unavailable"))
    assert draw_refusal(d.at(14.0), DAILY_DRAW) is None


def test_pressing_draw_after_the_members_tag_left_does_not_crash() -> None:
    d = Driver()
    d.at(10.0, MemberArrived(ANNA, deliberate=False))
    d.at(11.0, DrawOpened(DAILY_DRAW))
    d.at(12.0, MemberLeft(ANNA.member_id))
    state = d.at(13.0, DrawRequested())
    assert d.draws() == []
    # The screen says why nothing was drawn, instead of spinning for nobody.
    assert state.view == DrawView(1, DAILY_DRAW, drawing=False, outcome="member_gone")


# --- closing a flow, phones during a flow ------------------------------------------------


def test_closing_a_flow_returns_to_the_phone_in_hand() -> None:
    d = Driver()
    d.at(10.0, Lifted(3, 10.0))
    d.at(11.0, SurveyOpened(VISIT_SURVEY))
    state = d.at(12.0, FlowClosed())
    assert state.view == ProductView("LY-A5", in_hand=True)
    assert state.wipe_at is None


def test_closing_a_flow_with_nothing_in_hand_ends_the_session_and_its_lights() -> None:
    d = Driver()
    d.at(10.0, Lifted(3, 10.0))
    d.at(11.0, RecommendationTapped("QL-S3", "related"))
    d.at(12.0, Dropped(3, 12.0))
    d.at(13.0, SignupOpened())
    assert d.effects[-1] == SetLed(4, LedMode.OFF)  # its screen went with the sign-up
    state = d.at(14.0, FlowClosed())
    assert state.view == ATTRACT
    assert state.lit_slots == frozenset()


def test_closing_a_members_flow_returns_to_their_welcome() -> None:
    d = Driver()
    joined(d)
    assert d.at(15.0, FlowClosed()).view == WelcomeView(1)


def test_an_untouched_welcome_after_a_flow_returns_to_attract_in_welcome_time() -> None:
    d = Driver()
    joined(d)
    d.at(15.0, FlowClosed())
    assert d.at(15.0 + CONFIG.welcome_seconds + 0.1).view == ATTRACT


def test_close_outside_a_flow_changes_nothing_but_the_touch() -> None:
    d = Driver()
    d.at(10.0, Lifted(3, 10.0))
    state = d.at(12.0, FlowClosed())
    assert state.view == ProductView("LY-A5", in_hand=True)
    assert state.last_interaction == 12.0


def test_lifts_and_drops_during_a_flow_keep_the_flow_screen() -> None:
    d = Driver()
    to_the_form(d)
    assert d.at(12.0, Lifted(3, 12.0)).view == SignupView(1, SignupStep.FORM)
    assert d.at(13.0, Lifted(1, 13.0)).view == SignupView(1, SignupStep.FORM)
    assert d.at(14.0, Dropped(3, 14.0)).view == SignupView(1, SignupStep.FORM)
    assert [r.kind for r in d.records()] == ["lift", "lift", "drop"]
    # Closing the form shows the phone still in hand.
    assert d.at(15.0, FlowClosed()).view == ProductView("XH-N1", in_hand=True)


def test_a_lift_during_a_survey_does_not_compare_over_it() -> None:
    d = Driver()
    d.at(10.0, Lifted(3, 10.0))
    d.at(11.0, SurveyOpened(VISIT_SURVEY))
    state = d.at(12.0, Lifted(1, 12.0))
    assert state.view == SurveyView(1, VISIT_SURVEY, "experience")
    assert d.at(13.0, FlowClosed()).view == CompareView("LY-A5", "XH-N1")


# --- walking away from a flow -----------------------------------------------------------


def test_a_form_left_alone_starts_a_countdown_after_form_timeout() -> None:
    d = Driver()
    to_the_form(d)  # last touch at 11
    assert d.machine.next_deadline(d.state) == pytest.approx(71.0)
    assert d.at(70.9).wipe_at is None
    state = d.at(71.0)
    assert state.wipe_at == pytest.approx(81.0)
    assert state.view == SignupView(1, SignupStep.FORM)
    assert d.machine.next_deadline(state) == pytest.approx(81.0)


def test_a_touch_during_the_countdown_keeps_the_form() -> None:
    d = Driver()
    to_the_form(d)
    d.at(12.0, submitted(form(phone="12345")))
    d.at(75.0)
    state = d.at(80.0, Touched())
    assert state.wipe_at is None
    assert isinstance(state.view, SignupView)
    assert state.view.problems == (Problem.PHONE_INVALID,)
    assert d.machine.next_deadline(state) == pytest.approx(140.0)
    assert d.at(100.0).view == state.view


def test_walking_away_wipes_the_form_the_member_and_the_language() -> None:
    d = Driver()
    to_the_form(d)
    d.at(11.5, LanguageChosen(Language.EN))
    d.at(12.0, submitted(form(phone="12345")))
    assert d.at(81.9).view != ATTRACT
    state = d.at(82.0)
    assert state == SessionState(boot="b00t", number=1, last_interaction=12.0)
    assert state.language is Language.ZH_CN


def test_walking_away_after_joining_forgets_the_new_member() -> None:
    d = Driver()
    joined(d)  # last touch at 12
    state = d.at(82.0)
    assert state.view == ATTRACT
    assert state.member is None
    assert d.at(90.0, Lifted(3, 90.0)).view == ProductView("LY-A5", in_hand=True)
    d.at(91.0)
    assert "member_id" not in d.records("lift")[0].payload


def test_walking_away_from_a_pending_reward_keeps_the_coupon_from_the_next_shopper() -> None:
    d = Driver()
    d.at(10.0, SurveyOpened(VISIT_SURVEY))
    answered(d, 11.0, *HAPPY)  # last answer at 13
    assert d.at(83.0).view == ATTRACT
    d.at(84.0, Lifted(3, 84.0))
    assert d.at(85.0, RewardReady(1, COUPON)).view == ProductView("LY-A5", in_hand=True)


def test_a_phone_in_hand_does_not_keep_a_walked_away_form() -> None:
    d = Driver()
    d.at(10.0, Lifted(3, 10.0))
    d.at(11.0, SignupOpened())
    state = d.at(81.0)
    assert state.view == ATTRACT
    assert state.number == 1


def test_a_fob_tapped_during_the_countdown_takes_the_countdown_away() -> None:
    d = Driver()
    to_the_form(d)
    assert d.at(75.0).wipe_at is not None
    state = d.at(76.0, MemberArrived(ANNA, deliberate=True))
    assert state.view == WelcomeView(1)
    assert state.wipe_at is None


def deserted_form() -> tuple[SessionMachine, SessionState]:
    """A form with a problem on it, untouched since 12 s: the countdown is due at 72 s and
    the wipe at 82 s. No timer has fired."""
    machine = SessionMachine(CONFIG, PLANOGRAM, NOTICES, SURVEYS, DRAWS)
    state = SessionState(boot="b00t")
    state = machine.step(state, SignupOpened(), 10.0).state
    state = machine.step(state, AgeAnswered(old_enough=True), 11.0).state
    state = machine.step(state, submitted(form(phone="12345")), 12.0).state
    return machine, state


def test_time_passing_beyond_the_wipe_ends_the_form_in_one_step() -> None:
    machine, state = deserted_form()
    later = machine.advance(state, 200.0).state
    assert later.view == ATTRACT
    deadline = machine.next_deadline(later)
    assert deadline is None or deadline > 200.0


def test_a_touch_long_after_the_wipe_finds_the_form_gone_even_if_no_timer_fired() -> None:
    machine, state = deserted_form()
    later = machine.step(state, Touched(), 200.0).state
    assert later.view == ATTRACT


# --- any sequence -------------------------------------------------------------------------

ANSWERS = [
    Answer(score=1),
    Answer(score=4),
    Answer(score=9),
    Answer(choices=("price",)),
    Answer(text="ok"),
    SKIPPED,
]
inputs = st.one_of(
    st.builds(Lifted, slot=st.integers(1, 5), at=st.just(0.0)),
    st.builds(Dropped, slot=st.integers(1, 5), at=st.just(0.0)),
    st.builds(Touched),
    st.builds(LanguageChosen, language=st.sampled_from(Language)),
    st.builds(MemberArrived, visit=st.sampled_from([ANNA, BO]), deliberate=st.booleans()),
    st.builds(MemberLeft, member_id=st.sampled_from([ANNA.member_id, BO.member_id, NEW_MEMBER])),
    st.builds(TagPresented, tag_hash=st.just(TAG_HASH), tag_kind=st.just("rfid")),
    st.builds(SignupOpened),
    st.builds(AgeAnswered, old_enough=st.booleans()),
    st.builds(
        submitted,
        st.sampled_from([form(), form(phone="12345"), form(consents=frozenset())]),
        can_bind=st.booleans(),
    ),
    st.builds(SurveyOpened, survey=st.sampled_from([VISIT_SURVEY, SMILEY_SURVEY, "nope"])),
    st.builds(SurveyAnswered, answer=st.sampled_from(ANSWERS)),
    st.builds(SmileyPressed, score=st.integers(0, 5)),
    st.builds(DrawOpened, draw=st.sampled_from([DAILY_DRAW, "nope"])),
    st.builds(DrawRequested),
    st.builds(
        RewardReady,
        session=st.integers(0, 3),
        coupon=st.sampled_from([None, COUPON, CASE_COUPON]),
        prize=st.sampled_from([None, "case"]),
    ),
    st.builds(FlowClosed),
)


@settings(max_examples=300)
@given(st.lists(st.tuples(st.floats(0, 100), inputs), max_size=40))
def test_any_sequence_keeps_flows_consistent(steps: list[tuple[float, SessionInput]]) -> None:
    d = Driver()
    now = 0.0
    for gap, event in steps:
        now += gap
        d.timers_until(now)
        state = d.at(now, event)
        view = state.view
        if isinstance(view, SignupView | SurveyView | ThanksView | DrawView | CouponView):
            assert view.session == state.number, "a flow screen is this shopper's"
        else:
            assert state.wipe_at is None, "no countdown outside a flow"
        if isinstance(view, SignupView) and view.step is SignupStep.DONE:
            assert state.member is not None
        if not state.active:
            assert state.member is None
            assert not state.surveyed
        deadline = d.machine.next_deadline(state)
        assert deadline is None or deadline > now
    # Each session finished at most one survey, asked for at most one reward and one draw.
    sessions = [r.payload["session"] for r in d.records("survey_completed")]
    assert len(sessions) == len(set(sessions))
    asked = [c.session for c in d.coupons_asked()]
    assert len(asked) == len(set(asked))
    drawn = [p.session for p in d.draws()]
    assert len(drawn) == len(set(drawn))
    # Left alone long enough, any session ends: nothing typed or won stays on screen.
    final = d.at(now + 1000)
    assert final.view == ATTRACT
    assert final.member is None
    assert final.wipe_at is None
