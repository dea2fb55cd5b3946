"""What a roll wins: each prize at its chance, never past its daily cap."""

from __future__ import annotations

import math
import secrets
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from helpers.rewards import NOW, TZ, draw_of, prize_of
from hypothesis import given
from hypothesis import strategies as st

from content.model import Prize, PrizeDraw
from rewards.draw import ROLL_SPACE, draw, may_draw, prize_span
from rewards.issuing import Refusal

GRAND_SPAN = 10_000_000  # 0.01 of the roll space
SMALL_SPAN = 200_000_000  # 0.2


def test_prizes_own_consecutive_intervals_in_listed_order(prize_draw: PrizeDraw) -> None:
    grand, small = prize_draw.prizes
    nobody: dict[str, int] = {}
    assert draw(prize_draw, wins_today=nobody, roll=0) == grand
    assert draw(prize_draw, wins_today=nobody, roll=GRAND_SPAN - 1) == grand
    assert draw(prize_draw, wins_today=nobody, roll=GRAND_SPAN) == small
    assert draw(prize_draw, wins_today=nobody, roll=GRAND_SPAN + SMALL_SPAN - 1) == small
    assert draw(prize_draw, wins_today=nobody, roll=GRAND_SPAN + SMALL_SPAN) is None
    assert draw(prize_draw, wins_today=nobody, roll=ROLL_SPACE - 1) is None


def test_roll_on_a_prize_at_its_cap_is_a_miss_and_other_prizes_still_win(
    prize_draw: PrizeDraw,
) -> None:
    grand, small = prize_draw.prizes
    capped = {"grand": grand.daily_cap}
    assert draw(prize_draw, wins_today=capped, roll=0) is None
    assert draw(prize_draw, wins_today=capped, roll=GRAND_SPAN) == small
    assert draw(prize_draw, wins_today={"grand": grand.daily_cap - 1}, roll=0) == grand


def test_prize_with_cap_zero_is_never_won() -> None:
    closed = draw_of("closed", prize_of("only", "c", "1", 0))
    assert draw(closed, wins_today={}, roll=0) is None


def test_a_prize_nobody_has_won_today_is_won_up_to_a_cap_of_one() -> None:
    single = draw_of("single", prize_of("only", "c", "1", 1))
    assert draw(single, wins_today={}, roll=0) == single.prizes[0]
    assert draw(single, wins_today={"only": 1}, roll=0) is None


def test_a_kiosk_wins_only_its_part_of_the_stores_daily_cap() -> None:
    shared = draw_of("shared", prize_of("only", "c", "1", 10))
    half: dict[int, int] = {10: 5}  # this kiosk's part of the store's 10 a day
    assert draw(shared, wins_today={"only": 4}, roll=0, part_of=half.__getitem__) is not None
    assert draw(shared, wins_today={"only": 5}, roll=0, part_of=half.__getitem__) is None


def test_roll_outside_the_roll_space_is_refused(prize_draw: PrizeDraw) -> None:
    for roll in (-1, ROLL_SPACE):
        with pytest.raises(ValueError, match="roll"):
            draw(prize_draw, wins_today={}, roll=roll)


def test_chances_finer_than_a_billionth_round_down_so_prizes_never_overlap_the_end() -> None:
    third = Decimal(1) / 3  # 0.3333333333333333333333333333: the three add up to < 1
    thirds = draw_of("thirds", *(prize_of(f"p{i}", "c", str(third), 10) for i in range(3)))
    assert [prize_span(prize) for prize in thirds.prizes] == [333_333_333] * 3
    assert draw(thirds, wins_today={}, roll=ROLL_SPACE - 1) is None


@st.composite
def prize_tables(draw_value: st.DrawFn) -> PrizeDraw:
    """1-6 prizes whose chances (in billionths) add up to at most 1, caps 0-5."""
    count = draw_value(st.integers(1, 6))
    cuts = sorted(draw_value(st.lists(st.integers(0, ROLL_SPACE), min_size=count, max_size=count)))
    spans = [b - a for a, b in zip([0, *cuts], cuts, strict=False)]
    prizes = [
        prize_of(
            f"p{i}", "c", str(Decimal(max(span, 1)) / ROLL_SPACE), draw_value(st.integers(0, 5))
        )
        for i, span in enumerate(spans)
    ]
    total = sum((prize.chance for prize in prizes), Decimal(0))
    if total > 1:  # a span bumped from 0 to 1 can tip it over: take it back from the largest
        biggest = max(range(len(prizes)), key=lambda i: prizes[i].chance)
        prizes[biggest] = prizes[biggest].model_copy(
            update={"chance": prizes[biggest].chance - (total - 1)}
        )
    return draw_of("any", *prizes)


@given(prize_tables(), st.lists(st.integers(0, ROLL_SPACE - 1), max_size=200))
def test_a_day_of_any_rolls_never_takes_a_prize_past_its_cap(
    table: PrizeDraw, rolls: list[int]
) -> None:
    wins: Counter[str] = Counter()
    for roll in rolls:
        won = draw(table, wins_today=wins, roll=roll)
        if won is not None:
            wins[won.id] += 1
    for prize in table.prizes:
        assert wins[prize.id] <= prize.daily_cap


@given(
    prize_tables(),
    st.integers(0, ROLL_SPACE - 1),
    st.lists(st.integers(0, 10), min_size=6, max_size=6),
)
def test_a_roll_wins_the_prize_whose_interval_holds_it_unless_capped(
    table: PrizeDraw, roll: int, counts: list[int]
) -> None:
    wins = {prize.id: count for prize, count in zip(table.prizes, counts, strict=False)}
    start = 0
    landed: Prize | None = None
    for prize in table.prizes:
        if start <= roll < start + prize_span(prize):
            landed = prize
        start += prize_span(prize)
    expected = landed if landed is not None and wins[landed.id] < landed.daily_cap else None
    assert draw(table, wins_today=wins, roll=roll) == expected


def test_hundred_thousand_real_draws_keep_caps_and_every_uncapped_prize_at_its_odds() -> None:
    table = draw_of(
        "statistics",
        prize_of("rare", "c", "0.002", 10**6),
        prize_of("capped", "c", "0.1", 50),  # ~1,000 landings a day: capped within the hour
        prize_of("common", "c", "0.25", 10**6),
    )
    draws, per_day = 100_000, 10_000
    totals: Counter[str] = Counter()
    days: list[Counter[str]] = []
    for _day in range(draws // per_day):
        wins: Counter[str] = Counter()
        for _ in range(per_day):
            won = draw(table, wins_today=wins, roll=secrets.randbelow(ROLL_SPACE))
            if won is not None:
                wins[won.id] += 1
        days.append(wins)
        totals.update(wins)

    # The capped prize: exactly its cap each day (reached early, never passed).
    assert [day["capped"] for day in days] == [50] * len(days)
    # The others keep their own odds over all draws: within 5 sigma of the binomial mean.
    for prize_id, chance in (("rare", 0.002), ("common", 0.25)):
        mean = draws * chance
        sigma = math.sqrt(draws * chance * (1 - chance))
        assert abs(totals[prize_id] - mean) <= 5 * sigma, (prize_id, totals[prize_id], mean)


def test_member_may_draw_inside_the_window_up_to_the_daily_number(prize_draw: PrizeDraw) -> None:
    twice = prize_draw.model_copy(update={"draws_per_member_per_day": 2})
    assert may_draw(twice, now=NOW, draws_today=0) is None
    assert may_draw(twice, now=NOW, draws_today=1) is None
    assert may_draw(twice, now=NOW, draws_today=2) is Refusal.MEMBER_LIMIT


def test_no_draws_outside_the_window(prize_draw: PrizeDraw) -> None:
    opens = datetime(2026, 9, 1, tzinfo=TZ)
    closes = datetime(2026, 10, 1, tzinfo=TZ)
    one = timedelta(microseconds=1)
    assert may_draw(prize_draw, now=opens - one, draws_today=0) is Refusal.NOT_STARTED
    assert may_draw(prize_draw, now=opens, draws_today=0) is None
    assert may_draw(prize_draw, now=closes, draws_today=0) is Refusal.ENDED
