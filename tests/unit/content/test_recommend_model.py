"""Shelves from HQ's trained model (recommender.json), mixed with this store's lifts and,
only with the member's consent, their history."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from helpers.bundles import read_json, sample_bundle, write_json
from helpers.shop import phone, shop, skus

from content.bundle import RECOMMENDER, Bundle, BundleError, load_bundle
from content.model import (
    RecommendationModel,
)
from content.recommend import (
    TALLY_HALF_LIFE,
    LiftTally,
    Shopper,
    best_sellers,
    lift_shares,
    related,
    tally_lift,
)

MODEL = RecommendationModel(
    model="hq-model-3",
    trained_at="2026-12-01T00:00:00Z",
    half_life_days=30,
    popularity=(("A", 1.0), ("B", 0.9), ("C", 0.5), ("D", 0.4), ("E", 0.2), ("F", 0.1)),
    related={
        "A": (("B", 1.0), ("C", 0.8), ("D", 0.5)),
        "E": (("F", 1.0), ("G", 0.9)),
        "F": (("G", 1.0),),
    },
)


def modelled(**changes: object) -> Bundle:
    products = [phone(sku) for sku in "ABCDEFGH"]
    bundle = shop(*products, related_table={"A": ("H",), "H": ("D", "E")}, best=("H", "G"))
    return dataclasses.replace(bundle, recommender=MODEL, **changes)  # type: ignore[arg-type]


def test_the_model_ranks_the_shelf_then_the_hand_table_then_the_catalog() -> None:
    bundle = modelled()

    assert skus(related(bundle, "A", limit=3)) == ["B", "C", "D"]
    assert skus(related(bundle, "A", limit=5)) == ["B", "C", "D", "H", "E"]
    assert skus(related(bundle, "H", limit=2)) == ["D", "E"]  # unknown to the model: HQ's table
    assert skus(best_sellers(bundle, limit=3)) == ["A", "B", "C"]


def test_a_bundle_without_a_model_keeps_the_hand_tables() -> None:
    bundle = dataclasses.replace(modelled(), recommender=None)

    assert skus(related(bundle, "A", limit=1)) == ["H"]
    assert skus(best_sellers(bundle, limit=2, store={"A": 1.0})) == ["H", "G"]  # no mixing


def test_this_stores_lifts_reorder_the_models_neighbours_but_add_no_strangers() -> None:
    bundle = modelled()

    # D is lifted here the most: 0.7 * 0.5 + 0.3 * 1 beats C's 0.7 * 0.8.
    shelf = related(bundle, "A", limit=3, store={"D": 1.0, "H": 1.0})
    assert skus(shelf) == ["B", "D", "C"]
    # Best sellers are this store's as much as the chain's: H, never in the model, shows.
    assert skus(best_sellers(bundle, limit=2, store={"H": 1.0, "G": 0.2})) == ["A", "H"]


def test_without_personalisation_consent_the_history_changes_nothing() -> None:
    bundle = modelled()
    history = ("E", "F")
    store = {"D": 0.5}
    for shelf in ("related", "best"):
        for member in (None, Shopper(history, personalised=False)):

            def shown(who: Shopper | None, shelf: str = shelf) -> list[str]:
                if shelf == "related":
                    return skus(related(bundle, "A", limit=4, store=store, shopper=who))
                return skus(best_sellers(bundle, limit=4, store=store, shopper=who))

            assert shown(member) == shown(Shopper((), personalised=False)) == shown(None)


def test_with_consent_what_goes_with_their_history_comes_forward() -> None:
    bundle = modelled()
    consented = Shopper(("E",), personalised=True)

    assert skus(best_sellers(bundle, limit=3)) == ["A", "B", "C"]
    # F goes with E, which they looked at last time: 0.5 * 0.1 + 0.3 * 1 beats C's 0.25.
    assert skus(best_sellers(bundle, limit=3, shopper=consented)) == ["A", "B", "F"]
    assert skus(related(bundle, "A", limit=4)) == ["B", "C", "D", "H"]
    assert skus(related(bundle, "A", limit=4, shopper=consented)) == ["B", "C", "D", "F"]


def test_one_card_per_model_and_in_stock_first_from_the_model_too() -> None:
    products = [phone("A"), phone("B1", model="B"), phone("B2", model="B"), phone("C")]
    products += [phone("D", in_stock=False), phone("E")]
    model = RecommendationModel(
        model="m",
        trained_at="2026-12-01T00:00:00Z",
        half_life_days=30,
        related={"A": (("B1", 1.0), ("D", 0.9), ("B2", 0.8), ("C", 0.5), ("E", 0.4))},
    )
    bundle = dataclasses.replace(shop(*products), recommender=model)

    assert skus(related(bundle, "A", limit=3)) == ["B1", "C", "E"]
    assert skus(related(bundle, "A", limit=4)) == ["B1", "C", "E", "D"]


def test_the_lift_tally_counts_recent_lifts_more() -> None:
    tally = LiftTally()
    for sku, at in (("A", 0.0), ("A", 1.0), ("B", TALLY_HALF_LIFE * 2)):
        tally = tally_lift(tally, sku, at)

    # Two lifts of A two half-lives ago weigh as one of B now.
    shares = lift_shares(tally)
    assert shares["B"] == pytest.approx(1.0)
    assert shares["A"] == pytest.approx(2 / 4, rel=1e-6)
    assert lift_shares(LiftTally()) == {}


def test_the_tally_stays_exact_over_years_of_lifts() -> None:
    tally = LiftTally()
    for day in range(0, 3 * 365):
        tally = tally_lift(tally, "A" if day % 2 else "B", day * 86_400.0)
    shares = lift_shares(tally)
    assert max(tally.weights.values()) < 1e13
    assert shares["A"] == pytest.approx(1.0) or shares["B"] == pytest.approx(1.0)
    assert 0.8 < min(shares.values()) < 1.0


# ---------------------------------------------------------------- in a bundle


def model_document(bundle: Path) -> dict[str, object]:
    catalog = [p["sku"] for p in read_json(bundle, "catalog.json")["products"]]
    return {
        "model": "hq-model-1",
        "trained_at": "2026-12-01T00:00:00Z",
        "half_life_days": 30,
        "popularity": [[sku, round(1 - n / 20, 2)] for n, sku in enumerate(catalog)],
        "related": {catalog[0]: [[catalog[3], 1.0], [catalog[2], 0.5]]},
    }


def test_a_bundle_with_recommender_json_loads_it_and_its_shelves_use_it(tmp_path: Path) -> None:
    folder = sample_bundle(tmp_path / "bundle", products=6)
    document = model_document(folder)
    write_json(folder, RECOMMENDER, document)

    bundle = load_bundle(folder)

    assert bundle.recommender is not None
    assert bundle.recommender.model == "hq-model-1"
    first = next(iter(document["related"]))  # type: ignore[call-overload]
    assert [p.sku for p in related(bundle, first, limit=1)] == [
        document["related"][first][0][0]  # type: ignore[index]
    ]


def test_a_model_naming_a_sku_the_catalog_lacks_is_refused(tmp_path: Path) -> None:
    folder = sample_bundle(tmp_path / "bundle", products=6)
    document = model_document(folder)
    document["popularity"] = [["NOT-SOLD", 1.0]]
    write_json(folder, RECOMMENDER, document)

    with pytest.raises(
        BundleError, match=r"recommender.json: popularity\[0\]\[0\]: SKU 'NOT-SOLD'"
    ):
        load_bundle(folder)


def test_a_score_outside_0_to_1_is_refused(tmp_path: Path) -> None:
    folder = sample_bundle(tmp_path / "bundle", products=6)
    document = model_document(folder)
    document["popularity"] = [[read_json(folder, "catalog.json")["products"][0]["sku"], 3]]
    write_json(folder, RECOMMENDER, document)

    with pytest.raises(BundleError, match=r"recommender\.json: popularity"):
        load_bundle(folder)
