"""When a campaign may give a shopper a code, why not, and how long the code is good."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from helpers.rewards import NOW, TZ, campaign_of
from hypothesis import given
from hypothesis import strategies as st

from content.model import CouponCampaign
from rewards.issuing import Refusal, StoreShare, expiry_day, local_day, may_issue


def test_campaign_in_its_window_with_budget_left_issues(campaign: CouponCampaign) -> None:
    assert may_issue(campaign, now=NOW, issued_today=0, member_holds=0) is None


def test_window_opens_at_starts_at_and_closes_at_ends_at(campaign: CouponCampaign) -> None:
    opens = datetime(2026, 9, 1, 0, 0, tzinfo=TZ)
    closes = datetime(2026, 10, 1, 0, 0, tzinfo=TZ)
    one = timedelta(microseconds=1)

    def decide(now: datetime) -> Refusal | None:
        return may_issue(campaign, now=now, issued_today=0, member_holds=None)

    assert decide(opens - one) is Refusal.NOT_STARTED
    assert decide(opens) is None
    assert decide(closes - one) is None
    assert decide(closes) is Refusal.ENDED  # the end is exclusive


def test_window_compares_instants_whatever_offset_the_bundle_wrote() -> None:
    campaign = campaign_of("utc-written", 3, starts_at="2026-09-14T16:00:00Z")  # 00:00 +08
    just_before = datetime(2026, 9, 14, 23, 59, tzinfo=TZ)
    midnight = datetime(2026, 9, 15, 0, 0, tzinfo=TZ)
    assert may_issue(campaign, now=just_before, issued_today=0, member_holds=0) is (
        Refusal.NOT_STARTED
    )
    assert may_issue(campaign, now=midnight, issued_today=0, member_holds=0) is None


def test_budget_for_the_day_spent_refuses() -> None:
    campaign = campaign_of("three-a-day", 4, daily_budget=3)
    assert may_issue(campaign, now=NOW, issued_today=2, member_holds=0) is None
    assert may_issue(campaign, now=NOW, issued_today=3, member_holds=0) is Refusal.BUDGET_SPENT


def test_zero_budget_never_issues() -> None:
    campaign = campaign_of("paused", 5, daily_budget=0)
    assert may_issue(campaign, now=NOW, issued_today=0, member_holds=None) is Refusal.BUDGET_SPENT


def test_member_holding_the_limit_is_told_so_even_when_the_budget_is_also_spent() -> None:
    campaign = campaign_of("two-each", 6, per_member_limit=2, daily_budget=5)
    assert may_issue(campaign, now=NOW, issued_today=0, member_holds=1) is None
    assert may_issue(campaign, now=NOW, issued_today=0, member_holds=2) is Refusal.MEMBER_LIMIT
    assert may_issue(campaign, now=NOW, issued_today=5, member_holds=2) is Refusal.MEMBER_LIMIT


def test_shopper_without_member_id_is_held_only_by_the_budget(campaign: CouponCampaign) -> None:
    assert may_issue(campaign, now=NOW, issued_today=99, member_holds=None) is None


def test_closed_window_is_reported_before_limits(campaign: CouponCampaign) -> None:
    after = datetime(2026, 10, 2, tzinfo=TZ)
    assert may_issue(campaign, now=after, issued_today=100, member_holds=5) is Refusal.ENDED


def test_code_is_good_through_issue_day_plus_valid_days_minus_one() -> None:
    assert expiry_day(campaign_of("a", 1, valid_days=30), date(2026, 9, 15)) == date(2026, 10, 14)
    assert expiry_day(campaign_of("b", 2, valid_days=1), date(2026, 9, 15)) == date(2026, 9, 15)


def test_code_issued_on_the_campaigns_last_day_keeps_its_full_validity() -> None:
    # ends_at bounds issuing only: the terms promise valid_days to everyone.
    campaign = campaign_of("last-day", 7, valid_days=7)
    assert expiry_day(campaign, date(2026, 9, 30)) == date(2026, 10, 6)


def test_local_day_is_the_stores_date_not_utcs() -> None:
    late_utc = datetime(2026, 9, 14, 16, 30, tzinfo=UTC)  # 00:30 on the 15th in Shanghai
    assert local_day(late_utc, TZ) == date(2026, 9, 15)


def test_naive_times_are_refused(campaign: CouponCampaign) -> None:
    naive = datetime(2026, 9, 15, 14, 0)  # no zone: the point of the test
    with pytest.raises(ValueError, match="timezone-aware"):
        local_day(naive, TZ)
    with pytest.raises(ValueError, match="timezone-aware"):
        may_issue(campaign, now=naive, issued_today=0, member_holds=0)


@given(
    total=st.integers(min_value=0, max_value=10_000),
    seats=st.integers(min_value=1, max_value=64),
    day=st.dates(),
)
def test_the_kiosks_parts_of_a_store_budget_add_up_to_it_every_day(
    total: int, seats: int, day: date
) -> None:
    parts = [StoreShare(seat, seats).of(total, day) for seat in range(seats)]
    assert sum(parts) == total
    assert max(parts) - min(parts) <= 1


def test_a_cap_smaller_than_the_store_goes_round_its_kiosks_day_by_day() -> None:
    first = date(2026, 12, 1)
    days = [first + timedelta(days=n) for n in range(6)]
    shares = [StoreShare(seat, 3) for seat in range(3)]
    # A daily cap of 1 in a store of three kiosks: each day one of them may give it.
    winners = [[share.of(1, day) for share in shares].index(1) for day in days]
    assert sorted(winners[:3]) == [0, 1, 2]
    assert winners[3:] == winners[:3]


def test_a_seat_outside_the_store_is_refused() -> None:
    with pytest.raises(ValueError, match="seat"):
        StoreShare(3, 3)
    with pytest.raises(ValueError, match="seat"):
        StoreShare(0, 0)


def test_a_kiosk_keeps_to_its_part_of_the_budget() -> None:
    campaign = campaign_of("ten-a-day", 3, daily_budget=10)
    part = StoreShare(2, 3).of(10, NOW.date())
    assert part in (3, 4)
    assert (
        may_issue(campaign, now=NOW, issued_today=part - 1, member_holds=None, budget=part) is None
    )
    assert may_issue(campaign, now=NOW, issued_today=part, member_holds=None, budget=part) is (
        Refusal.BUDGET_SPENT
    )
