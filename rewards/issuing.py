"""Whether a coupon campaign may issue a code now, and the day the code expires.

Pure decisions: the counts they need (codes issued today, codes this member
holds) are the ledger's to read, inside the transaction that issues
(rewards/ledger.py), so two requests can never both take the last code.

Days are local days: the date in the store's time zone, from an aware `now`
and the store's `ZoneInfo`. A campaign's `starts_at`/`ends_at` carry a UTC
offset (the bundle refuses them without one), so they compare as instants.

Expiry: a code is good through local day issue day + `valid_days` - 1, as the
bundle format says, even when that is after the campaign's `ends_at`. The
window bounds when codes are *issued*; a shopper who gets a code on the last
day of a campaign gets the same `valid_days` the terms promise everyone else.
A publisher who wants every code dead by a date shortens `valid_days`.

Budgets are per store, and a store's kiosks do not talk to each other offline, so
each kiosk keeps to its own part (`StoreShare`: HQ gives every kiosk of a store a
seat at enrolment, and the parts of all seats add up to the store's figure).
`per_member_limit` counts the codes this kiosk issued to the member. A shopper
without a member id (an anonymous survey) has no per-member count; the daily
budget still holds.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from content.model import CouponCampaign


class Refusal(enum.StrEnum):
    """Why no code (or no draw) was given; the kiosk picks the shopper's words by it."""

    NOT_STARTED = "not_started"  # before the campaign's / draw's starts_at
    ENDED = "ended"  # at or after its ends_at
    BUDGET_SPENT = "budget_spent"  # the campaign's daily budget on this kiosk is used up
    MEMBER_LIMIT = "member_limit"  # the member holds all the codes (or draws today) allowed
    SERIALS_EXHAUSTED = "serials_exhausted"  # this kiosk number used all 2**24 serials
    UNAVAILABLE = "unavailable"  # the ledger could not be written (disk full, locked)


@dataclass(frozen=True, slots=True)
class StoreShare:
    """This kiosk's part of its store's daily budgets and caps: seat `seat` of `seats`.

    A figure N splits into N // seats for every seat, and the remainder goes to
    as many seats again, a different run of them each local day, so a cap of 1 in a
    store of three kiosks can be won at each of them in turn. The parts of all
    seats always add up to N, whatever day it is: the store never exceeds it.
    """

    seat: int = 0
    seats: int = 1

    def __post_init__(self) -> None:
        if not 0 <= self.seat < self.seats:
            raise ValueError(f"seat must be from 0 to seats - 1 (seats={self.seats})")

    def of(self, store_total: int, day: date) -> int:
        """This seat's part of `store_total` on local day `day`."""
        each, rest = divmod(store_total, self.seats)
        return each + int((self.seat - day.toordinal()) % self.seats < rest)


WHOLE_STORE: Final = StoreShare()  # the store's only kiosk


def local_day(now: datetime, tz: ZoneInfo) -> date:
    """The store's date at `now` (aware)."""
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(tz).date()


def window_refusal(starts_at: str, ends_at: str, now: datetime) -> Refusal | None:
    """NOT_STARTED before `starts_at`, ENDED from `ends_at` on (exclusive end), else None."""
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if now < datetime.fromisoformat(starts_at):
        return Refusal.NOT_STARTED
    if now >= datetime.fromisoformat(ends_at):
        return Refusal.ENDED
    return None


def may_issue(
    campaign: CouponCampaign,
    *,
    now: datetime,
    issued_today: int,
    member_holds: int | None,
    budget: int | None = None,
) -> Refusal | None:
    """None if `campaign` may issue a code at `now`, else why not.

    `issued_today`: codes of this campaign this kiosk issued on the local day of
    `now`. `member_holds`: codes of this campaign this kiosk issued to the member,
    or None for a shopper without a member id. `budget`: this kiosk's part of the
    campaign's daily budget today (`StoreShare.of`); None for all of it. The
    window is checked first, then
    the member's limit (the more useful thing to tell that shopper), then the budget.
    """
    closed = window_refusal(campaign.starts_at, campaign.ends_at, now)
    if closed is not None:
        return closed
    if member_holds is not None and member_holds >= campaign.per_member_limit:
        return Refusal.MEMBER_LIMIT
    if issued_today >= (campaign.daily_budget if budget is None else budget):
        return Refusal.BUDGET_SPENT
    return None


def expiry_day(campaign: CouponCampaign, issued_on: date) -> date:
    """The last local day a code issued on `issued_on` is good (see the module docstring)."""
    return issued_on + timedelta(days=campaign.valid_days - 1)
