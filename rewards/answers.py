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
from rewards.codes import CouponCode
from rewards.issuing import Refusal

IssueReason = Literal["survey", "draw", "signup"]


@dataclass(frozen=True, slots=True)
class Issued:
    """A code was issued, stored and queued for HQ (`coupon_issued`)."""

    code: CouponCode
    campaign: str
    reason: IssueReason


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


RewardRequest = IssueRequest | DrawRequest | StandingRequest


@dataclass(frozen=True, slots=True)
class RewardAnswer:
    """The desk's answer to `request` (the very object `submit` was given)."""

    request: RewardRequest
    outcome: Issued | DrawOutcome | Standing | Refused
