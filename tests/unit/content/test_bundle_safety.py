"""A bundle's files are taken only as regular files inside it, size-checked before they are read,
and its values only in the exact documented format (docs/bundle.md)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers.bundles import (
    edit_json,
    image_paths,
    link_outside,
    make_fifo,
    only_problem,
    problems_of,
    read_json,
    sample_bundle,
    without_waiting_on,
    write_json,
)

from content.bundle import DOCUMENT_MAX_BYTES, BundleError, BundleProblem, load_bundle

LINKED: str = "is a symbolic link; every entry must be a regular file"


@pytest.fixture
def bundle_dir(tmp_path: Path) -> Path:
    return sample_bundle(tmp_path / "bundle")


# --- Links and special files ------------------------------------------------------


@pytest.mark.parametrize("verify_hashes", [True, False])
def test_a_document_linked_from_outside_the_bundle_is_refused(
    bundle_dir: Path, verify_hashes: bool
) -> None:
    link_outside(bundle_dir, "catalog.json")

    assert only_problem(bundle_dir, verify_hashes=verify_hashes) == BundleProblem(
        "catalog.json", "", LINKED
    )


@pytest.mark.parametrize("verify_hashes", [True, False])
def test_a_linked_folder_of_pictures_is_refused_for_every_picture_in_it(
    bundle_dir: Path, tmp_path: Path, verify_hashes: bool
) -> None:
    # Only the last part of a path was checked: images -> elsewhere passed.
    outside = tmp_path / "elsewhere"
    (bundle_dir / "images").rename(outside)
    os.symlink(outside, bundle_dir / "images")
    in_images = [path for path in image_paths(bundle_dir) if path.startswith("images/")]

    problems = problems_of(bundle_dir, verify_hashes=verify_hashes)

    assert {p.file for p in problems} == set(in_images)
    assert {p.problem for p in problems} == {f"is in images, which {LINKED}"}


def test_a_fifo_document_is_refused_without_waiting_for_a_writer(bundle_dir: Path) -> None:
    make_fifo(bundle_dir, "catalog.json")

    error = without_waiting_on(bundle_dir / "catalog.json", lambda: load_bundle(bundle_dir))

    assert isinstance(error, BundleError)
    assert BundleProblem("catalog.json", "", "is not a regular file") in error.problems


def test_a_document_larger_than_the_cap_is_refused_unread(bundle_dir: Path) -> None:
    # Sparse, so it costs no disk; listed with its size, so only the cap refuses it.
    size = DOCUMENT_MAX_BYTES + 1
    os.truncate(bundle_dir / "catalog.json", size)
    edit_json(
        bundle_dir,
        "manifest.json",
        lambda doc: next(a for a in doc["assets"] if a["path"] == "catalog.json").update(size=size),
    )

    assert only_problem(bundle_dir, verify_hashes=False) == BundleProblem(
        "catalog.json", "", f"is {size:,} bytes; a document may have at most {DOCUMENT_MAX_BYTES:,}"
    )


# --- Values in their exact format -------------------------------------------------


def _set(path: tuple[str | int, ...], value: object) -> Callable[[Any], None]:
    def edit(document: Any) -> None:
        target = document
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return edit


AMOUNT = ("products", 0, "price", "amount")
LOOSE_VALUES = [
    pytest.param("catalog.json", AMOUNT, " 1.00", "products[0].price.amount", id="price-space"),
    pytest.param("catalog.json", AMOUNT, "1_000.00", "products[0].price.amount", id="price-_"),
    pytest.param(
        "catalog.json", AMOUNT, "\u0661.\u0660\u0660", "products[0].price.amount", id="price-arabic"
    ),
    pytest.param("catalog.json", AMOUNT, "1e3", "products[0].price.amount", id="price-exponent"),
    pytest.param("catalog.json", AMOUNT, 4999.0, "products[0].price.amount", id="price-number"),
    pytest.param("catalog.json", AMOUNT, "4999.0", "products[0].price.amount", id="price-1-place"),
    pytest.param("manifest.json", ("schema_version",), "1", "schema_version", id="schema-str"),
    pytest.param("manifest.json", ("schema_version",), 1.0, "schema_version", id="schema-float"),
    pytest.param("manifest.json", ("schema_version",), True, "schema_version", id="schema-true"),
    pytest.param("planogram.json", ("slots", 0, "slot"), "1", "slots[0].slot", id="slot-str"),
    pytest.param("planogram.json", ("slots", 0, "slot"), 1.0, "slots[0].slot", id="slot-float"),
    pytest.param("planogram.json", ("slots", 0, "slot"), True, "slots[0].slot", id="slot-true"),
    pytest.param(
        "catalog.json",
        ("products", 0, "specs", "ram_gb"),
        True,
        "products[0].specs.ram_gb",
        id="int-true",
    ),
    pytest.param(
        "catalog.json", ("products", 0, "in_stock"), 1, "products[0].in_stock", id="bool-1"
    ),
    pytest.param(
        "manifest.json", ("created_at",), "2025-06-18", "created_at", id="created-date-only"
    ),
    pytest.param(
        "manifest.json", ("created_at",), "2025-06-18 09:00", "created_at", id="created-space"
    ),
    pytest.param(
        "catalog.json",
        ("products", 0, "name", "en"),
        "Phone\u0000 X",
        "products[0].name.en",
        id="nul-in-name",
    ),
    pytest.param("planogram.json", ("cabinet",), "cabinet\u0000", "cabinet", id="nul-in-cabinet"),
    pytest.param(
        "prizes.json",
        ("draws", 0, "prizes", 0, "chance"),
        0.05,
        "draws[0].prizes[0].chance",
        id="chance-number",
    ),
]


@pytest.mark.parametrize(("name", "path", "value", "field"), LOOSE_VALUES)
def test_a_loose_value_is_refused_where_the_format_is_exact(
    bundle_dir: Path, name: str, path: tuple[str | int, ...], value: object, field: str
) -> None:
    edit_json(bundle_dir, name, _set(path, value))

    problem = only_problem(bundle_dir)

    assert (problem.file, problem.field) == (name, field)


def test_exact_values_still_load(bundle_dir: Path) -> None:
    catalog = read_json(bundle_dir, "catalog.json")
    catalog["products"][0]["price"]["amount"] = "0.50"
    catalog["products"][0]["name"]["en"] = "Phone ½ — 手机"
    write_json(bundle_dir, "catalog.json", catalog)
    edit_json(bundle_dir, "manifest.json", _set(("created_at",), "2025-06-18T09:00Z"))

    bundle = load_bundle(bundle_dir)

    assert str(bundle.catalog.products[0].price.amount) == "0.50"
    assert bundle.manifest.created_at == "2025-06-18T09:00Z"
