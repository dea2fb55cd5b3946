"""What the `--trace` file tells whoever reads it, through the real kiosk (kiosk.app.build)
and its real drivers on pseudo-terminals: one line for a burst of serial noise, a lost
fob reader once and its return once, and a coupon by campaign and serial, never its code.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from helpers.bundles import sample_bundle
from helpers.pickup import running_board
from helpers.qt_kiosk import themed
from helpers.touch import tap, tap_when_placed
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from backend_client.credentials import Credentials, save_credentials
from devices.sim.pickup import PickupBoardSim
from devices.sim.rfid import RfidReaderSim
from kiosk import theme
from kiosk.app import DEFAULT_TIMEZONE, Kiosk, KioskOptions, build
from kiosk.session import CouponView, SessionConfig
from rewards.codes import parse_code

KIOSK_NO = 17
COUPON_KEY = hashlib.sha256(b"kiosk 17").digest()


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sample_bundle(tmp_path_factory.mktemp("content") / "bundle")


@pytest.fixture
def board(tmp_path: Path) -> Iterator[PickupBoardSim]:
    with running_board(tmp_path) as sim:
        yield sim


def start(qtbot: QtBot, qapp: QApplication, options: KioskOptions) -> Kiosk:
    themed(qapp)
    kiosk = build(options, qapp)
    kiosk.window.resize(*theme.SCREEN_SIZE)
    kiosk.window.show()
    qtbot.waitExposed(kiosk.window)
    return kiosk


def trace_lines(path: Path, kind: str | None = None) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return [line for line in lines if kind in (None, line["kind"])]


def test_a_burst_of_serial_noise_leaves_one_trace_line(
    qtbot: QtBot, qapp: QApplication, board: PickupBoardSim, bundle_dir: Path, tmp_path: Path
) -> None:
    trace = tmp_path / "trace.jsonl"
    options = KioskOptions(
        content=bundle_dir, pickup_port=board.port, data_dir=tmp_path / "data", trace=trace
    )
    kiosk = start(qtbot, qapp, options)
    try:
        board.wait_for(lambda m: type(m).__name__ == "StateQuery", timeout=5)
        board.send_noise(lines=3)  # what the simulator's `noise` sends
        qtbot.waitUntil(lambda: bool(trace_lines(trace, "noise")), timeout=2000)
        board.lift(2)  # a good line ends the burst
        qtbot.waitUntil(kiosk.window.product.isVisible, timeout=2000)
        board.send_noise(lines=5)
        qtbot.waitUntil(lambda: len(trace_lines(trace, "noise")) >= 2, timeout=2000)
        qtbot.wait(100)
        noise = trace_lines(trace, "noise")
        assert [(n["device"], n["reason"]) for n in noise] == [("pickup", "noise")] * 2
    finally:
        kiosk.close()


def test_a_missing_fob_reader_is_traced_lost_once_then_back_once(
    qtbot: QtBot, qapp: QApplication, bundle_dir: Path, tmp_path: Path
) -> None:
    trace = tmp_path / "trace.jsonl"
    link = tmp_path / "rfid"  # nothing there yet: the reader is not plugged in
    options = KioskOptions(
        content=bundle_dir, rfid_port=str(link), data_dir=tmp_path / "data", trace=trace
    )
    kiosk = start(qtbot, qapp, options)
    reader: RfidReaderSim | None = None
    retries: list[str] = []
    kiosk.controller.health_changed.connect(
        lambda h: retries.append(h.status.value) if h.status.value == "reconnecting" else None
    )
    try:
        qtbot.waitUntil(lambda: len(retries) >= 3, timeout=5000)  # the driver keeps trying
        reader = RfidReaderSim(link=link)
        reader.start()
        qtbot.waitUntil(
            lambda: any(h["status"] == "up" for h in trace_lines(trace, "health")), timeout=8000
        )
        health = [(h["device"], h["status"]) for h in trace_lines(trace, "health")]
        assert health == [("rfid", "down"), ("rfid", "up")]
    finally:
        kiosk.close()
        if reader is not None:
            reader.stop()


def test_the_trace_names_a_coupon_but_never_its_code(
    qtbot: QtBot,
    qapp: QApplication,
    bundle_dir: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    save_credentials(  # what `kiosk enroll` leaves: the kiosk's number and coupon key
        data, Credentials("http://127.0.0.1:9", "store-1", "kiosk-1", "token", KIOSK_NO, COUPON_KEY)
    )
    trace = tmp_path / "trace.jsonl"
    options = KioskOptions(
        content=bundle_dir, data_dir=data, trace=trace, session=SessionConfig(drop_grace=30.0)
    )
    caplog.set_level(logging.DEBUG)
    kiosk = start(qtbot, qapp, options)
    try:
        survey = kiosk.window.survey
        kiosk.controller.survey_opened("visit")  # the visit survey rewards a coupon
        qtbot.waitUntil(survey.isVisible, timeout=2000)
        for value in ("4", "10"):
            button = next(b for b in survey._buttons if b.property("value") == value)
            tap_when_placed(qtbot, button)
            qtbot.wait(50)
        qtbot.waitUntil(survey.skip.isVisible, timeout=2000)
        tap(survey.skip)
        qtbot.waitUntil(kiosk.window.coupon.isVisible, timeout=5000)
        view = kiosk.controller.state.view
        assert isinstance(view, CouponView)
        code = kiosk.window.coupon.code.text()
        assert code == view.coupon.code  # the shopper sees the code
        today = datetime.now(ZoneInfo(DEFAULT_TIMEZONE)).date()  # the store's day
        serial = parse_code(code, {KIOSK_NO: COUPON_KEY}.get, today=today).serial
        qtbot.waitUntil(
            lambda: any(p["view"] == view.key for p in trace_lines(trace, "paint")), timeout=2000
        )
    finally:
        kiosk.close()
    text = trace.read_text()
    for form in (code, code.replace("-", "")):
        assert form not in text
        assert form not in caplog.text
    screens = [s["view"] for s in trace_lines(trace, "screen")]
    assert f"coupon:{view.session}:accessory-50:{serial}" in screens
