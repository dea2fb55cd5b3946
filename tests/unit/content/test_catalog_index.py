"""The catalog index of an installed release: products read on demand, never a wrong one.

A kiosk starting on (or switching to) an installed release validates only the products
it shows (content/catalog.py); a damaged index or line is rebuilt from catalog.json or
refused, so the screen never shows a product that did not prove itself.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from helpers.bundles import flip_byte, read_json, sample_bundle

from content.bundle import load_bundle
from content.catalog import INDEX, CatalogIndex
from content.model import Catalog, Product
from content.recommend import related
from content.store import ContentStore

RELEASE = "r1"


@pytest.fixture
def store(tmp_path: Path) -> ContentStore:
    store = ContentStore(tmp_path / "content")
    store.install(sample_bundle(tmp_path / "source", release=RELEASE))
    return store


def folder(store: ContentStore) -> Path:
    return store.root / "releases" / RELEASE


def whole(store: ContentStore) -> dict[str, Product]:
    """The catalog validated whole, as HQ and the store's install see it."""
    catalog = load_bundle(folder(store)).catalog
    assert isinstance(catalog, Catalog)
    return {product.sku: product for product in catalog.products}


def index_lines(store: ContentStore) -> list[bytes]:
    return (folder(store) / INDEX).read_bytes().split(b"\n")


FIRST_PRODUCT_LINE = 3  # after the header, the table of lines and the summaries


def reprice(store: ContentStore, number: int) -> str:
    """Change the first digit of the `number`th product's price in the index, in place
    (same length: only the line's digest can tell); returns its SKU."""
    lines = index_lines(store)
    line = lines[FIRST_PRODUCT_LINE + number]
    at = line.index(b'"amount":"') + len(b'"amount":"')
    digit = b"2" if line[at : at + 1] == b"1" else b"1"
    lines[FIRST_PRODUCT_LINE + number] = line[:at] + digit + line[at + 1 :]
    (folder(store) / INDEX).write_bytes(b"\n".join(lines))
    return line.partition(b" ")[0].decode()


def test_a_kiosk_starting_on_an_installed_release_builds_only_what_it_shows(
    store: ContentStore,
) -> None:
    expected = whole(store)

    bundle = store.current()

    assert bundle is not None
    assert isinstance(bundle.catalog, CatalogIndex)
    assert bundle.catalog.built == 0  # nothing built by loading it
    on_slots = {assignment.sku for assignment in bundle.planogram.slots}
    for sku in on_slots:
        assert bundle.product(sku) == expected[sku]
    assert bundle.catalog.built == len(on_slots)
    # Everything else is there, equal to the catalog validated whole, in catalog order.
    assert [p.sku for p in bundle.catalog.products] == list(expected)
    assert all(bundle.product(sku) == product for sku, product in expected.items())
    assert bundle.product("NO-SUCH-SKU") is None


def test_suggestions_from_the_index_are_those_of_the_whole_catalog(store: ContentStore) -> None:
    bundle = store.current()
    assert bundle is not None
    whole_bundle = load_bundle(folder(store))
    for sku in whole(store):
        assert related(bundle, sku, limit=6) == related(whole_bundle, sku, limit=6)
    assert bundle.summaries() == whole_bundle.summaries()


def test_a_damaged_line_is_never_shown_the_catalog_gives_the_product(
    store: ContentStore, caplog: pytest.LogCaptureFixture
) -> None:
    expected = whole(store)
    sku = reprice(store, 3)

    with caplog.at_level(logging.ERROR, logger="content.catalog"):
        bundle = store.current()
        assert bundle is not None
        assert bundle.product(sku) == expected[sku]

    assert any(sku in record.getMessage() for record in caplog.records)
    # The index is written again from the verified catalog for the next start.
    again = store.current()
    assert again is not None
    assert isinstance(again.catalog, CatalogIndex)
    assert again.product(sku) == expected[sku]
    assert again.catalog.built == 1


def test_a_line_that_does_not_validate_is_refused_even_with_a_matching_digest(
    store: ContentStore,
) -> None:
    """An index is derived data: its lines are validated with the same strict model."""
    expected = whole(store)
    lines = index_lines(store)
    sku, _, body = lines[FIRST_PRODUCT_LINE + 5].split(b" ", 2)
    at = body.index(b'"amount":"') + len(b'"amount":"')
    bad = body[:at] + b"-" + body[at + 1 :]  # a negative price, the line's length kept
    from content.catalog import _digest  # noqa: PLC0415 - forging a digest on purpose

    lines[FIRST_PRODUCT_LINE + 5] = b" ".join((sku, _digest(bad), bad))
    (folder(store) / INDEX).write_bytes(b"\n".join(lines))

    bundle = store.current()

    assert bundle is not None
    assert isinstance(bundle.catalog, CatalogIndex)
    assert bundle.product(sku.decode()) == expected[sku.decode()]


def test_a_damaged_line_and_a_damaged_catalog_refuse_that_product_only(
    store: ContentStore,
) -> None:
    expected = whole(store)
    sku = reprice(store, 2)
    flip_byte(folder(store), "catalog.json", 100)  # same size: only its hash can tell

    bundle = store.current()

    assert bundle is not None
    assert bundle.product(sku) is None  # unknown rather than wrong
    others = [other for other in expected if other != sku]
    assert all(bundle.product(other) == expected[other] for other in others)


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: data[: len(data) // 2], id="truncated"),
        pytest.param(lambda data: b"", id="empty"),
        pytest.param(lambda data: data.replace(b'"catalog": "', b'"catalog": "0', 1), id="other"),
        pytest.param(lambda data: data + data.split(b"\n")[3] + b"\n", id="sku-twice"),
        pytest.param(lambda data: data.replace(b"\n", b"\r", 3), id="lines-joined"),
    ],
)
def test_a_damaged_index_is_rebuilt_from_the_catalog(store: ContentStore, damage: object) -> None:
    expected = whole(store)
    path = folder(store) / INDEX
    path.write_bytes(damage(path.read_bytes()))  # type: ignore[operator]

    bundle = store.current()

    assert bundle is not None
    assert all(bundle.product(sku) == product for sku, product in expected.items())
    rebuilt = store.current()
    assert rebuilt is not None
    assert isinstance(rebuilt.catalog, CatalogIndex)  # written again, whole
    assert rebuilt.catalog.built == 0


def test_damaged_summaries_are_rebuilt_from_the_catalog(store: ContentStore) -> None:
    whole_bundle = load_bundle(folder(store))
    lines = index_lines(store)
    lines[2] = lines[2].replace(b"true", b"fals", 1).replace(b"false", b"true ", 1)
    (folder(store) / INDEX).write_bytes(b"\n".join(lines))

    bundle = store.current()

    assert bundle is not None
    assert bundle.summaries() == whole_bundle.summaries()


def test_a_release_installed_before_the_index_gets_one_at_its_first_start(
    store: ContentStore,
) -> None:
    (folder(store) / INDEX).unlink()

    first = store.current()
    second = store.current()

    assert first is not None
    assert isinstance(first.catalog, Catalog)  # read whole this once
    assert second is not None
    assert isinstance(second.catalog, CatalogIndex)
    assert list(second.catalog.skus) == list(whole(store))


def test_an_index_missing_a_product_on_a_slot_falls_back_to_the_catalog(
    store: ContentStore,
) -> None:
    planogram = read_json(folder(store), "planogram.json")
    sku = planogram["slots"][0]["sku"]
    renamed = "X" * len(sku)
    path = folder(store) / INDEX
    path.write_bytes(path.read_bytes().replace(f"\n{sku} ".encode(), f"\n{renamed} ".encode()))

    bundle = store.current()

    assert bundle is not None
    assert bundle.product(sku) == whole(store)[sku]


def test_a_bare_folder_is_validated_whole_as_before(tmp_path: Path) -> None:
    """HQ and the store's install load bundles with `load_bundle`: no index involved."""
    source = sample_bundle(tmp_path / "bundle")

    bundle = load_bundle(source)

    assert isinstance(bundle.catalog, Catalog)
    assert not (source / INDEX).exists()


def test_a_staged_release_has_its_index_before_it_is_shown(
    store: ContentStore, tmp_path: Path
) -> None:
    source = sample_bundle(tmp_path / "hq-7", release="hq-7")

    store.stage(source, number=7, not_before=None)
    bundle = store.activate("hq-7")

    assert isinstance(bundle.catalog, CatalogIndex)
    assert bundle.catalog.built == 0
