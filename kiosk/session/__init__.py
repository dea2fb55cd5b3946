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

Where each kind lives:
- views: what the screen shows (`View`, `ATTRACT`, `LocateNotice`, `IssuedCoupon`).
- inputs: what the machine is told (`SessionInput`, `MemberVisit`).
- effects: what it asks the controller to do (`Effect`, `Record`, `JsonValue`).
- state: `SessionState`, `SessionConfig`, `Pick`, `MemberOffer`, `Transition`.
- machine: the rules, `SessionMachine`, and the helpers they share; offers: the
  member offer's steps, which the machine calls (and `offer_member`).
Every public name is importable from `kiosk.session` itself.
"""

from kiosk.session.effects import (
    CheckDraws,
    CheckOffers,
    DrawPrize,
    Effect,
    IssueCoupon,
    JsonValue,
    PrintCoupon,
    RaiseAlert,
    Record,
    SetLed,
    StoreMessage,
    TakeOffer,
)
from kiosk.session.inputs import (
    AgeAnswered,
    CouponPrinted,
    DrawOpened,
    DrawRequested,
    DrawSkipped,
    DrawStanding,
    FlowClosed,
    HqLinkChanged,
    LanguageChosen,
    MemberArrived,
    MemberLeft,
    MemberVisit,
    OfferPrintAsked,
    OfferTaken,
    OfferTakesKnown,
    OfferTextAsked,
    PrinterReady,
    RecommendationTapped,
    RewardReady,
    SessionInput,
    SignupOpened,
    SignupSubmitted,
    SmileyPressed,
    SurveyAnswered,
    SurveyOpened,
    TagPresented,
    Touched,
)
from kiosk.session.machine import (
    SessionMachine,
    draw_refusal,
)
from kiosk.session.offers import offer_member
from kiosk.session.state import (
    MemberOffer,
    OfferStep,
    PendingPrint,
    Pick,
    PrintStep,
    SessionConfig,
    SessionState,
    Transition,
)
from kiosk.session.views import (
    ATTRACT,
    AttractView,
    Binding,
    CompareView,
    CouponView,
    DrawView,
    FlowView,
    FobView,
    IssuedCoupon,
    LocateNotice,
    ProductView,
    RewardStatus,
    SignupStep,
    SignupView,
    SurveyView,
    ThanksView,
    View,
    WelcomeView,
)

__all__ = [
    "ATTRACT",
    "AgeAnswered",
    "AttractView",
    "Binding",
    "CheckDraws",
    "CheckOffers",
    "CompareView",
    "CouponPrinted",
    "CouponView",
    "DrawOpened",
    "DrawPrize",
    "DrawRequested",
    "DrawSkipped",
    "DrawStanding",
    "DrawView",
    "Effect",
    "FlowClosed",
    "FlowView",
    "FobView",
    "HqLinkChanged",
    "IssueCoupon",
    "IssuedCoupon",
    "JsonValue",
    "LanguageChosen",
    "LocateNotice",
    "MemberArrived",
    "MemberLeft",
    "MemberOffer",
    "MemberVisit",
    "OfferPrintAsked",
    "OfferStep",
    "OfferTaken",
    "OfferTakesKnown",
    "OfferTextAsked",
    "PendingPrint",
    "Pick",
    "PrintCoupon",
    "PrintStep",
    "PrinterReady",
    "ProductView",
    "RaiseAlert",
    "RecommendationTapped",
    "Record",
    "RewardReady",
    "RewardStatus",
    "SessionConfig",
    "SessionInput",
    "SessionMachine",
    "SessionState",
    "SetLed",
    "SignupOpened",
    "SignupStep",
    "SignupSubmitted",
    "SignupView",
    "SmileyPressed",
    "StoreMessage",
    "SurveyAnswered",
    "SurveyOpened",
    "SurveyView",
    "TagPresented",
    "TakeOffer",
    "ThanksView",
    "Touched",
    "Transition",
    "View",
    "WelcomeView",
    "draw_refusal",
    "offer_member",
]
