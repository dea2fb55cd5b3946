"""Member offers: `offers.json`, what a bundle offers recognised members (docs/bundle.md).

An offer says who qualifies (`segment`), what they get (a coupon campaign, a
message, a product to feature), how often (`limits`) and when (`starts_at` /
`ends_at`, `hours`, `weekdays`). The kiosk decides with `rewards.offers`, a pure
function of the member, the store's counts and `now`; only members whose marketing
consent HQ holds are ever offered anything.

Cross-references (a campaign or product that is not in the bundle) are checked
where the whole bundle is known, in content/bundle.py.
"""

from __future__ import annotations

import enum
from typing import Final

from pydantic import Field, model_validator

from content.model import (
    FieldValueError,
    Hours,
    LocalizedText,
    Sku,
    Slug,
    Text,
    Weekday,
    ZonedDateTime,
    _check_window,
    _duplicate,
    _Frozen,
)

MAX_OFFERS: Final = 500
# A chain runs tens of offers at a time; hundreds are a mistake in the tooling. The
# decision is measured against 200 (bench/offer_decision.py).
MAX_SEGMENT_VALUES: Final = 50


class OfferPeriod(enum.StrEnum):
    """How often one member may take an offer: once per local day, ISO week, calendar
    month, or for as long as the offer runs."""

    DAY = "day"
    WEEK = "week"  # ISO 8601 week: Monday to Sunday
    MONTH = "month"  # a birthday-month or first-visit-of-the-month offer: once a month
    CAMPAIGN = "campaign"  # once for as long as the offer runs


class ViewedFamily(_Frozen):
    """A product family the member looked at before (their `last_viewed` SKUs): any
    product of one of these brands, carrying one of these catalog tags, or one of
    these SKUs. Reading what someone looked at is personalisation: only members who
    consented to it qualify (rewards.offers)."""

    brands: tuple[Text, ...] = Field(default=(), max_length=MAX_SEGMENT_VALUES)
    tags: tuple[Text, ...] = Field(default=(), max_length=MAX_SEGMENT_VALUES)
    skus: tuple[Sku, ...] = Field(default=(), max_length=MAX_SEGMENT_VALUES)

    @model_validator(mode="after")
    def _something(self) -> ViewedFamily:
        if not (self.brands or self.tags or self.skus):
            raise FieldValueError("name at least one brand, tag or SKU", ())
        return self


class OfferSegment(_Frozen):
    """Who qualifies: every condition given must hold; none given: every member with
    marketing consent. Tiers, tags and the birthday month come from HQ's member feed."""

    tiers: tuple[Slug, ...] | None = Field(default=None, min_length=1, max_length=50)
    tags: tuple[Slug, ...] | None = Field(default=None, min_length=1, max_length=50)
    # Their first visit this calendar month (the store's local month): the feed's
    # newest lift is from an earlier month, or there is none.
    first_visit_of_month: bool = False
    viewed: ViewedFamily | None = None
    birthday_month: bool = False  # the store's local month is their birth month


class OfferLimits(_Frozen):
    """Once per member per `per_member` period; at most `store_daily_budget` taken per
    local day in the store (split among its kiosks like coupon budgets); None: no cap
    beyond the campaign's own."""

    per_member: OfferPeriod = OfferPeriod.DAY
    store_daily_budget: int | None = Field(default=None, ge=0)


class Offer(_Frozen):
    """One member offer. Exactly one of `campaign` / `message` says what it gives:
    a coupon of that campaign, or a message; `product` features a phone with either."""

    id: Slug
    title: LocalizedText  # the headline on the welcome screen
    message: LocalizedText | None = None  # the line under it
    campaign: Slug | None = None  # the coupon campaign a taken offer issues
    product: Sku | None = None  # a phone featured with the offer
    segment: OfferSegment = OfferSegment()
    limits: OfferLimits = OfferLimits()
    starts_at: ZonedDateTime
    ends_at: ZonedDateTime
    hours: Hours | None = None
    weekdays: tuple[Weekday, ...] | None = Field(default=None, min_length=1, max_length=7)
    # Higher first when a member qualifies for several; ties keep the file's order.
    priority: int = Field(default=0, ge=-1000, le=1000)

    @model_validator(mode="after")
    def _consistent(self) -> Offer:
        if self.campaign is None and self.message is None:
            raise FieldValueError("give a campaign (a coupon) or a message, or both", ())
        _check_window(self.starts_at, self.ends_at)
        if self.hours is not None and self.hours[:5] == self.hours[6:]:
            raise FieldValueError(
                f"starts and ends at {self.hours[:5]}: leave hours out for all day", ("hours",)
            )
        twice = _duplicate(self.weekdays) if self.weekdays is not None else None
        if twice is not None:
            index, first = twice
            raise FieldValueError(
                f"a day given twice (first at weekdays[{first}])", ("weekdays", index)
            )
        return self


class Offers(_Frozen):
    """offers.json: offer ids unique."""

    offers: tuple[Offer, ...] = Field(max_length=MAX_OFFERS)

    @model_validator(mode="after")
    def _unique(self) -> Offers:
        twice = _duplicate(offer.id for offer in self.offers)
        if twice is not None:
            index, first = twice
            raise FieldValueError(
                f"duplicate offer id {self.offers[index].id!r} (first at offers[{first}])",
                ("offers", index, "id"),
            )
        return self
