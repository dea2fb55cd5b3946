"""What the shopper's screen shows: one view per screen (its `key` names the screen
in the trace, never a person), and the notice that says where a tapped phone is."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from kiosk import signup

if TYPE_CHECKING:
    from kiosk.session.inputs import RewardReady


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
