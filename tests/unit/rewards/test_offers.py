"""Which offer a recognised member gets (rewards.offers): consent first, then dates,
hours and weekdays in the store's zone, the segment, the limits, the priority.
Pure: the clock is a parameter, the counts are given."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from helpers.rewards import NOW, TZ, offer_of
from hypothesis import given
from hypothesis import strategies as st

from content.offers import Offer
from rewards.issuing import Refusal, StoreShare
from rewards.offers import (
    NO_TAKES,
    OfferBook,
    OfferMember,
    OfferTakes,
    ProductFamily,
    limit_refusal,
)

FAMILIES = {
    "XH-X60U-512-BK": ProductFamily("Xinghe", frozenset({"flagship", "camera"})),
    "XH-S12-256-MT": ProductFamily("Xinghe", frozenset({"value"})),
    "LY-GT7P-1024-TI": ProductFamily("Lingyun", frozenset({"flagship", "gaming"})),
    "QL-Q9-256-PU": ProductFamily("Qinglan", frozenset({"slim"})),
}


def member(**changes: Any) -> OfferMember:
    fields: dict[str, Any] = {"member_id": str(uuid.uuid4()), "marketing": True}
    fields.update(changes)
    return OfferMember(**fields)


def book(*offers: Offer, share: StoreShare | None = None) -> OfferBook:
    if share is None:
        return OfferBook.of(offers, FAMILIES, TZ)
    return OfferBook.of(offers, FAMILIES, TZ, share)


def chosen(
    offers: OfferBook, who: OfferMember, now: datetime = NOW, **takes: OfferTakes
) -> str | None:
    offer = offers.choose(who, takes, now)
    return None if offer is None else offer.id


def local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=TZ)  # type: ignore[misc]


# --- Consent ---------------------------------------------------------------------


def test_no_marketing_consent_no_offer_even_for_everyone() -> None:
    everyone = book(offer_of("hello"), offer_of("coupon", "case-10"))
    assert everyone.candidates(member(marketing=False, tier="gold"), NOW) == ()
    assert chosen(everyone, member(marketing=False)) is None
    assert chosen(everyone, member()) == "hello"


def test_a_viewed_rule_also_needs_consent_to_personalisation() -> None:
    looked = book(offer_of("xinghe-again", "x-300", segment={"viewed": {"brands": ["Xinghe"]}}))
    history = ("XH-S12-256-MT",)
    assert chosen(looked, member(last_viewed=history)) is None
    assert chosen(looked, member(last_viewed=history, personalised=True)) == "xinghe-again"


segments = st.fixed_dictionaries(
    {},
    optional={
        "tiers": st.lists(st.sampled_from(["gold", "silver", "black"]), min_size=1, unique=True),
        "tags": st.lists(st.sampled_from(["student", "family", "vip"]), min_size=1, unique=True),
        "first_visit_of_month": st.booleans(),
        "birthday_month": st.booleans(),
        "viewed": st.fixed_dictionaries(
            {"brands": st.lists(st.sampled_from(["Xinghe", "Lingyun"]), min_size=1, unique=True)}
        ),
    },
)
offers_strategy = st.lists(
    st.builds(
        lambda n, campaign, segment, period, budget, hours, priority: offer_of(
            f"offer-{n}",
            campaign,
            segment=segment,
            limits={"per_member": period, "store_daily_budget": budget},
            hours=hours,
            priority=priority,
        ),
        st.integers(0, 10_000),
        st.sampled_from([None, "case-10"]),
        segments,
        st.sampled_from(["day", "week", "month", "campaign"]),
        st.none() | st.integers(0, 5),
        st.none() | st.sampled_from(["10:00-22:00", "22:00-02:00"]),
        st.integers(-1000, 1000),
    ),
    max_size=8,
    unique_by=lambda offer: offer.id,
)
members_without_marketing = st.builds(
    OfferMember,
    member_id=st.uuids().map(str),
    marketing=st.just(False),
    personalised=st.booleans(),
    tier=st.none() | st.sampled_from(["gold", "silver", "black"]),
    tags=st.frozensets(st.sampled_from(["student", "family", "vip"])),
    birth_month=st.none() | st.integers(1, 12),
    last_seen=st.none() | st.datetimes(timezones=st.just(UTC)),
    last_viewed=st.lists(st.sampled_from(sorted(FAMILIES))).map(tuple),
)
september = st.datetimes(
    min_value=datetime(2026, 9, 1), max_value=datetime(2026, 9, 30, 15), timezones=st.just(UTC)
)


@given(members_without_marketing, offers_strategy, september)
def test_a_member_without_marketing_consent_never_gets_an_offer(
    who: OfferMember, offers: list[Offer], now: datetime
) -> None:
    assert book(*offers).choose(who, {}, now) is None


@given(offers_strategy, september)
def test_an_offer_for_everyone_reaches_every_consenting_member_while_it_runs(
    offers: list[Offer], now: datetime
) -> None:
    everyone = offer_of("everyone", priority=-1000)  # last in line, after any other
    got = book(*offers, everyone).choose(member(), {}, now)
    assert got is not None


# --- Segment rules ---------------------------------------------------------------


def test_a_tier_rule_matches_the_members_tier_only() -> None:
    gold = book(offer_of("gold", "g-20", segment={"tiers": ["gold", "black"]}))
    assert chosen(gold, member(tier="gold")) == "gold"
    assert chosen(gold, member(tier="black")) == "gold"
    assert chosen(gold, member(tier="silver")) is None
    assert chosen(gold, member()) is None  # no tier known


def test_a_tag_rule_needs_one_of_the_tags() -> None:
    students = book(offer_of("students", "s-10", segment={"tags": ["student", "teacher"]}))
    assert chosen(students, member(tags=frozenset({"teacher", "family"}))) == "students"
    assert chosen(students, member(tags=frozenset({"family"}))) is None
    assert chosen(students, member()) is None


def test_every_rule_given_must_hold() -> None:
    gold_students = book(
        offer_of("gold-students", "s-10", segment={"tiers": ["gold"], "tags": ["student"]})
    )
    assert chosen(gold_students, member(tier="gold", tags=frozenset({"student"}))) is not None
    assert chosen(gold_students, member(tier="gold")) is None
    assert chosen(gold_students, member(tags=frozenset({"student"}))) is None


def test_a_birthday_offer_runs_the_stores_local_month() -> None:
    birthday = book(
        offer_of(
            "birthday",
            "b-100",
            segment={"birthday_month": True},
            ends_at="2027-01-01T00:00:00+08:00",
        )
    )
    october = member(birth_month=10)
    last_september_evening = local(2026, 9, 30, 23, 30)
    assert chosen(birthday, october, last_september_evening) is None
    # 17:00 UTC on 30 September is 01:00 on 1 October in Shanghai: their month.
    assert chosen(birthday, october, datetime(2026, 9, 30, 17, 0, tzinfo=UTC)) == "birthday"
    assert chosen(birthday, member(birth_month=9), last_september_evening) == "birthday"
    assert chosen(birthday, member()) is None  # no birthday known


def test_first_visit_of_the_month_in_the_stores_calendar() -> None:
    monthly = book(offer_of("monthly", "f-30", segment={"first_visit_of_month": True}))
    now = local(2026, 9, 15, 14, 0)
    assert chosen(monthly, member(), now) == "monthly"  # never seen: a first visit
    assert chosen(monthly, member(last_seen=local(2026, 8, 31, 20, 0)), now) == "monthly"
    assert chosen(monthly, member(last_seen=local(2026, 9, 2, 11, 0)), now) is None
    # 17:00 UTC on 31 August is already 1 September in the store: this month.
    seen_utc = datetime(2026, 8, 31, 17, 0, tzinfo=UTC)
    assert chosen(monthly, member(last_seen=seen_utc), now) is None
    assert chosen(monthly, member(last_seen=local(2025, 9, 20, 10, 0)), now) == "monthly"


@pytest.mark.parametrize(
    ("viewed", "history", "qualifies"),
    [
        ({"brands": ["Xinghe"]}, ("XH-S12-256-MT",), True),
        ({"brands": ["Xinghe"]}, ("LY-GT7P-1024-TI",), False),
        ({"tags": ["gaming"]}, ("QL-Q9-256-PU", "LY-GT7P-1024-TI"), True),
        ({"tags": ["gaming"]}, ("XH-X60U-512-BK",), False),
        ({"skus": ["QL-Q9-256-PU"]}, ("QL-Q9-256-PU",), True),
        ({"skus": ["QL-Q9-256-PU"]}, ("XH-S12-256-MT",), False),
        ({"brands": ["Xinghe"]}, (), False),
        # A SKU no longer in the catalog matches only by its SKU.
        ({"brands": ["Xinghe"]}, ("XH-OLD-1",), False),
    ],
)
def test_a_viewed_rule_matches_brand_tag_or_sku_of_what_they_looked_at(
    viewed: dict[str, list[str]], history: tuple[str, ...], qualifies: bool
) -> None:
    looked = book(offer_of("again", "a-1", segment={"viewed": viewed}))
    who = member(personalised=True, last_viewed=history)
    assert (chosen(looked, who) == "again") is qualifies


# --- Dates, hours and weekdays, in the store's zone --------------------------------


def test_an_offer_runs_from_its_start_until_just_before_its_end() -> None:
    october = book(
        offer_of(
            "october",
            starts_at="2026-10-01T00:00:00+08:00",
            ends_at="2026-11-01T00:00:00+08:00",
        )
    )
    assert chosen(october, member(), local(2026, 9, 30, 23, 59)) is None
    assert chosen(october, member(), local(2026, 10, 1, 0, 0)) == "october"
    assert chosen(october, member(), local(2026, 10, 31, 23, 59)) == "october"
    assert chosen(october, member(), local(2026, 11, 1, 0, 0)) is None


def test_hours_are_the_stores_local_hours() -> None:
    daytime = book(offer_of("daytime", hours="10:00-22:00"))
    assert chosen(daytime, member(), datetime(2026, 9, 15, 2, 0, tzinfo=UTC)) == "daytime"  # 10:00
    assert chosen(daytime, member(), datetime(2026, 9, 15, 1, 59, tzinfo=UTC)) is None
    assert chosen(daytime, member(), local(2026, 9, 15, 21, 59)) == "daytime"
    assert chosen(daytime, member(), local(2026, 9, 15, 22, 0)) is None  # the end excluded


def test_hours_over_midnight_belong_to_the_day_they_start() -> None:
    late = book(offer_of("late-friday", hours="22:00-02:00", weekdays=[5]))
    assert chosen(late, member(), local(2026, 9, 18, 23, 0)) == "late-friday"  # Friday
    assert chosen(late, member(), local(2026, 9, 19, 1, 30)) == "late-friday"  # Saturday, early
    assert chosen(late, member(), local(2026, 9, 19, 2, 0)) is None
    assert chosen(late, member(), local(2026, 9, 19, 23, 0)) is None  # Saturday evening
    assert chosen(late, member(), local(2026, 9, 18, 1, 30)) is None  # Thursday's night


def test_weekdays_are_the_stores_weekdays() -> None:
    weekend = book(offer_of("weekend", weekdays=[6, 7]))
    # Friday 17:00 UTC is Saturday 01:00 in Shanghai.
    assert chosen(weekend, member(), datetime(2026, 9, 18, 17, 0, tzinfo=UTC)) == "weekend"
    assert chosen(weekend, member(), datetime(2026, 9, 18, 15, 59, tzinfo=UTC)) is None


# --- Limits --------------------------------------------------------------------


def test_taken_today_is_not_offered_again_today() -> None:
    daily = book(offer_of("daily", "c-1"))
    who = member()
    today = NOW.date()
    assert chosen(daily, who, daily=OfferTakes(member_last=today)) is None
    assert chosen(daily, who, daily=OfferTakes(member_last=today - timedelta(days=1))) == "daily"


@pytest.mark.parametrize(
    ("taken", "today", "refused"),
    [
        (date(2026, 9, 13), date(2026, 9, 14), False),  # Sunday, then Monday: a new week
        (date(2026, 9, 14), date(2026, 9, 20), True),  # Monday to Sunday: the same week
        (date(2026, 12, 31), date(2027, 1, 3), True),  # 2026-W53 runs into January
        (date(2027, 1, 3), date(2027, 1, 4), False),  # 2027-W01 starts on the 4th
        (date(2025, 9, 15), date(2026, 9, 14), False),  # week 38 both, a year apart
    ],
)
def test_a_weekly_offer_follows_iso_weeks(taken: date, today: date, refused: bool) -> None:
    weekly = offer_of("weekly", "c-1", limits={"per_member": "week"})
    refusal = limit_refusal(weekly, OfferTakes(member_last=taken), today)
    assert refusal == (Refusal.MEMBER_LIMIT if refused else None)


@pytest.mark.parametrize(
    ("taken", "today", "refused"),
    [
        (date(2026, 9, 1), date(2026, 9, 30), True),
        (date(2026, 9, 30), date(2026, 10, 1), False),
        (date(2025, 9, 10), date(2026, 9, 10), False),
    ],
)
def test_a_monthly_offer_comes_once_a_calendar_month(
    taken: date, today: date, refused: bool
) -> None:
    monthly = offer_of("monthly", "c-1", limits={"per_member": "month"})
    refusal = limit_refusal(monthly, OfferTakes(member_last=taken), today)
    assert refusal == (Refusal.MEMBER_LIMIT if refused else None)


def test_a_once_only_offer_is_never_offered_again() -> None:
    once = offer_of("once", "c-1", limits={"per_member": "campaign"})
    assert limit_refusal(once, OfferTakes(member_last=date(2026, 9, 1)), date(2026, 9, 29)) == (
        Refusal.MEMBER_LIMIT
    )
    assert limit_refusal(once, NO_TAKES, date(2026, 9, 29)) is None


def test_the_store_budget_is_split_among_its_kiosks() -> None:
    ten = offer_of("ten", "c-1", limits={"store_daily_budget": 10})
    today = NOW.date()
    parts = [StoreShare(seat, 3).of(10, today) for seat in range(3)]
    assert sum(parts) == 10
    for seat, part in enumerate(parts):
        seated = book(ten, share=StoreShare(seat, 3))
        assert chosen(seated, member(), ten=OfferTakes(store_today=part - 1)) == "ten"
        assert chosen(seated, member(), ten=OfferTakes(store_today=part)) is None
        assert seated.limit_refusal(ten, OfferTakes(store_today=part), today) == (
            Refusal.BUDGET_SPENT
        )
    nothing = offer_of("none", "c-1", limits={"store_daily_budget": 0})
    assert chosen(book(nothing), member()) is None


def test_the_members_limit_is_said_before_the_stores_budget() -> None:
    both = offer_of("both", "c-1", limits={"store_daily_budget": 1})
    spent = OfferTakes(member_last=NOW.date(), store_today=1)
    assert limit_refusal(both, spent, NOW.date()) == Refusal.MEMBER_LIMIT


# --- Priority ------------------------------------------------------------------


def test_the_highest_priority_offer_wins_and_ties_keep_the_files_order() -> None:
    offers = book(
        offer_of("hello", priority=0),
        offer_of("gold", "g-20", priority=50, segment={"tiers": ["gold"]}),
        offer_of("birthday", "b-100", priority=100, segment={"birthday_month": True}),
        offer_of("also-hello", priority=0),
    )
    assert chosen(offers, member(tier="gold", birth_month=9)) == "birthday"
    assert chosen(offers, member(tier="gold", birth_month=3)) == "gold"
    assert chosen(offers, member()) == "hello"
    ids = [offer.id for offer in offers.candidates(member(tier="gold", birth_month=9), NOW)]
    assert ids == ["birthday", "gold", "hello", "also-hello"]


def test_an_offer_already_taken_gives_way_to_the_next_best() -> None:
    offers = book(
        offer_of("gold", "g-20", priority=50, segment={"tiers": ["gold"]}),
        offer_of("hello", priority=0),
    )
    gold = member(tier="gold")
    assert chosen(offers, gold, gold=OfferTakes(member_last=NOW.date())) == "hello"
    assert chosen(offers, gold, gold=OfferTakes(), hello=OfferTakes(NOW.date())) == "gold"


def test_no_offers_no_offer() -> None:
    assert chosen(book(), member()) is None
    assert len(book()) == 0
