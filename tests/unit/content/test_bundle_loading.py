"""Loading a bundle directory: a good one loads, every bad one says file, field and problem."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from helpers.bundles import (
    edit_json,
    flip_byte,
    image_paths,
    only_problem,
    problems_of,
    read_json,
    remove_file,
    sample_bundle,
    write_file,
)

from content.bundle import Bundle, BundleError, BundleProblem, field_path, load_bundle


@pytest.fixture
def bundle_dir(tmp_path: Path) -> Path:
    return sample_bundle(tmp_path / "bundle")


def test_sample_bundle_loads_with_lookups_by_sku_and_slot(bundle_dir: Path) -> None:
    bundle = load_bundle(bundle_dir)

    assert bundle.release == "sample-16-1"
    assert len(bundle.catalog.products) == 16
    first = bundle.catalog.products[0]
    assert bundle.product(first.sku) is first
    assert bundle.product("NO-SUCH-SKU") is None
    assert bundle.sku_on_slot(1) == first.sku
    assert bundle.slot_of(first.sku) == 1
    assert bundle.sku_on_slot(13) is None
    assert bundle.slot_of(bundle.catalog.products[15].sku) is None  # not on the cabinet


def test_asset_gives_an_absolute_path_only_for_listed_files(bundle_dir: Path) -> None:
    bundle = load_bundle(bundle_dir)
    image = bundle.catalog.products[0].images[0]

    path = bundle.asset(image)

    assert path.is_absolute()
    assert path.is_file()
    assert path == bundle_dir.absolute() / image
    with pytest.raises(KeyError):
        bundle.asset("../outside.png")


def test_missing_directory_is_reported(tmp_path: Path) -> None:
    problem = only_problem(tmp_path / "nowhere")
    assert problem.problem == "bundle directory is missing"


def test_missing_document_is_reported(bundle_dir: Path) -> None:
    remove_file(bundle_dir, "planogram.json")
    assert only_problem(bundle_dir) == BundleProblem("planogram.json", "", "file is missing")


def test_bad_json_says_where(bundle_dir: Path) -> None:
    write_file(bundle_dir, "catalog.json", b'{\n "products": [\n  {"sku": "A",}\n ]\n}')

    problem = only_problem(bundle_dir)

    assert (problem.file, problem.field) == ("catalog.json", "")
    assert problem.problem.startswith("invalid JSON")
    assert "line 3 column" in problem.problem


def test_missing_field_is_named(bundle_dir: Path) -> None:
    edit_json(bundle_dir, "catalog.json", lambda doc: doc["products"][2].pop("brand"))
    assert only_problem(bundle_dir) == BundleProblem(
        "catalog.json", "products[2].brand", "Field required"
    )


def test_wrong_type_is_named(bundle_dir: Path) -> None:
    edit_json(
        bundle_dir, "catalog.json", lambda doc: doc["products"][1]["specs"].update(ram_gb="lots")
    )

    problem = only_problem(bundle_dir)

    assert (problem.file, problem.field) == ("catalog.json", "products[1].specs.ram_gb")
    assert "valid integer" in problem.problem


def test_negative_price_is_named(bundle_dir: Path) -> None:
    edit_json(
        bundle_dir, "catalog.json", lambda doc: doc["products"][3]["price"].update(amount="-1")
    )
    assert only_problem(bundle_dir) == BundleProblem(
        "catalog.json", "products[3].price.amount", "Input should be greater than or equal to 0"
    )


def test_fields_are_named_by_their_json_names(bundle_dir: Path) -> None:
    edit_json(
        bundle_dir, "catalog.json", lambda doc: doc["products"][0]["name"].update({"zh-CN": ""})
    )
    assert only_problem(bundle_dir).field == "products[0].name.zh-CN"


def test_unknown_field_is_refused(bundle_dir: Path) -> None:
    edit_json(bundle_dir, "catalog.json", lambda doc: doc["products"][4].update(prize="1"))
    problem = only_problem(bundle_dir)
    assert (problem.field, problem.problem) == (
        "products[4].prize",
        "Extra inputs are not permitted",
    )


def test_duplicate_sku_names_the_second_one(bundle_dir: Path) -> None:
    def duplicate(doc: dict[str, Any]) -> None:
        doc["products"][5]["sku"] = doc["products"][2]["sku"]

    edit_json(bundle_dir, "catalog.json", duplicate)

    problem = only_problem(bundle_dir)
    assert (problem.file, problem.field) == ("catalog.json", "products[5].sku")
    assert problem.problem.startswith("duplicate SKU")
    assert "first at products[2]" in problem.problem


def test_slot_assigned_twice_is_named(bundle_dir: Path) -> None:
    edit_json(bundle_dir, "planogram.json", lambda doc: doc["slots"][3].update(slot=1))
    problem = only_problem(bundle_dir)
    assert (problem.file, problem.field) == ("planogram.json", "slots[3].slot")


def test_planogram_sku_must_be_in_catalog(bundle_dir: Path) -> None:
    edit_json(bundle_dir, "planogram.json", lambda doc: doc["slots"][4].update(sku="NOPE-1"))
    assert only_problem(bundle_dir) == BundleProblem(
        "planogram.json", "slots[4].sku", "SKU 'NOPE-1' is not in catalog.json"
    )


def test_recommendation_skus_must_be_in_catalog(bundle_dir: Path) -> None:
    def break_tables(doc: dict[str, Any]) -> None:
        first = next(iter(doc["related"]))
        doc["related"][first][1] = "GONE-1"
        doc["related"]["GONE-2"] = [first]
        doc["best_sellers"][0] = "GONE-3"

    edit_json(bundle_dir, "recommendations.json", break_tables)

    fields = {(p.file, p.field) for p in problems_of(bundle_dir)}
    assert fields == {
        ("recommendations.json", "related.XH-X60U-512-BK[1]"),
        ("recommendations.json", "related.GONE-2"),
        ("recommendations.json", "best_sellers[0]"),
    }


def test_changed_image_is_caught_by_its_hash(bundle_dir: Path) -> None:
    image = image_paths(bundle_dir)[0]
    flip_byte(bundle_dir, image)

    problem = only_problem(bundle_dir)

    assert (problem.file, problem.field) == (image, "sha256")
    assert "manifest.json says" in problem.problem
    # A quick start skips hashes: same size, so it loads.
    load_bundle(bundle_dir, verify_hashes=False)


def test_changed_document_is_caught_by_its_hash(bundle_dir: Path) -> None:
    edit_json(
        bundle_dir,
        "playlist.json",
        lambda doc: doc["items"][0].update(seconds=9),
        update_manifest=False,
    )
    fields = {(p.file, p.field) for p in problems_of(bundle_dir)}
    assert ("playlist.json", "size") in fields or ("playlist.json", "sha256") in fields


def test_size_mismatch_is_caught_without_hashing(bundle_dir: Path) -> None:
    image = image_paths(bundle_dir)[1]
    with (bundle_dir / image).open("ab") as file:
        file.write(b"\0")

    problem = only_problem(bundle_dir, verify_hashes=False)

    assert (problem.file, problem.field) == (image, "size")


def test_missing_asset_is_reported(bundle_dir: Path) -> None:
    image = image_paths(bundle_dir)[2]
    remove_file(bundle_dir, image)
    assert only_problem(bundle_dir, verify_hashes=False) == BundleProblem(
        image, "", "is listed in manifest.json but missing"
    )


def test_unsupported_schema_version_is_the_only_problem_reported(bundle_dir: Path) -> None:
    edit_json(bundle_dir, "manifest.json", lambda doc: doc.update(schema_version=2))
    remove_file(bundle_dir, "catalog.json")  # would be noise: another version, other shapes

    assert only_problem(bundle_dir) == BundleProblem(
        "manifest.json", "schema_version", "schema_version 2 is not supported (expected 1)"
    )


def test_image_path_climbing_out_of_the_bundle_is_refused(bundle_dir: Path) -> None:
    (bundle_dir.parent / "x.png").write_bytes(b"not ours")
    edit_json(
        bundle_dir, "catalog.json", lambda doc: doc["products"][0].update(images=["../x.png"])
    )

    problem = only_problem(bundle_dir)

    assert (problem.file, problem.field) == ("catalog.json", "products[0].images[0]")
    assert problem.problem.startswith("must be a relative path inside the bundle")


def test_manifest_path_climbing_out_of_the_bundle_is_refused(bundle_dir: Path) -> None:
    def climb(doc: dict[str, Any]) -> None:
        doc["assets"][0]["path"] = "images/../../x.png"

    edit_json(bundle_dir, "manifest.json", climb)

    problems = problems_of(bundle_dir)
    assert ("manifest.json", "assets[0].path") in {(p.file, p.field) for p in problems}


def test_image_not_in_manifest_is_an_error(bundle_dir: Path) -> None:
    write_file(bundle_dir, "images/extra.png", b"\x89PNG", update_manifest=False)
    edit_json(
        bundle_dir,
        "catalog.json",
        lambda doc: doc["products"][0]["images"].append("images/extra.png"),
    )
    assert only_problem(bundle_dir) == BundleProblem(
        "catalog.json", "products[0].images[2]", "images/extra.png is not listed in manifest.json"
    )


def test_playlist_image_not_in_manifest_is_an_error(bundle_dir: Path) -> None:
    edit_json(
        bundle_dir, "playlist.json", lambda doc: doc["items"][1].update(image="attract/new.jpg")
    )
    problem = only_problem(bundle_dir)
    assert (problem.file, problem.field) == ("playlist.json", "items[1].image")


def test_unlisted_file_nobody_refers_to_is_ignored(bundle_dir: Path) -> None:
    write_file(bundle_dir, "notes.txt", b"left by an editor", update_manifest=False)
    load_bundle(bundle_dir)


def test_document_missing_from_manifest_is_an_error(bundle_dir: Path) -> None:
    edit_json(
        bundle_dir,
        "manifest.json",
        lambda doc: doc.update(assets=[a for a in doc["assets"] if a["path"] != "catalog.json"]),
    )
    assert only_problem(bundle_dir) == BundleProblem(
        "catalog.json", "", "is not listed in manifest.json"
    )


def test_symlinked_asset_is_refused(bundle_dir: Path, tmp_path: Path) -> None:
    image = image_paths(bundle_dir)[0]
    outside = tmp_path / "outside.jpg"
    outside.write_bytes((bundle_dir / image).read_bytes())
    remove_file(bundle_dir, image)
    os.symlink(outside, bundle_dir / image)

    assert only_problem(bundle_dir) == BundleProblem(
        image, "", "is a symbolic link; every entry must be a regular file"
    )


def test_bad_created_at_is_named(bundle_dir: Path) -> None:
    edit_json(bundle_dir, "manifest.json", lambda doc: doc.update(created_at="last Tuesday"))
    problem = only_problem(bundle_dir)
    assert (problem.file, problem.field) == ("manifest.json", "created_at")
    assert "ISO 8601" in problem.problem


def test_every_problem_is_collected_into_one_error(bundle_dir: Path) -> None:
    def break_prices(doc: dict[str, Any]) -> None:
        for product in doc["products"]:
            product["price"]["amount"] = "-5"

    edit_json(bundle_dir, "catalog.json", break_prices)
    remove_file(bundle_dir, "playlist.json")

    with pytest.raises(BundleError) as caught:
        load_bundle(bundle_dir)

    error = caught.value
    assert len(error.problems) == 17
    text = str(error)
    assert text.startswith("17 problem(s) in content bundle:")
    assert (
        "catalog.json: products[0].price.amount: Input should be greater than or equal to 0" in text
    )
    assert "... and 7 more" in text


def test_field_path_reads_like_code() -> None:
    assert field_path(("products", 3, "price", "amount")) == "products[3].price.amount"
    assert field_path(("name", "zh-CN")) == "name.zh-CN"
    assert field_path(("related", "8848 Pro", 0)) == 'related["8848 Pro"][0]'
    assert field_path(()) == ""


def test_ten_thousand_products_load(tmp_path: Path) -> None:
    root = sample_bundle(tmp_path / "big", products=10_000)

    quick = load_bundle(root, verify_hashes=False)
    verified = load_bundle(root, verify_hashes=True)

    assert len(quick.catalog.products) == len(verified.catalog.products) == 10_000
    last = read_json(root, "catalog.json")["products"][-1]["sku"]
    assert isinstance(quick, Bundle)
    assert quick.product(last) is not None
