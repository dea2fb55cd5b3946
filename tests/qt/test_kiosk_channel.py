"""The kiosk feeds the store channel: what shoppers and devices do reaches an attendant.

The real kiosk (kiosk.app.build) on a simulated pickup board and fob reader, its real
channel server child on loopback, and a real ChannelClient following it, as an
attendant device does.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from helpers.bundles import sample_bundle
from helpers.kiosk_channel import KIOSK, STORE, Follower, enrol, free_port
from helpers.pickup import running_board
from helpers.qt_kiosk import started, themed
from helpers.touch import tap
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from sqlalchemy import event
from sqlalchemy.engine import Engine

from backend_client.channel.client import KioskEndpoint
from backend_client.channel.commands import SetSlot, send_command
from backend_client.channel.keys import KEY_FILE, StoreKeys
from backend_client.channel.window import WINDOW_FILE
from backend_client.feed import FeedEntry, FeedPage
from backend_client.members import MEMBERS_FILE, MemberDirectory, tag_hash
from content.bundle import Bundle, load_bundle
from devices.protocols.rfid import rfid_tag
from devices.sim.pickup import PickupBoardSim
from devices.sim.rfid import RfidReaderSim
from kiosk.app import Kiosk, KioskOptions
from kiosk.session import SessionConfig

TAG_KEY = bytes(range(1, 33))
WANG, LI = "0a1b2c3d-0000-4000-8000-000000000001", "0a1b2c3d-0000-4000-8000-000000000002"
WANG_FOB, LI_FOB = 12_345_678, 3_000_000_001


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Bundle]:
    path = sample_bundle(tmp_path_factory.mktemp("content") / "bundle")
    return path, load_bundle(path, verify_hashes=False)


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


def sku(bundle: Bundle, slot: int) -> str:
    return next(a.sku for a in bundle.planogram.slots if a.slot == slot)


def members(data: Path, content: Bundle) -> None:
    """The relay's member feed: Wang allowed greeting by name, Li did not."""
    with MemberDirectory(data / MEMBERS_FILE) as directory:
        directory.apply(
            FeedPage(
                version=7,
                more=False,
                reset=True,
                tag_key=TAG_KEY,
                upserts=(
                    FeedEntry(
                        tag_hash(TAG_KEY, rfid_tag(WANG_FOB)),
                        WANG,
                        "王芳",
                        (sku(content, 5),),
                        None,
                    ),
                    FeedEntry(tag_hash(TAG_KEY, rfid_tag(LI_FOB)), LI, None, (), None),
                ),
                removed=(),
            )
        )


def start(
    qtbot: QtBot,
    qapp: QApplication,
    bundle: tuple[Path, Bundle],
    tmp_path: Path,
    board: PickupBoardSim,
    **extra: Any,
) -> Kiosk:
    themed(qapp)
    options = KioskOptions(
        content=bundle[0],
        pickup_port=board.port,
        data_dir=tmp_path / "data",
        trace=tmp_path / "trace.jsonl",
        session=SessionConfig(drop_grace=0.5),
        channel_host="127.0.0.1",
        channel_port=extra.pop("channel_port", 0),
        **extra,
    )
    kiosk = started(options, qapp, qtbot, board)
    return kiosk


def serving_port(qtbot: QtBot, kiosk: Kiosk) -> int:
    assert kiosk.channel is not None
    assert kiosk.channel.server is not None
    server = kiosk.channel.server
    qtbot.waitUntil(lambda: server.port is not None, timeout=20_000)
    assert server.port is not None
    return server.port


@contextmanager
def followed(
    qtbot: QtBot,
    qapp: QApplication,
    bundle: tuple[Path, Bundle],
    tmp_path: Path,
    board: PickupBoardSim,
    **extra: Any,
) -> Iterator[tuple[Kiosk, Follower]]:
    """An enrolled kiosk and an attendant following its channel server."""
    data = tmp_path / "data"
    enrol(data)
    kiosk = start(qtbot, qapp, bundle, tmp_path, board, **extra)
    try:
        with Follower(data, serving_port(qtbot, kiosk), qtbot=qtbot) as attendant:
            yield kiosk, attendant
    finally:
        kiosk.close()


def trace(tmp_path: Path, kind: str) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in (tmp_path / "trace.jsonl").read_text().splitlines()]
    return [line for line in lines if line["kind"] == kind]


def test_a_lift_a_drop_and_the_content_release_reach_the_attendant(
    qtbot: QtBot,
    qapp: QApplication,
    bundle: tuple[Path, Bundle],
    board: PickupBoardSim,
    tmp_path: Path,
) -> None:
    with followed(qtbot, qapp, bundle, tmp_path, board) as (kiosk, attendant):
        assert attendant.wait_for("content").data.model_dump() == {"release": bundle[1].release}
        attendant.wait_for("heartbeat")
        board.lift(3)
        qtbot.waitUntil(kiosk.window.product.isVisible, timeout=3000)
        lift = attendant.wait_for("lift")
        assert lift.data.model_dump() == {
            "session": kiosk.controller.state.session_id,
            "slot": 3,
            "sku": sku(bundle[1], 3),
        }
        assert not lift.alert
        assert lift.kiosk == KIOSK
        board.drop(3)
        drop = attendant.wait_for("drop")
        assert drop.data.model_dump()["slot"] == 3
        assert drop.data.model_dump()["dwell_ms"] > 0


def test_an_unhappy_smiley_and_a_cut_cable_are_alerts_without_what_was_typed(
    qtbot: QtBot,
    qapp: QApplication,
    bundle: tuple[Path, Bundle],
    board: PickupBoardSim,
    tmp_path: Path,
) -> None:
    with followed(qtbot, qapp, bundle, tmp_path, board) as (kiosk, attendant):
        tap(kiosk.window.attract.faces[0])  # the unhappiest face
        answer = attendant.wait_for("survey_answer")
        assert answer.alert
        data = answer.data.model_dump()
        assert data["score"] == 1
        assert data["low"] is True
        assert set(data) == {"session", "survey", "question", "kind", "score", "low"}

        board.alarm(7, "CABLE")
        alarm = attendant.wait_for("alarm")
        assert alarm.alert
        assert alarm.data.model_dump() == {
            "slot": 7,
            "reason": "CABLE",
            "sku": sku(bundle[1], 7),
        }


def test_a_member_is_announced_by_name_only_if_they_allowed_it(
    qtbot: QtBot,
    qapp: QApplication,
    bundle: tuple[Path, Bundle],
    board: PickupBoardSim,
    reader: RfidReaderSim,
    tmp_path: Path,
) -> None:
    (tmp_path / "data").mkdir()
    members(tmp_path / "data", bundle[1])
    with followed(qtbot, qapp, bundle, tmp_path, board, rfid_port=reader.port) as (
        kiosk,
        attendant,
    ):
        reader.present(WANG_FOB)
        wang = attendant.wait_for("member_arrived")
        assert wang.data.model_dump() == {
            "session": kiosk.controller.state.session_id,
            "greeting": "王芳",
            "last_viewed": (sku(bundle[1], 5),),
            "via": "rfid",
        }
        reader.present(LI_FOB)  # another member's fob: a fresh session, no name
        li = attendant.wait_for("member_arrived", lambda m: m.seq > wang.seq)
        assert li.data.model_dump()["greeting"] is None
        assert li.data.model_dump()["session"] != wang.data.model_dump()["session"]
        wire = json.dumps([m.model_dump(mode="json") for m in attendant.messages])
        assert WANG not in wire  # member ids never leave the kiosk
        assert LI not in wire
        assert str(WANG_FOB) not in wire


def test_a_pickup_board_unplugged_reaches_the_attendant_as_a_device_fault(
    qtbot: QtBot,
    qapp: QApplication,
    bundle: tuple[Path, Bundle],
    board: PickupBoardSim,
    tmp_path: Path,
) -> None:
    with followed(qtbot, qapp, bundle, tmp_path, board) as (_, attendant):
        attendant.wait_for("device", lambda m: m.data.model_dump()["status"] == "up")
        board.unplug()
        fault = attendant.wait_for(
            "device", lambda m: m.data.model_dump()["status"] in {"down", "reconnecting"}
        )
        assert fault.data.model_dump()["device"]
        board.replug()
        attendant.wait_for(
            "device", lambda m: m.seq > fault.seq and m.data.model_dump()["status"] == "up"
        )


def test_a_killed_server_is_started_again_and_the_attendant_misses_nothing(
    qtbot: QtBot,
    qapp: QApplication,
    bundle: tuple[Path, Bundle],
    board: PickupBoardSim,
    tmp_path: Path,
) -> None:
    enrol(tmp_path / "data")
    port = free_port()  # the same port after the restart: attendants know it
    kiosk = start(qtbot, qapp, bundle, tmp_path, board, channel_port=port)
    assert kiosk.channel is not None
    assert kiosk.channel.server is not None
    server = kiosk.channel.server
    try:
        assert serving_port(qtbot, kiosk) == port
        with Follower(tmp_path / "data", port, qtbot=qtbot) as attendant:
            board.lift(2)
            first = attendant.wait_for("lift")
            pid = server.pid
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            qtbot.waitUntil(lambda: server.port is None, timeout=10_000)
            board.drop(2)  # while no server runs: the window keeps it
            board.lift(4)
            qtbot.waitUntil(lambda: server.spawned == 2 and server.port == port, timeout=20_000)
            assert server.pid != pid
            attendant.wait_for("lift", lambda m: m.seq > first.seq)  # made while it was down
            attendant.wait_for("drop")
            seqs = [m.seq for m in attendant.messages]
            assert seqs == list(range(1, seqs[-1] + 1))  # no gap, no duplicate
    finally:
        kiosk.close()


def test_a_kiosk_without_a_store_key_runs_with_no_channel_and_no_error(
    qtbot: QtBot,
    qapp: QApplication,
    bundle: tuple[Path, Bundle],
    board: PickupBoardSim,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    enrol(tmp_path / "data", store_key=False)
    kiosk = start(qtbot, qapp, bundle, tmp_path, board)
    try:
        assert kiosk.channel is None
        board.lift(3)
        qtbot.waitUntil(kiosk.window.product.isVisible, timeout=3000)
        assert not (tmp_path / "data" / WINDOW_FILE).exists()
        assert [line.get("state") for line in trace(tmp_path, "channel")] == ["off"]
        assert not [r for r in caplog.records if r.levelname in {"ERROR", "CRITICAL"}]
    finally:
        kiosk.close()


def test_the_kiosk_process_never_writes_the_channel_window_its_server_child_does(
    qtbot: QtBot,
    qapp: QApplication,
    bundle: tuple[Path, Bundle],
    board: PickupBoardSim,
    tmp_path: Path,
) -> None:
    writes: list[str] = []

    def watch(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO CHANNEL_MESSAGES"):
            writes.append(threading.current_thread().name)

    event.listen(Engine, "before_cursor_execute", watch)
    try:
        with followed(qtbot, qapp, bundle, tmp_path, board) as (_kiosk, attendant):
            board.lift(3)
            attendant.wait_for("lift")
            board.alarm(3, "PUCK")
            assert attendant.wait_for("alarm").alert
    finally:
        event.remove(Engine, "before_cursor_execute", watch)
    assert writes == []  # not a thread of this process: the child appended them


def test_a_planogram_edit_by_staff_changes_what_the_next_lift_shows(
    qtbot: QtBot,
    qapp: QApplication,
    bundle: tuple[Path, Bundle],
    board: PickupBoardSim,
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    enrol(data)
    kiosk = start(qtbot, qapp, bundle, tmp_path, board)
    try:
        port = serving_port(qtbot, kiosk)
        other = sku(bundle[1], 9)
        assert sku(bundle[1], 3) != other
        reply = send_command(
            KioskEndpoint(KIOSK, f"http://127.0.0.1:{port}"),
            StoreKeys.from_file(STORE, data / KEY_FILE),
            SetSlot(kind="set_slot", slot=3, sku=other, by="staff-1"),
        )
        assert reply.ok, reply.refusal
        qtbot.waitUntil(lambda: kiosk.controller.slot_skus.get(3) == other, timeout=10_000)
        board.lift(3)
        qtbot.waitUntil(lambda: kiosk.controller.state.view.key == f"product:{other}", timeout=3000)
    finally:
        kiosk.close()
