"""The maintenance screen's pure parts: the hidden gesture, the PIN and its lockout, the
touchscreen calibration's maths and file, and the words the screen shows."""

from __future__ import annotations

import io
import stat
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import argon2
import pytest

from backend_client.credentials import Credentials
from backend_client.status import ContentStatus, SyncState, SyncStatus
from content.model import Language
from devices.events import TagId, TagKind
from kiosk import maintenance_calibration as calibration
from kiosk.attendant.staff import FIRST_LOCKOUT_S, FREE_ATTEMPTS, PinGuard, PinHasher
from kiosk.maintenance import (
    PIN_FILE,
    TagReading,
    TagsHeard,
    check_pin,
    content_lines,
    enrolment_lines,
    heard,
    led_sequence,
    load_pin_hash,
    network_lines,
    save_pin,
    set_pin_main,
    short_form,
)
from kiosk.maintenance_gesture import HOLD_S, TAP_WITHIN_S, GestureProgress, Touch, gesture_step

HASHER = PinHasher(argon2.PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
W, H = 1920.0, 1080.0


def press(x: float, y: float, at: float, size: tuple[float, float] = (W, H)) -> Touch:
    return Touch(True, x, y, size[0], size[1], at)


def release(x: float, y: float, at: float, size: tuple[float, float] = (W, H)) -> Touch:
    return Touch(False, x, y, size[0], size[1], at)


def run(touches: list[Touch]) -> list[bool]:
    progress, opened = GestureProgress(), []
    for touch in touches:
        progress, done = gesture_step(progress, touch)
        opened.append(done)
    return opened


# --- the gesture ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(1920.0, 1080.0), (1080.0, 1920.0)])
def test_long_press_top_left_then_tap_bottom_right_opens(size: tuple[float, float]) -> None:
    w, h = size
    touches = [
        press(20, 30, 0.0, size),
        release(25, 30, HOLD_S + 0.1, size),
        press(w - 20, h - 20, HOLD_S + 2.0, size),
    ]
    assert run(touches) == [False, False, True]


def test_a_short_press_in_the_corner_opens_nothing() -> None:
    touches = [press(20, 20, 0.0), release(20, 20, HOLD_S - 0.5), press(W - 20, H - 20, HOLD_S)]
    assert run(touches) == [False, False, False]


def test_the_tap_must_come_within_the_window() -> None:
    late = HOLD_S + TAP_WITHIN_S + 0.5
    touches = [press(20, 20, 0.0), release(20, 20, HOLD_S), press(W - 20, H - 20, late)]
    assert run(touches) == [False, False, False]


def test_a_press_elsewhere_between_starts_over() -> None:
    touches = [
        press(20, 20, 0.0),
        release(20, 20, HOLD_S),
        press(W / 2, H / 2, HOLD_S + 1),  # a shopper's tap on the middle
        press(W - 20, H - 20, HOLD_S + 2),
    ]
    assert run(touches) == [False, False, False, False]


def test_the_wrong_corners_open_nothing() -> None:
    touches = [press(W - 20, 20, 0.0), release(W - 20, 20, HOLD_S + 1), press(20, H - 20, 5.0)]
    assert run(touches) == [False, False, False]


def test_touches_delivered_twice_still_count_once() -> None:
    """Touch, then the mouse event Qt makes of it: the same press and release twice."""
    touches = [
        press(20, 20, 0.0),
        press(20, 20, 0.01),
        release(20, 20, HOLD_S + 0.1),
        release(20, 20, HOLD_S + 0.11),
        press(W - 20, H - 20, HOLD_S + 1),
        press(W - 20, H - 20, HOLD_S + 1.01),
    ]
    assert run(touches) == [False, False, False, False, True, False]


# --- the PIN -------------------------------------------------------------------------------


def test_pin_file_is_private_whatever_the_umask(tmp_path: Path) -> None:
    data = tmp_path / "data"
    save_pin(data, "4821", HASHER)
    path = data / PIN_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    stored = load_pin_hash(data)
    assert stored is not None
    assert "4821" not in stored
    assert stored.startswith("$argon2id$")


def test_no_pin_file_means_no_pin(tmp_path: Path) -> None:
    assert load_pin_hash(tmp_path) is None
    (tmp_path / PIN_FILE).write_text("\n")
    assert load_pin_hash(tmp_path) is None


def test_an_unreadable_pin_file_opens_nothing_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / PIN_FILE).mkdir()  # unreadable as a file, even for root
    assert load_pin_hash(tmp_path) is None
    assert "maintenance PIN file unusable (IsADirectoryError)" in caplog.text


@pytest.mark.parametrize("pin", ["123", "123456789", "12a4", ""])
def test_a_pin_is_four_to_eight_digits(tmp_path: Path, pin: str) -> None:
    with pytest.raises(ValueError, match="4 to 8 digits"):
        save_pin(tmp_path, pin, HASHER)
    assert not (tmp_path / PIN_FILE).exists()


def test_right_pin_opens_and_clears_the_failures() -> None:
    pin_hash = HASHER.hash("4821")
    guard = check_pin(PinGuard(), pin_hash, "0000", 0.0, HASHER).guard
    result = check_pin(guard, pin_hash, "4821", 1.0, HASHER)
    assert result.session is not None
    assert result.guard == PinGuard()


def test_wrong_pins_lock_out_for_growing_times() -> None:
    pin_hash = HASHER.hash("4821")
    guard, now = PinGuard(), 100.0
    for _ in range(FREE_ATTEMPTS - 1):
        result = check_pin(guard, pin_hash, "0000", now, HASHER)
        assert result.wait_s == 0
        guard = result.guard
    waits = []
    for _ in range(3):
        now += waits[-1] if waits else 0.0  # waited the last lockout out
        result = check_pin(guard, pin_hash, "0000", now, HASHER)
        guard = result.guard
        waits.append(result.wait_s)
    assert waits == [FIRST_LOCKOUT_S, FIRST_LOCKOUT_S * 2, FIRST_LOCKOUT_S * 4]
    # While locked out even the right PIN is not checked.
    locked = check_pin(guard, pin_hash, "4821", now + 1, HASHER)
    assert locked.session is None
    assert locked.wait_s == pytest.approx(waits[-1] - 1)
    assert check_pin(guard, pin_hash, "4821", now + waits[-1], HASHER).session is not None


def test_set_pin_command_reads_stdin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("73915\n"))
    assert set_pin_main(["--data-dir", str(tmp_path / "d")], tmp_path / "default") == 0
    stored = load_pin_hash(tmp_path / "d")
    assert stored is not None
    assert argon2.PasswordHasher().verify(stored, "73915")
    assert "73915" not in capsys.readouterr().out


def test_set_pin_command_refuses_a_bad_pin_and_keeps_the_old(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    save_pin(tmp_path, "4821", HASHER)
    before = load_pin_hash(tmp_path)
    monkeypatch.setattr("sys.stdin", io.StringIO("12\n"))
    assert set_pin_main(["--data-dir", str(tmp_path)], tmp_path) == 1
    assert "4 to 8 digits" in capsys.readouterr().err
    assert load_pin_hash(tmp_path) == before


# --- calibration ---------------------------------------------------------------------------


def test_fit_recovers_a_panel_offset_and_scale() -> None:
    # A panel that reports touches 3% right, 2% low and 5% too wide.
    panel = (1.05, 0.0, 0.03, 0.0, 1.0, 0.02)
    seen = [calibration.apply(panel, t) for t in calibration.TARGETS]
    correction = calibration.fit(seen, calibration.TARGETS)
    for point, target in zip(seen, calibration.TARGETS, strict=True):
        x, y = calibration.apply(correction, point)
        assert x == pytest.approx(target[0], abs=1e-9)
        assert y == pytest.approx(target[1], abs=1e-9)


def test_fit_of_exact_taps_is_the_identity() -> None:
    matrix = calibration.fit(list(calibration.TARGETS), calibration.TARGETS)
    assert matrix == pytest.approx(calibration.IDENTITY)


def test_new_matrix_composes_with_the_one_in_effect() -> None:
    """The taps come through the old matrix: the saved one must map raw device points
    (not the seen ones) onto the targets."""
    raw_error = (0.9, 0.05, 0.04, -0.03, 1.1, -0.02)  # what the panel does
    in_effect = (1.02, 0.0, -0.01, 0.0, 0.98, 0.01)  # an older, imperfect calibration
    raw = [
        calibration.apply(_inverse(raw_error), t) for t in calibration.TARGETS
    ]  # where fingers land on the glass
    device = [calibration.apply(raw_error, p) for p in raw]
    seen = [calibration.apply(in_effect, p) for p in device]
    new = calibration.compose(calibration.fit(seen, calibration.TARGETS), in_effect)
    for point, target in zip(device, calibration.TARGETS, strict=True):
        assert calibration.apply(new, point) == pytest.approx(target, abs=1e-9)


def _inverse(m: calibration.Matrix) -> calibration.Matrix:
    a, b, c, d, e, f = m
    det = a * e - b * d
    ia, ib, id_, ie = e / det, -b / det, -d / det, a / det
    return (ia, ib, -(ia * c + ib * f), id_, ie, -(id_ * c + ie * f))


@pytest.mark.parametrize(
    ("taps", "why"),
    [
        ([(0.5, 0.5)] * 5, "line"),
        ([(0.1, 0.1), (0.2, 0.2), (0.3, 0.3), (0.4, 0.4), (0.5, 0.5)], "line"),
        ([(0.9, 0.9), (0.1, 0.9), (0.1, 0.1), (0.9, 0.1), (0.5, 0.5)], "too far"),
        ([(0.1, 0.1), (0.9, 0.1)], "three"),
    ],
)
def test_taps_beside_the_targets_are_refused(taps: list[calibration.Point], why: str) -> None:
    with pytest.raises(calibration.CalibrationError, match=why):
        calibration.fit(taps, calibration.TARGETS[: len(taps)])


def test_saved_matrix_reads_back_in_udev_form(tmp_path: Path) -> None:
    assert calibration.load(tmp_path) == calibration.IDENTITY
    matrix = (1.05, 0.0, 0.03, 0.0, 1.0, -0.02)
    path = calibration.save(tmp_path, matrix, calibration.IDENTITY)
    lines = path.read_text().splitlines()
    assert lines[-1] == (
        'LIBINPUT_CALIBRATION_MATRIX="1.050000 0.000000 0.030000 0.000000 1.000000 -0.020000"'
    )
    assert all(line.startswith("#") for line in lines[:-1])  # udev reads only the last
    # Written before this boot: udev imported it, it is in effect.
    assert calibration.load(tmp_path, booted_at=time.time() + 60) == pytest.approx(matrix)
    # Written since: not applied yet, the base it was computed on still is.
    assert calibration.load(tmp_path, booted_at=time.time() - 60) == calibration.IDENTITY


def test_a_second_calibration_before_the_reboot_keeps_the_base_in_effect() -> None:
    base = (1.02, 0.0, -0.01, 0.0, 0.98, 0.01)
    text = f'# KIOSK_IN_EFFECT="{" ".join(map(str, base))}"\n' + calibration.udev_line(
        (1.1, 0, 0, 0, 1.1, 0)
    )
    assert calibration.in_effect(text, written_at=200.0, booted_at=100.0) == pytest.approx(base)
    assert calibration.in_effect(text, written_at=50.0, booted_at=100.0) == pytest.approx(
        (1.1, 0, 0, 0, 1.1, 0)
    )


@pytest.mark.parametrize(
    "text", ["", 'LIBINPUT_CALIBRATION_MATRIX="1 0 0"', 'LIBINPUT_CALIBRATION_MATRIX="a b c d e f"']
)
def test_a_damaged_calibration_file_reads_as_none(text: str) -> None:
    assert calibration.parse(text) == calibration.IDENTITY


# --- what the screen says ------------------------------------------------------------------


def test_tag_short_form_is_keyed_and_never_the_id() -> None:
    tag = TagId(TagKind.RFID, "0012345678")
    short = short_form(b"k" * 32, tag)
    assert len(short) == 8
    assert "12345678" not in short
    assert short != short_form(b"j" * 32, tag)
    assert "0012345678" not in repr(TagReading("rfid", "rfid", short, None, 0.0))


def test_heard_keeps_the_last_fob_and_each_ble_tag_once() -> None:
    tags = TagsHeard()
    for reading in (
        TagReading("rfid", "rfid", "aaaa0001", None, 1.0),
        TagReading("ibeacon", "ble", "bbbb0001", -60.0, 2.0),
        TagReading("ibeacon", "ble", "bbbb0001", -55.0, 3.0),
        TagReading("eddystone", "ble", "cccc0001", -70.0, 4.0),
        TagReading("rfid", "rfid", "aaaa0002", None, 5.0),
    ):
        tags = heard(tags, reading)
    assert tags.fob is not None
    assert tags.fob.short == "aaaa0002"
    assert {k: r.rssi for k, r in tags.ble.items()} == {"bbbb0001": -55.0, "cccc0001": -70.0}


def test_led_sequence_lights_each_slot_once_in_order() -> None:
    assert led_sequence([7, 3, 12, 3, 1]) == [1, 3, 7, 12]


def test_network_lines_say_what_the_relay_last_reported() -> None:
    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    assert network_lines(Language.EN, None, now) == ["No report from the sync process yet"]
    status = SyncStatus(SyncState.BACKING_OFF, 12, 1, now - timedelta(seconds=90), 30.0, 400)
    assert network_lines(Language.EN, status, now) == [
        "HQ unreachable or busy: retrying",
        "Last success: 90 s ago",
        "12 waiting, 1 given up",
        "Retry in 30 s",
    ]
    zh = network_lines(Language.ZH_CN, status, now)
    assert zh[0] == "无法连接总部，稍后重试"
    long_ago = replace(status, last_success=now - timedelta(minutes=42))
    assert network_lines(Language.ZH_CN, long_ago, now)[1] == "上次成功：42 分钟前"
    days = replace(status, last_success=now - timedelta(hours=30))
    assert network_lines(Language.EN, days, now)[1] == "Last success: 30 h ago"


def test_enrolment_and_content_lines() -> None:
    assert enrolment_lines(Language.EN, None) == ["Not enrolled: records wait here (kiosk enroll)"]
    enrolled = Credentials("https://hq.example", "store-7", "kiosk-3", "secret-token")
    lines = enrolment_lines(Language.EN, enrolled)
    assert lines == ["Enrolled", "Store store-7 · kiosk kiosk-3", "https://hq.example"]
    assert "secret-token" not in " ".join(lines)
    status = ContentStatus(("hq-13",), (14, 50, 200), (12, "signature does not verify"))
    assert content_lines(Language.EN, "hq-11", status) == [
        "Showing: hq-11",
        "Staged: hq-13",
        "Downloading 14: 25%",
        "Last failure (12): signature does not verify",
    ]
