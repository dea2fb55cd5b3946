"""Which member offer (content/offers.py) a recognised member gets: pure decisions.

    book = OfferBook.of(bundle_offers, product_families(catalog), tz)
    offer = book.choose(member, takes, now)           # or None

Consent first: a member without marketing consent on record at HQ qualifies for
nothing, whatever the rules say; a rule over what they looked at (`viewed`) also
needs their consent to personalised recommendations, because it reads their history.

Then the offer's dates, hours and weekdays (the store's local time), its segment,
and its limits: once per member per local day, ISO week, calendar month or for the
whole offer, and the store's daily budget (this kiosk's part of it, `StoreShare`).
The counts the limits need (`OfferTakes`) are the reward ledger's (rewards/ledger.py),
which checks them again (`limit_refusal`) inside the transaction that issues the
coupon, so two taps can never both take the last one, offline or not.

`OfferBook.of` parses dates and builds sets once per bundle, so a decision over
200 offers is a loop of comparisons that stops at the first offer given
(bench/offer_decision.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Final
from zoneinfo import ZoneInfo

from content.model import Catalog
from content.offers import Offer, OfferPeriod, ViewedFamily
from content.schedule import plays_at
from rewards.issuing import WHOLE_STORE, Refusal, StoreShare


@dataclass(frozen=True, slots=True)
class OfferMember:
    """What the kiosk knows of a recognised member, from HQ's member feed.

    Personal data: none of it is in the repr, and none of it is logged."""

    member_id: str = field(repr=False)
    marketing: bool  # marketing consent on record at HQ
    personalised: bool = False  # consent to recommendations from their history
    tier: str | None = field(default=None, repr=False)
    tags: frozenset[str] = field(default=frozenset(), repr=False)
    birth_month: int | None = field(default=None, repr=False)  # 1-12
    last_seen: datetime | None = field(default=None, repr=False)  # newest lift, aware
    last_viewed: tuple[str, ...] = field(default=(), repr=False)  # SKUs, newest first


@dataclass(frozen=True, slots=True)
class ProductFamily:
    """What a `viewed` rule matches a SKU by."""

    brand: str
    tags: frozenset[str]


def product_families(catalog: Catalog) -> dict[str, ProductFamily]:
    """SKU -> its brand and catalog tags."""
    return {
        product.sku: ProductFamily(product.brand, frozenset(product.tags))
        for product in catalog.products
    }


@dataclass(frozen=True, slots=True)
class OfferTakes:
    """The ledger's counts for one offer: the last local day this member took it
    (None: never) and how many this kiosk gave out today."""

    member_last: date | None = None
    store_today: int = 0


NO_TAKES: Final = OfferTakes()


@dataclass(frozen=True, slots=True)
class _Rule:
    """An offer with its dates as instants and its segment as sets."""

    offer: Offer
    starts: float  # POSIX seconds: one float comparison per decision, whatever the zones
    ends: float
    daypart: int | None  # its (hours, weekdays) among the book's distinct ones; None: always
    tiers: frozenset[str] | None
    tags: frozenset[str] | None
    birthday_month: bool
    first_visit_of_month: bool
    viewed: frozenset[str] | None  # the SKUs of the family, resolved against the catalog


@dataclass(frozen=True, slots=True)
class OfferBook:
    """A bundle's offers, ready to decide with, highest priority first."""

    rules: tuple[_Rule, ...]
    tz: ZoneInfo
    share: StoreShare = WHOLE_STORE

    @classmethod
    def of(
        cls,
        offers: Sequence[Offer],
        families: Mapping[str, ProductFamily],
        tz: ZoneInfo,
        share: StoreShare = WHOLE_STORE,
    ) -> OfferBook:
        ordered = sorted(offers, key=lambda offer: -offer.priority)  # stable: file order
        index = _FamilyIndex.of(families) if any(o.segment.viewed for o in offers) else None
        # Offers share a few dayparts ("10:00-22:00", weekends): each is decided once.
        dayparts = {
            (o.hours, o.weekdays): None for o in ordered if o.hours is not None or o.weekdays
        }
        numbered = {key: number for number, key in enumerate(dayparts)}
        return cls(tuple(_rule(offer, index, numbered) for offer in ordered), tz, share)

    def __len__(self) -> int:
        return len(self.rules)

    def candidates(self, member: OfferMember, now: datetime) -> tuple[Offer, ...]:
        """The offers `member` qualifies for at `now` (aware), before limits, best first."""
        return tuple(self._qualifying(member, now))

    def choose(
        self, member: OfferMember, takes: Mapping[str, OfferTakes], now: datetime
    ) -> Offer | None:
        """The offer to show `member` at `now`, or None; `takes` by offer id (missing:
        never taken). Stops at the first offer that qualifies within its limits."""
        today = now.astimezone(self.tz).date()
        for offer in self._qualifying(member, now):
            if limit_refusal(offer, takes.get(offer.id, NO_TAKES), today, self.share) is None:
                return offer
        return None

    def limit_refusal(self, offer: Offer, takes: OfferTakes, today: date) -> Refusal | None:
        """MEMBER_LIMIT if the member took `offer` in its period already, BUDGET_SPENT if
        this kiosk's part of the store's budget for today is gone, else None."""
        return limit_refusal(offer, takes, today, self.share)

    def _qualifying(  # one test per rule, cheapest first
        self, member: OfferMember, now: datetime
    ) -> Iterator[Offer]:
        if not member.marketing or not self.rules:
            return  # consent first: nothing, whatever the rules say
        if now.utcoffset() is None:
            raise ValueError("now must be timezone-aware")
        # What every rule compares with, worked out once per decision.
        instant = now.timestamp()
        local = now.astimezone(self.tz)
        first_visit = _first_visit_of_month(member, local, self.tz)
        plays: dict[int, bool] = {}
        for rule in self.rules:
            if not rule.starts <= instant < rule.ends:
                continue
            offer = rule.offer
            if rule.daypart is not None:
                playing = plays.get(rule.daypart)
                if playing is None:
                    playing = plays[rule.daypart] = plays_at(offer, local)
                if not playing:
                    continue
            if rule.tiers is not None and member.tier not in rule.tiers:
                continue
            if rule.tags is not None and rule.tags.isdisjoint(member.tags):
                continue
            if rule.birthday_month and member.birth_month != local.month:
                continue
            if rule.first_visit_of_month and not first_visit:
                continue
            if rule.viewed is not None and (
                # Reading their history needs their consent to personalisation.
                not member.personalised or rule.viewed.isdisjoint(member.last_viewed)
            ):
                continue
            yield offer


@dataclass(frozen=True, slots=True)
class _FamilyIndex:
    """The catalog's SKUs by brand and by tag, built once per book."""

    by_brand: dict[str, set[str]]
    by_tag: dict[str, set[str]]

    @classmethod
    def of(cls, families: Mapping[str, ProductFamily]) -> _FamilyIndex:
        by_brand: dict[str, set[str]] = {}
        by_tag: dict[str, set[str]] = {}
        for sku, family in families.items():
            by_brand.setdefault(family.brand, set()).add(sku)
            for tag in family.tags:
                by_tag.setdefault(tag, set()).add(sku)
        return cls(by_brand, by_tag)

    def skus(self, family: ViewedFamily) -> frozenset[str]:
        found = set(family.skus)
        for brand in family.brands:
            found |= self.by_brand.get(brand, set())
        for tag in family.tags:
            found |= self.by_tag.get(tag, set())
        return frozenset(found)


def _rule(
    offer: Offer,
    families: _FamilyIndex | None,
    dayparts: Mapping[tuple[str | None, tuple[int, ...] | None], int],
) -> _Rule:
    segment = offer.segment
    viewed = None
    if segment.viewed is not None:
        assert families is not None  # built when any offer has a viewed rule
        viewed = families.skus(segment.viewed)
    return _Rule(
        offer=offer,
        starts=datetime.fromisoformat(offer.starts_at).timestamp(),
        ends=datetime.fromisoformat(offer.ends_at).timestamp(),
        daypart=dayparts.get((offer.hours, offer.weekdays)),
        tiers=None if segment.tiers is None else frozenset(segment.tiers),
        tags=None if segment.tags is None else frozenset(segment.tags),
        birthday_month=segment.birthday_month,
        first_visit_of_month=segment.first_visit_of_month,
        viewed=viewed,
    )


def limit_refusal(
    offer: Offer, takes: OfferTakes, today: date, share: StoreShare = WHOLE_STORE
) -> Refusal | None:
    """`OfferBook.limit_refusal` without a book: the reward ledger asks it inside the
    transaction that issues the offer's coupon (rewards/ledger.py)."""
    if takes.member_last is not None and _same_period(
        offer.limits.per_member, takes.member_last, today
    ):
        return Refusal.MEMBER_LIMIT
    budget = offer.limits.store_daily_budget
    if budget is not None and takes.store_today >= share.of(budget, today):
        return Refusal.BUDGET_SPENT
    return None


def _first_visit_of_month(member: OfferMember, local: datetime, tz: ZoneInfo) -> bool:
    if member.last_seen is None:
        return True
    seen = member.last_seen.astimezone(tz)
    return (seen.year, seen.month) < (local.year, local.month)


def _same_period(period: OfferPeriod, taken: date, today: date) -> bool:
    if period is OfferPeriod.DAY:
        return taken == today
    if period is OfferPeriod.WEEK:  # the same ISO week: the same Monday
        return taken.toordinal() - taken.weekday() == today.toordinal() - today.weekday()
    if period is OfferPeriod.MONTH:
        return (taken.year, taken.month) == (today.year, today.month)
    return True  # CAMPAIGN: once while the offer runs
