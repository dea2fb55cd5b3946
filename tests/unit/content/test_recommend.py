"""What to suggest beside the phone in hand: HQ's tables first, sensible fill-ins after."""

from __future__ import annotations

from pathlib import Path

from helpers.bundles import sample_bundle
from helpers.shop import phone, shop, skus

from content.bundle import load_bundle
from content.recommend import best_sellers, related


def test_related_never_suggests_the_phone_in_hand() -> None:
    bundle = shop(phone("A"), phone("B"), phone("C"), related_table={"A": ("A", "B", "C")})
    assert skus(related(bundle, "A")) == ["B", "C"]


def test_related_puts_in_stock_first_and_keeps_table_order() -> None:
    bundle = shop(
        phone("A"),
        phone("B", in_stock=False),
        phone("C"),
        phone("D", in_stock=False),
        phone("E"),
        related_table={"A": ("B", "C", "D", "E")},
    )
    assert skus(related(bundle, "A", limit=3)) == ["C", "E", "B"]


def test_related_skips_excluded_and_unknown_skus() -> None:
    bundle = shop(phone("A"), phone("B"), phone("C"), related_table={"A": ("GONE", "B", "B", "C")})
    assert skus(related(bundle, "A", exclude=("C",))) == ["B"]


def test_short_table_is_filled_with_same_brand_then_nearest_price() -> None:
    bundle = shop(
        phone("A", brand="Xinghe", price="4000.00"),
        phone("B", brand="Xinghe", price="4500.00"),
        phone("FAR", brand="Xinghe", price="9000.00"),
        phone("NEAR", brand="Lingyun", price="4100.00"),
        phone("MID", brand="Lingyun", price="5000.00"),
        related_table={"A": ("B",)},
    )
    assert skus(related(bundle, "A", limit=4)) == ["B", "FAR", "NEAR", "MID"]


def test_fill_prefers_in_stock_and_skips_other_colours_of_the_same_model() -> None:
    bundle = shop(
        phone("A-BK", model="A", price="4000.00"),
        phone("A-WH", model="A", price="4000.00"),
        phone("B-BK", model="B", price="4100.00"),
        phone("B-WH", model="B", price="4100.00"),
        phone("C", model="C", price="4200.00", in_stock=False),
        phone("D", model="D", brand="Lingyun", price="6000.00"),
    )
    assert skus(related(bundle, "A-BK", limit=3)) == ["B-BK", "D", "C"]


def test_related_respects_limit_and_is_the_same_every_time() -> None:
    bundle = shop(*(phone(f"P{i}", price="3000.00") for i in range(10)))
    first = related(bundle, "P5", limit=2)
    assert skus(first) == ["P0", "P1"]  # equal in every way: by SKU
    assert related(bundle, "P5", limit=2) == first
    assert related(bundle, "P5", limit=0) == ()


def test_unknown_phone_gets_no_suggestions() -> None:
    bundle = shop(phone("A"), phone("B"))
    assert related(bundle, "NOT-HERE") == ()


def test_best_sellers_skip_what_is_shown_and_put_in_stock_first() -> None:
    bundle = shop(
        phone("A"),
        phone("B", in_stock=False),
        phone("C"),
        phone("D"),
        best=("B", "A", "GONE", "C", "D"),
    )
    assert skus(best_sellers(bundle, limit=3, exclude=("A",))) == ["C", "D", "B"]
    assert skus(best_sellers(bundle, limit=2)) == ["A", "C"]


def test_every_phone_on_the_sample_cabinet_has_four_suggestions(tmp_path: Path) -> None:
    bundle = load_bundle(sample_bundle(tmp_path / "bundle"), verify_hashes=False)
    for slot in range(1, 13):
        sku = bundle.sku_on_slot(slot)
        assert sku is not None
        suggestions = related(bundle, sku)
        assert len(suggestions) == 4
        assert sku not in skus(suggestions)


def test_hqs_related_table_comes_before_a_nearer_fill_in() -> None:
    bundle = shop(
        phone("A", price="4000.00"),
        phone("NEAR", price="4010.00"),
        phone("CHOSEN", brand="Lingyun", price="9999.00"),
        related_table={"A": ("CHOSEN",)},
    )
    assert skus(related(bundle, "A", limit=1)) == ["CHOSEN"]


def test_fill_ins_are_nearest_in_price_whether_cheaper_or_dearer() -> None:
    bundle = shop(
        phone("A", price="4000.00"),
        phone("CHEAPER", price="3500.00"),  # 500 less
        phone("DEARER", price="4400.00"),  # 400 more: nearer
    )
    assert skus(related(bundle, "A", limit=2)) == ["DEARER", "CHEAPER"]


def test_best_sellers_are_four_unless_asked_for_another_number() -> None:
    bundle = shop(*(phone(f"P{i}") for i in range(6)), best=tuple(f"P{i}" for i in range(6)))
    assert skus(best_sellers(bundle)) == ["P0", "P1", "P2", "P3"]
    assert skus(best_sellers(bundle, limit=1)) == ["P0"]
    assert best_sellers(bundle, limit=0) == ()
