"""The shopper's first minute, through a real pseudo-terminal, the real driver and the real app.

The simulated board plays the cabinet; the kiosk is wired exactly as `kiosk`
runs it (kiosk.app.build), with short grace and idle times so tests are quick.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.bundles import sample_bundle
from helpers.pickup import running_board
from helpers.qt_kiosk import started, themed
from helpers.touch import tap
from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from backend_client.crypto import PayloadCipher
from backend_client.outbox import Outbox, StoredRecord
from content.bundle import load_bundle
from content.model import Language
from devices.protocols.pickup import Led, LedMode
from devices.sim.pickup import PickupBoardSim
from kiosk.app import Kiosk, KioskOptions
from kiosk.session import SessionConfig

GRACE = 0.6
IDLE = 2.5


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sample_bundle(tmp_path_factory.mktemp("content") / "bundle")


@pytest.fixture
def board(tmp_path: Path) -> Iterator[PickupBoardSim]:
    with running_board(tmp_path) as sim:
        yield sim


@pytest.fixture
def kiosk(
    qtbot: QtBot, qapp: QApplication, board: PickupBoardSim, bundle_dir: Path, tmp_path: Path
) -> Iterator[Kiosk]:
    themed(qapp)
    options = KioskOptions(
        content=bundle_dir,
        pickup_port=board.port,
        data_dir=tmp_path / "data",
        trace=tmp_path / "trace.jsonl",
        session=SessionConfig(drop_grace=GRACE, idle_timeout=IDLE),
    )
    built = started(options, qapp, qtbot, board)
    yield built
    built.close()


def name_of(bundle_dir: Path, slot: int, language: Language = Language.ZH_CN) -> str:
    bundle = load_bundle(bundle_dir, verify_hashes=False)
    sku = bundle.sku_on_slot(slot)
    assert sku is not None
    product = bundle.product(sku)
    assert product is not None
    return product.name.get(language)


def showing(kiosk: Kiosk) -> str:
    return kiosk.controller.state.view.key


def test_lift_shows_the_right_product(
    qtbot: QtBot, kiosk: Kiosk, board: PickupBoardSim, bundle_dir: Path
) -> None:
    board.lift(3)
    qtbot.waitUntil(kiosk.window.product.isVisible, timeout=2000)
    assert kiosk.window.product.title.text() == name_of(bundle_dir, 3)
    assert kiosk.window.product.price.text().startswith("¥")
    related = [c for c in kiosk.window.product.related.cards if c.isVisible()]
    best = [c for c in kiosk.window.product.best_sellers.cards if c.isVisible()]
    assert related
    assert best
    lifted_sku = kiosk.controller.state.view.key.removeprefix("product:")
    assert lifted_sku not in {c.sku for c in related + best}


def test_two_lifts_compare_side_by_side(
    qtbot: QtBot, kiosk: Kiosk, board: PickupBoardSim, bundle_dir: Path
) -> None:
    board.lift(3)
    qtbot.waitUntil(kiosk.window.product.isVisible, timeout=2000)
    board.lift(7)
    qtbot.waitUntil(kiosk.window.compare.isVisible, timeout=2000)
    assert kiosk.window.compare.left.title.text() == name_of(bundle_dir, 3)
    assert kiosk.window.compare.right.title.text() == name_of(bundle_dir, 7)
    rows = kiosk.window.compare.table.rows
    assert any(row.differs for _, row in rows), "two different phones differ somewhere"
    assert all(row.differs == (row.left != row.right) for _, row in rows)
    board.drop(7)
    qtbot.waitUntil(kiosk.window.product.isVisible, timeout=2000)
    assert kiosk.window.product.title.text() == name_of(bundle_dir, 3)


def test_drop_returns_to_attract_after_the_grace(
    qtbot: QtBot, kiosk: Kiosk, board: PickupBoardSim
) -> None:
    board.lift(2)
    qtbot.waitUntil(kiosk.window.product.isVisible, timeout=2000)
    qtbot.wait(300)  # held, not a bounce
    board.drop(2)
    qtbot.wait(round(GRACE * 1000 * 0.6))
    assert kiosk.window.product.isVisible(), "the product stays during the grace"
    qtbot.waitUntil(kiosk.window.attract.isVisible, timeout=2000)


def test_touch_holds_the_screen(qtbot: QtBot, kiosk: Kiosk, board: PickupBoardSim) -> None:
    board.lift(2)
    qtbot.waitUntil(kiosk.window.product.isVisible, timeout=2000)
    qtbot.wait(300)
    board.drop(2)
    for _ in range(5):  # touching for well over the grace
        qtbot.wait(round(GRACE * 1000 / 2))
        tap(kiosk.window.product.title)
    assert kiosk.window.product.isVisible()
    qtbot.waitUntil(kiosk.window.attract.isVisible, timeout=2000)


def test_idle_timeout_clears_the_session(qtbot: QtBot, kiosk: Kiosk, board: PickupBoardSim) -> None:
    board.lift(4)
    qtbot.waitUntil(kiosk.window.product.isVisible, timeout=2000)
    tap(kiosk.window.product.language)
    qtbot.waitUntil(lambda: kiosk.controller.state.language is Language.EN, timeout=1000)
    # The phone is never put back and nobody touches the screen.
    qtbot.waitUntil(kiosk.window.attract.isVisible, timeout=round(IDLE * 1000) + 2000)
    assert kiosk.controller.state.language is Language.ZH_CN


def test_language_switch_shows_english(
    qtbot: QtBot, kiosk: Kiosk, board: PickupBoardSim, bundle_dir: Path
) -> None:
    board.lift(5)
    qtbot.waitUntil(kiosk.window.product.isVisible, timeout=2000)
    assert kiosk.window.product.language.text() == "English"
    tap(kiosk.window.product.language)
    qtbot.waitUntil(
        lambda: kiosk.window.product.title.text() == name_of(bundle_dir, 5, Language.EN),
        timeout=1000,
    )
    assert kiosk.window.product.related.title.text() == "Related models"
    assert kiosk.window.product.language.text() == "中文"


def test_noise_and_bad_checksums_are_ignored(
    qtbot: QtBot, kiosk: Kiosk, board: PickupBoardSim, bundle_dir: Path
) -> None:
    board.send_raw(b"\x00\xff\xfeLIFT\x13garbage\n")
    board.send_raw(b"LIFT 3*00\n")  # wrong checksum
    board.send_raw(b"WIGGLE 3\n")
    board.send_raw(b"LIFT 99999\n")
    board.send_raw(b"LI")  # truncated, completed by the next line's start
    board.send_raw(b"\n")
    qtbot.wait(200)
    assert kiosk.window.attract.isVisible()
    assert kiosk.board is not None
    stats = kiosk.board.stats
    assert stats.bad_checksum >= 1
    assert stats.unknown_command + stats.noise + stats.malformed >= 3
    board.lift(6)
    qtbot.waitUntil(kiosk.window.product.isVisible, timeout=2000)
    assert kiosk.window.product.title.text() == name_of(bundle_dir, 6)


def test_unplug_then_replug_reconnects_and_resyncs(
    qtbot: QtBot, kiosk: Kiosk, board: PickupBoardSim, bundle_dir: Path
) -> None:
    statuses: list[str] = []
    kiosk.controller.health_changed.connect(lambda h: statuses.append(h.status.value))
    board.unplug()
    qtbot.waitUntil(lambda: "down" in statuses, timeout=3000)
    # HQ's heartbeat hears of it: the relay child gets the screen's report.
    report = kiosk.outbox.reported
    assert report is not None
    assert [d.name for d in report.devices] == ["pickup"]
    assert report.devices[0].state in {"down", "reconnecting"}  # retrying already, or not yet
    assert report.content_release == load_bundle(bundle_dir, verify_hashes=False).release
    board.lift(8)  # happens while the cable is out: the LIFT line is lost
    board.replug()
    qtbot.waitUntil(lambda: statuses[-1] == "up", timeout=8000)
    assert [(d.name, d.state) for d in kiosk.outbox.reported.devices] == [("pickup", "up")]  # type: ignore[union-attr]
    # After reconnecting the driver asks STATE? and learns slot 8 is lifted.
    qtbot.waitUntil(kiosk.window.product.isVisible, timeout=3000)
    assert kiosk.window.product.title.text() == name_of(bundle_dir, 8)


def test_recommendation_tap_lights_the_slot(
    qtbot: QtBot, kiosk: Kiosk, board: PickupBoardSim
) -> None:
    board.lift(1)
    qtbot.waitUntil(kiosk.window.product.isVisible, timeout=2000)
    shelves = (kiosk.window.product.related, kiosk.window.product.best_sellers)
    cards = [c for shelf in shelves for c in shelf.cards if c.isVisible()]
    in_cabinet = [c for c in cards if c.slot.isVisible()]
    assert in_cabinet, "the sample cabinet holds some recommended phones"
    card = in_cabinet[0]
    slot = int(card.slot.text().split()[0])
    tap(card, QPoint(20, 20))
    led = board.wait_for(lambda m: isinstance(m, Led) and m.slot == slot, timeout=2000)
    assert isinstance(led, Led)
    assert led.mode is LedMode.ON
    qtbot.waitUntil(kiosk.window.product.notice.isVisible, timeout=1000)
    assert str(slot) in kiosk.window.product.notice.text()


@pytest.mark.parametrize("leave", ["another phone lifted", "sign-up opened"])
def test_the_recommendations_light_goes_off_when_its_screen_goes(
    qtbot: QtBot, kiosk: Kiosk, board: PickupBoardSim, leave: str
) -> None:
    board.lift(1)
    qtbot.waitUntil(kiosk.window.product.isVisible, timeout=2000)
    shelves = (kiosk.window.product.related, kiosk.window.product.best_sellers)
    card = next(c for s in shelves for c in s.cards if c.isVisible() and c.slot.isVisible())
    slot = int(card.slot.text().split()[0])
    tap(card, QPoint(20, 20))
    board.wait_for(lambda m: m == Led(slot, LedMode.ON))
    lit_for = showing(kiosk)
    if leave == "another phone lifted":
        other = next(s for s in range(2, 13) if s != slot)
        board.lift(other)
        qtbot.waitUntil(lambda: showing(kiosk) != lit_for, timeout=2000)
    else:
        tap(kiosk.window.product.action_bar.join_button)
        qtbot.waitUntil(lambda: showing(kiosk).startswith("signup:"), timeout=2000)
    # The cabinet no longer points at a phone the screen stopped talking about.
    board.wait_for(lambda m: m == Led(slot, LedMode.OFF))
    assert board.leds[slot] is LedMode.OFF


def open_outbox(data: Path) -> Outbox:
    """The kiosk's outbox as the sync relay reads it: with the kiosk's own key."""
    return Outbox(data / "outbox.sqlite3", cipher=PayloadCipher.from_key_file(data / "outbox.key"))


def shoppers_records(outbox: Outbox) -> list[StoredRecord]:
    """What the shoppers did, without proof of play (a record of it comes at each hour)."""
    return [row for row in outbox.pending() if row.kind != "play_counts"]


def test_alarm_is_recorded_and_the_shopper_sees_nothing(
    qtbot: QtBot, kiosk: Kiosk, board: PickupBoardSim, tmp_path: Path
) -> None:
    alerts: list[object] = []
    kiosk.controller.alert_raised.connect(alerts.append)
    board.alarm(4, "CABLE")
    qtbot.waitUntil(lambda: len(alerts) == 1, timeout=2000)
    assert kiosk.window.attract.isVisible()
    assert kiosk.outbox.flush()
    with open_outbox(tmp_path / "data") as outbox:
        (row,) = shoppers_records(outbox)
    assert row.kind == "alarm"
    assert row.payload["reason"] == "CABLE"


def test_outbox_rows_appear_with_increasing_sequence(
    qtbot: QtBot, kiosk: Kiosk, board: PickupBoardSim, tmp_path: Path
) -> None:
    board.lift(3)
    qtbot.waitUntil(kiosk.window.product.isVisible, timeout=2000)
    board.lift(5)
    qtbot.waitUntil(kiosk.window.compare.isVisible, timeout=2000)
    shown = time.monotonic()  # the kiosk read the lift before it showed the comparison
    qtbot.wait(300)
    held_ms = (time.monotonic() - shown) * 1000  # Qt's coarse timers may end a wait early
    board.drop(5)
    board.drop(3)
    qtbot.waitUntil(lambda: kiosk.controller.state.return_at is not None, timeout=2000)
    assert kiosk.outbox.flush()
    with open_outbox(tmp_path / "data") as outbox:
        rows = shoppers_records(outbox)
    assert [r.kind for r in rows] == ["lift", "lift", "comparison", "drop", "drop"]
    seqs = [r.seq for r in rows]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == len(seqs)
    assert all(r.payload["session"] == rows[0].payload["session"] for r in rows)
    assert rows[3].payload["dwell_ms"] >= int(held_ms)


def test_trace_has_device_screen_and_first_paint_lines(
    qtbot: QtBot, kiosk: Kiosk, board: PickupBoardSim, tmp_path: Path
) -> None:
    board.lift(3)
    qtbot.waitUntil(kiosk.window.product.isVisible, timeout=2000)
    view = showing(kiosk)
    qtbot.wait(100)
    kiosk.trace.close()
    lines = [json.loads(line) for line in (tmp_path / "trace.jsonl").read_text().splitlines()]
    kinds = {line["kind"] for line in lines}
    assert {"start", "device", "screen", "paint"} <= kinds
    lift = next(x for x in lines if x["kind"] == "device" and x["event"] == "lifted")
    paint = next(x for x in lines if x["kind"] == "paint" and x["view"] == view)
    assert lift["mono"] <= paint["mono"]
    assert all("wall" in line and "mono" in line for line in lines)


def test_first_frame_of_the_attract_loop_is_reported_and_starts_the_preload(
    qtbot: QtBot, kiosk: Kiosk, tmp_path: Path
) -> None:
    # The window's first frame comes from its expose, not an update request, and the
    # slide stays up for seconds: the report must not wait for the next update. It is
    # what starts decoding the cabinet's pictures, so the first lift finds them ready.
    trace = tmp_path / "trace.jsonl"

    def attract_painted() -> bool:
        lines = trace.read_text().splitlines() if trace.exists() else []
        return any(
            entry["kind"] == "paint" and entry["view"] == "attract"
            for entry in map(json.loads, lines)
        )

    qtbot.waitUntil(attract_painted, timeout=2000)
    qtbot.waitUntil(lambda: kiosk.images.cached_bytes > 0, timeout=2000)
