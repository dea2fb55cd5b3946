"""Switching releases on disk: activate, starts counted, the good mark, crash rollback."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from helpers.bundles import sample_bundle

from content import reports
from content.bundle import BundleError
from content.store import (
    BOOTS,
    GOOD,
    MAX_UNPROVEN_BOOTS,
    STAGED,
    ContentStore,
)

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> ContentStore:
    return ContentStore(tmp_path / "content")


@pytest.fixture
def installed(store: ContentStore, tmp_path: Path) -> Any:
    """installed("r1", number=11) -> the release installed (made current) from a fresh copy."""

    def install(release: str, *, number: int | None = None) -> str:
        source = sample_bundle(tmp_path / "sources" / release, release=release)
        store.install(source)
        if number is not None:  # as ContentStore.stage records HQ's number
            info = {"number": number, "not_before": None}
            (store.root / "releases" / release / STAGED).write_text(json.dumps(info))
        return release

    return install


def current(store: ContentStore) -> str:
    return os.readlink(store.root / "current")


def start_kiosk(store: ContentStore) -> str | None:
    """What a kiosk start does: count the start (or roll back), then load what to show."""
    store.note_start(NOW)
    bundle = store.current()
    return None if bundle is None else bundle.release


def test_activate_points_current_at_the_release_and_returns_it_loaded(
    store: ContentStore, installed: Any
) -> None:
    installed("r1")
    installed("r2")

    bundle = store.activate("r1")

    assert bundle.release == "r1"
    assert bundle.catalog.products  # loaded, ready for the screen
    assert current(store) == "releases/r1"
    fresh = ContentStore(store.root).current()  # what the next start loads
    assert fresh is not None
    assert fresh.release == "r1"


def test_activate_an_unknown_release_raises_and_keeps_current(
    store: ContentStore, installed: Any
) -> None:
    installed("r1")

    for name in ("r9", "../r1", ".tmp-x"):
        with pytest.raises(BundleError, match="not installed"):
            store.activate(name)

    assert current(store) == "releases/r1"


def test_activate_a_damaged_release_raises_and_keeps_current(
    store: ContentStore, installed: Any
) -> None:
    installed("r1")
    installed("r2")
    store.activate("r1")
    (store.root / "releases" / "r2" / "catalog.json").write_text("{}")  # size no longer matches

    with pytest.raises(BundleError):
        store.activate("r2")

    assert current(store) == "releases/r1"


def test_activated_release_becomes_the_newest_for_rollback(
    store: ContentStore, installed: Any
) -> None:
    installed("r1")
    installed("r2")

    store.activate("r1")

    assert store.releases() == ["r2", "r1"]


def test_a_release_that_crashes_three_starts_gives_way_to_the_last_good_one(
    store: ContentStore, installed: Any
) -> None:
    installed("r1", number=11)
    store.mark_good("r1")
    installed("r2", number=12)
    store.activate("r1")  # as if r2 were only staged
    store.activate("r2")  # the switch: the first run on r2, which crashes

    shown = [start_kiosk(store) for _ in range(MAX_UNPROVEN_BOOTS)]

    assert shown == ["r2", "r2", "r1"]  # two more crashed starts, then the rollback
    assert current(store) == "releases/r1"
    assert store.is_refused("r2")
    [report] = reports.pending(store.root)
    assert (report.release, report.reason) == (12, "crashed")
    assert start_kiosk(store) == "r1"  # and it stays there
    with pytest.raises(BundleError, match="crashed"):
        store.activate("r2")  # never again
    assert len(reports.pending(store.root)) == 1


def test_a_release_marked_good_survives_any_number_of_starts(
    store: ContentStore, installed: Any
) -> None:
    installed("r1")
    installed("r2")
    store.mark_good("r2")

    shown = [start_kiosk(store) for _ in range(MAX_UNPROVEN_BOOTS + 3)]

    assert shown == ["r2"] * (MAX_UNPROVEN_BOOTS + 3)
    assert (store.root / "releases" / "r2" / GOOD).exists()
    assert reports.pending(store.root) == []


def test_crash_loop_without_another_release_keeps_the_only_one(
    store: ContentStore, installed: Any
) -> None:
    installed("r1")

    shown = [start_kiosk(store) for _ in range(MAX_UNPROVEN_BOOTS + 2)]

    assert shown == ["r1"] * (MAX_UNPROVEN_BOOTS + 2)  # something beats a blank screen
    assert not store.is_refused("r1")


def test_crash_rollback_prefers_a_good_release_to_a_newer_unproven_one(
    store: ContentStore, installed: Any
) -> None:
    installed("r1")
    store.mark_good("r1")
    installed("r2")  # never ran a minute
    installed("r3")

    for _ in range(MAX_UNPROVEN_BOOTS + 1):
        start_kiosk(store)

    assert current(store) == "releases/r1"


def test_crash_rollback_skips_a_damaged_good_release(store: ContentStore, installed: Any) -> None:
    installed("r1")
    store.mark_good("r1")
    installed("r2")
    store.mark_good("r2")
    installed("r3")
    (store.root / "releases" / "r2" / "catalog.json").unlink()

    for _ in range(MAX_UNPROVEN_BOOTS + 1):
        start_kiosk(store)

    assert current(store) == "releases/r1"


def test_a_torn_boot_count_counts_from_zero(store: ContentStore, installed: Any) -> None:
    installed("r1")
    installed("r2")
    (store.root / "releases" / "r2" / BOOTS).write_bytes(b"\xff")

    assert start_kiosk(store) == "r2"
    assert (store.root / "releases" / "r2" / BOOTS).read_text() == "1"


def test_refused_release_is_passed_over_at_start(store: ContentStore, installed: Any) -> None:
    installed("r1")
    installed("r2")

    store.refuse("r2", "load_failed")

    choice = store.choose()
    assert choice.bundle is not None
    assert choice.bundle.release == "r1"
    assert [skipped.release for skipped in choice.passed_over] == ["r2"]
    assert "load_failed" in choice.passed_over[0].first_problem


def test_number_is_hq_release_number_or_none(store: ContentStore, installed: Any) -> None:
    installed("local")
    installed("hq-12", number=12)
    (store.root / "releases" / "local" / STAGED).write_text("not json")

    assert store.number("hq-12") == 12
    assert store.number("local") is None
    assert store.number("missing") is None
