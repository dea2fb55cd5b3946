"""Releases from HQ staged before they are shown: hard links, no switch, the high-water mark."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers.bundles import edit_json, flip_byte, image_paths, sample_bundle

from content.bundle import BundleError
from content.store import STAGED, ContentStore, StagedRelease

LATER = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> ContentStore:
    return ContentStore(tmp_path / "content")


def hq_release(tmp_path: Path, number: int) -> Path:
    """A bundle laid out as the updater lays one out (same file system as the store)."""
    source = tmp_path / "content" / "staging" / f"hq-{number}"
    source.parent.mkdir(parents=True, exist_ok=True)
    return sample_bundle(source, release=f"hq-{number}")


def test_staging_links_the_files_in_and_leaves_current_alone(
    store: ContentStore, tmp_path: Path
) -> None:
    store.install(sample_bundle(tmp_path / "local", release="local-1"))
    source = hq_release(tmp_path, 12)

    bundle = store.stage(source, number=12, not_before=LATER)

    assert bundle.release == "hq-12"
    assert store.current_release() == "local-1"
    assert store.staged() == [StagedRelease("hq-12", 12, LATER)]
    picture = image_paths(source)[0]
    staged = store.root / "releases" / "hq-12"
    assert (staged / picture).stat().st_ino == (source / picture).stat().st_ino  # no copy
    assert json.loads((staged / STAGED).read_text()) == {
        "number": 12,
        "not_before": LATER.isoformat(),
    }
    assert store.highest_number() == 12


def test_a_bundle_the_loader_refuses_is_not_staged(store: ContentStore, tmp_path: Path) -> None:
    source = hq_release(tmp_path, 3)
    edit_json(source, "catalog.json", lambda c: c["products"][0]["price"].update(amount="-1"))

    with pytest.raises(BundleError):
        store.stage(source, number=3, not_before=None)

    assert store.staged() == []
    assert store.releases() == []
    assert store.highest_number() == 0


def test_a_file_not_matching_the_manifest_is_not_staged(
    store: ContentStore, tmp_path: Path
) -> None:
    source = hq_release(tmp_path, 3)
    flip_byte(source, image_paths(source)[0])

    with pytest.raises(BundleError, match="does not match"):
        store.stage(source, number=3, not_before=None)

    assert store.releases() == []


def test_a_release_named_otherwise_than_its_number_is_refused(
    store: ContentStore, tmp_path: Path
) -> None:
    source = hq_release(tmp_path, 3)

    with pytest.raises(BundleError, match="hq-4"):
        store.stage(source, number=4, not_before=None)


def test_a_newer_staged_release_supersedes_an_unshown_older_one(
    store: ContentStore, tmp_path: Path
) -> None:
    store.stage(hq_release(tmp_path, 3), number=3, not_before=LATER)
    store.stage(hq_release(tmp_path, 4), number=4, not_before=None)

    assert [s.name for s in store.staged()] == ["hq-4"]
    assert store.releases() == ["hq-4"]


def test_an_unshown_staged_release_is_no_fallback_and_is_never_pruned(
    store: ContentStore, tmp_path: Path
) -> None:
    store.install(sample_bundle(tmp_path / "r1", release="r1"))
    store.install(sample_bundle(tmp_path / "r2", release="r2"))
    store.stage(hq_release(tmp_path, 9), number=9, not_before=LATER)
    current = store.root / "releases" / "r2"
    (current / image_paths(current)[0]).write_bytes(b"truncated")

    shown = store.current()
    store.prune(keep=1)

    assert shown is not None
    assert shown.release == "r1"  # not hq-9: it is not due, and not proven
    assert "hq-9" in store.releases()


def test_a_staged_release_that_was_booted_is_staged_no_more(
    store: ContentStore, tmp_path: Path
) -> None:
    store.stage(hq_release(tmp_path, 9), number=9, not_before=None)
    (store.root / "releases" / "hq-9" / ".boots").write_text("1")

    assert store.staged() == []


def test_the_high_water_mark_only_rises_and_outlives_pruning(
    store: ContentStore, tmp_path: Path
) -> None:
    store.record_highest(7)
    store.record_highest(5)
    assert store.highest_number() == 7

    store.stage(hq_release(tmp_path, 8), number=8, not_before=None)
    store.install(sample_bundle(tmp_path / "r1", release="r1"))
    store.prune(keep=0)

    assert store.highest_number() == 8
    assert ContentStore(store.root).highest_number() == 8


def test_staging_the_same_release_again_returns_it(store: ContentStore, tmp_path: Path) -> None:
    source = hq_release(tmp_path, 2)
    store.stage(source, number=2, not_before=None)
    inode = os.stat(store.root / "releases" / "hq-2" / "catalog.json").st_ino

    again = store.stage(source, number=2, not_before=None)

    assert again.release == "hq-2"
    assert os.stat(store.root / "releases" / "hq-2" / "catalog.json").st_ino == inode
