"""The staff maintenance screen on the real kiosk: the hidden gesture through the window,
the PIN pad, each section, the slot LEDs on the simulated board's pty, a member's fob on
the simulated reader's pty, the idle close, and both screen shapes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import argon2
import pytest
from helpers.bundles import sample_bundle
from helpers.geometry import layout_problems
from helpers.pickup import running_board
from helpers.qt_kiosk import themed
from helpers.touch import tap
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from backend_client.feed import FeedEntry, FeedPage
from backend_client.members import MEMBERS_FILE, MemberDirectory, tag_hash
from backend_client.status import ContentStatus, SyncState, SyncStatus
from devices.events import TagId, TagKind, TagSeen
from devices.protocols.pickup import Led, LedMode
from devices.protocols.rfid import rfid_tag
from devices.sim.pickup import PickupBoardSim
from devices.sim.rfid import RfidReaderSim
from kiosk import maintenance_calibration as calibration
from kiosk import theme
from kiosk.app import Kiosk, KioskOptions, build
from kiosk.attendant.staff import PinHasher
from kiosk.maintenance import save_pin
from kiosk.maintenance_door import MaintenanceDoor
from kiosk.maintenance_gesture import HOLD_S
from kiosk.maintenance_parts import MaintenanceTiming
from kiosk.screens.maintenance import MaintenanceScreen
from kiosk.session import ATTRACT, WelcomeView

PIN = "482916"
KEY = bytes(range(32))
MEMBER = "0a1b2c3d-0000-4000-8000-0000000000aa"
OTHER_MEMBER = "0a1b2c3d-0000-4000-8000-0000000000bb"
FOB, OTHER_FOB = 12_345_678, 3_000_000_001  # two members' fobs
CHEAP = PinHasher(argon2.PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
LEFT, NONE = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sample_bundle(tmp_path_factory.mktemp("content") / "bundle")


@pytest.fixture(scope="module")
def devices(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[PickupBoardSim, RfidReaderSim]]:
    links = tmp_path_factory.mktemp("devices")
    reader = RfidReaderSim(link=links / "rfid")
    reader.start()
    with running_board(links) as board:
        yield board, reader
    reader.stop()


@pytest.fixture
def board(devices: tuple[PickupBoardSim, RfidReaderSim]) -> PickupBoardSim:
    return devices[0]


@pytest.fixture
def reader(devices: tuple[PickupBoardSim, RfidReaderSim]) -> RfidReaderSim:
    return devices[1]


def options(bundle: Path, board: PickupBoardSim, reader: RfidReaderSim, data: Path) -> KioskOptions:
    return KioskOptions(
        content=bundle,
        pickup_port=board.port,
        rfid_port=reader.port,
        data_dir=data,
        maintenance=MaintenanceTiming(idle_close_s=30.0, led_step_s=0.03),
    )


def with_member(data: Path) -> None:
    """The relay child's member directory: two members, recognised by their fobs."""
    entries = tuple(
        FeedEntry(tag_hash(KEY, rfid_tag(fob)), member, None, (), None)
        for fob, member in ((FOB, MEMBER), (OTHER_FOB, OTHER_MEMBER))
    )
    with MemberDirectory(data / MEMBERS_FILE) as directory:
        directory.apply(
            FeedPage(version=1, more=False, reset=True, tag_key=KEY, upserts=entries, removed=())
        )


@pytest.fixture(scope="module")
def shared(
    qapp: QApplication,
    devices: tuple[PickupBoardSim, RfidReaderSim],
    bundle: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Kiosk]:
    """One kiosk for the module (each costs a relay child's start): tests leave it closed."""
    themed(qapp)
    data = tmp_path_factory.mktemp("kiosk") / "data"
    save_pin(data, PIN, CHEAP)  # makes the data directory, 0700
    with_member(data)
    board, reader = devices
    built = build(options(bundle, board, reader, data), qapp)
    built.window.resize(*theme.SCREEN_SIZE)
    built.window.show()
    yield built
    built.close()
    built.window.deleteLater()  # made before any test began: no test's teardown frees it


@pytest.fixture
def kiosk(qtbot: QtBot, shared: Kiosk, board: PickupBoardSim) -> Iterator[Kiosk]:
    qtbot.waitExposed(shared.window)
    qtbot.waitUntil(lambda: board.plugged_in and shared.board is not None, timeout=5000)
    yield shared
    door(shared).close()
    door(shared).guard = None  # no lockout carried into the next test
    save_pin(shared.maintenance.parts.data_dir, PIN, CHEAP)  # type: ignore[union-attr]
    shared.window.setMinimumSize(0, 0)
    shared.window.setMaximumSize(16777215, 16777215)
    shared.window.resize(*theme.SCREEN_SIZE)


def door(kiosk: Kiosk) -> MaintenanceDoor:
    assert kiosk.maintenance is not None
    return kiosk.maintenance


def screen(kiosk: Kiosk) -> MaintenanceScreen:
    overlay = kiosk.window.overlay
    assert isinstance(overlay, MaintenanceScreen), "the maintenance screen is not open"
    return overlay


def gesture(kiosk: Kiosk, *, hold_s: float = HOLD_S + 0.2) -> None:
    """Hold the top-left corner, then tap the bottom-right one, through the window.
    QTest stamps each event `delay` ms after the last: no real waiting."""
    handle = kiosk.window.windowHandle()
    w, h = kiosk.window.width(), kiosk.window.height()
    QTest.mousePress(handle, LEFT, NONE, QPoint(12, 12))
    QTest.mouseRelease(handle, LEFT, NONE, QPoint(14, 12), round(hold_s * 1000))
    QTest.mouseClick(handle, LEFT, NONE, QPoint(w - 12, h - 12), 800)


def unlocked(qtbot: QtBot, kiosk: Kiosk) -> MaintenanceScreen:
    gesture(kiosk)
    opened = screen(kiosk)
    assert opened.current_page() is opened.pin
    opened.pin.type_pin(PIN)
    qtbot.waitUntil(lambda: opened.current_page() is opened.sections, timeout=2000)
    return opened


def texts(section: object) -> list[str]:
    return [line.text() for line in section.lines if line.isVisible()]  # type: ignore[attr-defined]


def test_the_gesture_and_pin_open_the_screen_and_a_wrong_pin_does_not(
    qtbot: QtBot, kiosk: Kiosk
) -> None:
    gesture(kiosk, hold_s=HOLD_S - 1)  # too short a hold: a shopper resting a finger
    assert kiosk.window.overlay is None
    gesture(kiosk)
    opened = screen(kiosk)
    # The tap that opened it did not reach the join button under that corner.
    assert not kiosk.controller.state.view.key.startswith("signup")
    opened.pin.type_pin("000000")
    assert opened.pin.message.text() == "密码错误"
    assert opened.current_page() is opened.pin
    opened.pin.type_pin(PIN)
    qtbot.waitUntil(lambda: opened.current_page() is opened.sections, timeout=2000)
    sections = opened.sections
    assert texts(sections.enrolment) == ["未注册：记录保存在本机（kiosk enroll）"]
    assert texts(sections.content)[0] == f"当前版本：{kiosk.bundle.release}"  # type: ignore[union-attr]
    assert "系统" in texts(sections.restarting)[0]
    tap(sections.language)
    assert sections.title.text() == "Kiosk maintenance"
    tap(sections.close_button)
    assert kiosk.window.overlay is None


def test_no_pin_set_means_the_gesture_opens_nothing(qtbot: QtBot, kiosk: Kiosk) -> None:
    (door(kiosk).parts.data_dir / "maintenance-pin").unlink()
    gesture(kiosk)
    QTest.qWait(50)
    assert kiosk.window.overlay is None


def test_led_test_lights_each_slot_in_turn_on_the_board(
    qtbot: QtBot, kiosk: Kiosk, board: PickupBoardSim
) -> None:
    opened = unlocked(qtbot, kiosk)
    slots = sorted(kiosk.controller.slot_skus)
    before = len(board.host_lines())
    tap(opened.sections.led_button)
    last = slots[-1]

    def leds() -> list[Led]:
        return [m for m in board.host_lines()[before:] if isinstance(m, Led)]

    qtbot.waitUntil(lambda: Led(last, LedMode.OFF) in leds(), timeout=5000)
    expected = [Led(s, mode) for s in slots for mode in (LedMode.ON, LedMode.OFF)]
    assert leds() == expected
    qtbot.waitUntil(
        lambda: f"已测试 {len(slots)} 个展位" in texts(opened.sections.devices), timeout=2000
    )


def test_a_members_fob_shows_its_short_hash_and_logs_nobody_in(
    qtbot: QtBot, kiosk: Kiosk, reader: RfidReaderSim
) -> None:
    opened = unlocked(qtbot, kiosk)
    reader.present(FOB)
    short = tag_hash(KEY, rfid_tag(FOB))[:8]
    devices = opened.sections.devices
    qtbot.waitUntil(lambda: f"已读到钥匙扣 · {short}" in texts(devices), timeout=3000)
    assert not any(str(FOB) in line for line in texts(devices))
    assert kiosk.controller.state.member is None
    assert kiosk.controller.state.view == ATTRACT
    # BLE tags as the scanner reports them: counted, with their signal, hashed.
    beacon = TagId(TagKind.IBEACON, "6f1c3a52-2b7e-4c1d-9a55-0d3e5b1f7a10:1:2")
    door(kiosk).divert(lambda event: None)(TagSeen(beacon, "ble", 0.0, rssi=-61.4))
    qtbot.waitUntil(lambda: "蓝牙标签：1 个" in texts(devices), timeout=2000)
    assert f"{tag_hash(KEY, beacon)[:8]} · -61 dBm" in texts(devices)
    # Closed: a member's fob welcomes them again (another fob: the reader drops a repeat).
    tap(opened.sections.close_button)
    reader.present(OTHER_FOB)
    qtbot.waitUntil(lambda: isinstance(kiosk.controller.state.view, WelcomeView), timeout=3000)


def test_network_section_shows_the_relays_last_report(qtbot: QtBot, kiosk: Kiosk) -> None:
    opened = unlocked(qtbot, kiosk)
    # As the relay's supervisor thread hands them on.
    door(kiosk).on_sync(SyncStatus(SyncState.BACKING_OFF, 7, 0, None, 12.0, 0))
    door(kiosk).on_content(ContentStatus(("hq-9",), None, (8, "hash mismatch")))
    tap(opened.sections.language)  # English
    lines = opened.sections.network
    qtbot.waitUntil(lambda: "Retry in 12 s" in texts(lines), timeout=2000)
    assert texts(lines) == [
        "HQ unreachable or busy: retrying",
        "Last success: never",
        "7 waiting, 0 given up",
        "Retry in 12 s",
    ]
    assert texts(opened.sections.content)[1:] == ["Staged: hq-9", "Last failure (8): hash mismatch"]


def test_restart_quits_for_the_supervisor_after_saying_so(qtbot: QtBot, kiosk: Kiosk) -> None:
    restarts: list[bool] = []
    door(kiosk).restart = lambda: restarts.append(True)
    opened = unlocked(qtbot, kiosk)
    assert "自动重新启动" in texts(opened.sections.restarting)[0]
    tap(opened.sections.restart_button)
    assert restarts == [True]
    assert kiosk.window.overlay is None


def test_calibration_saves_the_libinput_matrix_that_corrects_the_taps(
    qtbot: QtBot, kiosk: Kiosk
) -> None:
    opened = unlocked(qtbot, kiosk)
    tap(opened.sections.calibrate_button)
    page = opened.calibration
    assert opened.current_page() is page
    # A panel whose touches land 20 px right and 10 px low of the finger.
    for _ in calibration.TARGETS:
        at = page.target_position().toPoint() + QPoint(20, 10)
        tap(page, at)
    assert opened.current_page() is opened.sections
    saved_file = door(kiosk).parts.data_dir / calibration.CALIBRATION_FILE
    saved = calibration.parse(saved_file.read_text())  # what udev gives libinput at boot
    w, h = page.width(), page.height()
    assert saved[2] == pytest.approx(-20 / w, abs=1e-3)
    assert saved[5] == pytest.approx(-10 / h, abs=1e-3)
    assert saved[0] == pytest.approx(1.0, abs=1e-3)
    assert saved[4] == pytest.approx(1.0, abs=1e-3)
    note = texts(opened.sections.calibration)[-1]
    assert re.fullmatch(r"已保存校准（最大偏差 [01] 像素），重新开机后生效。", note), note


def test_wrong_pins_lock_the_pad_and_it_stays_locked_when_reopened(
    qtbot: QtBot, kiosk: Kiosk
) -> None:
    gesture(kiosk)
    opened = screen(kiosk)
    for _ in range(3):
        opened.pin.type_pin("111111")
    assert not opened.pin.enter.isEnabled()
    assert opened.pin.message.text().startswith("错误次数过多")
    tap(opened.pin.close_button)
    gesture(kiosk)
    again = screen(kiosk)
    assert not again.pin.enter.isEnabled()


def test_an_untouched_screen_closes_itself(
    qtbot: QtBot, qapp: QApplication, bundle: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    save_pin(data, PIN, CHEAP)
    quick = KioskOptions(
        content=bundle, data_dir=data, maintenance=MaintenanceTiming(idle_close_s=0.3)
    )
    kiosk = build(quick, qapp)
    try:
        kiosk.window.resize(*theme.SCREEN_SIZE)
        kiosk.window.show()
        qtbot.waitExposed(kiosk.window)
        opened = unlocked(qtbot, kiosk)
        assert opened.sections.devices.lines[0].text() == "没有连接展柜"  # no board here
        qtbot.waitUntil(lambda: kiosk.window.overlay is None, timeout=2000)
    finally:
        kiosk.close()


@pytest.mark.parametrize("shape", theme.SCREEN_SHAPES)
def test_the_screen_fits_both_shapes(qtbot: QtBot, kiosk: Kiosk, shape: str) -> None:
    size = theme.SCREEN_SHAPES[shape]
    kiosk.window.setFixedSize(*size)
    QTest.qWait(50)
    gesture(kiosk)
    opened = screen(kiosk)
    for page in (opened.pin, opened.sections):
        if page is opened.sections:
            opened.pin.type_pin(PIN)
            qtbot.waitUntil(lambda: opened.current_page() is opened.sections, timeout=2000)
        QTest.qWait(100)
        assert (opened.width(), opened.height()) == size
        problems = layout_problems(opened)
        assert problems == [], "\n".join(problems)
        needed = opened.minimumSizeHint()
        assert needed.width() <= size[0], needed
        assert needed.height() <= size[1], needed
        if page is opened.pin:  # big keys for a thumb
            for key in opened.pin.pad.keys.values():
                assert key.width() >= theme.TOUCH_MIN
                assert key.height() >= theme.TOUCH_MIN
