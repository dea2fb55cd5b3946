"""Members recognised by their fob or tag: the real kiosk, the real RFID driver on a pty,
the real bleak scanner against a mocked BlueZ, the real member directory as the relay
keeps it from HQ's feed.

Only members in the feed (those who consented to recognition) are welcomed; any
other fob leaves nothing behind but an anonymous count.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers.bluez import FAST_PRESENCE, mock_bluez, requires_bluez_mock, system_bus
from helpers.bundles import sample_bundle
from helpers.geometry import layout_problems
from helpers.pickup import running_board
from helpers.qt_kiosk import started, themed
from helpers.touch import tap
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from backend_client.crypto import PayloadCipher
from backend_client.feed import FeedEntry, FeedPage
from backend_client.members import MEMBERS_FILE, MemberDirectory, tag_hash
from backend_client.outbox import Outbox
from content.bundle import Bundle, load_bundle
from devices.events import TagId, TagKind
from devices.protocols.rfid import rfid_tag
from devices.sim.pickup import PickupBoardSim
from devices.sim.rfid import RfidReaderSim
from kiosk import theme
from kiosk.app import Kiosk, KioskOptions, build
from kiosk.session import SessionConfig, WelcomeView

KEY = bytes(range(32))
WANG = "0a1b2c3d-0000-4000-8000-000000000001"
LI = "0a1b2c3d-0000-4000-8000-000000000002"
BEACON = uuid.UUID("6f1c3a52-2b7e-4c1d-9a55-0d3e5b1f7a10")
WANG_FOB, LI_FOB, STRANGER_FOB = 12_345_678, 3_000_000_001, 2_718_281_828


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Bundle]:
    path = sample_bundle(tmp_path_factory.mktemp("content") / "bundle")
    return path, load_bundle(path, verify_hashes=False)


def sku(bundle: Bundle, slot: int) -> str:
    found = bundle.sku_on_slot(slot)
    assert found is not None
    return found


@pytest.fixture
def board(tmp_path: Path) -> Iterator[PickupBoardSim]:
    with running_board(tmp_path) as sim:
        yield sim


@pytest.fixture
def reader(tmp_path: Path) -> Iterator[RfidReaderSim]:
    sim = RfidReaderSim(link=tmp_path / "rfid")
    sim.start()
    yield sim
    sim.stop()


def feed_wang_and_li(data: Path, content: Bundle) -> None:
    """What the relay child fetches from HQ: Wang greets by name, Li does not."""
    with MemberDirectory(data / MEMBERS_FILE) as directory:
        directory.apply(
            FeedPage(
                version=7,
                more=False,
                reset=True,
                tag_key=KEY,
                upserts=(
                    FeedEntry(
                        tag_hash(KEY, rfid_tag(WANG_FOB)),
                        WANG,
                        "王芳",
                        (sku(content, 5), "GONE-FROM-CATALOG", sku(content, 9)),
                        None,
                        last_seen=datetime.now(UTC) - timedelta(days=3),
                    ),
                    FeedEntry(tag_hash(KEY, rfid_tag(LI_FOB)), LI, None, (), "new"),
                ),
                removed=(),
            )
        )


def start_kiosk(
    qtbot: QtBot, qapp: QApplication, board: PickupBoardSim, options: KioskOptions
) -> Kiosk:
    themed(qapp)
    built = started(options, qapp, qtbot, board)
    assert options.trace is not None
    qtbot.waitUntil(
        lambda: bool(trace(options.trace.parent, "health", device="rfid", status="up")),
        timeout=5000,
    )
    return built


def fob_options(
    path: Path, board: PickupBoardSim, reader: RfidReaderSim, tmp_path: Path
) -> KioskOptions:
    return KioskOptions(
        content=path,
        pickup_port=board.port,
        rfid_port=reader.port,
        data_dir=tmp_path / "data",
        trace=tmp_path / "trace.jsonl",
        session=SessionConfig(drop_grace=0.6, idle_timeout=5.0, welcome_seconds=2.0),
    )


@pytest.fixture
def kiosk(
    qtbot: QtBot,
    qapp: QApplication,
    board: PickupBoardSim,
    reader: RfidReaderSim,
    bundle: tuple[Path, Bundle],
    tmp_path: Path,
) -> Iterator[Kiosk]:
    path, content = bundle
    data = tmp_path / "data"
    data.mkdir()
    feed_wang_and_li(data, content)
    built = start_kiosk(qtbot, qapp, board, fob_options(path, board, reader, tmp_path))
    yield built
    built.close()


def trace(tmp_path: Path, kind: str, **fields: object) -> list[dict[str, object]]:
    path = tmp_path / "trace.jsonl"
    if not path.exists():
        return []
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return [x for x in lines if x["kind"] == kind and all(x.get(k) == v for k, v in fields.items())]


def outbox_records(data: Path) -> list[dict[str, object]]:
    cipher = PayloadCipher.from_key_file(data / "outbox.key")
    with Outbox(data / "outbox.sqlite3", cipher=cipher) as outbox:
        return [{"kind": r.kind, **r.payload} for r in outbox.read_batch(limit=500).records]


def test_a_kiosk_started_before_the_member_feed_welcomes_members_once_it_arrives(
    qtbot: QtBot,
    qapp: QApplication,
    board: PickupBoardSim,
    reader: RfidReaderSim,
    bundle: tuple[Path, Bundle],
    tmp_path: Path,
) -> None:
    path, content = bundle
    data = tmp_path / "data"
    kiosk = start_kiosk(qtbot, qapp, board, fob_options(path, board, reader, tmp_path))
    try:
        reader.present(WANG_FOB)  # no directory file yet: nobody is recognised
        qtbot.waitUntil(kiosk.window.message.isVisible, timeout=2000)
        assert kiosk.window.message.title.text() == "未能识别此钥匙扣"
        assert not (data / MEMBERS_FILE).exists()  # the kiosk made no file
        tap(kiosk.window.message.close_button)
        qtbot.waitUntil(kiosk.window.attract.isVisible, timeout=2000)

        feed_wang_and_li(data, content)  # the relay child's first sync
        reader.present(LI_FOB)  # (Wang's fob again this soon would be the same tap)
        qtbot.waitUntil(kiosk.window.welcome.isVisible, timeout=2000)
        assert kiosk.controller.state.member is not None
        assert kiosk.controller.state.member.member_id == LI
    finally:
        kiosk.close()


def test_a_members_fob_brings_their_welcome_with_what_they_looked_at(
    qtbot: QtBot, kiosk: Kiosk, reader: RfidReaderSim, bundle: tuple[Path, Bundle]
) -> None:
    _, content = bundle
    reader.present(WANG_FOB)
    qtbot.waitUntil(kiosk.window.welcome.isVisible, timeout=2000)
    welcome = kiosk.window.welcome
    assert welcome.greeting.text() == "欢迎回来，王芳"
    shown = [c.sku for c in welcome.last_viewed.cards if c.isVisible()]
    assert shown == [sku(content, 5), sku(content, 9)]  # what this store sells, newest first
    assert welcome.last_viewed.title.text() == "您上次看过 · 3 天前"  # from HQ's feed
    picks = [c.sku for c in welcome.picks.cards if c.isVisible()]
    assert picks
    assert not set(picks) & set(shown)
    # What is on offer to her, beside them: the draw and the survey's coupon.
    assert [o.title.text() for o in welcome.offers if o.isVisible()] == [
        "会员每日幸运抽奖",
        "评价有礼",
    ]
    assert layout_problems(kiosk.window) == []


def test_tapping_a_product_on_the_welcome_opens_it_and_records_it_against_the_member(
    qtbot: QtBot, kiosk: Kiosk, reader: RfidReaderSim, tmp_path: Path
) -> None:
    reader.present(WANG_FOB)
    qtbot.waitUntil(kiosk.window.welcome.isVisible, timeout=2000)
    card = next(c for c in kiosk.window.welcome.picks.cards if c.isVisible())
    tap(card)
    qtbot.waitUntil(kiosk.window.product.isVisible, timeout=2000)
    assert kiosk.controller.state.view.key == f"product:{card.sku}"
    kiosk.outbox.flush()
    (tapped,) = [r for r in outbox_records(tmp_path / "data") if r["kind"] == "recommendation_tap"]
    assert tapped["member_id"] == WANG
    assert tapped["sku"] == card.sku


def test_a_recognised_members_lifts_are_recorded_against_them(
    qtbot: QtBot, kiosk: Kiosk, reader: RfidReaderSim, board: PickupBoardSim, tmp_path: Path
) -> None:
    reader.present(LI_FOB)
    qtbot.waitUntil(kiosk.window.welcome.isVisible, timeout=2000)
    assert kiosk.window.welcome.greeting.text() == "欢迎回来"  # Li did not allow the name
    board.lift(2)
    qtbot.waitUntil(kiosk.window.product.isVisible, timeout=2000)
    qtbot.wait(300)
    board.drop(2)
    qtbot.waitUntil(kiosk.window.attract.isVisible, timeout=3000)
    kiosk.outbox.flush()
    records = outbox_records(tmp_path / "data")
    assert [r["kind"] for r in records] == ["lift", "drop"]
    assert {r["member_id"] for r in records} == {LI}


def test_a_stranger_fob_is_told_it_is_not_recognised_and_leaves_only_a_count(
    qtbot: QtBot,
    kiosk: Kiosk,
    reader: RfidReaderSim,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    reader.present(STRANGER_FOB)
    qtbot.waitUntil(kiosk.window.message.isVisible, timeout=2000)
    message = kiosk.window.message
    assert message.title.text() == "未能识别此钥匙扣"
    assert message.body.text() == "请联系店员为您绑定钥匙扣，或现在注册会员。"
    assert message.action.text() == "注册会员"
    kiosk.outbox.flush()
    assert outbox_records(tmp_path / "data") == []
    (line,) = trace(tmp_path, "tag")
    assert set(line) <= {"kind", "mono", "wall", "reader", "unknown"}
    assert line["unknown"] == 1
    everything = caplog.text + (tmp_path / "trace.jsonl").read_text()
    for fob in (STRANGER_FOB, WANG_FOB):
        assert f"{fob:010d}" not in everything
        assert f"{fob:08X}" not in everything.upper()
    assert tag_hash(KEY, rfid_tag(STRANGER_FOB)) not in everything
    # The next step it offers: sign up.
    tap(message.action)
    qtbot.waitUntil(kiosk.window.signup.isVisible, timeout=2000)


def test_the_answer_to_an_unrecognised_fob_is_the_same_whoever_it_belongs_to(
    qtbot: QtBot, kiosk: Kiosk, reader: RfidReaderSim, tmp_path: Path
) -> None:
    # Li withdraws consent to recognition: HQ's feed removes her fob.
    with MemberDirectory(tmp_path / "data" / MEMBERS_FILE) as directory:
        li = tag_hash(KEY, rfid_tag(LI_FOB))
        directory.apply(FeedPage(8, False, False, KEY, (), (li,)))
    screens = []
    for fob in (STRANGER_FOB, LI_FOB):
        reader.present(fob)
        qtbot.waitUntil(kiosk.window.message.isVisible, timeout=2000)
        qtbot.wait(50)
        screens.append(kiosk.window.grab().toImage())
        tap(kiosk.window.message.close_button)
        qtbot.waitUntil(kiosk.window.attract.isVisible, timeout=2000)
    stranger, withdrawn = screens
    assert stranger == withdrawn  # not a pixel tells them apart
    assert [line["unknown"] for line in trace(tmp_path, "tag")] == [1, 2]
    assert kiosk.controller.state.member is None


def test_the_welcome_warns_before_it_returns_to_the_attract_loop(
    qtbot: QtBot, kiosk: Kiosk, reader: RfidReaderSim
) -> None:
    reader.present(WANG_FOB)
    welcome = kiosk.window.welcome
    qtbot.waitUntil(welcome.isVisible, timeout=2000)
    # welcome_seconds is 2 here: inside the warning's last ten seconds from the start.
    qtbot.waitUntil(welcome.leaving.isVisible, timeout=1000)
    assert welcome.leaving.text() in {
        "2 秒后返回首页，轻点屏幕即可继续浏览",
        "1 秒后返回首页，轻点屏幕即可继续浏览",
    }
    assert welcome.rect().contains(welcome.leaving.geometry())
    qtbot.waitUntil(kiosk.window.attract.isVisible, timeout=4000)
    assert not welcome.leaving.isVisible()


def test_the_next_members_fob_starts_afresh_and_an_untouched_welcome_ends(
    qtbot: QtBot, kiosk: Kiosk, reader: RfidReaderSim, tmp_path: Path
) -> None:
    reader.present(WANG_FOB)
    qtbot.waitUntil(kiosk.window.welcome.isVisible, timeout=2000)
    first = kiosk.controller.state.view
    reader.present(LI_FOB)
    qtbot.waitUntil(lambda: kiosk.controller.state.view != first, timeout=2000)
    assert isinstance(kiosk.controller.state.view, WelcomeView)
    assert kiosk.window.welcome.greeting.text() == "欢迎回来"  # no trace of Wang's name
    qtbot.waitUntil(kiosk.window.attract.isVisible, timeout=4000)  # welcome_seconds = 2
    assert kiosk.controller.state.member is None


@requires_bluez_mock
def test_a_members_ble_tag_is_welcomed_on_entering_without_flapping_and_leaves_when_silent(
    qtbot: QtBot,
    qapp: QApplication,
    board: PickupBoardSim,
    bundle: tuple[Path, Bundle],
    tmp_path: Path,
) -> None:
    path, _ = bundle
    data = tmp_path / "data"
    data.mkdir()
    beacon = TagId(TagKind.IBEACON, f"{BEACON}:7:1")
    passer_by = TagId(TagKind.IBEACON, f"{BEACON}:7:2")  # not in the feed
    with MemberDirectory(data / MEMBERS_FILE) as directory:
        entry = FeedEntry(tag_hash(KEY, beacon), WANG, "王芳", (), None)
        directory.apply(FeedPage(1, False, True, KEY, (entry,), ()))
    with mock_bluez() as bluez, system_bus(bluez.bus_address):
        options = KioskOptions(
            content=path,
            pickup_port=board.port,
            data_dir=data,
            trace=tmp_path / "trace.jsonl",
            ble=True,
            ble_presence=replace(FAST_PRESENCE, enter_dbm=-65, exit_dbm=-75),
        )
        kiosk = build(options, qapp)
        try:
            kiosk.window.resize(*theme.SCREEN_SIZE)
            kiosk.window.show()
            qtbot.waitUntil(
                lambda: bool(trace(tmp_path, "health", device="ble", status="up")), timeout=10000
            )
            bluez.add_ibeacon("passer-by", BEACON, 7, 2, rssi=-50)
            qtbot.waitUntil(lambda: bool(trace(tmp_path, "tag", unknown=1)), timeout=3000)
            assert kiosk.window.attract.isVisible()

            bluez.add_ibeacon("wang", BEACON, 7, 1, rssi=-90)  # heard far away first
            qtbot.wait(300)
            assert kiosk.window.attract.isVisible()
            bluez.set_rssi("wang", -55)  # steps up to the screen
            qtbot.waitUntil(kiosk.window.welcome.isVisible, timeout=2000)
            assert kiosk.window.welcome.greeting.text() == "欢迎回来，王芳"

            heard = bluez.advertisements("wang")
            bluez.walk("wang", -66, -74, 1.0)  # hovering between the thresholds
            # The whole walk and a few advertisements at its far end (one per 50 ms).
            qtbot.waitUntil(
                lambda: bluez.rssi("wang") == -74 and bluez.advertisements("wang") >= heard + 24,
                timeout=5000,
            )
            assert kiosk.window.welcome.isVisible(), "no flapping inside the band"
            assert len(trace(tmp_path, "screen")) == 1

            bluez.away("wang")  # silent: gone after the away timeout
            qtbot.waitUntil(kiosk.window.attract.isVisible, timeout=3000)
            assert kiosk.controller.state.member is None
            everything = (tmp_path / "trace.jsonl").read_text()
            assert str(BEACON) not in everything
            assert tag_hash(KEY, passer_by) not in everything
        finally:
            kiosk.close()
