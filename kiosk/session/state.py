"""The shopper session's state and settings, and what one step of the machine returns."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from content.model import Language
from content.offers import Offer as BundleOffer
from content.recommend import LiftTally
from kiosk import signup
from kiosk.session.effects import Effect, JsonValue
from kiosk.session.inputs import MemberVisit
from kiosk.session.views import ATTRACT, IssuedCoupon, LocateNotice, View


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
