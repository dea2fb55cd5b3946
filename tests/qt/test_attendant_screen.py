"""The attendant's feed and alerts on screen, fed channel messages directly (no transport)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from content.model import Language
from kiosk.attendant.desk import AttendantDesk
from kiosk.attendant.model import AttendantState, PlainMessage, RecordAction, SendAck
from kiosk.attendant.screen import FEED_ROWS_SHOWN, SCREEN_SIZE, AttendantScreen
from kiosk.attendant.staff import Action
from kiosk.attendant.words import feed_line

STORE = "sh-nanjing-road"
K3 = "sh-nanjing-road-k3"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def message(seq: int, kind: str, data: Mapping[str, object]) -> PlainMessage:
    at = datetime(2026, 12, 6, 5, 50, tzinfo=UTC) + timedelta(seconds=seq)
    return PlainMessage(1, STORE, K3, seq, at, kind, False, data)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def desk(clock: FakeClock) -> AttendantDesk:
    return AttendantDesk(AttendantState(STORE), clock)


@pytest.fixture
def screen(qtbot: QtBot, desk: AttendantDesk) -> AttendantScreen:
    shown = AttendantScreen()
    qtbot.addWidget(shown)
    desk.changed.connect(lambda state, now: shown.show_state(state, Language.ZH_CN, now))
    shown.acknowledge_requested.connect(desk.acknowledge)
    shown.resize(*SCREEN_SIZE)
    shown.show_state(desk.state, Language.ZH_CN, 0.0)
    shown.show()
    return shown


def test_an_alarm_stands_out_sounds_and_is_acknowledged_with_one_tap(
    qtbot: QtBot, desk: AttendantDesk, screen: AttendantScreen, clock: FakeClock
) -> None:
    assert screen.no_alerts.isVisible()
    with qtbot.waitSignal(desk.sound) as sounded:
        desk.receive(message(1, "alarm", {"slot": 2, "reason": "CABLE", "sku": "XH-N1"}))
    assert sounded.args == [f"{K3}:1"]
    (row,) = screen.alert_rows
    assert "防盗报警" in row.text.text()
    assert K3 in row.text.text()
    assert not screen.no_alerts.isVisible()
    assert "防盗报警" in screen.feed.item(0).text()

    desk.staff_id = "staff-7"
    clock.now += 12.0
    with (
        qtbot.waitSignal(desk.ack_to_send) as sent,
        qtbot.waitSignal(desk.action_to_record) as recorded,
    ):
        qtbot.mouseClick(row.button, Qt.MouseButton.LeftButton)
    assert sent.args == [SendAck(f"{K3}:1", "staff-7", 12.0)]
    assert recorded.args == [RecordAction("staff-7", Action.ACKNOWLEDGE, f"{K3}:1", 12.0)]
    assert screen.alert_rows == []
    assert screen.no_alerts.isVisible()


def test_acknowledge_needs_someone_signed_in(
    qtbot: QtBot, desk: AttendantDesk, screen: AttendantScreen
) -> None:
    desk.receive(message(1, "alarm", {"slot": 2, "reason": "PUCK", "sku": None}))
    with qtbot.assertNotEmitted(desk.ack_to_send):
        qtbot.mouseClick(screen.alert_rows[0].button, Qt.MouseButton.LeftButton)
    assert len(screen.alert_rows) == 1


def test_a_member_is_shown_by_greeting_only_when_allowed(
    desk: AttendantDesk, screen: AttendantScreen
) -> None:
    desk.receive(
        message(
            1,
            "member_arrived",
            {"session": "a", "greeting": None, "last_viewed": ["LY-A5"], "via": "rfid"},
        )
    )
    desk.receive(
        message(
            2,
            "member_arrived",
            {"session": "b", "greeting": "Anna", "last_viewed": [], "via": "ble"},
        )
    )
    assert "Anna 到店" in screen.feed.item(0).text()
    assert "会员 到店" in screen.feed.item(1).text()
    assert "上次看过 LY-A5" in screen.feed.item(1).text()
    screen.show_state(desk.state, Language.EN, 0.0)
    assert "member arrived" in screen.feed.item(1).text()


def test_garbage_from_a_kiosk_leaves_the_screen_as_it_was(
    desk: AttendantDesk, screen: AttendantScreen, clock: FakeClock
) -> None:
    desk.receive(message(1, "lift", {"session": "a", "slot": 1, "sku": "XH-N1"}))
    desk.receive(message(2, "alarm", {"slot": "<b>two</b>", "reason": 7}))
    assert screen.feed.count() == 1
    assert screen.alert_rows == []
    assert desk.state.kiosks[K3].faulty(clock.now)


def test_a_kiosk_silent_for_a_minute_raises_an_alert_on_the_sweep(
    qtbot: QtBot, desk: AttendantDesk, screen: AttendantScreen, clock: FakeClock
) -> None:
    desk.receive(message(1, "heartbeat", {"uptime_s": 15}))
    clock.now += 61.0
    with qtbot.waitSignal(desk.sound):
        desk.sweep()
    (row,) = screen.alert_rows
    assert "终端超过一分钟无响应" in row.text.text()


def rows(screen: AttendantScreen) -> list[str]:
    return [screen.feed.item(n).text() for n in range(screen.feed.count())]


def test_the_feed_grows_at_the_top_and_keeps_its_length(
    desk: AttendantDesk, screen: AttendantScreen
) -> None:
    for seq in range(1, FEED_ROWS_SHOWN + 11):
        desk.receive(message(seq, "lift", {"session": "a", "slot": seq % 8, "sku": "XH-N1"}))
    expected = [feed_line(entry, Language.ZH_CN) for entry in desk.state.feed[:FEED_ROWS_SHOWN]]
    assert rows(screen) == expected


def test_filtering_by_kiosk_and_kind_and_back_shows_the_right_rows(
    desk: AttendantDesk, screen: AttendantScreen
) -> None:
    k1 = "sh-nanjing-road-k1"
    desk.receive(message(1, "lift", {"session": "a", "slot": 1, "sku": "XH-N1"}))
    desk.receive(message(2, "alarm", {"slot": 1, "reason": "CABLE", "sku": None}))
    desk.receive(
        PlainMessage(1, STORE, k1, 1, datetime.now(UTC), "signup", False, {"session": "b"})
    )
    assert [screen.kiosk_choice.itemText(n) for n in range(3)] == ["全部终端", k1, K3]

    screen.kiosk_choice.setCurrentIndex(screen.kiosk_choice.findData(K3))
    assert len(rows(screen)) == 2
    assert all(K3 in row for row in rows(screen))
    screen.kind_choice.setCurrentIndex(screen.kind_choice.findData("alarm"))
    assert len(rows(screen)) == 1
    assert "防盗报警" in rows(screen)[0]

    # The choice stays while messages come in; new rows respect it.
    desk.receive(message(3, "lift", {"session": "a", "slot": 2, "sku": "LY-A5"}))
    assert len(rows(screen)) == 1
    screen.kiosk_choice.setCurrentIndex(0)
    screen.kind_choice.setCurrentIndex(0)
    assert len(rows(screen)) == 4


def top_to_bottom(qtbot: QtBot, screen: AttendantScreen) -> list[str]:
    """The alert rows as staff see them, once laid out."""
    qtbot.waitUntil(lambda: all(row.isVisible() for row in screen.alert_rows))
    qtbot.waitUntil(lambda: len({row.y() for row in screen.alert_rows}) == len(screen.alert_rows))
    return [row.alert_id for row in sorted(screen.alert_rows, key=lambda row: row.y())]


def test_alert_rows_follow_the_open_alerts_newest_first_in_either_language(
    qtbot: QtBot, desk: AttendantDesk, screen: AttendantScreen
) -> None:
    for seq in (1, 2, 3):
        desk.receive(message(seq, "alarm", {"slot": seq, "reason": f"R{seq}", "sku": None}))
    ack = PlainMessage(
        1,
        STORE,
        "attendant-2",
        1,
        datetime.now(UTC),
        "ack",
        False,
        {"alert": f"{K3}:2", "by": "staff-2", "after_s": 3.0},
    )
    desk.receive(ack)
    desk.receive(message(4, "alarm", {"slot": 4, "reason": "R4", "sku": None}))
    assert top_to_bottom(qtbot, screen) == [f"{K3}:4", f"{K3}:3", f"{K3}:1"]
    assert screen.alert_rows[0].text.text().endswith("R4")
    screen.show_state(desk.state, Language.EN, 0.0)
    assert top_to_bottom(qtbot, screen) == [f"{K3}:4", f"{K3}:3", f"{K3}:1"]
    assert all("Security alarm" in row.text.text() for row in screen.alert_rows)
    assert screen.alert_rows[0].button.text() == "Acknowledge"


def test_kiosk_health_shows_a_reconnecting_reader_and_ages_with_the_sweep(
    desk: AttendantDesk, screen: AttendantScreen, clock: FakeClock
) -> None:
    desk.receive(message(1, "device", {"device": "rfid", "status": "reconnecting", "detail": ""}))
    assert screen.health.item(0).text() == f"{K3} · 0 秒前联系 · 读卡器 重连中"
    clock.now += 20.0
    desk.sweep()
    assert screen.health.item(0).text() == f"{K3} · 20 秒前联系 · 读卡器 重连中"
