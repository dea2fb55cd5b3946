"""Member offers in the session: decided when a member arrives, shown on their welcome,
taken through the reward desk, sent to their phone or printed. Session rules fed
inputs and times by hand: no Qt, no clock, no desk."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from content.offers import Offer, OfferLimits, OfferPeriod, OfferSegment
from hq.wire import OfferPrintedPayload, OfferShownPayload, OfferTextRequestedPayload
from kiosk.session import (
    CheckOffers,
    CouponPrinted,
    CouponView,
    FlowClosed,
    HqLinkChanged,
    IssuedCoupon,
    MemberArrived,
    MemberLeft,
    MemberVisit,
    OfferPrintAsked,
    OfferStep,
    OfferTaken,
    OfferTakesKnown,
    OfferTextAsked,
    PrintCoupon,
    PrinterReady,
    PrintStep,
    Record,
    RewardReady,
    SessionConfig,
    SessionInput,
    SessionMachine,
    SessionState,
    TakeOffer,
    WelcomeView,
)
from rewards.offers import OfferBook, OfferTakes, ProductFamily

SHANGHAI = ZoneInfo("Asia/Shanghai")
WALL = datetime(2026, 12, 7, 12, 30, tzinfo=SHANGHAI)  # a Monday lunchtime in the store
GOLD_OFFER = Offer.model_validate(
    {
        "id": "gold-case",
        "title": {"zh-CN": "金卡会员专享：手机壳立减50元", "en": "Gold members: ¥50 off a case"},
        "message": {"zh-CN": "今天到店即可使用", "en": "Use it in store today"},
        "campaign": "case-50",
        "product": "XH-N1",
        "segment": {"tiers": ["gold"]},
        "limits": {"per_member": "day"},
        "starts_at": "2026-12-01T00:00:00+08:00",
        "ends_at": "2027-01-01T00:00:00+08:00",
        "priority": 10,
    }
)
HELLO_OFFER = Offer(
    id="hello",
    title=GOLD_OFFER.title,
    message=GOLD_OFFER.message,
    segment=OfferSegment(),
    limits=OfferLimits(per_member=OfferPeriod.DAY),
    starts_at=GOLD_OFFER.starts_at,
    ends_at=GOLD_OFFER.ends_at,
)
FAMILIES = {"XH-N1": ProductFamily("Xinghe", frozenset({"flagship"}))}
BOOK = OfferBook.of((GOLD_OFFER,), FAMILIES, SHANGHAI)
PLANOGRAM = {1: "XH-N1", 2: "LY-A5"}

ANNA = MemberVisit(
    "7d1c0c1e-5b0e-4c1a-9d4e-0a0a0a0a0a01",
    "Anna",
    ("XH-N1",),
    marketing=True,
    tier="gold",
)
BO = dataclasses.replace(ANNA, member_id="7d1c0c1e-5b0e-4c1a-9d4e-0a0a0a0a0a02", greeting_name=None)
CODE = IssuedCoupon("7K2M-Q9TX-0000-0000-0000-0003", "case-50", date(2026, 12, 21), serial=3)


class Driver:
    def __init__(self, book: OfferBook | None = BOOK) -> None:
        self.machine = SessionMachine(SessionConfig(), PLANOGRAM, offers=book)
        self.state = SessionState(boot="b00t")
        self.effects: list[object] = []

    def at(self, now: float, event: SessionInput) -> SessionState:
        transition = self.machine.step(self.state, event, now)
        self.state = transition.state
        self.effects.extend(transition.effects)
        return self.state

    def records(self, kind: str) -> list[Record]:
        return [e for e in self.effects if isinstance(e, Record) and e.kind == kind]

    def of(self, kind: type) -> list[object]:
        return [e for e in self.effects if isinstance(e, kind)]

    def arrive(self, visit: MemberVisit = ANNA, now: float = 10.0) -> None:
        self.at(now, MemberArrived(visit, deliberate=True, wall=WALL))

    def shown(self, visit: MemberVisit = ANNA) -> None:
        """Arrived, the desk answered with no takes: the offer is on the welcome."""
        self.arrive(visit)
        self.at(10.02, OfferTakesKnown(self.state.number, {}))

    def taken(self) -> None:
        self.shown()
        self.at(12.0, OfferTaken())
        self.at(12.05, RewardReady(self.state.number, CODE, offer="gold-case"))


def test_a_consenting_member_who_qualifies_is_shown_the_offer_on_their_welcome() -> None:
    d = Driver()
    d.arrive()
    assert d.of(CheckOffers) == [CheckOffers(("gold-case",), ANNA.member_id, 1)]
    assert d.state.offer is not None
    assert d.state.offer.step is OfferStep.CHECKING
    d.at(10.02, OfferTakesKnown(1, {"gold-case": OfferTakes()}))
    assert isinstance(d.state.view, WelcomeView)
    assert d.state.offer is not None
    assert d.state.offer.offer == GOLD_OFFER
    [shown] = d.records("offer_shown")
    assert dict(shown.payload) == {
        "session": "b00t-1",
        "offer": "gold-case",
        "member_id": ANNA.member_id,
        "campaign": "case-50",
    }
    OfferShownPayload.model_validate(dict(shown.payload))  # exactly HQ's wire format


def test_a_member_without_marketing_consent_is_offered_nothing_and_nothing_is_asked() -> None:
    d = Driver()
    d.arrive(dataclasses.replace(ANNA, marketing=False))
    assert isinstance(d.state.view, WelcomeView)  # welcomed all the same
    assert d.of(CheckOffers) == []
    assert d.state.offer is None
    d.at(10.02, OfferTakesKnown(1, {}))  # even an answer nobody asked for shows nothing
    assert d.state.offer is None
    assert d.records("offer_shown") == []


def test_a_member_who_fits_no_offer_gets_no_question_to_the_desk() -> None:
    d = Driver()
    d.arrive(dataclasses.replace(ANNA, tier="silver"))
    assert d.of(CheckOffers) == []
    assert d.state.offer is None


def test_no_offers_in_the_bundle_means_no_offer() -> None:
    d = Driver(book=None)
    d.arrive()
    assert d.of(CheckOffers) == []


def test_an_offer_taken_today_already_is_not_shown_again() -> None:
    d = Driver()
    d.arrive()
    d.at(10.02, OfferTakesKnown(1, {"gold-case": OfferTakes(member_last=WALL.date())}))
    assert d.state.offer is None
    assert d.records("offer_shown") == []


def test_the_offer_is_shown_and_recorded_once_when_the_desk_answers_twice() -> None:
    d = Driver()
    d.shown()
    d.at(10.05, OfferTakesKnown(1, {}))
    assert len(d.records("offer_shown")) == 1


def test_a_late_desk_answer_for_an_earlier_member_is_ignored() -> None:
    d = Driver()
    d.arrive(ANNA)
    d.arrive(BO, now=11.0)  # another member taps in before the desk answered for Anna
    assert d.state.number == 2
    d.at(11.01, OfferTakesKnown(1, {}))  # Anna's answer, late
    assert d.state.offer is not None
    assert d.state.offer.step is OfferStep.CHECKING
    assert d.records("offer_shown") == []
    d.at(11.02, OfferTakesKnown(2, {}))
    [shown] = d.records("offer_shown")
    assert shown.payload["member_id"] == BO.member_id


def test_the_offer_goes_with_the_member_who_walks_away() -> None:
    d = Driver()
    d.shown()
    d.at(11.0, MemberLeft(ANNA.member_id))
    assert d.state.offer is None
    d.at(11.5, OfferTaken())  # a stale tap
    assert d.of(TakeOffer) == []


def test_taking_the_offer_asks_the_desk_once_and_shows_the_coupon() -> None:
    d = Driver()
    d.shown()
    d.at(12.0, OfferTaken())
    d.at(12.01, OfferTaken())  # a double tap: one code
    assert d.of(TakeOffer) == [TakeOffer("gold-case", "case-50", ANNA.member_id, "b00t-1", 1)]
    d.at(12.05, RewardReady(1, CODE, offer="gold-case"))
    assert d.state.view == CouponView(1, CODE, offer="gold-case")


def test_a_message_only_offer_cannot_be_taken() -> None:
    d = Driver(OfferBook.of((HELLO_OFFER,), FAMILIES, SHANGHAI))
    d.shown()
    assert d.state.offer is not None
    assert d.state.offer.offer == HELLO_OFFER
    d.at(12.0, OfferTaken())
    assert d.of(TakeOffer) == []
    OfferShownPayload.model_validate(dict(d.records("offer_shown")[0].payload))


def test_a_refused_take_stays_on_the_welcome_and_says_why() -> None:
    d = Driver()
    d.shown()
    d.at(12.0, OfferTaken())
    d.at(12.05, RewardReady(1, None, refusal="budget_spent", offer="gold-case"))
    assert isinstance(d.state.view, WelcomeView)
    assert d.state.offer is not None
    assert (d.state.offer.step, d.state.offer.refusal) == (OfferStep.REFUSED, "budget_spent")


def test_a_coupon_for_a_session_that_ended_is_not_shown() -> None:
    d = Driver()
    d.shown()
    d.at(12.0, OfferTaken())
    d.arrive(BO, now=12.02)
    d.at(12.05, RewardReady(1, CODE, offer="gold-case"))
    assert isinstance(d.state.view, WelcomeView)
    assert d.state.offer is None or d.state.offer.coupon is None


def test_send_to_my_phone_records_one_request_with_the_code() -> None:
    d = Driver()
    d.taken()
    d.at(13.0, OfferTextAsked())
    d.at(13.2, OfferTextAsked())  # the button is a confirmation now: nothing more
    [asked] = d.records("offer_text_requested")
    assert dict(asked.payload) == {
        "session": "b00t-1",
        "offer": "gold-case",
        "member_id": ANNA.member_id,
        "code": CODE.code,
        "campaign": "case-50",
        "expires_on": "2026-12-21",
        "language": "zh-CN",
    }
    OfferTextRequestedPayload.model_validate(dict(asked.payload))
    assert d.state.offer is not None
    assert d.state.offer.texted


def test_send_to_my_phone_is_no_button_on_other_coupons() -> None:
    d = Driver()
    d.shown()
    d.state = dataclasses.replace(d.state, view=CouponView(1, CODE))  # a survey's coupon
    d.at(13.0, OfferTextAsked())
    assert d.records("offer_text_requested") == []


def test_printing_needs_a_ready_printer() -> None:
    d = Driver()
    d.taken()
    d.at(13.0, OfferPrintAsked())
    assert d.of(PrintCoupon) == []


def test_a_printed_coupon_is_recorded_and_a_second_print_is_refused() -> None:
    d = Driver()
    d.at(1.0, PrinterReady(True))
    d.taken()
    d.at(13.0, OfferPrintAsked())
    [job] = d.of(PrintCoupon)
    assert isinstance(job, PrintCoupon)
    assert job.coupon == CODE
    d.at(13.1, OfferPrintAsked())
    assert len(d.of(PrintCoupon)) == 1
    d.at(14.5, CouponPrinted(job.job, ok=True))
    [printed] = d.records("offer_printed")
    OfferPrintedPayload.model_validate(dict(printed.payload))
    assert printed.payload["code"] == CODE.code
    assert d.state.offer is not None
    assert d.state.offer.printing is PrintStep.PRINTED
    d.at(15.0, OfferPrintAsked())
    assert len(d.of(PrintCoupon)) == 1


def test_a_failed_print_writes_no_record_and_may_be_tried_again() -> None:
    d = Driver()
    d.at(1.0, PrinterReady(True))
    d.taken()
    d.at(13.0, OfferPrintAsked())
    [job] = d.of(PrintCoupon)
    assert isinstance(job, PrintCoupon)
    d.at(14.0, CouponPrinted(job.job, ok=False))
    assert d.records("offer_printed") == []
    assert d.state.offer is not None
    assert d.state.offer.printing is PrintStep.FAILED
    d.at(15.0, OfferPrintAsked())
    assert len(d.of(PrintCoupon)) == 2


def test_a_ticket_that_comes_out_after_the_member_left_is_still_recorded() -> None:
    d = Driver()
    d.at(1.0, PrinterReady(True))
    d.taken()
    d.at(13.0, OfferPrintAsked())
    [job] = d.of(PrintCoupon)
    assert isinstance(job, PrintCoupon)
    d.arrive(BO, now=13.5)
    d.at(14.0, CouponPrinted(job.job, ok=True))
    [printed] = d.records("offer_printed")
    assert printed.payload["member_id"] == ANNA.member_id


def test_the_printer_and_hq_link_outlast_sessions() -> None:
    d = Driver()
    d.at(1.0, PrinterReady(True))
    d.at(1.0, HqLinkChanged(True))
    d.taken()
    d.at(13.0, FlowClosed())
    d.at(14.0, MemberLeft(ANNA.member_id))
    assert (d.state.printer_ready, d.state.hq_online) == (True, True)


def test_closing_the_coupon_returns_to_the_welcome_where_it_can_be_shown_again() -> None:
    d = Driver()
    d.taken()
    d.at(13.0, FlowClosed())
    assert isinstance(d.state.view, WelcomeView)
    d.at(14.0, OfferTaken())
    assert d.state.view == CouponView(1, CODE, offer="gold-case")
    assert len(d.of(TakeOffer)) == 1


def test_the_decision_uses_the_arrival_wall_clock_not_the_machine_time() -> None:
    d = Driver()
    late = datetime(2027, 1, 2, 4, 0, tzinfo=UTC)  # after the offer ended
    d.at(10.0, MemberArrived(ANNA, deliberate=True, wall=late))
    assert d.of(CheckOffers) == []
    d2 = Driver()
    d2.at(10.0, MemberArrived(ANNA, deliberate=True))  # no wall clock: no offer
    assert d2.of(CheckOffers) == []
