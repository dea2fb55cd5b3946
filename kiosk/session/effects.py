"""What the session machine asks the controller to carry out: records for the outbox,
slot lights, alerts and live messages for staff, questions to the reward desk, prints."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from content.model import Language
from devices.events import AlarmReason
from devices.protocols.pickup import LedMode
from kiosk.session.views import IssuedCoupon

JsonValue = str | int | float | bool | None | list["JsonValue"] | dict[str, "JsonValue"]


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
