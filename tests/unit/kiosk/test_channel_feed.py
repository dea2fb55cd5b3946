"""What staff see of the session's effects and the devices: kiosk.channel_feed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from backend_client.status import SyncState, SyncStatus
from devices.events import AlarmReason, DeviceHealth, HealthStatus
from devices.protocols.pickup import LedMode
from kiosk import channel_feed
from kiosk.channel_feed import ChannelNote
from kiosk.session import (
    IssueCoupon,
    IssuedCoupon,
    JsonValue,
    MemberArrived,
    MemberLeft,
    MemberVisit,
    RaiseAlert,
    Record,
    RewardReady,
    SessionConfig,
    SessionMachine,
    SessionState,
    SetLed,
    StoreMessage,
)

MEMBER = "0a1b2c3d-0000-4000-8000-0000000000aa"


def dump(note: ChannelNote | None) -> tuple[str, dict[str, object], bool]:
    assert note is not None
    return note.kind, note.data.model_dump(), note.alert


def test_a_lift_record_becomes_a_lift_without_the_member() -> None:
    record = Record(
        "lift", {"session": "b00t-1", "slot": 3, "sku": "LY-A5", "member_id": MEMBER}, 1.0
    )
    assert dump(channel_feed.from_effect(record)) == (
        "lift",
        {"session": "b00t-1", "slot": 3, "sku": "LY-A5"},
        False,
    )


def test_a_drop_keeps_its_dwell_and_a_comparison_its_two_phones() -> None:
    drop = Record("drop", {"session": "b-1", "slot": 3, "sku": "A", "dwell_ms": 4200}, 2.0)
    assert dump(channel_feed.from_effect(drop))[1] == {
        "session": "b-1",
        "slot": 3,
        "sku": "A",
        "dwell_ms": 4200,
    }
    compared = Record("comparison", {"session": "b-1", "skus": ["A", "B"], "member_id": MEMBER}, 2)
    assert dump(channel_feed.from_effect(compared))[1] == {"session": "b-1", "skus": ("A", "B")}


def test_records_with_personal_data_and_other_effects_tell_staff_nothing() -> None:
    signup = Record("member_signup", {"member_id": MEMBER, "phone": "+8613800138000"}, 1.0)
    for effect in (
        signup,
        Record("tag_bound", {"member_id": MEMBER, "tag_hash": "ab"}, 1.0),
        Record("survey_answer", {"session": "b-1", "text": "call me"}, 1.0),
        SetLed(3, LedMode.ON),
        IssueCoupon("c", "survey", MEMBER, "b-1", 1),
        StoreMessage("something_new", {"session": "b-1"}),
    ):
        assert channel_feed.from_effect(effect) is None


def test_an_alarm_is_an_alert() -> None:
    alert = RaiseAlert(7, AlarmReason.CABLE_CUT, "LY-A5")
    assert dump(channel_feed.from_effect(alert)) == (
        "alarm",
        {"slot": 7, "reason": "CABLE", "sku": "LY-A5"},
        True,
    )


def test_a_low_survey_answer_is_an_alert_and_never_carries_what_was_typed() -> None:
    payload: dict[str, JsonValue] = {
        "session": "b-1",
        "survey": "visit",
        "question": "experience",
        "kind": "smiley",
        "score": 1,
        "choices": None,
        "text": "my number is 13800138000",
        "member_id": MEMBER,
        "low": True,
    }
    kind, data, alert = dump(channel_feed.from_effect(StoreMessage("survey_answer", payload, True)))
    assert (kind, alert) == ("survey_answer", True)
    assert data == {
        "session": "b-1",
        "survey": "visit",
        "question": "experience",
        "kind": "smiley",
        "score": 1,
        "low": True,
    }


def test_a_message_that_does_not_fit_its_model_is_dropped_without_logging_its_data(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bad = StoreMessage("member_arrived", {"session": "b-1", "greeting": "王" * 200, "via": "rfid"})
    assert channel_feed.from_effect(bad) is None
    assert "王" not in caplog.text
    assert "member_arrived" in caplog.text


def test_device_health_keeps_a_short_detail_and_a_token_name() -> None:
    health = DeviceHealth("pickup board", HealthStatus.RECONNECTING, 5.0, "x" * 500)
    kind, data, alert = dump(channel_feed.device(health))
    assert kind == "device"
    assert data["device"] == "pickup_board"
    assert data["status"] == "reconnecting"
    assert len(str(data["detail"])) == channel_feed.DETAIL_CHARS
    assert not alert


def test_sync_content_and_heartbeat() -> None:
    status = SyncStatus(SyncState.BACKING_OFF, 120, 2, datetime.now(UTC), 4.0, 10)
    assert dump(channel_feed.sync(status)) == ("sync", {"backlog": 120, "dead_letters": 2}, False)
    assert dump(channel_feed.content("2026-12-01.3")) == (
        "content",
        {"release": "2026-12-01.3"},
        False,
    )
    assert dump(channel_feed.heartbeat(12.7)) == ("heartbeat", {"uptime_s": 12}, False)


# --- through the session machine: what a member's visit tells staff ----------------------


def machine() -> SessionMachine:
    return SessionMachine(SessionConfig(), {3: "LY-A5"})


def notes(effects: tuple[object, ...]) -> list[tuple[str, dict[str, object], bool]]:
    found = [channel_feed.from_effect(e) for e in effects]  # type: ignore[arg-type]
    return [dump(n) for n in found if n is not None]


@pytest.mark.parametrize(("name", "greeting"), [("王芳", "王芳"), (None, None)])
def test_a_member_is_greeted_by_name_only_if_they_allowed_it(
    name: str | None, greeting: str | None
) -> None:
    visit = MemberVisit(MEMBER, name, ("LY-A5", "QL-S3"))
    arrived = machine().step(SessionState(boot="b00t"), MemberArrived(visit, deliberate=False), 1.0)
    assert notes(arrived.effects) == [
        (
            "member_arrived",
            {
                "session": "b00t-1",
                "greeting": greeting,
                "last_viewed": ("LY-A5", "QL-S3"),
                "via": "ble",
            },
            False,
        )
    ]
    left = machine().step(arrived.state, MemberLeft(MEMBER), 2.0)
    assert notes(left.effects) == [("member_left", {"session": "b00t-1"}, False)]


def test_a_prize_and_its_coupon_are_told_with_their_draw_and_campaign() -> None:
    coupon = IssuedCoupon("7K2M-Q9TX", "case-10-off", datetime.now(UTC).date())
    ready = RewardReady(1, coupon, prize="case", draw="spring")
    told = machine().step(SessionState(boot="b00t", number=1), ready, 1.0)
    assert notes(told.effects) == [
        ("prize_won", {"session": "b00t-1", "draw": "spring", "prize": "case"}, False),
        ("coupon_issued", {"session": "b00t-1", "campaign": "case-10-off"}, False),
    ]
    wire = str(notes(told.effects))
    assert "7K2M" not in wire  # the code itself is the shopper's


def test_content_tells_a_download_under_way_and_stays_plain_without_one() -> None:
    update = channel_feed.ContentUpdate("downloading", 12, 5_000, 900_000)

    assert dump(channel_feed.content("sample-16-1", update)) == (
        "content",
        {
            "release": "sample-16-1",
            "state": "downloading",
            "number": 12,
            "bytes_done": 5_000,
            "bytes_total": 900_000,
        },
        False,
    )
    # A first install: nothing shown yet.
    assert dump(channel_feed.content(None, channel_feed.ContentUpdate("ready", 12)))[1] == {
        "release": None,
        "state": "ready",
        "number": 12,
    }
    # Idle: the message attendants from before issue 16 read too.
    idle = channel_feed.content("sample-16-1", None)
    assert idle is not None
    assert idle.data.model_dump_json() == '{"release":"sample-16-1"}'


def test_content_progress_that_does_not_add_up_is_not_sent() -> None:
    assert channel_feed.content("r", channel_feed.ContentUpdate("downloading", 12, 9, 5)) is None
    assert channel_feed.content("r", channel_feed.ContentUpdate("downloading", 12, 9)) is None


def test_progress_goes_to_staff_every_few_percent_and_each_change_at_once() -> None:
    def downloading(done: int) -> channel_feed.ContentUpdate:
        return channel_feed.ContentUpdate("downloading", 12, done, 1000)

    tell = channel_feed.progress_worth_telling
    assert tell(None, downloading(0), 0.0)
    last = (downloading(0), 0.0)
    assert not tell(last, downloading(10), 0.5)  # 1 %: not worth a message
    assert not tell(last, downloading(100), 0.5)  # 10 %, but too soon
    assert tell(last, downloading(100), 2.5)
    assert not tell(last, downloading(40), 60.0)  # 4 %, however long
    assert tell(last, channel_feed.ContentUpdate("ready", 12), 0.1)  # a new state: at once
    assert tell(last, None, 0.1)  # done
    assert not tell((None, 0.0), None, 10.0)
