"""What an accepted event tells the CRM, as frozen values (no pydantic, no rows).

Ingest turns validated payloads into these; `projections` writes them. Fields
are already normalised: E.164 phone numbers, lower-case emails and hashes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Origin:
    """Which event a fact comes from, and where and when it happened."""

    event_id: str
    store_id: str
    kiosk_id: str
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class Signup:
    origin: Origin
    member_id: str
    phone_e164: str
    email: str | None
    name: str | None
    language: str
    greet_by_name: bool = False


@dataclass(frozen=True, slots=True)
class ConsentDecision:
    origin: Origin
    member_id: str
    purpose: str
    channel: str | None
    notice_version: str
    notice_sha256: str
    given: bool


@dataclass(frozen=True, slots=True)
class Interaction:
    """A member's lift, drop, comparison or recommendation tap."""

    origin: Origin
    member_id: str
    kind: str
    session: str
    sku: str | None
    slot: int | None
    details: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class AlarmRaised:
    origin: Origin
    slot: int
    sku: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class TagBound:
    """A kiosk bound a fob or tag (by its keyed hash, lower case) to a member."""

    origin: Origin
    member_id: str
    tag_hash: str
    tag_kind: str | None


@dataclass(frozen=True, slots=True)
class SurveyAnswered:
    """One answer to a survey question; member_id None for an anonymous shopper."""

    origin: Origin
    member_id: str | None
    session: str
    survey: str
    question: str
    kind: str
    score: int | None
    choices: tuple[str, ...] | None
    text: str | None
    low: bool


@dataclass(frozen=True, slots=True)
class SurveyCompleted:
    origin: Origin
    member_id: str | None
    session: str
    survey: str
    answers: int
    reward_code: str | None  # formatted


@dataclass(frozen=True, slots=True)
class CouponIssued:
    """A code a kiosk issued; the fields are the code's own (checked at ingest)."""

    origin: Origin
    member_id: str | None
    session: str
    code: str  # formatted
    campaign: str
    campaign_no: int
    kiosk_no: int
    serial: int
    expires_on: date
    reason: str
    offer: str | None = None  # the member offer taken (reason "offer")


@dataclass(frozen=True, slots=True)
class CouponRedemptionReported:
    """A store redeemed a code (offline, say) and its kiosk reported it."""

    origin: Origin
    code: str  # formatted
    campaign_no: int
    kiosk_no: int
    serial: int
    redeemed_at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class PrizeDrawn:
    origin: Origin
    member_id: str | None
    session: str
    draw: str
    prize: str | None
    code: str | None  # formatted


@dataclass(frozen=True, slots=True)
class OfferTextRequested:
    """A member asked, at a kiosk, for an offer's coupon code by text message (hq.sms
    sends it to their number on record; the kiosk never holds the number)."""

    origin: Origin
    member_id: str
    session: str
    offer: str
    campaign: str
    code: str = field(repr=False)  # formatted; checked at ingest like an issued code
    kiosk_no: int  # the code's kiosk: the sender's own
    expires_on: date
    language: str


@dataclass(frozen=True, slots=True)
class AlertAcked:
    """Store staff acknowledged a kiosk's alert on an attendant device (`origin`'s
    kiosk_id is that device; `kiosk_id` the kiosk whose alert it was)."""

    origin: Origin
    kiosk_id: str
    alert_seq: int
    alert_kind: str
    by: str  # a staff id
    after_s: float


@dataclass(frozen=True, slots=True)
class PlanogramEdited:
    """Store staff changed what a kiosk's slot shows, on an attendant device."""

    origin: Origin
    kiosk_id: str
    slot: int
    before: str | None
    after: str
    by: str  # a staff id


@dataclass(frozen=True, slots=True)
class PlaysCounted:
    """Proof of play: what a kiosk's attract loop showed (hq.plays), one row per
    UTC hour, item and campaign, as counted since the kiosk's previous record."""

    origin: Origin
    rows: tuple[PlayCount, ...]


@dataclass(frozen=True, slots=True)
class PlayCount:
    hour: datetime
    item: str
    campaign: str | None
    shows: int
    ms: int
    lifted: int


@dataclass(frozen=True, slots=True)
class OfferShown:
    """A member was shown `offer` on the welcome (member_id None once they are erased)."""

    origin: Origin
    member_id: str | None
    session: str
    offer: str
    campaign: str | None


@dataclass(frozen=True, slots=True)
class OfferPrinted:
    """A kiosk printed the coupon `code` of a taken offer for the member."""

    origin: Origin
    member_id: str | None
    session: str
    offer: str
    campaign: str
    code: str  # formatted


CouponFact = CouponIssued | CouponRedemptionReported | OfferTextRequested
# Facts whose codes ingest checks against their kiosk's key (hq.crm.coupons).
StaffFact = AlertAcked | PlanogramEdited
OfferFact = OfferShown | OfferPrinted
RewardFact = SurveyAnswered | SurveyCompleted | CouponIssued | CouponRedemptionReported | PrizeDrawn

Fact = (
    Signup
    | ConsentDecision
    | Interaction
    | AlarmRaised
    | TagBound
    | RewardFact
    | OfferTextRequested
    | StaffFact
    | PlaysCounted
    | OfferFact
)
