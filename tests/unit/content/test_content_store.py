"""Releases on disk: install, atomic switch, rollback, the last good bundle, pruning."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import pytest
from helpers.bundles import (
    BAD_PICTURES,
    attract_picture,
    edit_json,
    flip_byte,
    image_paths,
    link_outside,
    make_fifo,
    product_picture,
    sample_bundle,
    without_waiting_on,
    write_file,
)

from content.bundle import BundleError
from content.store import PICTURES_OK, PICTURES_REFUSED, ContentStore, PassedOver


@pytest.fixture
def store(tmp_path: Path) -> ContentStore:
    return ContentStore(tmp_path / "content")


@pytest.fixture
def make_release(tmp_path: Path) -> Any:
    """make_release("r1") -> a source bundle directory labelled release r1 (made once)."""

    def make(release: str) -> Path:
        source = tmp_path / "sources" / release
        return source if source.exists() else sample_bundle(source, release=release)

    return make


def link_target(store: ContentStore) -> str:
    return os.readlink(store.root / "current")


def leftovers(store: ContentStore) -> list[str]:
    hidden = [p.name for p in (store.root / "releases").iterdir() if p.name.startswith(".")]
    return hidden + [p.name for p in store.root.glob(".current-*")]


def test_empty_store_has_nothing_to_show(store: ContentStore) -> None:
    assert store.current() is None
    assert store.releases() == []
    assert store.rollback() is None


def test_install_copies_the_release_and_makes_it_current(
    store: ContentStore, make_release: Any
) -> None:
    source = make_release("r1")

    bundle = store.install(source)

    assert bundle.release == "r1"
    assert bundle.root == store.root / "releases" / "r1"
    assert link_target(store) == "releases/r1"
    assert store.releases() == ["r1"]
    current = store.current()
    assert current is not None
    assert current.release == "r1"
    # Served from the store's copy, not from wherever the download was.
    image = current.catalog.products[0].images[0]
    assert current.asset(image).is_relative_to(store.root)
    assert leftovers(store) == []


def test_bad_bundle_is_refused_and_the_last_good_one_stays(
    store: ContentStore, make_release: Any
) -> None:
    store.install(make_release("r1"))
    bad = make_release("r2")
    edit_json(bad, "catalog.json", lambda doc: doc["products"][0]["price"].update(amount="-1"))

    with pytest.raises(BundleError) as caught:
        store.install(bad)

    assert caught.value.problems[0].field == "products[0].price.amount"
    assert link_target(store) == "releases/r1"
    current = store.current()
    assert current is not None
    assert current.release == "r1"
    assert store.releases() == ["r1"]
    assert leftovers(store) == []


def test_corrupted_download_is_refused(store: ContentStore, make_release: Any) -> None:
    source = make_release("r1")
    flip_byte(source, image_paths(source)[0])

    with pytest.raises(BundleError):
        store.install(source)

    assert store.current() is None
    assert store.releases() == []


def test_new_release_replaces_the_link_in_one_step(store: ContentStore, make_release: Any) -> None:
    store.install(make_release("r1"))
    old_link = os.lstat(store.root / "current").st_ino

    bundle = store.install(make_release("r2"))

    assert bundle.release == "r2"
    assert link_target(store) == "releases/r2"
    # A new link renamed over the old one (os.replace), not the old one rewritten.
    assert os.lstat(store.root / "current").st_ino != old_link
    assert store.releases() == ["r1", "r2"]
    assert leftovers(store) == []


def test_interrupted_switch_leaves_the_old_release_current(
    store: ContentStore, make_release: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.install(make_release("r1"))

    def power_cut(src: object, dst: object) -> None:
        raise OSError("power cut")

    monkeypatch.setattr(os, "replace", power_cut)
    with pytest.raises(OSError, match="power cut"):
        store.install(make_release("r2"))
    monkeypatch.undo()

    current = store.current()
    assert current is not None
    assert current.release == "r1"


def test_rollback_steps_back_through_install_order(store: ContentStore, make_release: Any) -> None:
    for release in ("r1", "r2", "r3"):
        store.install(make_release(release))

    first = store.rollback()
    second = store.rollback()
    third = store.rollback()

    assert first is not None
    assert first.release == "r2"
    assert second is not None
    assert second.release == "r1"
    assert third is None  # nothing older: stays on r1
    assert link_target(store) == "releases/r1"


def test_damaged_current_release_falls_back_to_newest_intact_one(
    store: ContentStore, make_release: Any, caplog: pytest.LogCaptureFixture
) -> None:
    for release in ("r1", "r2", "r3"):
        store.install(make_release(release))
    installed = store.root / "releases" / "r3"
    (installed / image_paths(installed)[0]).write_bytes(b"truncated")

    with caplog.at_level(logging.WARNING, logger="content.store"):
        bundle = store.current()

    assert bundle is not None
    assert bundle.release == "r2"
    assert any(
        r.levelno == logging.ERROR and "r3" in r.getMessage() and "1 problem" in r.getMessage()
        for r in caplog.records
    )
    assert link_target(store) == "releases/r3"  # reading never rewrites the link


def test_deleted_current_release_falls_back(store: ContentStore, make_release: Any) -> None:
    store.install(make_release("r1"))
    store.install(make_release("r2"))
    os.rename(store.root / "releases" / "r2", store.root / "moved-away")

    bundle = store.current()

    assert bundle is not None
    assert bundle.release == "r1"


def test_damaged_only_release_gives_nothing(store: ContentStore, make_release: Any) -> None:
    store.install(make_release("r1"))
    (store.root / "releases" / "r1" / "catalog.json").write_text("{}")

    assert store.current() is None


def test_installing_the_same_release_again_changes_nothing(
    store: ContentStore, make_release: Any
) -> None:
    source = make_release("r1")
    store.install(source)
    before = os.stat(store.root / "releases" / "r1")
    link_before = os.lstat(store.root / "current")

    bundle = store.install(source)

    assert bundle.release == "r1"
    after = os.stat(store.root / "releases" / "r1")
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert os.lstat(store.root / "current").st_ino == link_before.st_ino
    assert store.releases() == ["r1"]
    assert leftovers(store) == []


def test_installing_an_older_release_again_makes_it_current_and_newest(
    store: ContentStore, make_release: Any
) -> None:
    store.install(make_release("r1"))
    store.install(make_release("r2"))

    bundle = store.install(make_release("r1"))  # downloaded again

    assert bundle.release == "r1"
    assert link_target(store) == "releases/r1"
    assert store.releases() == ["r2", "r1"]
    rolled = store.rollback()
    assert rolled is not None
    assert rolled.release == "r2"


def test_same_release_with_other_content_is_refused(
    store: ContentStore, make_release: Any, tmp_path: Path
) -> None:
    store.install(make_release("r1"))
    changed = sample_bundle(tmp_path / "changed", release="r1")
    edit_json(
        changed, "catalog.json", lambda doc: doc["products"][0]["price"].update(amount="1.00")
    )

    with pytest.raises(BundleError) as caught:
        store.install(changed)

    problem = caught.value.problems[0]
    assert (problem.file, problem.field) == ("manifest.json", "release")
    current = store.current()
    assert current is not None
    assert current.catalog.products[0].price.amount != 1


def test_reinstalling_repairs_a_damaged_copy(store: ContentStore, make_release: Any) -> None:
    source = make_release("r1")
    store.install(source)
    installed = store.root / "releases" / "r1"
    (installed / image_paths(installed)[0]).unlink()

    bundle = store.install(source)

    assert bundle.release == "r1"
    assert store.current() is not None
    assert leftovers(store) == []


def test_prune_keeps_the_newest_and_the_current_release(
    store: ContentStore, make_release: Any
) -> None:
    for release in ("r1", "r2", "r3", "r4"):
        store.install(make_release(release))
    store.rollback()
    store.rollback()  # now on r2

    store.prune(keep=1)

    assert store.releases() == ["r2", "r4"]
    current = store.current()
    assert current is not None
    assert current.release == "r2"
    assert leftovers(store) == []


def test_prune_clears_leftovers_of_an_interrupted_install(
    store: ContentStore, make_release: Any
) -> None:
    store.install(make_release("r1"))
    (store.root / "releases" / ".tmp-crashed").mkdir()
    (store.root / "releases" / ".tmp-crashed" / "catalog.json").write_text("{")

    store.prune()

    assert store.releases() == ["r1"]
    assert leftovers(store) == []


def test_relative_store_root_still_gives_absolute_asset_paths(
    tmp_path: Path, make_release: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = make_release("r1")
    monkeypatch.chdir(tmp_path)
    store = ContentStore(Path("content"))

    bundle = store.install(source)

    image = bundle.catalog.products[0].images[0]
    assert bundle.asset(image).is_absolute()
    current = store.current()
    assert current is not None
    assert current.asset(image) == bundle.asset(image)


# --- Pictures the kiosk cannot show, links, leftovers ------------------------------


@pytest.mark.parametrize("where", ["attract", "product"])
@pytest.mark.parametrize("kind", sorted(BAD_PICTURES))
def test_a_release_with_a_picture_the_kiosk_cannot_show_is_refused(
    store: ContentStore, make_release: Any, kind: str, where: str
) -> None:
    store.install(make_release("r1"))
    bad = make_release("r2")
    picture = attract_picture(bad) if where == "attract" else product_picture(bad)
    write_file(bad, picture, BAD_PICTURES[kind]())

    with pytest.raises(BundleError) as caught:
        store.install(bad)

    [problem] = caught.value.problems
    assert problem.file == picture
    assert problem.problem.startswith("picture ")
    assert link_target(store) == "releases/r1"
    assert store.releases() == ["r1"]  # never renamed into place
    assert leftovers(store) == []


def test_an_installed_release_records_that_its_pictures_were_checked(
    store: ContentStore, make_release: Any
) -> None:
    bundle = store.install(make_release("r1"))

    assert (bundle.root / PICTURES_OK).exists()
    assert store.choose().passed_over == ()


def test_a_release_installed_before_pictures_were_checked_is_checked_once_then_passed_over(
    store: ContentStore, make_release: Any
) -> None:
    store.install(make_release("r1"))
    store.install(make_release("r2"))
    # As an older kiosk installed it: no marker, and a bomb for a poster (listed
    # in the manifest with its size and hash: only decoding can tell).
    installed = store.root / "releases" / "r2"
    (installed / PICTURES_OK).unlink()
    poster = attract_picture(installed)
    write_file(installed, poster, BAD_PICTURES["bomb-png"]())

    first = store.choose()
    again = store.choose()

    for choice in (first, again):
        assert choice.bundle is not None
        assert choice.bundle.release == "r1"
        [skipped] = choice.passed_over
        assert isinstance(skipped, PassedOver)
        assert skipped.release == "r2"
        assert skipped.first_problem.startswith(f"{poster}: picture has 2,500,000,000 pixels")
    assert (installed / PICTURES_REFUSED).exists()  # the second choice did not decode again
    assert link_target(store) == "releases/r2"  # choosing never rewrites the link
    assert store.rollback() is not None
    assert link_target(store) == "releases/r1"


def test_a_release_installed_before_pictures_were_checked_is_marked_good_once(
    store: ContentStore, make_release: Any
) -> None:
    bundle = store.install(make_release("r1"))
    (bundle.root / PICTURES_OK).unlink()

    choice = store.choose()

    assert choice.bundle is not None
    assert choice.bundle.release == "r1"
    assert (bundle.root / PICTURES_OK).exists()


def test_a_bundle_with_a_link_out_of_it_is_refused_and_nothing_outside_is_copied(
    store: ContentStore, make_release: Any
) -> None:
    store.install(make_release("r1"))
    bad = make_release("r2")
    link_outside(bad, "catalog.json")

    with pytest.raises(BundleError) as caught:
        store.install(bad)

    assert caught.value.problems[0].file == "catalog.json"
    assert store.releases() == ["r1"]


@pytest.mark.parametrize("again", ["the interrupted release", "the current release"])
def test_a_link_left_by_an_interrupted_switch_is_cleared_by_the_next_install(
    store: ContentStore, make_release: Any, monkeypatch: pytest.MonkeyPatch, again: str
) -> None:
    store.install(make_release("r1"))

    def killed(src: object, dst: object) -> None:
        raise OSError("killed")  # between making the new link and swapping it in

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(OSError, match="killed"):
        store.install(make_release("r2"))
    monkeypatch.undo()
    assert [name for name in leftovers(store) if name.startswith(".current-")]

    store.install(make_release("r2" if again == "the interrupted release" else "r1"))

    assert leftovers(store) == []


def test_a_manifest_that_is_a_fifo_in_the_source_does_not_stop_a_restart(
    store: ContentStore, make_release: Any
) -> None:
    store.install(make_release("r1"))
    bad = make_release("r2")
    make_fifo(bad, "manifest.json")

    error = without_waiting_on(bad / "manifest.json", lambda: store.install(bad))

    assert isinstance(error, BundleError)
    assert error.problems[0].file == "manifest.json"
    assert link_target(store) == "releases/r1"
