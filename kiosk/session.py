"""The shopper session as a pure state machine.

`SessionMachine.step(state, input, now)` and `SessionMachine.advance(state, now)`
return the next state and the effects to carry out; nothing here touches Qt,
files, devices or the clock, so every rule is tested by feeding inputs and
times. `now` is a `time.monotonic()` reading.

Rules, in the shop's words:
- Lifting a phone shows it at once; lifting a second compares the two latest.
- A phone put back within the bounce window was never picked: no records.
- Putting the last phone back keeps its screen for a grace period; every
  touch restarts the grace. Then the attract loop returns.
- With no interaction for the idle timeout, the session ends, whatever the
  cabinet says: the next shopper starts clean, in the default language.
- Tapping a recommended phone that sits in this cabinet lights its slot; the light
  goes off when the shopper lifts that phone or the screen it was lit for goes.
- A recognised member (their fob tapped, or their tag walking up to an idle
  screen) is welcomed with what they looked at last time; their lifts and taps
  are recorded against them until the session ends or their tag leaves. A tag
  passing by never takes over a screen someone else is using; a fob tapped by
  another member starts a fresh session, so nobody sees another's picks.
- Sign-up, surveys, coupons and the prize draw are screens of the shopper's
  session. While one is open, lifting a phone does not take the screen away.
  After a minute without a touch a countdown appears, then the session ends and
  everything typed is gone: the next person never sees it.
- One survey per session; the attract screen's smiley counts one press per
  five seconds. A low score is an alert for store staff.
- A fob nobody may be recognised by gets the same neutral answer, whoever it
  belongs to: not recognised, ask staff to link it, or sign up.
- A member who has had today's draw is told so before any button: the reward
  desk is asked when they arrive. A draw's result waits for its short
  animation (or a tap that skips it) before it shows.
- A recognised member with marketing consent may be given a member offer
  (rewards.offers decides, the reward desk counts what they took): shown on
  their welcome, taken as a coupon, sent to their phone (HQ holds the number) or
  printed. Without consent nothing promotional is asked or shown. The offer is
  the session's: a late answer for an earlier session changes nothing.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import assert_never

from content.model import (
    ConsentNotice,
    ConsentPurpose,
    Language,
    PrizeDraw,
    Survey,
    SurveyQuestion,
)
from content.offers import Offer as BundleOffer
from content.recommend import LiftTally, lift_shares, tally_lift
from devices.events import Alarm, AlarmReason, Dropped, Lifted
from devices.protocols.pickup import LedMode
from kiosk import signup, survey
from rewards.offers import OfferBook, OfferMember, OfferTakes

log = logging.getLogger("kiosk.session")

JsonValue = str | int | float | bool | None | list["JsonValue"] | dict[str, "JsonValue"]


# --- what the screen shows -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AttractView:
    @property
    def key(self) -> str:
        return "attract"


@dataclass(frozen=True, slots=True)
class ProductView:
    sku: str
    # False when the shopper tapped a recommendation rather than lifting the phone.
    in_hand: bool

    @property
    def key(self) -> str:
        return f"product:{self.sku}"


@dataclass(frozen=True, slots=True)
class CompareView:
    left: str
    right: str

    @property
    def key(self) -> str:
        return f"compare:{self.left}:{self.right}"


@dataclass(frozen=True, slots=True)
class WelcomeView:
    """A recognised member's welcome: greeting, what they looked at last time, picks.

    One per session, so the next member's welcome is a new screen. The key names
    no one (screen keys go to the trace): only the session number."""

    session: int

    @property
    def key(self) -> str:
        return f"welcome:{self.session}"


class SignupStep(enum.StrEnum):
    AGE = "age"  # "are you 14 or older?" comes before anything is typed
    UNDER_AGE = "under-age"  # ask staff: a guardian has to consent
    FORM = "form"
    DONE = "done"


class Binding(enum.StrEnum):
    """Linking a fob or tag to the new member, on the sign-up's last screen."""

    NONE = "none"  # no recognition consent, or no reader: not offered
    WAITING = "waiting"
    BOUND = "bound"
    TAKEN = "taken"  # that fob already belongs to a member


@dataclass(frozen=True, slots=True)
class SignupView:
    session: int
    step: SignupStep = SignupStep.AGE
    problems: tuple[signup.Problem, ...] = ()
    binding: Binding = Binding.NONE
    # On the last step: the name the new member just gave, for greeting them there.
    name: str = field(default="", repr=False, compare=False)
    # The welcome coupon, where there is one (a factory: RewardStatus is defined below).
    reward: RewardStatus = field(default_factory=lambda: RewardStatus.NONE)
    coupon: IssuedCoupon | None = field(default=None, repr=False)  # never in the trace

    @property
    def key(self) -> str:
        return f"signup:{self.session}:{self.step}"


@dataclass(frozen=True, slots=True)
class SurveyView:
    session: int
    survey: str
    question: str
    answered: int = 0  # questions answered (or skipped) so far in this run

    @property
    def key(self) -> str:
        return f"survey:{self.session}:{self.survey}:{self.question}"


@dataclass(frozen=True, slots=True)
class IssuedCoupon:
    # Formatted, e.g. "7K2M-Q9TX-...": redeemable at a till, so never in a log or the
    # trace; they name the coupon by campaign and serial.
    code: str = field(repr=False)
    campaign: str
    expires_on: date
    serial: int | None = None  # the code's serial (with its kiosk number, unique)


class RewardStatus(enum.StrEnum):
    PENDING = "pending"  # asked the reward desk; the answer takes milliseconds
    NONE = "none"  # the survey has no reward
    REFUSED = "refused"  # none left today, limit reached, ...


@dataclass(frozen=True, slots=True)
class ThanksView:
    """After a survey: thanks, and the reward if there is one to wait for."""

    session: int
    survey: str
    reward: RewardStatus = RewardStatus.NONE

    @property
    def key(self) -> str:
        return f"thanks:{self.session}:{self.survey}"


@dataclass(frozen=True, slots=True)
class DrawView:
    session: int
    draw: str
    drawing: bool = False
    outcome: str | None = None  # why nothing was won: "no_win", "already_drawn", ...
    started_at: float | None = None  # the tap on "draw": the animation runs from then
    # The desk's answer, kept back until the animation ends (or is skipped).
    held: RewardReady | None = field(default=None, repr=False)
    skipped: bool = False  # the shopper tapped through the animation

    @property
    def key(self) -> str:
        return f"draw:{self.session}:{self.draw}"


@dataclass(frozen=True, slots=True)
class CouponView:
    """A coupon won or earned: the code and its QR, large enough to photograph."""

    session: int
    coupon: IssuedCoupon
    prize: str | None = None  # the prize's id when the draw won it
    offer: str | None = None  # the member offer taken (send to phone, print: MemberOffer)

    @property
    def key(self) -> str:
        return f"coupon:{self.session}:{self.coupon.campaign}:{self.coupon.serial}"


@dataclass(frozen=True, slots=True)
class FobView:
    """A fob that recognises no one: the same neutral answer, whoever it belongs to."""

    session: int

    @property
    def key(self) -> str:
        return f"fob:{self.session}"


View = (
    AttractView
    | ProductView
    | CompareView
    | WelcomeView
    | SignupView
    | SurveyView
    | ThanksView
    | DrawView
    | CouponView
    | FobView
)
FlowView = SignupView | SurveyView | ThanksView | DrawView | CouponView
ATTRACT = AttractView()


@dataclass(frozen=True, slots=True)
class LocateNotice:
    """Tells the shopper where a tapped phone is: a slot of this cabinet, or ask staff."""

    sku: str
    slot: int | None
    until: float


# --- inputs from the screen (device inputs are devices.events) ---------------------------


@dataclass(frozen=True, slots=True)
class Touched:
    """Any touch on the screen: the shopper is still there."""


@dataclass(frozen=True, slots=True)
class RecommendationTapped:
    sku: str
    shelf: str  # which list it came from: "related" or "best_sellers"


@dataclass(frozen=True, slots=True)
class LanguageChosen:
    language: Language


@dataclass(frozen=True, slots=True)
class MemberVisit:
    """A member the kiosk recognised, as the member feed describes them.

    Only members who consented to recognition are in the feed; `greeting_name`
    is set only where they allowed being greeted by name."""

    member_id: str
    greeting_name: str | None = field(repr=False)
    last_viewed: tuple[str, ...]  # SKUs, most recent first
    language: Language | None = None  # their language, when the feed knows it
    last_seen: datetime | None = None  # when they last lifted a phone (to the hour), if known
    joined: bool = False  # signed up in this session: welcomed, not "welcomed back"
    personalised: bool = False  # consented to recommendations from what they looked at
    # For member offers (rewards.offers): marketing consent on record at HQ, and the
    # segment facts HQ sends only to members who gave it.
    marketing: bool = False
    tier: str | None = field(default=None, repr=False)
    tags: frozenset[str] = field(default=frozenset(), repr=False)
    birth_month: int | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class MemberArrived:
    """A reader recognised a member. `deliberate`: a fob tapped on the reader, as
    opposed to a tag that came within range. `wall`: when (aware), stamped by the
    controller: member offers follow the store's days and hours; None: no offer."""

    visit: MemberVisit
    deliberate: bool
    wall: datetime | None = None


@dataclass(frozen=True, slots=True)
class MemberLeft:
    """The member's tag left the kiosk's range."""

    member_id: str


@dataclass(frozen=True, slots=True)
class TagPresented:
    """A fob or tag that belongs to no member, as its keyed hash (for binding); None
    before the kiosk has the chain's tag key (then it cannot be bound either)."""

    tag_hash: str | None = field(repr=False)
    tag_kind: str


@dataclass(frozen=True, slots=True)
class SignupOpened:
    pass


@dataclass(frozen=True, slots=True)
class AgeAnswered:
    old_enough: bool


@dataclass(frozen=True, slots=True)
class SignupSubmitted:
    form: signup.SignupForm
    member_id: str  # a new UUID, made by the caller: the machine draws no randomness
    can_bind: bool  # a member-tag reader is attached and the chain's tag key is known


@dataclass(frozen=True, slots=True)
class SurveyOpened:
    survey: str


@dataclass(frozen=True, slots=True)
class SurveyAnswered:
    answer: survey.Answer


@dataclass(frozen=True, slots=True)
class SmileyPressed:
    """A face pressed on the attract screen's always-on smiley question."""

    score: int


@dataclass(frozen=True, slots=True)
class DrawOpened:
    draw: str


@dataclass(frozen=True, slots=True)
class DrawRequested:
    pass


@dataclass(frozen=True, slots=True)
class DrawSkipped:
    """A tap on the draw's animation: show the result as soon as it is known."""


@dataclass(frozen=True, slots=True)
class DrawStanding:
    """The reward desk's word on whether session `session`'s member may draw `draw`
    today: None, or why not ("member_limit", "not_started", "ended", ...)."""

    session: int
    draw: str
    refusal: str | None


@dataclass(frozen=True, slots=True)
class RewardReady:
    """The reward desk's answer for session `session`: a coupon, or why there is none."""

    session: int
    coupon: IssuedCoupon | None
    prize: str | None = None
    refusal: str | None = None
    draw: str | None = None  # the draw that was asked, for a draw's answer
    offer: str | None = None  # the member offer taken, for a TakeOffer's answer


@dataclass(frozen=True, slots=True)
class FlowClosed:
    """ "Done", "cancel" or "close" on a sign-up, survey, draw or coupon screen."""


@dataclass(frozen=True, slots=True)
class OfferTakesKnown:
    """The reward desk's counts for session `session`'s member offers (CheckOffers)."""

    session: int
    takes: Mapping[str, OfferTakes]


@dataclass(frozen=True, slots=True)
class OfferTaken:
    """ "Take it" on the welcome's member offer (or "show my coupon" once taken)."""


@dataclass(frozen=True, slots=True)
class OfferTextAsked:
    """ "Send to my phone" on the offer's coupon."""


@dataclass(frozen=True, slots=True)
class OfferPrintAsked:
    """ "Print" on the offer's coupon."""


@dataclass(frozen=True, slots=True)
class CouponPrinted:
    """The receipt printer's word on print job `job` (devices.events.Printed)."""

    job: str
    ok: bool


@dataclass(frozen=True, slots=True)
class PrinterReady:
    """The receipt printer can print now (paper in, cover shut, answering) or not."""

    ready: bool


@dataclass(frozen=True, slots=True)
class HqLinkChanged:
    """Whether the relay reaches HQ now (its sync state): says when a text will go."""

    online: bool


SessionInput = (
    Lifted
    | Dropped
    | Alarm
    | Touched
    | RecommendationTapped
    | LanguageChosen
    | MemberArrived
    | MemberLeft
    | TagPresented
    | SignupOpened
    | AgeAnswered
    | SignupSubmitted
    | SurveyOpened
    | SurveyAnswered
    | SmileyPressed
    | DrawOpened
    | DrawRequested
    | DrawSkipped
    | DrawStanding
    | RewardReady
    | FlowClosed
    | OfferTakesKnown
    | OfferTaken
    | OfferTextAsked
    | OfferPrintAsked
    | CouponPrinted
    | PrinterReady
    | HqLinkChanged
)


# --- effects for the controller to carry out ---------------------------------------------


@dataclass(frozen=True, slots=True)
class Record:
    """Append a fact to the outbox; `at` is the monotonic time it happened."""

    kind: str
    payload: Mapping[str, JsonValue]
    at: float


@dataclass(frozen=True, slots=True)
class SetLed:
    slot: int
    mode: LedMode


@dataclass(frozen=True, slots=True)
class RaiseAlert:
    """For store staff only; the shopper's screen never shows it."""

    slot: int
    reason: AlarmReason
    sku: str | None


@dataclass(frozen=True, slots=True)
class IssueCoupon:
    """Ask the reward desk for a code; it answers with RewardReady."""

    campaign: str
    reason: str  # "survey", "signup" (a new member's welcome coupon)
    member_id: str | None
    session_id: str
    session: int


@dataclass(frozen=True, slots=True)
class DrawPrize:
    draw: str
    member_id: str
    session_id: str
    session: int


@dataclass(frozen=True, slots=True)
class StoreMessage:
    """A live message for the attendant view; `alert` ones ask staff to act."""

    kind: str
    payload: Mapping[str, JsonValue]
    alert: bool = False


@dataclass(frozen=True, slots=True)
class CheckDraws:
    """Ask the reward desk whether the member may draw each of `draws` today; it
    answers with one DrawStanding each."""

    draws: tuple[str, ...]
    member_id: str = field(repr=False)
    session: int


@dataclass(frozen=True, slots=True)
class CheckOffers:
    """Ask the reward desk for the member's counts of `offers` (the candidates); it
    answers with OfferTakesKnown."""

    offers: tuple[str, ...]
    member_id: str = field(repr=False)
    session: int


@dataclass(frozen=True, slots=True)
class TakeOffer:
    """Ask the reward desk for a code of the offer's campaign, within the offer's
    limits; it answers with RewardReady naming `offer`."""

    offer: str
    campaign: str
    member_id: str = field(repr=False)
    session_id: str
    session: int


@dataclass(frozen=True, slots=True)
class PrintCoupon:
    """Print the offer's coupon on the receipt printer, in `language`; the printer
    answers CouponPrinted(job)."""

    job: str
    offer: str
    coupon: IssuedCoupon = field(repr=False)
    language: Language
    session: int


Effect = (
    Record
    | SetLed
    | RaiseAlert
    | IssueCoupon
    | DrawPrize
    | CheckDraws
    | StoreMessage
    | CheckOffers
    | TakeOffer
    | PrintCoupon
)


# --- state -------------------------------------------------------------------------------


class OfferStep(enum.StrEnum):
    CHECKING = "checking"  # asked the desk for the member's counts: nothing shown yet
    SHOWN = "shown"
    TAKING = "taking"  # asked the desk for the code
    TAKEN = "taken"
    REFUSED = "refused"  # member limit, budget spent, desk unavailable: `refusal` says


class PrintStep(enum.StrEnum):
    PRINTING = "printing"
    PRINTED = "printed"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class MemberOffer:
    """This session's member offer (rewards.offers chose it): on the welcome, then its
    coupon. Distinct from the welcome's small "offers" (the draw, a survey's coupon)."""

    session: int
    wall: datetime = field(repr=False)  # when the member arrived: the decision's `now`
    offer: BundleOffer | None = field(default=None, repr=False)  # None while CHECKING
    step: OfferStep = OfferStep.CHECKING
    refusal: str | None = None
    coupon: IssuedCoupon | None = field(default=None, repr=False)
    texted: bool = False  # "send to my phone" asked: once per coupon
    printing: PrintStep | None = None


@dataclass(frozen=True, slots=True)
class PendingPrint:
    """A coupon on its way out of the printer, with the record its success writes
    (kept past the session's end: the paper outlives a walk-away)."""

    job: str
    payload: Mapping[str, JsonValue] = field(repr=False)


@dataclass(frozen=True, slots=True)
class Pick:
    """A phone off its slot. `confirmed` once it outlived the bounce window."""

    slot: int
    sku: str | None
    lifted_at: float
    session: int
    confirmed: bool = False
    # What the screen showed before this lift, restored if the lift was only a bounce.
    before: View = ATTRACT
    before_return_at: float | None = None


@dataclass(frozen=True, slots=True)
class SessionState:
    boot: str  # id of this kiosk run; with `number` it makes session ids unique
    number: int = 0  # current (or last) shopper session; 0 before the first
    view: View = ATTRACT
    picks: tuple[Pick, ...] = ()  # every phone off its slot, in lift order
    language: Language = Language.ZH_CN
    last_interaction: float = 0.0
    return_at: float | None = None  # grace deadline after the last phone went back
    notice: LocateNotice | None = None
    lit_slots: frozenset[int] = frozenset()
    lit_view: View | None = None  # the screen the lit slots belong to
    member: MemberVisit | None = None  # the recognised member this session belongs to
    wipe_at: float | None = None  # the walk-away countdown on a flow screen ends then
    surveyed: bool = False  # this session answered a survey (one per session)
    # (draw id, why not) for the draws this session's member may not draw today.
    draw_refusals: tuple[tuple[str, str], ...] = ()
    offer: MemberOffer | None = None  # this session's member offer, once asked for
    # Kept across sessions: the receipt printer, HQ's link and a print on its way.
    printer_ready: bool = False
    hq_online: bool = False
    print_job: PendingPrint | None = None
    # Kept across sessions: the attract screen's smiley and its thank-you.
    smiley_counted_at: float | None = None
    smiley_thanks_until: float | None = None
    # This store's lifts (content.recommend), counted as they are confirmed; the shares
    # the shelves mix in are taken from it when a session ends, so they stay the same
    # through a session and the panels prepared while the attract loop plays hold.
    lift_tally: LiftTally = field(default_factory=LiftTally, compare=False)
    store_lifts: Mapping[str, float] = field(default_factory=dict, compare=False)

    @property
    def active(self) -> bool:
        return self.view != ATTRACT

    @property
    def session_id(self) -> str:
        return f"{self.boot}-{self.number}"


@dataclass(frozen=True, slots=True)
class SessionConfig:
    drop_grace: float = 8.0  # seconds the last product stays after it is put back
    bounce: float = 0.150  # a phone back within this is a bounce, not a pick
    idle_timeout: float = 120.0  # no touch, lift or drop for this long ends the session
    notice_seconds: float = 15.0  # how long "find it on slot N" stays up
    welcome_seconds: float = 30.0  # a welcome nobody touches returns to attract
    form_timeout: float = 60.0  # untouched this long, a flow screen starts its countdown
    form_countdown: float = 10.0  # then this long to touch before everything is wiped
    smiley_interval: float = 5.0  # presses on the attract smiley closer than this count once
    smiley_thanks: float = 2.0  # how long its thank-you stays: read at a glance, gone for the next
    draw_suspense: float = 1.6  # the draw's animation: a moment of suspense, under 2 s
    fob_seconds: float = 12.0  # "not recognised" stays this long after the last touch
    phone_region: str = signup.DEFAULT_REGION  # numbers without +country are from here


@dataclass(frozen=True, slots=True)
class Transition:
    state: SessionState
    effects: tuple[Effect, ...] = ()


@dataclass(frozen=True, slots=True)
class SessionMachine:
    """The rules, bound to this cabinet's planogram (slot -> SKU)."""

    config: SessionConfig
    slot_skus: Mapping[int, str]
    # What the content bundle offers besides phones.
    notices: tuple[ConsentNotice, ...] = ()
    surveys: tuple[Survey, ...] = ()
    draws: tuple[PrizeDraw, ...] = ()
    welcome: str | None = None  # the coupon campaign each new member is given
    offers: OfferBook | None = None  # member offers (rewards.offers), built once per bundle
    _sku_slots: Mapping[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_sku_slots", {sku: s for s, sku in self.slot_skus.items()})

    def slot_of(self, sku: str) -> int | None:
        return self._sku_slots.get(sku)

    # -- inputs --

    def step(self, state: SessionState, event: SessionInput, now: float) -> Transition:
        """Deadlines that passed by `now` apply first, whether or not a timer fired yet."""
        due = self.advance(state, now)
        handled = _lights_follow_view(self._handle(due.state, event, now))
        return Transition(handled.state, due.effects + handled.effects)

    def _handle(  # noqa: PLR0911, PLR0912 - one return per kind of input
        self, state: SessionState, event: SessionInput, now: float
    ) -> Transition:
        match event:
            case Lifted():
                return self._lifted(state, event.slot, now)
            case Dropped():
                return self._dropped(state, event.slot, now)
            case Alarm():
                return self._alarm(state, event, now)
            case Touched():
                return Transition(self._touched(state, now))
            case RecommendationTapped():
                return self._recommendation(state, event, now)
            case LanguageChosen():
                touched = self._touched(state, now)
                return Transition(replace(touched, language=event.language))
            case MemberArrived():
                return self._member_arrived(state, event, now)
            case MemberLeft():
                return self._member_left(state, event)
            case TagPresented():
                return self._tag_presented(state, event, now)
            case SignupOpened():
                return self._signup_opened(state, now)
            case AgeAnswered():
                return self._age_answered(state, event, now)
            case SignupSubmitted():
                return self._signup_submitted(state, event, now)
            case SurveyOpened():
                return self._survey_opened(state, event, now)
            case SurveyAnswered():
                return self._survey_answered(state, event, now)
            case SmileyPressed():
                return self._smiley_pressed(state, event, now)
            case DrawOpened():
                return self._draw_opened(state, event, now)
            case DrawRequested():
                return self._draw_requested(state, now)
            case DrawSkipped():
                return self._draw_skipped(state, now)
            case DrawStanding():
                return Transition(_with_standing(state, event))
            case RewardReady():
                return self._reward_ready(state, event, now)
            case FlowClosed():
                return self._flow_closed(state, now)
            case OfferTakesKnown():
                return self._offer_takes_known(state, event, now)
            case OfferTaken():
                return self._offer_taken(state, now)
            case OfferTextAsked():
                return self._offer_text_asked(state, now)
            case OfferPrintAsked():
                return self._offer_print_asked(state, now)
            case CouponPrinted():
                return self._coupon_printed(state, event, now)
            case PrinterReady():
                return Transition(replace(state, printer_ready=event.ready))
            case HqLinkChanged():
                return Transition(replace(state, hq_online=event.online))
            case _:
                assert_never(event)

    def _lifted(self, state: SessionState, slot: int, now: float) -> Transition:
        if any(p.slot == slot for p in state.picks):
            return Transition(state)  # repeated or resynchronised: nothing new
        sku = self.slot_skus.get(slot)
        effects: list[Effect] = []
        if sku is not None and not state.active:
            state = _start_session(state, now)
        pick = Pick(
            slot, sku, now, state.number, before=state.view, before_return_at=state.return_at
        )
        state = replace(state, picks=(*state.picks, pick), notice=None)
        if slot in state.lit_slots:  # the shopper found the phone we lit up
            effects.append(SetLed(slot, LedMode.OFF))
            state = replace(state, lit_slots=state.lit_slots - {slot})
        if sku is None:
            log.warning("lift on slot %d, which the planogram does not assign", slot)
            return Transition(state, tuple(effects))
        view = state.view if _in_flow(state) else _view_for_picks(state) or state.view
        return Transition(
            replace(state, view=view, last_interaction=now, return_at=None, wipe_at=None),
            tuple(effects),
        )

    def _dropped(  # noqa: PLR0911 - one return per outcome, in the order they are decided
        self, state: SessionState, slot: int, now: float
    ) -> Transition:
        pick = next((p for p in state.picks if p.slot == slot), None)
        if pick is None:
            return Transition(state)
        state = replace(state, picks=tuple(p for p in state.picks if p.slot != slot))
        effects: list[Effect] = []
        if pick.confirmed:
            dwell_ms = round((now - pick.lifted_at) * 1000)
            payload = _pick_payload(state, pick) | {"dwell_ms": dwell_ms}
            effects.append(Record("drop", payload, now))
        if pick.session != state.number or not state.active:
            return Transition(state, tuple(effects))  # a phone from an ended session
        if _in_flow(state):  # the form or survey stays; the phone is simply back
            return Transition(replace(state, last_interaction=now), tuple(effects))
        view = _view_for_picks(state)
        if view is not None:
            return Transition(replace(state, view=view, last_interaction=now), tuple(effects))
        if not pick.confirmed:  # a bounce: as if the phone had never left
            if pick.before == ATTRACT:
                return Transition(_end_session(state), tuple(effects) + _leds_off(state))
            return Transition(
                replace(state, view=pick.before, return_at=pick.before_return_at), tuple(effects)
            )
        return_at = now + self.config.drop_grace
        return Transition(replace(state, last_interaction=now, return_at=return_at), tuple(effects))

    def _alarm(self, state: SessionState, alarm: Alarm, now: float) -> Transition:
        sku = self.slot_skus.get(alarm.slot)
        payload: dict[str, JsonValue] = {
            "slot": alarm.slot,
            "sku": sku,
            "reason": alarm.reason.value,
        }
        return Transition(
            state, (Record("alarm", payload, now), RaiseAlert(alarm.slot, alarm.reason, sku))
        )

    def _touched(self, state: SessionState, now: float) -> SessionState:
        if not state.active:
            return state
        return_at = None if state.return_at is None else now + self._linger(state.view)
        return replace(state, last_interaction=now, return_at=return_at, wipe_at=None)

    def _linger(self, view: View) -> float:
        """How long a screen with no phone in hand stays after the last touch."""
        if isinstance(view, WelcomeView):
            return self.config.welcome_seconds
        if isinstance(view, FobView):
            return self.config.fob_seconds
        return self.config.drop_grace

    def _member_arrived(
        self, state: SessionState, arrived: MemberArrived, now: float
    ) -> Transition:
        visit = arrived.visit
        if state.member is not None and state.member.member_id == visit.member_id:
            return Transition(self._touched(state, now))  # seen again: still here
        if isinstance(state.view, SignupView) and state.view.binding is Binding.WAITING:
            if arrived.deliberate:  # the fob the new member tapped is someone else's
                taken = replace(state.view, binding=Binding.TAKEN)
                return Transition(replace(self._touched(state, now), view=taken))
            return Transition(state)
        if state.active and not arrived.deliberate:
            # A tag walking past must not take over, nor be credited with, a session
            # that someone else is using.
            return Transition(state)
        effects: tuple[Effect, ...] = ()
        if state.member is not None:  # another member tapped in: they start afresh
            effects = _leds_off(state)
            state = _end_session(state)
        if not state.active:
            state = _start_session(state, now)
            if visit.language is not None:
                state = replace(state, language=visit.language)
        holding = _view_for_picks(state) is not None
        view = state.view if holding else WelcomeView(state.number)
        return_at = state.return_at if holding else now + self.config.welcome_seconds
        state = replace(
            state,
            member=visit,
            view=view,
            last_interaction=now,
            return_at=return_at,
            notice=None,
            wipe_at=None,
        )
        # Staff may greet them: by name only if they allowed it (greeting_name is None
        # otherwise), never with their member id.
        arrived_message = StoreMessage(
            "member_arrived",
            {
                "session": state.session_id,
                "greeting": visit.greeting_name,
                "last_viewed": list(visit.last_viewed),
                "via": "rfid" if arrived.deliberate else "ble",
            },
        )
        effects += self._check_draws(state)
        state, asked = self._check_offers(state, arrived)
        return Transition(state, (*effects, *asked, arrived_message))

    def _check_draws(self, state: SessionState) -> tuple[Effect, ...]:
        if state.member is None or not self.draws:
            return ()
        draws = tuple(d.id for d in self.draws)
        return (CheckDraws(draws, state.member.member_id, state.number),)

    def _member_left(self, state: SessionState, left: MemberLeft) -> Transition:
        if state.member is None or state.member.member_id != left.member_id:
            return Transition(state)
        message = StoreMessage("member_left", {"session": state.session_id})
        if isinstance(state.view, WelcomeView):
            # Their welcome must not wait for the next person to walk up.
            return Transition(_end_session(state), (message, *_leds_off(state)))
        # Someone may carry on with the phones; what they do is no longer the member's.
        return Transition(replace(state, member=None), (message,))

    def _recommendation(
        self, state: SessionState, tap: RecommendationTapped, now: float
    ) -> Transition:
        if not state.active:
            return Transition(state)
        shown = state.view
        state = self._touched(state, now)
        slot = self.slot_of(tap.sku)
        payload: dict[str, JsonValue] = {
            "session": state.session_id,
            "sku": tap.sku,
            "shelf": tap.shelf,
            "from": shown.key,
            "slot": slot,
        }
        effects: list[Effect] = [Record("recommendation_tap", payload, now)]
        in_hand = any(p.slot == slot for p in state.picks)
        view = ProductView(tap.sku, in_hand=in_hand)
        # The light of the screen the shopper leaves goes off; this screen's comes on.
        lit = state.lit_slots if state.lit_view == view else frozenset[int]()
        if slot is not None and not in_hand:
            lit |= {slot}
        effects.extend(SetLed(s, LedMode.OFF) for s in sorted(state.lit_slots - lit))
        effects.extend(SetLed(s, LedMode.ON) for s in sorted(lit - state.lit_slots))
        if state.member is not None:
            payload["member_id"] = state.member.member_id
        notice = LocateNotice(tap.sku, slot, now + self.config.notice_seconds)
        state = replace(state, lit_slots=lit, lit_view=view if lit else None)
        return Transition(replace(state, view=view, notice=notice), tuple(effects))

    # -- sign-up, surveys, draws --

    def _open(
        self, state: SessionState, make: Callable[[int], FlowView], now: float
    ) -> SessionState:
        """Show the flow screen `make(session)`; a session starts if none is running."""
        if not state.active:
            state = _start_session(state, now)
        return replace(
            state,
            view=make(state.number),
            last_interaction=now,
            return_at=None,
            wipe_at=None,
            notice=None,
        )

    def _signup_opened(self, state: SessionState, now: float) -> Transition:
        if not signup.can_sign_up(self.notices) or state.member is not None:
            return Transition(self._touched(state, now))
        return Transition(self._open(state, SignupView, now))

    def _age_answered(self, state: SessionState, answer: AgeAnswered, now: float) -> Transition:
        view = state.view
        if not isinstance(view, SignupView) or view.step is not SignupStep.AGE:
            return Transition(self._touched(state, now))
        step = SignupStep.FORM if answer.old_enough else SignupStep.UNDER_AGE
        return Transition(replace(self._touched(state, now), view=replace(view, step=step)))

    def _signup_submitted(
        self, state: SessionState, submitted: SignupSubmitted, now: float
    ) -> Transition:
        view = state.view
        state = self._touched(state, now)
        if not isinstance(view, SignupView) or view.step is not SignupStep.FORM:
            return Transition(state)
        region = self.config.phone_region
        checked = signup.check(submitted.form, region=region)
        if not isinstance(checked, signup.CheckedSignup):
            return Transition(replace(state, view=replace(view, problems=checked)))
        member_id = submitted.member_id
        effects: list[Effect] = [
            Record(r.kind, r.payload | {"session": state.session_id}, now)
            for r in signup.signup_records(
                checked,
                member_id=member_id,
                region=region,
                language=state.language,
                notices=self.notices,
            )
        ]
        effects.append(StoreMessage("signup", {"session": state.session_id}))
        recognised = ConsentPurpose.RECOGNITION in checked.consents
        member = MemberVisit(
            member_id=member_id,
            greeting_name=checked.name if checked.greet_by_name else None,
            last_viewed=tuple(
                p.sku for p in state.picks if p.session == state.number and p.sku is not None
            ),
            language=state.language,
            joined=True,
            personalised=ConsentPurpose.PERSONALISATION in checked.consents,
        )
        binding = Binding.WAITING if recognised and submitted.can_bind else Binding.NONE
        reward = RewardStatus.NONE
        if self.welcome is not None:
            reward = RewardStatus.PENDING
            effects.append(
                IssueCoupon(self.welcome, "signup", member_id, state.session_id, state.number)
            )
        done = SignupView(
            state.number, SignupStep.DONE, binding=binding, name=checked.name, reward=reward
        )
        return Transition(replace(state, view=done, member=member), tuple(effects))

    def _tag_presented(
        self, state: SessionState, presented: TagPresented, now: float
    ) -> Transition:
        view = state.view
        if isinstance(view, SignupView) and view.binding is Binding.WAITING:
            return self._bind(state, view, presented, now)
        if _in_flow(state) or presented.tag_kind != "rfid":
            return Transition(state)  # someone mid-form: a stray fob must not take over
        # Whatever the fob is (a stranger's, a member's who did not consent to being
        # recognised, one from before the feed arrived): one and the same answer.
        if not state.active:
            state = _start_session(state, now)
        state = replace(
            state,
            view=FobView(state.number),
            last_interaction=now,
            return_at=now + self.config.fob_seconds,
            notice=None,
        )
        return Transition(state)

    def _bind(
        self, state: SessionState, view: SignupView, presented: TagPresented, now: float
    ) -> Transition:
        assert state.member is not None, "a sign-up that is done has its member"
        if presented.tag_hash is None:
            return Transition(state)  # without the tag key nothing can be bound
        payload: dict[str, JsonValue] = {
            "member_id": state.member.member_id,
            "tag_hash": presented.tag_hash,
            "tag_kind": presented.tag_kind,
        }
        state = replace(self._touched(state, now), view=replace(view, binding=Binding.BOUND))
        return Transition(state, (Record("tag_bound", payload, now),))

    def _survey_opened(self, state: SessionState, opened: SurveyOpened, now: float) -> Transition:
        chosen = self._survey(opened.survey)
        if chosen is None or state.surveyed:
            return Transition(self._touched(state, now))
        first = survey.first_question(chosen).id
        return Transition(
            self._open(state, lambda number: SurveyView(number, chosen.id, first), now)
        )

    def _survey_answered(
        self, state: SessionState, answered: SurveyAnswered, now: float
    ) -> Transition:
        view = state.view
        state = self._touched(state, now)
        if not isinstance(view, SurveyView):
            return Transition(state)
        current = self._survey(view.survey)
        asked = None if current is None else survey.question(current, view.question)
        if current is None or asked is None:
            return Transition(state)
        try:
            answer = survey.check_answer(asked, answered.answer)
        except survey.InvalidAnswer as problem:
            log.warning("survey answer ignored: %s", problem)
            return Transition(state)
        low = survey.is_low(current, asked, answer)
        payload = _answer_payload(state, current, asked, answer, low)
        effects: list[Effect] = [Record("survey_answer", payload, now)]
        # Staff see scores and choices live; free text may hold anything, so it goes to HQ only.
        live = {k: v for k, v in payload.items() if k not in {"text", "member_id"}}
        effects.append(StoreMessage("survey_answer", live, alert=low))
        following = survey.next_question(current, asked, answer)
        if following is not None:
            view = replace(view, question=following.id, answered=view.answered + 1)
            return Transition(replace(state, view=view), tuple(effects))
        return self._survey_done(state, current, view.answered + 1, effects, now)

    def _survey_done(
        self, state: SessionState, done: Survey, answers: int, effects: list[Effect], now: float
    ) -> Transition:
        member_id = None if state.member is None else state.member.member_id
        effects.append(
            Record(
                "survey_completed",
                {
                    "session": state.session_id,
                    "survey": done.id,
                    "member_id": member_id,
                    "answers": answers,
                    "reward_code": None,  # the coupon_issued record names the session
                },
                now,
            )
        )
        reward = RewardStatus.NONE
        if done.reward is not None:
            reward = RewardStatus.PENDING
            effects.append(
                IssueCoupon(done.reward, "survey", member_id, state.session_id, state.number)
            )
        view = ThanksView(state.number, done.id, reward)
        return Transition(replace(state, view=view, surveyed=True), tuple(effects))

    def _smiley_pressed(
        self, state: SessionState, pressed: SmileyPressed, now: float
    ) -> Transition:
        terminal = survey.terminal_survey(self.surveys)
        if terminal is None or state.active or pressed.score not in survey.SMILEY_SCORES:
            return Transition(state)
        thanks = replace(state, smiley_thanks_until=now + self.config.smiley_thanks)
        last = state.smiley_counted_at
        if last is not None and now - last < self.config.smiley_interval:
            return Transition(thanks)  # a repeated press: thanked, not counted
        asked = survey.first_question(terminal)
        answer = survey.Answer(score=pressed.score)
        low = survey.is_low(terminal, asked, answer)
        payload = _answer_payload(state, terminal, asked, answer, low)
        payload["session"] = f"{state.boot}-terminal"
        effects = (
            Record("survey_answer", payload, now),
            StoreMessage("survey_answer", payload, alert=low),
        )
        return Transition(replace(thanks, smiley_counted_at=now), effects)

    def _draw_opened(self, state: SessionState, opened: DrawOpened, now: float) -> Transition:
        if state.member is None or not any(d.id == opened.draw for d in self.draws):
            return Transition(self._touched(state, now))  # only members draw
        return Transition(self._open(state, lambda number: DrawView(number, opened.draw), now))

    def _draw_requested(self, state: SessionState, now: float) -> Transition:
        view = state.view
        state = self._touched(state, now)
        if not isinstance(view, DrawView) or view.drawing or view.outcome is not None:
            return Transition(state)  # one press, one draw
        if state.member is None:  # their tag left meanwhile: the draw is theirs alone
            return Transition(replace(state, view=replace(view, outcome="member_gone")))
        refusal = draw_refusal(state, view.draw)
        if refusal is not None:  # the screen said so already; a stale tap changes nothing
            return Transition(replace(state, view=replace(view, outcome=refusal)))
        effect = DrawPrize(view.draw, state.member.member_id, state.session_id, state.number)
        drawing = replace(view, drawing=True, started_at=now)
        return Transition(replace(state, view=drawing), (effect,))

    def _draw_skipped(self, state: SessionState, now: float) -> Transition:
        view = state.view
        state = self._touched(state, now)
        if not isinstance(view, DrawView) or not view.drawing or view.skipped:
            return Transition(state)
        state = replace(state, view=replace(view, skipped=True))
        if view.held is None:
            return Transition(state)  # shown the moment the desk answers
        return self._reveal(state, view.held, told=())

    def _reward_ready(self, state: SessionState, ready: RewardReady, now: float) -> Transition:
        view = state.view
        told = _reward_messages(state, ready)  # issued, whether or not they are still here
        if ready.offer is not None:
            return self._offer_answered(state, ready, told, now)
        if ready.session == state.number and isinstance(view, SignupView):
            # The new member's welcome coupon, shown on the sign-up's last screen.
            got = replace(view, reward=RewardStatus.NONE, coupon=ready.coupon)
            if ready.coupon is None:
                got = replace(view, reward=RewardStatus.REFUSED)
            return Transition(replace(state, view=got), told)
        if isinstance(view, DrawView) and (
            not view.drawing or (ready.coupon is not None and ready.prize is None)
        ):
            # Not this draw's answer (a draw's win names its prize): a welcome coupon come
            # after the new member went on to the draw. It is theirs (at HQ); it must not
            # pass for a prize.
            return Transition(state, told)
        if isinstance(view, DrawView) and ready.session == state.number and view.drawing:
            reveal_at = (view.started_at or now) + self.config.draw_suspense
            if not view.skipped and now < reveal_at:
                return Transition(replace(state, view=replace(view, held=ready)), told)
        return self._reveal(state, ready, told)

    def _reveal(
        self, state: SessionState, ready: RewardReady, told: tuple[Effect, ...]
    ) -> Transition:
        view = state.view
        if ready.session != state.number or not isinstance(view, ThanksView | DrawView):
            return Transition(state, told)  # they walked away meanwhile: the code stays at HQ
        if isinstance(view, DrawView) and ready.refusal not in _DRAW_NOT_HELD:
            # Won, lost or refused for the day: no second draw offered to them today.
            state = _with_standing(state, DrawStanding(state.number, view.draw, "member_limit"))
        if ready.coupon is not None:
            won = CouponView(state.number, ready.coupon, ready.prize)
            return Transition(replace(state, view=won), told)
        if isinstance(view, DrawView):
            outcome = ready.refusal or "no_win"
            done = replace(view, drawing=False, outcome=outcome, held=None)
            return Transition(replace(state, view=done))
        return Transition(replace(state, view=replace(view, reward=RewardStatus.REFUSED)))

    def _flow_closed(self, state: SessionState, now: float) -> Transition:
        if not _in_flow(state) and not isinstance(state.view, FobView):
            return Transition(self._touched(state, now))
        state = replace(self._touched(state, now), wipe_at=None)
        view = _view_for_picks(state)
        if view is not None:  # a phone still in hand: back to it
            return Transition(replace(state, view=view))
        if state.member is not None:
            welcome = WelcomeView(state.number)
            return_at = now + self.config.welcome_seconds
            return Transition(replace(state, view=welcome, return_at=return_at))
        return Transition(_end_session(state), _leds_off(state))

    def _survey(self, survey_id: str) -> Survey | None:
        return next((s for s in self.surveys if s.id == survey_id), None)

    # -- member offers --

    def _check_offers(
        self, state: SessionState, arrived: MemberArrived
    ) -> tuple[SessionState, tuple[Effect, ...]]:
        """Ask the desk for the counts of the offers the member qualifies for; nothing
        at all for a member without marketing consent (OfferBook checks it too)."""
        visit, book = arrived.visit, self.offers
        if (
            book is None
            or not len(book)
            or not visit.marketing
            or arrived.wall is None
            or state.member is not visit
        ):
            return state, ()
        candidates = book.candidates(offer_member(visit), arrived.wall)
        if not candidates:
            return state, ()
        asking = MemberOffer(state.number, arrived.wall)
        ids = tuple(offer.id for offer in candidates)
        return replace(state, offer=asking), (CheckOffers(ids, visit.member_id, state.number),)

    def _offer_takes_known(
        self, state: SessionState, known: OfferTakesKnown, now: float
    ) -> Transition:
        asked, book, member = state.offer, self.offers, state.member
        if (
            asked is None
            or book is None
            or member is None
            or known.session != state.number
            or asked.session != known.session
            or asked.step is not OfferStep.CHECKING
        ):
            return Transition(state)  # an answer for a session that is over, or again
        chosen = book.choose(offer_member(member), known.takes, asked.wall)
        if chosen is None:
            return Transition(replace(state, offer=None))
        payload: dict[str, JsonValue] = {
            "session": state.session_id,
            "offer": chosen.id,
            "member_id": member.member_id,
            "campaign": chosen.campaign,
        }
        shown = replace(asked, offer=chosen, step=OfferStep.SHOWN)
        return Transition(replace(state, offer=shown), (Record("offer_shown", payload, now),))

    def _offer_taken(self, state: SessionState, now: float) -> Transition:
        state = self._touched(state, now)
        offer, member = state.offer, state.member
        if not isinstance(state.view, WelcomeView) or offer is None or offer.offer is None:
            return Transition(state)
        if offer.step is OfferStep.TAKEN and offer.coupon is not None:  # "show my coupon"
            again = CouponView(state.number, offer.coupon, offer=offer.offer.id)
            return Transition(replace(state, view=again, return_at=None, wipe_at=None))
        campaign = offer.offer.campaign
        if member is None or campaign is None or offer.step is not OfferStep.SHOWN:
            return Transition(state)  # a message only, or asked already: one tap, one code
        effect = TakeOffer(
            offer.offer.id, campaign, member.member_id, state.session_id, state.number
        )
        taking = replace(offer, step=OfferStep.TAKING)
        return Transition(replace(state, offer=taking), (effect,))

    def _offer_answered(
        self, state: SessionState, ready: RewardReady, told: tuple[Effect, ...], now: float
    ) -> Transition:
        offer = state.offer
        if (
            offer is None
            or offer.offer is None
            or ready.session != state.number
            or offer.offer.id != ready.offer
            or offer.step is not OfferStep.TAKING
        ):
            return Transition(state, told)  # they walked away meanwhile: the code stays at HQ
        if ready.coupon is None:
            refused = replace(offer, step=OfferStep.REFUSED, refusal=ready.refusal or "unavailable")
            return Transition(replace(state, offer=refused), told)
        taken = replace(offer, step=OfferStep.TAKEN, coupon=ready.coupon)
        state = replace(state, offer=taken)
        if not isinstance(state.view, WelcomeView):
            return Transition(state, told)  # a phone in hand: the welcome shows it later
        view = CouponView(state.number, ready.coupon, offer=offer.offer.id)
        shown = replace(state, view=view, last_interaction=now, return_at=None, wipe_at=None)
        return Transition(shown, told)

    def _offer_coupon(self, state: SessionState) -> tuple[MemberOffer, IssuedCoupon] | None:
        """The offer whose coupon is on screen, when it is."""
        offer, view = state.offer, state.view
        if (
            not isinstance(view, CouponView)
            or view.offer is None
            or offer is None
            or offer.coupon is None
            or offer.offer is None
            or offer.offer.id != view.offer
        ):
            return None
        return offer, offer.coupon

    def _offer_text_asked(self, state: SessionState, now: float) -> Transition:
        state = self._touched(state, now)
        shown = self._offer_coupon(state)
        if shown is None or state.member is None or shown[0].texted:
            return Transition(state)  # once per coupon: a second tap sends nothing
        offer, coupon = shown
        assert offer.offer is not None
        payload: dict[str, JsonValue] = {
            "session": state.session_id,
            "offer": offer.offer.id,
            "member_id": state.member.member_id,
            "code": coupon.code,
            "campaign": coupon.campaign,
            "expires_on": coupon.expires_on.isoformat(),
            "language": state.language.value,
        }
        texted = replace(state, offer=replace(offer, texted=True))
        return Transition(texted, (Record("offer_text_requested", payload, now),))

    def _offer_print_asked(self, state: SessionState, now: float) -> Transition:
        state = self._touched(state, now)
        shown = self._offer_coupon(state)
        if shown is None or state.member is None or not state.printer_ready:
            return Transition(state)
        offer, coupon = shown
        assert offer.offer is not None
        if offer.printing in (PrintStep.PRINTING, PrintStep.PRINTED) or state.print_job:
            return Transition(state)  # one coupon, one ticket
        job = f"{state.session_id}-{coupon.campaign}-{coupon.serial}"
        payload: dict[str, JsonValue] = {
            "session": state.session_id,
            "offer": offer.offer.id,
            "member_id": state.member.member_id,
            "code": coupon.code,
            "campaign": coupon.campaign,
        }
        effect = PrintCoupon(job, offer.offer.id, coupon, state.language, state.number)
        printing = replace(
            state,
            offer=replace(offer, printing=PrintStep.PRINTING),
            print_job=PendingPrint(job, payload),
        )
        return Transition(printing, (effect,))

    def _coupon_printed(
        self, state: SessionState, printed: CouponPrinted, now: float
    ) -> Transition:
        pending = state.print_job
        if pending is None or pending.job != printed.job:
            return Transition(state)
        effects = (Record("offer_printed", pending.payload, now),) if printed.ok else ()
        state = replace(state, print_job=None)
        offer = state.offer
        if offer is not None and offer.printing is PrintStep.PRINTING:
            step = PrintStep.PRINTED if printed.ok else PrintStep.FAILED
            state = replace(state, offer=replace(offer, printing=step))
        return Transition(state, effects)

    # -- time --

    def advance(self, state: SessionState, now: float) -> Transition:
        """Apply every deadline that has passed by `now`."""
        effects: list[Effect] = []
        if any(not p.confirmed and now >= p.lifted_at + self.config.bounce for p in state.picks):
            state, confirmed = self._confirm_picks(state, now)
            effects.extend(confirmed)
        if state.notice is not None and now >= state.notice.until:
            state = replace(state, notice=None)
        if state.smiley_thanks_until is not None and now >= state.smiley_thanks_until:
            state = replace(state, smiley_thanks_until=None)
        reveal_at = _reveal_at(state, self.config.draw_suspense)
        if reveal_at is not None and now >= reveal_at:
            assert isinstance(state.view, DrawView)
            assert state.view.held is not None
            revealed = self._reveal(state, state.view.held, told=())
            state = revealed.state
            effects.extend(revealed.effects)
        if _in_flow(state):
            countdown_from = state.last_interaction + self.config.form_timeout
            if state.wipe_at is None and now >= countdown_from:
                state = replace(state, wipe_at=countdown_from + self.config.form_countdown)
            if state.wipe_at is not None and now >= state.wipe_at:
                log.info("session ends: walked away from %s", type(state.view).__name__)
                effects.extend(_leds_off(state))
                return Transition(_end_session(state), tuple(effects))
            return Transition(state, tuple(effects))
        if state.active:
            grace_over = state.return_at is not None and now >= state.return_at
            idle = now >= state.last_interaction + self.config.idle_timeout
            if grace_over or idle:
                log.info("session ends: %s", "grace over" if grace_over else "idle")
                effects.extend(_leds_off(state))
                state = _end_session(state)
        return Transition(state, tuple(effects))

    def _confirm_picks(self, state: SessionState, now: float) -> tuple[SessionState, list[Effect]]:
        effects: list[Effect] = []
        picks = []
        newly: set[str | None] = set()
        for old in state.picks:
            pick = old
            if not old.confirmed and now >= old.lifted_at + self.config.bounce:
                pick = replace(old, confirmed=True)
                effects.append(Record("lift", _pick_payload(state, pick), pick.lifted_at))
                newly.add(pick.sku)
                if pick.sku is not None:
                    tally = tally_lift(state.lift_tally, pick.sku, pick.lifted_at)
                    state = replace(state, lift_tally=tally)
            picks.append(pick)
        state = replace(state, picks=tuple(picks))
        view = state.view
        # A comparison counts once both phones are really in hand, recorded by the later one.
        if isinstance(view, CompareView) and newly & {view.left, view.right}:
            held = {p.sku: p for p in state.picks if p.session == state.number}
            both = [held.get(view.left), held.get(view.right)]
            if all(p is not None and p.confirmed for p in both):
                at = max(p.lifted_at for p in both if p is not None)
                skus: list[JsonValue] = [view.left, view.right]
                payload: dict[str, JsonValue] = {"session": state.session_id, "skus": skus}
                if state.member is not None:
                    payload["member_id"] = state.member.member_id
                effects.append(Record("comparison", payload, at))
        return state, effects

    def next_deadline(self, state: SessionState) -> float | None:
        """The earliest time at which `advance` would change something."""
        deadlines = [p.lifted_at + self.config.bounce for p in state.picks if not p.confirmed]
        if state.notice is not None:
            deadlines.append(state.notice.until)
        if state.smiley_thanks_until is not None:
            deadlines.append(state.smiley_thanks_until)
        reveal_at = _reveal_at(state, self.config.draw_suspense)
        if reveal_at is not None:
            deadlines.append(reveal_at)
        if _in_flow(state):
            if state.wipe_at is not None:
                deadlines.append(state.wipe_at)
            else:
                deadlines.append(state.last_interaction + self.config.form_timeout)
        elif state.active:
            deadlines.append(state.last_interaction + self.config.idle_timeout)
            if state.return_at is not None:
                deadlines.append(state.return_at)
        return min(deadlines, default=None)


def offer_member(visit: MemberVisit) -> OfferMember:
    """The member as rewards.offers decides about them."""
    return OfferMember(
        member_id=visit.member_id,
        marketing=visit.marketing,
        personalised=visit.personalised,
        tier=visit.tier,
        tags=visit.tags,
        birth_month=visit.birth_month,
        last_seen=visit.last_seen,
        last_viewed=visit.last_viewed,
    )


def _start_session(state: SessionState, now: float) -> SessionState:
    return replace(state, number=state.number + 1, last_interaction=now)


def _end_session(state: SessionState) -> SessionState:
    """Back to attract; phones still off their slots stay known but belong to no one."""
    return SessionState(
        boot=state.boot,
        number=state.number,
        picks=state.picks,
        last_interaction=state.last_interaction,
        smiley_counted_at=state.smiley_counted_at,
        smiley_thanks_until=state.smiley_thanks_until,
        printer_ready=state.printer_ready,
        hq_online=state.hq_online,
        print_job=state.print_job,
        lift_tally=state.lift_tally,
        store_lifts=lift_shares(state.lift_tally),
    )


_DRAW_NOT_HELD = ("unavailable", "not_started", "ended", "member_gone")
"""Draw answers after which the member has not had their draw: no "come back tomorrow"."""


def draw_refusal(state: SessionState, draw: str) -> str | None:
    """Why this session's member may not draw `draw` today, as far as the kiosk knows."""
    return dict(state.draw_refusals).get(draw)


def _with_standing(state: SessionState, standing: DrawStanding) -> SessionState:
    if standing.session != state.number or state.member is None:
        return state  # an answer about a session that is over
    refusals = dict(state.draw_refusals)
    if standing.refusal is None:
        refusals.pop(standing.draw, None)
    else:
        refusals[standing.draw] = standing.refusal
    return replace(state, draw_refusals=tuple(sorted(refusals.items())))


def _reveal_at(state: SessionState, suspense: float) -> float | None:
    """When a held draw result shows: the end of the animation."""
    view = state.view
    if not isinstance(view, DrawView) or view.held is None or view.started_at is None:
        return None
    return view.started_at + suspense


def _in_flow(state: SessionState) -> bool:
    return isinstance(state.view, FlowView)


def _leds_off(state: SessionState) -> tuple[Effect, ...]:
    return tuple(SetLed(slot, LedMode.OFF) for slot in sorted(state.lit_slots))


def _lights_follow_view(done: Transition) -> Transition:
    """A lit slot belongs to the screen it was lit for: when that screen goes (another
    phone lifted, a flow opened, back to attract), its light goes off."""
    state = done.state
    if not state.lit_slots or state.view == state.lit_view:
        return done
    dark = replace(state, lit_slots=frozenset(), lit_view=None)
    return Transition(dark, done.effects + _leds_off(state))


def _view_for_picks(state: SessionState) -> View | None:
    """The latest phones in this session's hands decide the view; None if there are none."""
    skus = [p.sku for p in state.picks if p.session == state.number and p.sku is not None]
    if len(skus) >= 2:
        return CompareView(skus[-2], skus[-1])
    if skus:
        return ProductView(skus[-1], in_hand=True)
    return None


def _pick_payload(state: SessionState, pick: Pick) -> dict[str, JsonValue]:
    session = f"{state.boot}-{pick.session}"
    payload: dict[str, JsonValue] = {"session": session, "slot": pick.slot, "sku": pick.sku}
    if state.member is not None and pick.session == state.number:
        payload["member_id"] = state.member.member_id
    return payload


def _reward_messages(state: SessionState, ready: RewardReady) -> tuple[Effect, ...]:
    if ready.coupon is None:
        return ()
    session = f"{state.boot}-{ready.session}"
    issued = StoreMessage("coupon_issued", {"session": session, "campaign": ready.coupon.campaign})
    if ready.prize is None or ready.draw is None:
        return (issued,)
    won = StoreMessage("prize_won", {"session": session, "draw": ready.draw, "prize": ready.prize})
    return (won, issued)


def _answer_payload(
    state: SessionState,
    answered: Survey,
    asked: SurveyQuestion,
    answer: survey.Answer,
    low: bool,
) -> dict[str, JsonValue]:
    return {
        "session": state.session_id,
        "survey": answered.id,
        "question": asked.id,
        "kind": asked.kind.value,
        "score": answer.score,
        "choices": list(answer.choices) if answer.choices else None,
        "text": answer.text or None,
        "member_id": None if state.member is None else state.member.member_id,
        "low": low,
    }
