"""The live switch in the running kiosk: a release staged by the relay becomes the one on
screen on the attract loop, never under a shopper's hands; one that does not load is
refused and reported, and the old content stays. The kiosk is wired as `kiosk` runs it
(kiosk.app.build) with the simulated pickup board; releases are staged into its real
content store as the relay child's updater does (ContentStore.stage)."""

from __future__ import annotations

import json
import os
import threading
import weakref
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers.bundles import edit_json, sample_bundle
from helpers.pickup import running_board
from helpers.qt_kiosk import started, themed
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from backend_client.status import ContentStatus
from content import reports
from content.bundle import Bundle
from content.store import ContentStore
from devices.sim.pickup import PickupBoardSim
from kiosk.app import Kiosk, KioskOptions
from kiosk.content_switch import ContentSwitch, ReadyContent
from kiosk.session import SessionConfig
from kiosk.trace import NullTrace

GRACE = 0.6
SLOT = 3
SKU = "XH-X60-256-PU"  # on slot 3 in the sample bundle
NEW_NAME = "春季新品 X60"
WAIT_MS = 10_000


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The release the kiosk starts with, and HQ's release 12 that renames slot 3's phone."""
    root = tmp_path_factory.mktemp("content")
    old = sample_bundle(root / "old", release="sample-16-1")
    new = sample_bundle(root / "hq-12", release="hq-12")

    def rename(catalog: Any) -> None:
        for product in catalog["products"]:
            if product["sku"] == SKU:
                product["name"]["zh-CN"] = NEW_NAME

    edit_json(new, "catalog.json", rename)
    return {"old": old, "new": new}


@pytest.fixture
def board(tmp_path: Path) -> Iterator[PickupBoardSim]:
    with running_board(tmp_path) as sim:
        yield sim


def start(
    qtbot: QtBot, qapp: QApplication, tmp_path: Path, board: PickupBoardSim, content: Path | None
) -> Kiosk:
    themed(qapp)
    options = KioskOptions(
        content=content,
        pickup_port=board.port,
        data_dir=tmp_path / "data",
        trace=tmp_path / "trace.jsonl",
        session=SessionConfig(drop_grace=GRACE),
    )
    built = started(options, qapp, qtbot, board)
    return built


@pytest.fixture
def kiosk(
    qtbot: QtBot,
    qapp: QApplication,
    board: PickupBoardSim,
    sources: dict[str, Path],
    tmp_path: Path,
) -> Iterator[Kiosk]:
    built = start(qtbot, qapp, tmp_path, board, sources["old"])
    yield built
    built.close()


def store_of(tmp_path: Path) -> ContentStore:
    return ContentStore(tmp_path / "data" / "content")


def stage(tmp_path: Path, source: Path, number: int = 12, **when: datetime | None) -> None:
    store_of(tmp_path).stage(source, number=number, not_before=when.get("not_before"))


def relay_says(kiosk: Kiosk, status: ContentStatus) -> None:
    """What the relay child's status line does, on the supervisor thread in production."""
    assert kiosk.content_switch is not None
    kiosk.content_switch.on_content(status)


STAGED_12 = ContentStatus(("hq-12",), None, None)


def lift_shows(qtbot: QtBot, kiosk: Kiosk, board: PickupBoardSim) -> str:
    board.lift(SLOT)
    qtbot.waitUntil(kiosk.window.product.isVisible, timeout=WAIT_MS)
    return kiosk.window.product.title.text()


def trace_of(tmp_path: Path, kind: str) -> list[dict[str, Any]]:
    lines = (tmp_path / "trace.jsonl").read_text().splitlines()
    return [entry for entry in map(json.loads, lines) if entry["kind"] == kind]


def current_of(tmp_path: Path) -> str:
    return os.readlink(tmp_path / "data" / "content" / "current")


def test_a_staged_release_switches_on_the_attract_loop_and_a_lift_shows_its_product(
    qtbot: QtBot, kiosk: Kiosk, board: PickupBoardSim, sources: dict[str, Path], tmp_path: Path
) -> None:
    assert kiosk.content_switch is not None
    stage(tmp_path, sources["new"])

    with qtbot.waitSignal(kiosk.content_switch.switched, timeout=WAIT_MS) as switched:
        relay_says(kiosk, STAGED_12)

    assert isinstance(switched.args[0], ReadyContent)
    assert kiosk.bundle is not None
    assert kiosk.bundle.release == "hq-12"
    assert current_of(tmp_path) == "releases/hq-12"
    qtbot.waitUntil(  # the trace has a writer thread of its own
        lambda: (
            {"status": "switched", "release": "hq-12"}.items()
            <= trace_of(tmp_path, "content")[-1].items()
        ),
        timeout=WAIT_MS,
    )
    # The new attract is painted as a new screen (the switch's first paint, which
    # bench/content_switch.py times).
    qtbot.waitUntil(
        lambda: len([p for p in trace_of(tmp_path, "paint") if p["view"] == "attract"]) >= 2,
        timeout=WAIT_MS,
    )
    assert lift_shows(qtbot, kiosk, board) == NEW_NAME


def test_the_old_release_is_freed_off_the_gui_thread(
    qtbot: QtBot, kiosk: Kiosk, sources: dict[str, Path], tmp_path: Path
) -> None:
    """Freeing a release read whole (tens of thousands of objects for a large catalog)
    would stall the attract loop's animation: the switch's worker lets go of it."""
    assert kiosk.content_switch is not None
    assert kiosk.bundle is not None
    freed_on: list[threading.Thread] = []
    weakref.finalize(kiosk.bundle.catalog, lambda: freed_on.append(threading.current_thread()))
    stage(tmp_path, sources["new"])

    with qtbot.waitSignal(kiosk.content_switch.switched, timeout=WAIT_MS):
        relay_says(kiosk, STAGED_12)
    qtbot.waitUntil(lambda: bool(freed_on), timeout=WAIT_MS)

    assert freed_on[0] is not threading.main_thread()


def test_nothing_switches_mid_session_the_switch_waits_for_the_attract_loop(
    qtbot: QtBot, kiosk: Kiosk, board: PickupBoardSim, sources: dict[str, Path], tmp_path: Path
) -> None:
    switch = kiosk.content_switch
    assert switch is not None
    old_name = lift_shows(qtbot, kiosk, board)
    qtbot.wait(300)  # held, not a bounce
    stage(tmp_path, sources["new"])

    relay_says(kiosk, STAGED_12)
    qtbot.waitUntil(lambda: switch.held_for_attract, timeout=WAIT_MS)

    assert kiosk.window.product.title.text() == old_name
    assert kiosk.bundle is not None
    assert kiosk.bundle.release == "sample-16-1"
    assert current_of(tmp_path) == "releases/sample-16-1"
    board.lift(7)  # still the old release's planogram and catalog mid-session
    qtbot.waitUntil(kiosk.window.compare.isVisible, timeout=WAIT_MS)
    assert kiosk.window.compare.left.title.text() == old_name

    with qtbot.waitSignal(switch.switched, timeout=WAIT_MS):
        board.drop(7)
        board.drop(SLOT)  # the shopper leaves: attract after the grace, then the switch

    assert kiosk.window.attract.isVisible()
    assert lift_shows(qtbot, kiosk, board) == NEW_NAME


def test_a_release_that_does_not_load_is_refused_reported_and_the_old_one_stays(
    qtbot: QtBot, kiosk: Kiosk, board: PickupBoardSim, sources: dict[str, Path], tmp_path: Path
) -> None:
    stage(tmp_path, sources["new"])
    (tmp_path / "data" / "content" / "releases" / "hq-12" / "catalog.json").unlink()

    relay_says(kiosk, STAGED_12)
    qtbot.waitUntil(
        lambda: any(e["status"] == "load_failed" for e in trace_of(tmp_path, "content")),
        timeout=WAIT_MS,
    )

    assert current_of(tmp_path) == "releases/sample-16-1"
    assert lift_shows(qtbot, kiosk, board) != NEW_NAME
    [report] = reports.pending(tmp_path / "data" / "content")
    assert (report.release, report.reason) == (12, "load_failed")
    assert "catalog.json" in report.detail
    relay_says(kiosk, STAGED_12)  # told again: not tried again
    qtbot.wait(200)
    assert len(reports.pending(tmp_path / "data" / "content")) == 1


def test_a_first_install_shows_progress_then_the_content(
    qtbot: QtBot,
    qapp: QApplication,
    board: PickupBoardSim,
    sources: dict[str, Path],
    tmp_path: Path,
) -> None:
    kiosk = start(qtbot, qapp, tmp_path, board, None)
    try:
        attract = kiosk.window.attract
        assert not attract.download_bar.isVisible()

        relay_says(kiosk, ContentStatus((), (12, 450_000, 1_000_000), None))
        qtbot.waitUntil(attract.download_bar.isVisible, timeout=WAIT_MS)
        assert attract.download_bar.value() == 45
        assert "45%" in attract.download_text.text()

        stage(tmp_path, sources["new"])
        assert kiosk.content_switch is not None
        with qtbot.waitSignal(kiosk.content_switch.switched, timeout=WAIT_MS):
            relay_says(kiosk, STAGED_12)

        assert not attract.download_bar.isVisible()
        assert lift_shows(qtbot, kiosk, board) == NEW_NAME
    finally:
        kiosk.close()


def test_a_release_staged_while_the_kiosk_was_off_is_shown_from_the_start(
    qtbot: QtBot,
    qapp: QApplication,
    board: PickupBoardSim,
    sources: dict[str, Path],
    tmp_path: Path,
) -> None:
    store = store_of(tmp_path)
    store.install(sources["old"])
    stage(tmp_path, sources["new"])

    kiosk = start(qtbot, qapp, tmp_path, board, None)
    try:
        assert kiosk.bundle is not None
        assert kiosk.bundle.release == "hq-12"
        assert lift_shows(qtbot, kiosk, board) == NEW_NAME
    finally:
        kiosk.close()


class _Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_a_scheduled_release_switches_at_its_not_before_and_not_earlier(
    qtbot: QtBot, sources: dict[str, Path], tmp_path: Path
) -> None:
    now = datetime(2026, 12, 6, 18, 0, tzinfo=UTC)
    store = ContentStore(tmp_path / "content")
    bundle = store.install(sources["old"])
    store.stage(sources["new"], number=12, not_before=now + timedelta(hours=7))
    clock = _Clock(now)
    swapped: list[Bundle] = []
    switch: ContentSwitch[None] = ContentSwitch(store, bundle, trace=NullTrace(), clock=clock)
    switch.connect_kiosk(
        on_attract=lambda: True,
        prepare=lambda _bundle: None,
        apply=lambda ready: swapped.append(ready.bundle),
    )
    try:
        switch.start()
        qtbot.waitUntil(lambda: switch.next_switch_at is not None, timeout=WAIT_MS)
        assert switch.next_switch_at == now + timedelta(hours=7)

        clock.now = now + timedelta(hours=6, minutes=59)
        switch.consider()  # e.g. a status from the relay, a minute early
        assert swapped == []
        assert os.readlink(store.root / "current") == "releases/sample-16-1"

        clock.now = now + timedelta(hours=7)
        with qtbot.waitSignal(switch.switched, timeout=WAIT_MS):
            switch.consider()  # the wake-up timer's call
        assert [b.release for b in swapped] == ["hq-12"]
    finally:
        switch.close()


def test_a_restart_with_the_factory_bundle_stays_on_the_release_switched_to(
    qtbot: QtBot,
    qapp: QApplication,
    board: PickupBoardSim,
    sources: dict[str, Path],
    tmp_path: Path,
) -> None:
    kiosk = start(qtbot, qapp, tmp_path, board, sources["old"])
    try:
        assert kiosk.content_switch is not None
        stage(tmp_path, sources["new"])
        with qtbot.waitSignal(kiosk.content_switch.switched, timeout=WAIT_MS):
            relay_says(kiosk, STAGED_12)
    finally:
        kiosk.close()

    again = start(qtbot, qapp, tmp_path, board, sources["old"])  # the unit's --content
    try:
        assert again.bundle is not None
        assert again.bundle.release == "hq-12"
        assert lift_shows(qtbot, again, board) == NEW_NAME
    finally:
        again.close()
