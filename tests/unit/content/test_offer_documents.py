"""offers.json: member offers as bundle content. A bundle without it has none; a
malformed rule, or one naming a campaign or product the bundle lacks, is refused
with file, field and problem."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers.bundles import (
    edit_json,
    only_problem,
    problems_of,
    read_json,
    remove_file,
    sample_bundle,
    write_file,
)

from content.bundle import (
    CATALOG,
    COUPONS,
    MANIFEST,
    OFFERS,
    BundleProblem,
    load_bundle,
    load_release,
)
from content.offers import OfferPeriod

Edit = Callable[[Any], object]


@pytest.fixture
def bundle_dir(tmp_path: Path) -> Path:
    return sample_bundle(tmp_path / "bundle", products=1)


def offer_field(index: int, *path: str | int) -> tuple[str | int, ...]:
    return ("offers", index, *path)


def _set(path: tuple[str | int, ...], value: object) -> Edit:
    def edit(doc: Any) -> None:
        *parents, last = path
        for part in parents:
            doc = doc[part]
        doc[last] = value

    return edit


def _pop(path: tuple[str | int, ...]) -> Edit:
    def edit(doc: Any) -> None:
        *parents, last = path
        for part in parents:
            doc = doc[part]
        del doc[last]

    return edit


# --- Loading ---------------------------------------------------------------------


def test_sample_bundle_carries_offers_whose_coupons_and_product_it_has(bundle_dir: Path) -> None:
    bundle = load_bundle(bundle_dir)

    ids = [offer.id for offer in bundle.offers]
    assert ids == [
        "birthday-month",
        "xinghe-again",
        "gold-accessories",
        "first-visit-film",
        "trade-in-weekend",
    ]
    for offer in bundle.offers:
        assert bundle.offer(offer.id) is offer
        assert offer.title.zh_cn != offer.title.en
        if offer.campaign is not None:
            assert bundle.campaign(offer.campaign) is not None
    featured = bundle.offer("xinghe-again")
    assert featured is not None
    assert featured.product is not None
    product = bundle.product(featured.product)
    assert product is not None
    assert product.brand == "Xinghe"
    birthday = bundle.offer("birthday-month")
    assert birthday is not None
    assert birthday.segment.birthday_month
    assert birthday.limits.per_member is OfferPeriod.MONTH
    assert bundle.offer("nope") is None


def test_an_installed_release_reads_its_offers_with_the_catalog_index(bundle_dir: Path) -> None:
    # load_release checks the offers' SKUs against the index, not the whole catalog.
    load_bundle(bundle_dir)
    assert [offer.id for offer in load_release(bundle_dir).offers] == [
        offer.id for offer in load_bundle(bundle_dir).offers
    ]


def test_a_bundle_without_offers_json_has_no_offers(bundle_dir: Path) -> None:
    remove_file(bundle_dir, OFFERS)
    edit_json(
        bundle_dir,
        MANIFEST,
        lambda doc: doc.update(assets=[a for a in doc["assets"] if a["path"] != OFFERS]),
    )
    bundle = load_bundle(bundle_dir)
    assert bundle.offers == ()
    assert bundle.offer("birthday-month") is None


def test_offers_json_must_be_listed_in_the_manifest(bundle_dir: Path) -> None:
    edit_json(
        bundle_dir,
        MANIFEST,
        lambda doc: doc.update(assets=[a for a in doc["assets"] if a["path"] != OFFERS]),
    )
    assert only_problem(bundle_dir) == BundleProblem(OFFERS, "", "is not listed in manifest.json")


def test_broken_json_in_offers_is_reported(bundle_dir: Path) -> None:
    write_file(bundle_dir, OFFERS, b'{"offers": [{"id": ')
    problem = only_problem(bundle_dir)
    assert (problem.file, problem.field) == (OFFERS, "")
    assert problem.problem.startswith("invalid JSON")


# --- Cross-references ------------------------------------------------------------


def test_offers_must_name_campaigns_and_products_the_bundle_has(bundle_dir: Path) -> None:
    edit_json(bundle_dir, OFFERS, _set(offer_field(0, "campaign"), "birthday-999"))
    edit_json(bundle_dir, OFFERS, _set(offer_field(1, "product"), "NO-SUCH-PHONE"))
    edit_json(
        bundle_dir,
        OFFERS,
        _set(offer_field(2, "segment", "viewed"), {"skus": ["XH-X60U-512-BK", "GONE-1"]}),
    )

    assert [str(p) for p in problems_of(bundle_dir)] == [
        "offers.json: offers[0].campaign: coupon campaign 'birthday-999' is not in coupons.json",
        "offers.json: offers[1].product: SKU 'NO-SUCH-PHONE' is not in catalog.json",
        "offers.json: offers[2].segment.viewed.skus[1]: SKU 'GONE-1' is not in catalog.json",
    ]


def test_the_index_of_an_installed_release_checks_offer_skus_too(bundle_dir: Path) -> None:
    load_release(bundle_dir)  # builds the index
    edit_json(bundle_dir, OFFERS, _set(offer_field(1, "product"), "NO-SUCH-PHONE"))
    with pytest.raises(Exception, match=r"'NO-SUCH-PHONE' is not in catalog\.json"):
        load_release(bundle_dir)


def test_coupon_offers_need_coupons_json(bundle_dir: Path) -> None:
    remove_file(bundle_dir, COUPONS)
    edit_json(
        bundle_dir,
        MANIFEST,
        lambda doc: doc.update(assets=[a for a in doc["assets"] if a["path"] != COUPONS]),
    )
    problems = [p for p in problems_of(bundle_dir) if p.file == OFFERS]
    assert [p.field for p in problems] == [
        "offers[0].campaign",
        "offers[1].campaign",
        "offers[2].campaign",
        "offers[3].campaign",
    ]  # the message offer needs none


def test_broken_coupons_do_not_also_fail_every_offer(bundle_dir: Path) -> None:
    write_file(bundle_dir, COUPONS, b"[]")
    assert {p.file for p in problems_of(bundle_dir)} == {COUPONS}


def test_a_broken_catalog_does_not_also_fail_every_offer_product(bundle_dir: Path) -> None:
    write_file(bundle_dir, CATALOG, b"{}")
    assert OFFERS not in {p.file for p in problems_of(bundle_dir)}


# --- Each malformed rule names its field ---------------------------------------------

RULES = [
    pytest.param(
        _set(offer_field(0, "limits", "per_member"), "fortnight"),
        "offers[0].limits.per_member",
        "Input should be 'day', 'week', 'month' or 'campaign'",
        id="unknown-period",
    ),
    pytest.param(
        _set(offer_field(0, "ends_at"), "2024-12-31T00:00:00+08:00"),
        "offers[0].ends_at",
        "must be after starts_at (2025-01-01T00:00:00+08:00)",
        id="ends-before-it-starts",
    ),
    pytest.param(
        _set(offer_field(0, "starts_at"), "2025-01-01T00:00:00"),
        "offers[0].starts_at",
        None,
        id="start-without-a-zone",
    ),
    pytest.param(
        _pop(offer_field(0, "title", "en")),
        "offers[0].title.en",
        "Field required",
        id="title-without-english",
    ),
    pytest.param(
        _pop(offer_field(0, "title", "zh-CN")),
        "offers[0].title.zh-CN",
        "Field required",
        id="title-without-chinese",
    ),
    pytest.param(
        _set(offer_field(1, "id"), "birthday-month"),
        "offers[1].id",
        "duplicate offer id 'birthday-month' (first at offers[0])",
        id="duplicate-id",
    ),
    pytest.param(
        _set(offer_field(1, "id"), "Xinghe Again"),
        "offers[1].id",
        "must be 1-40 lower-case letters, digits, '_' or '-', starting with a letter or digit",
        id="id-not-a-slug",
    ),
    pytest.param(
        lambda doc: [doc["offers"][3].pop(key, None) for key in ("campaign", "message")],
        "offers[3]",
        "give a campaign (a coupon) or a message, or both",
        id="neither-campaign-nor-message",
    ),
    pytest.param(
        _set(offer_field(0, "hours"), "9am-5pm"),
        "offers[0].hours",
        'must be "HH:MM-HH:MM" in 24-hour local time, e.g. "09:00-12:00"',
        id="hours-not-hh-mm",
    ),
    pytest.param(
        _set(offer_field(0, "hours"), "25:00-26:00"),
        "offers[0].hours",
        'must be "HH:MM-HH:MM" in 24-hour local time, e.g. "09:00-12:00"',
        id="hours-out-of-the-day",
    ),
    pytest.param(
        _set(offer_field(0, "hours"), "10:00-10:00"),
        "offers[0].hours",
        "starts and ends at 10:00: leave hours out for all day",
        id="hours-empty",
    ),
    pytest.param(
        _set(offer_field(0, "weekdays"), [1, 8]),
        "offers[0].weekdays[1]",
        "Input should be less than or equal to 7",
        id="weekday-eight",
    ),
    pytest.param(
        _set(offer_field(0, "weekdays"), [6, 7, 6]),
        "offers[0].weekdays[2]",
        "a day given twice (first at weekdays[0])",
        id="weekday-twice",
    ),
    pytest.param(
        _set(offer_field(0, "limits", "store_daily_budget"), -1),
        "offers[0].limits.store_daily_budget",
        "Input should be greater than or equal to 0",
        id="negative-budget",
    ),
    pytest.param(
        _set(offer_field(0, "limits", "store_daily_budget"), "20"),
        "offers[0].limits.store_daily_budget",
        "Input should be a valid integer",
        id="budget-as-text",
    ),
    pytest.param(
        _set(offer_field(1, "segment", "viewed"), {}),
        "offers[1].segment.viewed",
        "name at least one brand, tag or SKU",
        id="viewed-nothing",
    ),
    pytest.param(
        _set(offer_field(2, "segment", "tiers"), []),
        "offers[2].segment.tiers",
        None,
        id="no-tiers",
    ),
    pytest.param(
        _set(offer_field(0, "priority"), 5000),
        "offers[0].priority",
        "Input should be less than or equal to 1000",
        id="priority-too-high",
    ),
    pytest.param(
        _set(offer_field(0, "segment", "birthday"), True),
        "offers[0].segment.birthday",
        "Extra inputs are not permitted",
        id="unknown-rule",
    ),
]


@pytest.mark.parametrize(("edit", "field", "problem"), RULES)
def test_a_malformed_offer_rule_names_file_field_and_problem(
    bundle_dir: Path, edit: Edit, field: str, problem: str | None
) -> None:
    edit_json(bundle_dir, OFFERS, edit)
    found = only_problem(bundle_dir)
    assert (found.file, found.field) == (OFFERS, field)
    if problem is not None:
        assert found.problem == problem
    assert found.problem  # never empty


def test_every_offer_problem_is_collected_at_once(bundle_dir: Path) -> None:
    offers = read_json(bundle_dir, OFFERS)["offers"]
    offers[0]["hours"] = "9-5"
    offers[2]["campaign"] = "gold-999"
    offers[4]["ends_at"] = offers[4]["starts_at"]
    edit_json(bundle_dir, OFFERS, lambda doc: doc.update(offers=offers))

    fields = [p.field for p in problems_of(bundle_dir)]

    # A document that does not parse is not cross-checked: its shape comes first.
    assert fields == ["offers[0].hours", "offers[4].ends_at"]
