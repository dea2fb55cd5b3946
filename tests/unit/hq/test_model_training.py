"""HQ's recommendation model: co-occurrence and decay on hand-checked visits, the
held-out week's figures, and the sales export's checks (pure: no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from hq.analytics.model import evaluate, sales, synthetic, train
from hq.analytics.model.events import COMPARISON_WEIGHT, LIFT_WEIGHT, SessionEvents

NOW = datetime(2026, 12, 1, tzinfo=UTC)
DAY = 86_400.0


def visits(*rows: tuple[str, float, tuple[str, ...]]) -> SessionEvents:
    """(visit, days before NOW, SKUs lifted) rows as events."""
    return SessionEvents.from_rows(
        (visit, sku, NOW.timestamp() - days * DAY - 60 + index, LIFT_WEIGHT)
        for visit, days, skus in rows
        for index, sku in enumerate(skus)
    )


# A goes with B twice this week; with C once this week, once a half-life ago (30 days)
# and once two half-lives ago; D alone. A visit tomorrow is not yet known.
HAND = visits(
    ("v1", 0, ("A", "B")),
    ("v2", 0, ("A", "B")),
    ("v3", 0, ("A", "C")),
    ("v4", 30, ("A", "C")),
    ("v5", 60, ("A", "C")),
    ("v6", 0, ("D",)),
    ("v7", -1, ("B", "C", "C", "D")),
)


def test_co_occurrence_ranks_what_was_looked_at_together_with_recent_visits_counting_more() -> None:
    model = train.train(HAND, now=NOW, half_life_days=30, damping=0)

    # A -> B: 2 visits now; A -> C: 1 + 1/2 + 1/4 = 1.75. Scaled so the best is 1.
    assert model.related()["A"] == (("B", 1.0), ("C", 0.875))
    assert model.related()["B"] == (("A", 1.0),)
    assert "D" not in model.related()  # never seen with anything: popularity's job
    # Popularity: A 1+1+1+1/2+1/4, B 2, C 1.75, D 1 (tomorrow's visit unseen).
    assert [sku for sku, _ in model.ranked_popularity()] == ["A", "B", "C", "D"]
    assert dict(model.ranked_popularity())["B"] == pytest.approx(2 / 3.75, abs=1e-4)
    assert (model.events, model.visits) == (11, 6)


def test_without_decay_the_older_visits_count_as_much_and_change_the_order() -> None:
    model = train.train(HAND, now=NOW, half_life_days=3650, damping=0)

    assert [sku for sku, _ in model.related()["A"]] == ["C", "B"]  # 3 visits against 2


def test_a_comparison_weighs_more_than_two_lifts_and_damping_favours_the_less_seen() -> None:
    rows = [("v1", "A", 0.0, LIFT_WEIGHT), ("v1", "B", 1.0, LIFT_WEIGHT)]
    rows += [("v2", "A", 0.0, LIFT_WEIGHT), ("v2", "C", 1.0, COMPARISON_WEIGHT)]
    rows += [(f"p{n}", "B", 0.0, LIFT_WEIGHT) for n in range(20)]  # B: popular alone
    events = SessionEvents.from_rows(
        (visit, sku, NOW.timestamp() - DAY + at, weight) for visit, sku, at, weight in rows
    )

    plain = train.train(events, now=NOW, damping=0)
    assert [sku for sku, _ in plain.related()["A"]] == ["C", "B"]  # compared beats lifted
    assert plain.related()["A"][1][1] == pytest.approx(0.5, abs=1e-3)
    damped = train.train(events, now=NOW, damping=1)
    assert damped.related()["A"][1][1] < 0.1  # B goes with everything, so says little


def test_each_sku_keeps_its_best_neighbours_only() -> None:
    rows = [("v1", sku) for sku in "ABCDEFG"] + [("v2", "A"), ("v2", "B")]
    at = NOW.timestamp() - DAY  # all at once: ties go by SKU
    events = SessionEvents.from_rows((visit, sku, at, LIFT_WEIGHT) for visit, sku in rows)

    model = train.train(events, now=NOW, top_k=3, damping=0)

    assert [sku for sku, _ in model.related()["A"]] == ["B", "C", "D"]  # B twice, then by name
    assert all(len(scored) == 3 for scored in model.related().values())


def test_questions_ask_each_next_new_sku_of_a_visit_knowing_what_it_saw() -> None:
    asked = evaluate.questions(visits(("v1", 0, ("A", "B", "A", "C")), ("v2", 0, ("D",))))

    names = HAND.skus  # A B C D, the same numbering
    assert [(names[h], names[n]) for h, n in zip(asked.held, asked.next, strict=True)] == [
        ("A", "B"),
        ("B", "C"),  # A again is not a new SKU
    ]
    seen = [(int(q), names[s]) for q, s in zip(asked.seen_rows, asked.seen_cols, strict=True)]
    assert seen == [(0, "A"), (1, "A"), (1, "B")]


def test_on_shop_like_visits_the_model_beats_popularity_on_the_held_out_week() -> None:
    events = synthetic.generate(80_000, skus=60, family_size=6, end=NOW, days=120)

    result = evaluate.evaluate(events, now=NOW, als=False)

    assert result is not None
    assert result.questions > 500
    model, popular = result.of("co-occurrence"), result.of("popularity")
    assert model is not None
    assert popular is not None
    assert result.beats_popularity
    assert model.hit_rate > popular.hit_rate + 0.15
    assert model.coverage > 0.8
    assert popular.coverage < 0.2  # popularity shows its few


def test_the_evaluation_trains_on_nothing_of_the_held_out_week() -> None:
    # The test week's visits pair A with C; before it, A went with B. A model that saw
    # the test week would answer C.
    before = [(f"b{n}", 10.0, ("A", "B")) for n in range(5)]
    during = [(f"d{n}", 1.0, ("A", "C")) for n in range(5)]
    events = visits(*before, *during)

    result = evaluate.evaluate(events, now=NOW, als=False)

    assert result is not None
    figures = result.of("co-occurrence")
    assert figures is not None
    assert result.questions == 5
    # C is still in the top 5 (popularity fills the shelf), so check the ranking itself:
    model = train.train(events.where(events.at <= (NOW - evaluate.HELD_OUT).timestamp()), now=NOW)
    assert [sku for sku, _ in model.related()["A"]] == ["B"]
    assert np.isclose(figures.hit_rate, 1.0)


def test_too_little_data_for_a_held_out_week_gives_no_figures() -> None:
    assert evaluate.evaluate(visits(("v1", 1, ("A", "B"))), now=NOW, als=False) is None


def test_als_baseline_scores_the_same_questions() -> None:
    pytest.importorskip("implicit")
    events = synthetic.generate(20_000, skus=30, family_size=5, end=NOW, days=60)

    result = evaluate.evaluate(events, now=NOW, als=True)

    assert result is not None
    als = result.of("ALS (implicit)")
    assert als is not None
    assert 0 < als.hit_rate <= 1
    assert 0 < als.coverage <= 1


# ---------------------------------------------------------------- the sales export

GOOD = (
    "receipt,sold_at,store_id,sku,quantity\n"
    "R-1,2026-11-30T14:05:00+08:00,s001,P-1,1\n"
    "R-1,2026-11-30T14:05:00+08:00,s001,P-2,2\n"
)


def test_a_sales_export_is_read_line_by_line() -> None:
    lines = sales.parse("\ufeff" + GOOD, {"s001"})

    assert [(line.receipt, line.sku, line.quantity) for line in lines] == [
        ("R-1", "P-1", 1),
        ("R-1", "P-2", 2),
    ]
    assert lines[0].sold_at == datetime(2026, 11, 30, 6, 5, tzinfo=UTC)


def test_a_sales_export_with_wrong_rows_names_each_and_nothing_is_taken() -> None:
    text = (
        "sku,quantity,receipt,sold_at,store_id\n"
        "P-1,1,R-1,2026-11-30T14:05:00+08:00,s001\n"
        "P 2,0,R-2,2026-11-30 14:05,s999\n"
        ",1,R-3,2026-11-30T14:05:00,s001\n"
    )

    with pytest.raises(sales.SalesRefused) as refused:
        sales.parse(text, {"s001"})

    assert refused.value.problems == (
        "line 3: sold_at: must be an ISO 8601 date and time with its UTC offset",
        "line 3: store_id: not a store HQ knows (kiosk-hq store list)",
        "line 3: sku: must be 1-64 letters, digits, '.', '_' or '-'",
        "line 3: quantity: must be a whole number from 1 to 1000",
        "line 4: sold_at: must be an ISO 8601 date and time with its UTC offset",
        "line 4: sku: must be 1-64 letters, digits, '.', '_' or '-'",
    )


def test_a_sales_export_without_the_columns_is_refused() -> None:
    with pytest.raises(sales.SalesRefused, match=r"lacks column.*quantity"):
        sales.parse("receipt,sold_at,store_id,sku\n", {"s001"})


def test_the_week_held_out_is_the_last_before_now() -> None:
    assert timedelta(days=7) == evaluate.HELD_OUT
