"""What the kiosk asks the reward desk and what it answers: plain data, no database.

The desk runs in the relay child (backend_client/relay_child.py), next to the outbox
it writes; the kiosk's screen process builds these requests and reads these answers,
which cross between the two pickled (backend_client/data_link.py). So this module
imports neither SQLAlchemy nor `cryptography`: the screen process never loads them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from content.model import CouponCampaign, Prize, PrizeDraw
from content.offers import Offer
from rewards.codes import CouponCode
from rewards.issuing import Refusal
from rewards.offers import OfferTakes

IssueReason = Literal["survey", "draw", "signup", "offer"]


@dataclass(frozen=True, slots=True)
class Issued:
    """A code was issued, stored and queued for HQ (`coupon_issued`)."""

    code: CouponCode
    campaign: str
    reason: IssueReason
    offer: str | None = None  # the member offer taken (reason "offer")


@dataclass(frozen=True, slots=True)
class Refused:
    """Nothing was given; `reason` says why (rewards.issuing.Refusal)."""

    reason: Refusal


@dataclass(frozen=True, slots=True)
class DrawOutcome:
    """A draw took place and was recorded (`prize_draw`). `prize` None is no prize;
    a prize comes with its code (also recorded, `coupon_issued`)."""

    draw: str
    prize: Prize | None
    code: CouponCode | None


@dataclass(frozen=True, slots=True)
class IssueRequest:
    """Ask the desk for a code (`RewardLedger.issue`)."""

    campaign: CouponCampaign
    member_id: uuid.UUID | str | None = field(repr=False)
    session: str
    reason: IssueReason
    now: datetime


@dataclass(frozen=True, slots=True)
class DrawRequest:
    """Ask the desk for a draw (`RewardLedger.draw`)."""

    prize_draw: PrizeDraw
    campaigns: tuple[CouponCampaign, ...]
    member_id: uuid.UUID | str = field(repr=False)
    session: str
    now: datetime
    roll: int | None = None


@dataclass(frozen=True, slots=True)
class StandingRequest:
    """Ask the desk whether a member may draw (`RewardLedger.standing`); nothing is written."""

    prize_draws: tuple[PrizeDraw, ...]
    member_id: uuid.UUID | str = field(repr=False)
    now: datetime


@dataclass(frozen=True, slots=True)
class Standing:
    """Draw id -> why the member may not draw it today (None: they may)."""

    refusals: dict[str, Refusal | None]


@dataclass(frozen=True, slots=True)
class OfferTakesRequest:
    """Ask the desk for a member's counts of `offers` (`RewardLedger.offer_takes`), for
    `rewards.offers.OfferBook.choose`; nothing is written."""

    offers: tuple[str, ...]  # offer ids
    member_id: uuid.UUID | str = field(repr=False)
    now: datetime


@dataclass(frozen=True, slots=True)
class OfferStanding:
    """Offer id -> the counts its limits need (every id asked is there)."""

    takes: dict[str, OfferTakes]


@dataclass(frozen=True, slots=True)
class TakeOfferRequest:
    """The member took `offer`: issue a code of `campaign` (the offer's), checking the
    offer's limits and the campaign's in the same transaction (`RewardLedger.take_offer`).
    Answered Issued(reason="offer", offer=offer.id) or Refused."""

    offer: Offer
    campaign: CouponCampaign
    member_id: uuid.UUID | str = field(repr=False)
    session: str
    now: datetime


RewardRequest = IssueRequest | DrawRequest | StandingRequest | OfferTakesRequest | TakeOfferRequest


@dataclass(frozen=True, slots=True)
class RewardAnswer:
    """The desk's answer to `request` (the very object `submit` was given)."""

    request: RewardRequest
    outcome: Issued | DrawOutcome | Standing | OfferStanding | Refused
