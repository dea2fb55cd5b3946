"""Taking a member offer: its limits hold in the transaction that issues its coupon,
offline and across restarts, and HQ hears which offer the coupon came from."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from helpers.rewards import (
    CIPHER,
    KEY,
    KIOSK_NO,
    NOW,
    TZ,
    campaign_of,
    offer_of,
    outbox_records,
    read_ledger,
)

from content.model import CouponCampaign
from content.offers import Offer
from hq.wire import CouponIssuedPayload
from rewards.answers import Issued, Refused
from rewards.codes import parse_code
from rewards.issuing import Refusal, StoreShare
from rewards.ledger import LEDGER_VERSION, RewardLedger
from rewards.offers import OfferTakes

# Plenty of the campaign's own budget and limit: these tests are about the offer's.
CASE_10 = campaign_of("case-10", 30, daily_budget=10_000, per_member_limit=10_000)


def open_ledger(path: Path, share: StoreShare | None = None) -> RewardLedger:
    return RewardLedger(
        path,
        cipher=CIPHER,
        key=KEY,
        kiosk_no=KIOSK_NO,
        tz=TZ,
        **({} if share is None else {"share": share}),
    )


def member() -> str:
    return str(uuid.uuid4())


def take(
    ledger: RewardLedger,
    offer: Offer,
    member_id: str,
    now: datetime = NOW,
    campaign: CouponCampaign = CASE_10,
) -> Issued | Refused:
    return ledger.take_offer(offer, campaign, member_id=member_id, session="boot2-7", now=now)


def taken(outcome: Issued | Refused) -> Issued:
    assert isinstance(outcome, Issued), outcome
    return outcome


@pytest.fixture
def daily() -> Offer:
    return offer_of("case-daily", "case-10")


def test_taken_offer_gives_a_code_reported_to_hq_as_the_offers(
    ledger: RewardLedger, daily: Offer, outbox_path: Path
) -> None:
    shopper = member()

    outcome = taken(take(ledger, daily, shopper))

    assert (outcome.reason, outcome.offer, outcome.campaign) == ("offer", "case-daily", "case-10")
    assert parse_code(outcome.code.text, {KIOSK_NO: KEY}.get, today=NOW.date()) == outcome.code
    (record,) = outbox_records(outbox_path)
    assert record.kind == "coupon_issued"
    assert record.payload["reason"] == "offer"
    assert record.payload["offer"] == "case-daily"
    assert record.payload["member_id"] == shopper
    # What HQ will read it as (the wire's rule: an offer's coupon names the offer and member).
    CouponIssuedPayload.model_validate(record.payload)
    (row,) = read_ledger(outbox_path).offer_takes
    assert (row["offer"], row["local_day"], row["serial"]) == (
        "case-daily",
        "2026-09-15",
        outcome.code.serial,
    )
    assert shopper not in str(row)  # a keyed hash, as issued_coupon keeps


def test_an_offer_taken_twice_the_same_day_is_refused_the_second_time(
    ledger: RewardLedger, daily: Offer, outbox_path: Path
) -> None:
    shopper = member()
    taken(take(ledger, daily, shopper))

    again = take(ledger, daily, shopper, NOW + timedelta(hours=3))

    assert again == Refused(Refusal.MEMBER_LIMIT)
    assert len(outbox_records(outbox_path)) == 1  # a refusal writes nothing
    assert len(read_ledger(outbox_path).coupons) == 1
    taken(take(ledger, daily, member()))  # someone else may
    taken(take(ledger, daily, shopper, NOW + timedelta(days=1)))  # and they, tomorrow


def test_the_days_take_is_remembered_after_a_restart(outbox_path: Path, daily: Offer) -> None:
    shopper = member()
    with open_ledger(outbox_path) as ledger:
        taken(take(ledger, daily, shopper, NOW.replace(hour=9)))
    with open_ledger(outbox_path) as reopened:
        assert take(reopened, daily, shopper, NOW.replace(hour=20)) == Refused(Refusal.MEMBER_LIMIT)
        # The day is the store's: 00:30 in Shanghai is the next day, though UTC says not.
        tomorrow = datetime(2026, 9, 16, 0, 30, tzinfo=TZ)
        taken(take(reopened, daily, shopper, tomorrow))


def test_a_weekly_offer_comes_again_on_monday(ledger: RewardLedger) -> None:
    weekly = offer_of("case-weekly", "case-10", limits={"per_member": "week"})
    shopper = member()
    sunday = datetime(2026, 9, 13, 21, 0, tzinfo=TZ)
    monday = datetime(2026, 9, 14, 9, 0, tzinfo=TZ)
    taken(take(ledger, weekly, shopper, sunday))
    taken(take(ledger, weekly, shopper, monday))  # a new ISO week
    assert take(ledger, weekly, shopper, datetime(2026, 9, 20, 23, 0, tzinfo=TZ)) == Refused(
        Refusal.MEMBER_LIMIT
    )


def test_a_once_only_offer_is_refused_for_as_long_as_it_runs(ledger: RewardLedger) -> None:
    once = offer_of("first-case", "case-10", limits={"per_member": "campaign"})
    shopper = member()
    taken(take(ledger, once, shopper, datetime(2026, 9, 2, 10, 0, tzinfo=TZ)))
    assert take(ledger, once, shopper) == Refused(Refusal.MEMBER_LIMIT)


def test_the_counts_say_what_a_take_would_decide(ledger: RewardLedger, daily: Offer) -> None:
    shopper, other = member(), member()
    weekly = offer_of("case-weekly", "case-10", limits={"per_member": "week"})
    monday = datetime(2026, 9, 14, 10, 0, tzinfo=TZ)
    taken(take(ledger, weekly, shopper, monday))
    taken(take(ledger, daily, other))
    taken(take(ledger, daily, member()))

    counts = ledger.offer_takes(
        ["case-daily", "case-weekly", "nothing"], member_id=shopper, now=NOW
    )

    assert counts == {
        "case-daily": OfferTakes(member_last=None, store_today=2),
        "case-weekly": OfferTakes(member_last=date(2026, 9, 14), store_today=0),
        "nothing": OfferTakes(),
    }
    assert ledger.offer_takes([], member_id=shopper, now=NOW) == {}


def test_the_stores_daily_budget_for_an_offer_holds_and_renews_at_midnight(
    ledger: RewardLedger,
) -> None:
    three = offer_of("three-a-day", "case-10", limits={"store_daily_budget": 3})
    for _ in range(3):
        taken(take(ledger, three, member()))
    assert take(ledger, three, member()) == Refused(Refusal.BUDGET_SPENT)
    taken(take(ledger, three, member(), NOW + timedelta(days=1)))


def test_the_kiosks_of_a_store_together_keep_to_an_offers_budget(tmp_path: Path) -> None:
    ten = offer_of("ten-a-day", "case-10", limits={"store_daily_budget": 10})
    ledgers = [open_ledger(tmp_path / f"k{seat}.sqlite3", StoreShare(seat, 3)) for seat in range(3)]
    try:
        given = [0, 0, 0]
        for seat, ledger in enumerate(ledgers):
            while isinstance(take(ledger, ten, member()), Issued):
                given[seat] += 1
        assert sum(given) == 10
        assert sorted(given) == [3, 3, 4]
    finally:
        for ledger in ledgers:
            ledger.close()


def test_the_campaigns_own_limit_still_holds(ledger: RewardLedger, daily: Offer) -> None:
    one_each = campaign_of("case-10", 30, per_member_limit=1)
    shopper = member()
    taken(take(ledger, daily, shopper, campaign=one_each))
    tomorrow = NOW + timedelta(days=1)
    assert take(ledger, daily, shopper, tomorrow, one_each) == Refused(Refusal.MEMBER_LIMIT)
    no_budget = campaign_of("case-10", 30, daily_budget=0)
    assert take(ledger, daily, member(), campaign=no_budget) == Refused(Refusal.BUDGET_SPENT)


def test_a_refused_take_leaves_no_take_behind(
    ledger: RewardLedger, daily: Offer, outbox_path: Path
) -> None:
    shopper = member()
    no_budget = campaign_of("case-10", 30, daily_budget=0)
    assert take(ledger, daily, shopper, campaign=no_budget) == Refused(Refusal.BUDGET_SPENT)
    assert read_ledger(outbox_path).offer_takes == []
    taken(take(ledger, daily, shopper))  # the refused try did not count against the day


def test_an_offer_outside_its_dates_is_refused(ledger: RewardLedger) -> None:
    october = offer_of(
        "october",
        "case-10",
        starts_at="2026-10-01T00:00:00+08:00",
        ends_at="2026-11-01T00:00:00+08:00",
    )
    assert take(ledger, october, member()) == Refused(Refusal.NOT_STARTED)
    assert take(ledger, october, member(), datetime(2026, 11, 1, tzinfo=TZ)) == Refused(
        Refusal.ENDED
    )


def test_a_take_needs_a_member_and_the_offers_own_campaign(
    ledger: RewardLedger, daily: Offer
) -> None:
    with pytest.raises(ValueError, match="member"):
        take(ledger, daily, None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="UUID"):
        take(ledger, daily, "13800138000")
    with pytest.raises(ValueError, match="campaign"):
        take(ledger, daily, member(), campaign=campaign_of("phone-50", 12))
    message_only = offer_of("hello")
    with pytest.raises(ValueError, match="campaign"):
        take(ledger, message_only, member())


def test_a_version_1_ledger_is_upgraded_and_keeps_its_coupons(
    outbox_path: Path, daily: Offer
) -> None:
    shopper = member()
    with open_ledger(outbox_path) as ledger:
        ledger.issue(CASE_10, member_id=shopper, session="s", reason="survey", now=NOW)
    # What a kiosk of the previous release left: no offer_take table, version 1.
    with sqlite3.connect(outbox_path) as connection:
        connection.execute("DROP TABLE offer_take")
        connection.execute("UPDATE reward_meta SET value = '1' WHERE key = 'schema_version'")
    connection.close()

    with open_ledger(outbox_path) as upgraded:
        taken(take(upgraded, daily, shopper))
        assert take(upgraded, daily, shopper) == Refused(Refusal.MEMBER_LIMIT)

    rows = read_ledger(outbox_path)
    assert [row["reason"] for row in rows.coupons] == ["survey", "offer"]
    assert len(rows.offer_takes) == 1
    with sqlite3.connect(outbox_path) as connection:
        (version,) = connection.execute(
            "SELECT value FROM reward_meta WHERE key = 'schema_version'"
        ).fetchone()
    connection.close()
    assert version == str(LEDGER_VERSION)
