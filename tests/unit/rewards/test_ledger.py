"""The ledger gives each code once, keeps budgets, limits and caps through restarts,
and reports every coupon and draw to HQ in the same transaction."""

from __future__ import annotations

import logging
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
    autumn_spin,
    campaign_of,
    draw_of,
    outbox_records,
    prize_campaigns,
    prize_of,
    read_ledger,
)

from content.model import CouponCampaign, PrizeDraw
from rewards.answers import DrawOutcome, Issued, Refused
from rewards.codes import MAX_SERIAL, parse_code
from rewards.draw import ROLL_SPACE
from rewards.issuing import Refusal, StoreShare
from rewards.ledger import LEDGER_VERSION, LedgerError, RewardLedger

WIN_GRAND = 0  # rolls inside the grand prize's interval
WIN_SMALL = 10_000_000  # the first roll of the small prize's
MISS = ROLL_SPACE - 1
NEXT_DAY = NOW + timedelta(days=1)


def open_ledger(path: Path) -> RewardLedger:
    return RewardLedger(path, cipher=CIPHER, key=KEY, kiosk_no=KIOSK_NO, tz=TZ)


def member() -> str:
    return str(uuid.uuid4())


def issued(outcome: Issued | Refused) -> Issued:
    assert isinstance(outcome, Issued), outcome
    return outcome


def drawn(outcome: DrawOutcome | Refused) -> DrawOutcome:
    assert isinstance(outcome, DrawOutcome), outcome
    return outcome


def survey_reward(
    ledger: RewardLedger, campaign: CouponCampaign, member_id: str | None, now: datetime = NOW
) -> Issued | Refused:
    return ledger.issue(campaign, member_id=member_id, session="boot1-4", reason="survey", now=now)


def spin(
    ledger: RewardLedger,
    prize_draw: PrizeDraw,
    roll: int,
    *,
    member_id: str | None = None,
    now: datetime = NOW,
    campaigns: tuple[CouponCampaign, ...] | None = None,
) -> DrawOutcome | Refused:
    return ledger.draw(
        prize_draw,
        prize_campaigns() if campaigns is None else campaigns,
        member_id=member_id or member(),
        session="boot1-9",
        now=now,
        roll=roll,
    )


# ---------------------------------------------------------------- issuing


def test_issued_code_checks_out_and_is_reported_to_hq_with_it(
    ledger: RewardLedger, campaign: CouponCampaign, outbox_path: Path
) -> None:
    shopper = member()
    outcome = issued(survey_reward(ledger, campaign, shopper))

    code = parse_code(outcome.code.text, {KIOSK_NO: KEY}.get, today=NOW.date())
    assert code == outcome.code
    assert (code.campaign_no, code.kiosk_no) == (12, KIOSK_NO)
    assert code.expires_on == date(2026, 10, 14)  # the 15th + 30 days - 1
    (record,) = outbox_records(outbox_path)
    assert record.kind == "coupon_issued"
    assert record.schema_version == 1
    assert record.occurred_at == NOW
    assert record.payload == {
        "session": "boot1-4",
        "code": code.text,
        "campaign": "phone-50",
        "campaign_no": 12,
        "serial": code.serial,
        "expires_on": "2026-10-14",
        "reason": "survey",
        "member_id": shopper,
    }


def test_a_welcome_coupon_at_sign_up_is_reported_with_its_reason(
    ledger: RewardLedger, campaign: CouponCampaign, outbox_path: Path
) -> None:
    joined = member()
    outcome = ledger.issue(campaign, member_id=joined, session="boot1-5", reason="signup", now=NOW)
    assert isinstance(outcome, Issued)
    (record,) = outbox_records(outbox_path)
    assert record.payload["reason"] == "signup"
    assert record.payload["member_id"] == joined
    # Their limit counts it, whatever it was given for.
    assert isinstance(survey_reward(ledger, campaign, joined), Refused)


def test_serials_never_repeat_across_restarts(outbox_path: Path, campaign: CouponCampaign) -> None:
    plenty = campaign.model_copy(update={"per_member_limit": 1000})
    serials: list[int] = []
    for _restart in range(3):
        with open_ledger(outbox_path) as ledger:
            serials += [issued(survey_reward(ledger, plenty, None)).code.serial for _ in range(4)]
    assert serials == list(range(12))
    reported = [record.payload["serial"] for record in outbox_records(outbox_path)]
    assert reported == serials


def test_refusal_writes_nothing_and_uses_no_serial(
    ledger: RewardLedger, campaign: CouponCampaign, outbox_path: Path
) -> None:
    shopper = member()
    first = issued(survey_reward(ledger, campaign, shopper))
    assert survey_reward(ledger, campaign, shopper) == Refused(Refusal.MEMBER_LIMIT)
    before = datetime(2026, 8, 31, tzinfo=TZ)
    assert survey_reward(ledger, campaign, member(), before) == Refused(Refusal.NOT_STARTED)
    after = datetime(2026, 10, 1, tzinfo=TZ)
    assert survey_reward(ledger, campaign, member(), after) == Refused(Refusal.ENDED)

    second = issued(survey_reward(ledger, campaign, member()))
    assert second.code.serial == first.code.serial + 1
    assert len(outbox_records(outbox_path)) == 2
    assert len(read_ledger(outbox_path).coupons) == 2


def test_member_gets_the_limit_per_campaign_however_their_id_is_spelled(
    ledger: RewardLedger, campaign: CouponCampaign
) -> None:
    two_each = campaign.model_copy(update={"per_member_limit": 2})
    shopper = uuid.uuid4()
    assert isinstance(survey_reward(ledger, two_each, str(shopper)), Issued)
    assert isinstance(survey_reward(ledger, two_each, str(shopper).upper()), Issued)
    third = ledger.issue(two_each, member_id=shopper, session="s", reason="survey", now=NEXT_DAY)
    assert third == Refused(Refusal.MEMBER_LIMIT)
    # Another campaign, and another member, are counted apart.
    other = campaign_of("case-20", 13)
    assert isinstance(survey_reward(ledger, other, str(shopper)), Issued)
    assert isinstance(survey_reward(ledger, two_each, member()), Issued)


def test_anonymous_shoppers_are_held_only_by_the_daily_budget(ledger: RewardLedger) -> None:
    three = campaign_of("three-a-day", 4, daily_budget=3)
    outcomes = [survey_reward(ledger, three, None) for _ in range(4)]
    assert [type(outcome) for outcome in outcomes] == [Issued, Issued, Issued, Refused]
    assert outcomes[-1] == Refused(Refusal.BUDGET_SPENT)


def test_daily_budget_holds_through_a_restart_and_renews_at_local_midnight(
    outbox_path: Path,
) -> None:
    three = campaign_of("three-a-day", 4, daily_budget=3)
    with open_ledger(outbox_path) as ledger:
        for _ in range(3):
            issued(survey_reward(ledger, three, member()))
    with open_ledger(outbox_path) as ledger:
        assert survey_reward(ledger, three, member()) == Refused(Refusal.BUDGET_SPENT)
        just_before = datetime(2026, 9, 15, 23, 59, 59, tzinfo=TZ)
        assert survey_reward(ledger, three, member(), just_before) == Refused(Refusal.BUDGET_SPENT)
        midnight = datetime(2026, 9, 16, 0, 0, tzinfo=TZ)
        assert isinstance(survey_reward(ledger, three, member(), midnight), Issued)
        assert ledger.issued_on("three-a-day", date(2026, 9, 15)) == 3
        assert ledger.issued_on("three-a-day", date(2026, 9, 16)) == 1


def test_running_out_of_serials_is_refused_clearly_and_logged_once(
    ledger: RewardLedger,
    campaign: CouponCampaign,
    outbox_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    issued(survey_reward(ledger, campaign, member()))
    with sqlite3.connect(outbox_path) as connection:
        connection.execute("UPDATE coupon_serial SET next_serial = ?", (MAX_SERIAL,))
    connection.close()
    last = issued(survey_reward(ledger, campaign, member()))
    assert last.code.serial == MAX_SERIAL
    with caplog.at_level(logging.ERROR, logger="rewards.ledger"):
        for _ in range(2):
            assert survey_reward(ledger, campaign, member()) == Refused(Refusal.SERIALS_EXHAUSTED)
    assert len(caplog.records) == 1
    assert "serials" in caplog.records[0].getMessage()


def test_file_holds_neither_member_ids_nor_readable_payloads(
    ledger: RewardLedger, campaign: CouponCampaign, prize_draw: PrizeDraw, outbox_path: Path
) -> None:
    shoppers = [member() for _ in range(3)]
    issued(survey_reward(ledger, campaign, shoppers[0]))
    drawn(ledger.draw(prize_draw, prize_campaigns(), member_id=shoppers[1], session="s", now=NOW))
    drawn(
        ledger.draw(
            prize_draw, prize_campaigns(), member_id=shoppers[2], session="s", now=NOW, roll=0
        )
    )
    ledger.close()
    stored = b"".join(path.read_bytes() for path in outbox_path.parent.iterdir())
    for shopper in shoppers:
        assert shopper.encode() not in stored
        assert shopper.replace("-", "").encode() not in stored
    assert b"coupon_issued" in stored  # the records are there, their payloads sealed


def test_tables_of_a_newer_version_are_refused(outbox_path: Path) -> None:
    open_ledger(outbox_path).close()
    with sqlite3.connect(outbox_path) as connection:
        connection.execute(
            "UPDATE reward_meta SET value = ? WHERE key = 'schema_version'",
            (str(LEDGER_VERSION + 1),),
        )
    connection.close()
    with pytest.raises(LedgerError, match=f"version {LEDGER_VERSION + 1}"):
        open_ledger(outbox_path)


def test_on_written_hears_the_seqs_of_each_commit(
    outbox_path: Path, campaign: CouponCampaign, prize_draw: PrizeDraw
) -> None:
    heard: list[list[int]] = []
    with RewardLedger(
        outbox_path, cipher=CIPHER, key=KEY, kiosk_no=KIOSK_NO, tz=TZ, on_written=heard.append
    ) as ledger:
        issued(survey_reward(ledger, campaign, member()))
        none_left = campaign.model_copy(update={"daily_budget": 0})
        assert survey_reward(ledger, none_left, None) == Refused(Refusal.BUDGET_SPENT)
        drawn(spin(ledger, prize_draw, MISS))
        drawn(spin(ledger, prize_draw, WIN_GRAND))
    assert heard == [[1], [2], [3, 4]]  # a refusal commits nothing; a win commits two records


# ---------------------------------------------------------------- drawing


def test_win_gives_the_prizes_coupon_and_reports_both(
    ledger: RewardLedger, prize_draw: PrizeDraw, outbox_path: Path
) -> None:
    shopper = member()
    outcome = drawn(spin(ledger, prize_draw, WIN_SMALL, member_id=shopper))
    assert outcome.prize is not None
    assert outcome.prize.id == "small"
    assert outcome.code is not None
    assert outcome.code.campaign_no == 21
    coupon, entry = outbox_records(outbox_path)
    assert coupon.kind == "coupon_issued"
    assert coupon.payload["reason"] == "draw"
    assert coupon.payload["code"] == outcome.code.text
    assert entry.kind == "prize_draw"
    assert entry.payload == {
        "session": "boot1-9",
        "draw": "autumn-spin",
        "member_id": shopper,
        "prize": "small",
        "code": outcome.code.text,
    }


def test_miss_is_recorded_and_reported_without_a_coupon(
    ledger: RewardLedger, prize_draw: PrizeDraw, outbox_path: Path
) -> None:
    assert spin(ledger, prize_draw, MISS) == DrawOutcome("autumn-spin", None, None)
    (entry,) = outbox_records(outbox_path)
    assert entry.kind == "prize_draw"
    assert (entry.payload["prize"], entry.payload["code"]) == (None, None)
    assert [row["prize"] for row in read_ledger(outbox_path).draws] == [None]


def test_member_draws_once_a_day_and_again_the_next_day(
    ledger: RewardLedger, prize_draw: PrizeDraw, outbox_path: Path
) -> None:
    shopper = member()
    drawn(spin(ledger, prize_draw, MISS, member_id=shopper))
    assert spin(ledger, prize_draw, WIN_GRAND, member_id=shopper) == Refused(Refusal.MEMBER_LIMIT)
    drawn(spin(ledger, prize_draw, MISS, member_id=shopper, now=NEXT_DAY))
    assert len(outbox_records(outbox_path)) == 2  # the refused draw left no trace


def test_a_members_standing_says_before_the_draw_what_the_draw_would_decide(
    ledger: RewardLedger, prize_draw: PrizeDraw, outbox_path: Path
) -> None:
    shopper = member()
    assert ledger.standing([prize_draw], member_id=shopper, now=NOW) == {prize_draw.id: None}
    drawn(spin(ledger, prize_draw, MISS, member_id=shopper))
    assert ledger.standing([prize_draw], member_id=shopper, now=NOW) == {
        prize_draw.id: Refusal.MEMBER_LIMIT
    }
    assert ledger.standing([prize_draw], member_id=shopper.upper(), now=NEXT_DAY) == {
        prize_draw.id: None
    }
    assert ledger.standing([prize_draw], member_id=member(), now=NOW) == {prize_draw.id: None}
    late = datetime(2026, 10, 1, tzinfo=TZ)
    assert ledger.standing([prize_draw], member_id=shopper, now=late) == {
        prize_draw.id: Refusal.ENDED
    }
    assert len(outbox_records(outbox_path)) == 1  # asking writes nothing


def test_draw_outside_its_window_is_refused(ledger: RewardLedger, prize_draw: PrizeDraw) -> None:
    early = datetime(2026, 8, 31, 23, 59, tzinfo=TZ)
    assert spin(ledger, prize_draw, WIN_GRAND, now=early) == Refused(Refusal.NOT_STARTED)
    late = datetime(2026, 10, 1, tzinfo=TZ)
    assert spin(ledger, prize_draw, WIN_GRAND, now=late) == Refused(Refusal.ENDED)


def test_prize_cap_holds_for_the_day_through_a_restart(
    outbox_path: Path, prize_draw: PrizeDraw
) -> None:
    with open_ledger(outbox_path) as ledger:
        for _ in range(2):  # the grand prize's cap
            assert drawn(spin(ledger, prize_draw, WIN_GRAND)).prize is not None
    with open_ledger(outbox_path) as ledger:
        assert spin(ledger, prize_draw, WIN_GRAND) == DrawOutcome("autumn-spin", None, None)
        assert drawn(spin(ledger, prize_draw, WIN_SMALL)).prize is not None  # others unaffected
        assert drawn(spin(ledger, prize_draw, WIN_GRAND, now=NEXT_DAY)).prize is not None
        assert ledger.wins_on("autumn-spin", NOW.date()) == {"grand": 2, "small": 1}
        assert ledger.wins_on("autumn-spin", NEXT_DAY.date()) == {"grand": 1}


def test_prize_whose_campaign_cannot_issue_is_a_recorded_miss(
    ledger: RewardLedger, outbox_path: Path
) -> None:
    spent = campaign_of("spent", 30, daily_budget=0)
    over = campaign_of("over", 31, ends_at="2026-09-10T00:00:00+08:00")
    table = draw_of(
        "broken-prizes",
        prize_of("spent", "spent", "0.1", 10),
        prize_of("over", "over", "0.1", 10),
        prize_of("missing", "not-in-bundle", "0.1", 10),
    )
    for roll in (0, 100_000_000, 200_000_000):
        outcome = spin(ledger, table, roll, campaigns=(spent, over))
        assert outcome == DrawOutcome("broken-prizes", None, None)
    assert [record.kind for record in outbox_records(outbox_path)] == ["prize_draw"] * 3
    assert read_ledger(outbox_path).coupons == []
    assert ledger.wins_on("broken-prizes", NOW.date()) == {}


def test_prize_a_member_already_holds_the_limit_of_is_a_miss(ledger: RewardLedger) -> None:
    one_each = campaign_of("one-each", 32, per_member_limit=1)
    table = draw_of("twice-a-day", prize_of("p", "one-each", "1", 10), draws_per_member_per_day=2)
    shopper = member()
    first = drawn(spin(ledger, table, 5, member_id=shopper, campaigns=(one_each,)))
    assert first.code is not None
    second = spin(ledger, table, 5, member_id=shopper, campaigns=(one_each,))
    assert second == DrawOutcome("twice-a-day", None, None)


def test_prize_coupons_count_against_the_campaigns_daily_budget(ledger: RewardLedger) -> None:
    two = campaign_of("two-a-day", 33, daily_budget=2, per_member_limit=100)
    table = draw_of("sure-thing", prize_of("p", "two-a-day", "1", 10))
    issued(survey_reward(ledger, two, None))
    assert drawn(spin(ledger, table, 1, campaigns=(two,))).prize is not None
    assert spin(ledger, table, 1, campaigns=(two,)) == DrawOutcome("sure-thing", None, None)
    assert survey_reward(ledger, two, None) == Refused(Refusal.BUDGET_SPENT)


def test_draw_needs_a_member(ledger: RewardLedger, prize_draw: PrizeDraw) -> None:
    with pytest.raises(ValueError, match="member"):
        ledger.draw(prize_draw, (), member_id=None, session="s", now=NOW)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="UUID"):
        ledger.draw(prize_draw, (), member_id="13800138000", session="s", now=NOW)


def test_the_kiosks_of_a_store_together_keep_to_its_budget_and_caps(tmp_path: Path) -> None:
    # Three kiosks, each with its own outbox and no word from the others (offline).
    ledgers = [
        RewardLedger(
            tmp_path / f"kiosk-{seat}.sqlite3",
            cipher=CIPHER,
            key=KEY,
            kiosk_no=KIOSK_NO + seat,
            tz=TZ,
            share=StoreShare(seat, 3),
        )
        for seat in range(3)
    ]
    try:
        ten = campaign_of("ten-a-day", 5, daily_budget=10)
        given = [0, 0, 0]
        for seat, ledger in enumerate(ledgers):
            while isinstance(survey_reward(ledger, ten, None), Issued):
                given[seat] += 1
        assert sum(given) == 10  # the store's budget, however the shoppers spread
        assert sorted(given) == [3, 3, 4]
        # The grand prize's cap is 2 for the store: at most 2 wins across its kiosks.
        table = autumn_spin()
        wins = sum(
            drawn(spin(ledger, table, WIN_GRAND)).prize is not None
            for ledger in ledgers
            for _ in range(3)
        )
        assert wins == 2
    finally:
        for ledger in ledgers:
            ledger.close()
