"""What the session machine is told: inputs from the screen, the member readers, the
reward desk, the printer and the link to HQ (the cabinet's own are devices.events)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from content.model import Language
from devices.events import Alarm, Dropped, Lifted
from kiosk import signup, survey
from kiosk.session.views import IssuedCoupon
from rewards.offers import OfferTakes


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
