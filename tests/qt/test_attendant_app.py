"""The attendant app as staff use it: first run, sign-in with lockout, the idle lock,
what each role sees, and the alert sound. Built by app.build on a real data dir; the
monotonic clock is the test's."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import argon2
import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from kiosk.attendant.app import Attendant, AttendantOptions, build
from kiosk.attendant.model import PlainMessage
from kiosk.attendant.staff import FIRST_LOCKOUT_S, IDLE_LOCK_S, Action, PinHasher, Role
from kiosk.attendant.window import Page

HASHER = PinHasher(argon2.PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
STORE = "sh-nanjing-road"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingPlayer:
    def __init__(self) -> None:
        self.played = 0

    def play(self) -> None:
        self.played += 1


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def player() -> CountingPlayer:
    return CountingPlayer()


@pytest.fixture
def attendant(
    qtbot: QtBot, qapp: QApplication, tmp_path: Path, clock: FakeClock, player: CountingPlayer
) -> Iterator[Attendant]:
    built = build(
        AttendantOptions(data_dir=tmp_path / "attendant", discover=False),
        qapp,
        None,
        player=player,
        clock=clock,
        hasher=HASHER,
    )
    qtbot.addWidget(built.window)
    built.window.resize(1280, 800)
    built.window.show()
    yield built
    built.close()


def set_up_manager(attendant: Attendant, name: str = "李店长", pin: str = "2468") -> None:
    signin = attendant.window.signin
    signin.name.setText(name)
    signin.type_pin(pin)
    signin.type_pin(pin)


def add_attendant(attendant: Attendant, name: str, pin: str) -> None:
    attendant.window.show_page(Page.STAFF)
    page = attendant.window.staff
    page.name.setText(name)
    page.pin.setText(pin)
    page.again.setText(pin)
    page.as_attendant.setChecked(True)
    page.add.click()


def test_the_first_run_sets_up_a_store_manager_who_is_then_signed_in(
    attendant: Attendant,
) -> None:
    window = attendant.window
    assert window.locked
    assert window.signin.name.isVisible()  # nobody yet: set up the first manager
    set_up_manager(attendant)
    assert not window.locked
    assert "李店长" in window.who.text()
    (boss,) = attendant.store.staff()
    assert boss.role is Role.MANAGER
    assert all(window.nav_buttons[page].isVisible() for page in Page)
    actions = [record.action for record in attendant.store.actions()]
    assert actions == [Action.SIGN_IN, Action.MANAGE_STAFF]


def test_an_attendant_sees_feed_alerts_health_and_till_only(attendant: Attendant) -> None:
    set_up_manager(attendant)
    add_attendant(attendant, "王芳", "1357")
    assert "王芳" in attendant.window.staff.message.text()
    attendant.window.sign_out.click()
    signin = attendant.window.signin
    wang = next(m for m in attendant.store.staff() if m.display_name == "王芳")
    signin.choose(wang.id)
    signin.type_pin("1357")
    window = attendant.window
    shown = {page for page in Page if window.nav_buttons[page].isVisible()}
    assert shown == {Page.FEED, Page.ALERTS, Page.HEALTH, Page.TILL}
    window.show_page(Page.STAFF)  # not for her role: stays where it was
    assert window.current is Page.FEED


def test_wrong_pins_lock_the_pad_out_with_a_countdown_that_grows(
    attendant: Attendant, clock: FakeClock
) -> None:
    set_up_manager(attendant)
    attendant.window.sign_out.click()
    signin = attendant.window.signin
    for _ in range(3):
        signin.type_pin("0000")
    assert attendant.window.locked
    assert not signin.pad.keys["1"].isEnabled()
    assert "30" in signin.message.text()
    clock.now += 10
    attendant.console.tick()
    assert "20" in signin.message.text()
    signin.type_pin("2468")  # the right PIN, while locked out: not even tried
    assert attendant.window.locked
    clock.now += FIRST_LOCKOUT_S
    attendant.console.tick()
    assert signin.pad.keys["1"].isEnabled()
    signin.type_pin("1111")  # a fourth wrong one: twice as long
    assert "60" in signin.message.text()
    clock.now += 2 * FIRST_LOCKOUT_S
    attendant.console.tick()
    signin.type_pin("2468")
    assert not attendant.window.locked


def test_the_app_locks_itself_after_two_idle_minutes_and_a_touch_keeps_it_open(
    qtbot: QtBot, attendant: Attendant, clock: FakeClock
) -> None:
    set_up_manager(attendant)
    clock.now += IDLE_LOCK_S - 1
    qtbot.mouseClick(attendant.window.nav_buttons[Page.HEALTH], Qt.MouseButton.LeftButton)
    clock.now += IDLE_LOCK_S - 1
    attendant.console.tick()
    assert not attendant.window.locked
    QApplication.sendEvent(
        attendant.window.till.scan,
        QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_A, Qt.KeyboardModifier.NoModifier, "a"),
    )
    clock.now += IDLE_LOCK_S - 1
    attendant.console.tick()
    assert not attendant.window.locked
    clock.now += 2
    attendant.console.tick()
    assert attendant.window.locked
    assert attendant.store.actions(1)[0].detail == "idle"


def alarm(seq: int, store: str = "") -> PlainMessage:
    """Without enrolment the app's store is "": a message of that store."""
    at = datetime(2026, 12, 6, 8, 0, seq, tzinfo=UTC)
    return PlainMessage(1, store, "k1", seq, at, "alarm", True, {"slot": 2, "reason": "CABLE"})


def test_each_new_alert_sounds_once_and_stands_out_on_every_page(
    qtbot: QtBot, attendant: Attendant, player: CountingPlayer
) -> None:
    set_up_manager(attendant)
    window = attendant.window
    window.show_page(Page.TILL)
    assert not window.banner.isVisible()
    attendant.console.desk.receive(alarm(1))
    assert player.played == 1
    qtbot.waitUntil(window.banner.isVisible)  # redrawn once the event loop settles
    assert "防盗报警" in window.banner_text.text()
    assert window.nav_buttons[Page.ALERTS].text() == "提醒 1"
    attendant.console.desk.receive(alarm(1))  # the same message again: no second sound
    assert player.played == 1
    attendant.console.desk.receive(alarm(2))
    assert player.played == 2


def survey(seq: int, score: int) -> PlainMessage:
    at = datetime(2026, 12, 6, 8, 0, seq, tzinfo=UTC)
    data = {"survey": "visit", "question": "q1", "kind": "faces", "score": score, "low": False}
    return PlainMessage(1, "", "k1", seq, at, "survey_answer", False, data)


def test_a_manager_raises_the_low_score_threshold_and_it_applies_and_stays(
    attendant: Attendant, player: CountingPlayer, tmp_path: Path
) -> None:
    set_up_manager(attendant)
    attendant.console.desk.receive(survey(1, 3))
    assert player.played == 0  # 3 of 5 is not low by default
    attendant.window.show_page(Page.THRESHOLDS)
    page = attendant.window.thresholds
    page.low_score.setValue(3)
    page.silence.setValue(120)
    page.save.click()
    assert page.message.text() == "已保存"
    attendant.console.desk.receive(survey(2, 3))
    assert player.played == 1
    assert attendant.store.thresholds().low_score == 3
    assert attendant.store.thresholds().silence_s == 120.0
    assert attendant.store.actions(1)[0].action is Action.SET_THRESHOLDS


def test_a_removed_attendant_is_no_longer_offered_at_sign_in(attendant: Attendant) -> None:
    set_up_manager(attendant)
    add_attendant(attendant, "王芳", "1357")
    wang = next(m for m in attendant.store.staff() if m.display_name == "王芳")
    (row,) = [r for r in attendant.window.staff.rows if r.member_id == wang.id]
    row.button.click()
    assert [m.display_name for m in attendant.store.staff()] == ["李店长"]
    (me_row,) = attendant.window.staff.rows
    assert not me_row.button.isEnabled()  # nobody removes themselves
    attendant.window.sign_out.click()
    assert [b.text().split()[0] for b in attendant.window.signin.tiles.buttons()] == ["李店长"]


def test_a_lockout_outlasts_a_restart_of_the_app(
    qtbot: QtBot, qapp: QApplication, tmp_path: Path, clock: FakeClock, player: CountingPlayer
) -> None:
    options = AttendantOptions(data_dir=tmp_path / "attendant", discover=False)
    first = build(options, qapp, None, player=player, clock=clock, hasher=HASHER)
    set_up_manager(first)
    first.window.sign_out.click()
    for _ in range(3):
        first.window.signin.type_pin("0000")
    first.close()
    clock.now = 5.0  # another process: another monotonic clock
    again = build(options, qapp, None, player=player, clock=clock, hasher=HASHER)
    qtbot.addWidget(again.window)
    try:
        again.console.tick()
        assert not again.window.signin.pad.keys["1"].isEnabled()
        again.window.signin.type_pin("2468")
        assert again.window.locked
    finally:
        again.close()


def test_everything_tapped_on_the_way_in_is_at_least_64_px(attendant: Attendant) -> None:
    set_up_manager(attendant)
    attendant.window.sign_out.click()
    signin = attendant.window.signin
    tapped = [*signin.pad.keys.values(), signin.enter, *signin.tiles.buttons()]
    assert all(min(w.height(), w.width()) >= 64 for w in tapped)
    signin.type_pin("2468")
    bar = [*attendant.window.nav_buttons.values(), attendant.window.sign_out]
    assert all(min(w.height(), w.width()) >= 64 for w in bar if w.isVisible())
