"""The attendant's rules, fed channel messages, staff taps and times by hand: no Qt, no
sockets, no clock."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.attendant.model import (
    CLOSED_ALERTS_KEPT,
    FEED_LIMIT,
    MAX_DEVICES,
    MAX_OPEN_ALERTS,
    MAX_SENDERS,
    Acknowledge,
    AlertKind,
    AlertThresholds,
    AttendantInput,
    AttendantState,
    ChangeThresholds,
    DeviceStatus,
    Effect,
    KioskMisbehaved,
    PlainMessage,
    Received,
    RecordAction,
    Refused,
    SendAck,
    SoundAlert,
    Transition,
    advance,
    step,
    visible_feed,
)
from kiosk.attendant.staff import Action, Role

STORE = "sh-nanjing-road"
K1 = "sh-nanjing-road-k1"
K3 = "sh-nanjing-road-k3"
T0 = datetime(2026, 12, 6, 5, 50, tzinfo=UTC)


def message(
    kiosk: str, seq: int, kind: str, data: Mapping[str, object], *, store: str = STORE
) -> PlainMessage:
    return PlainMessage(1, store, kiosk, seq, T0 + timedelta(seconds=seq), kind, False, data)


def receive(state: AttendantState, *messages: PlainMessage, now: float = 0.0) -> Transition:
    transition = Transition(state)
    effects: list[Effect] = []
    for each in messages:
        transition = step(transition.state, Received(each), now)
        effects.extend(transition.effects)
    return Transition(transition.state, tuple(effects))


def low_score(kiosk: str, seq: int, score: int | None = 1, low: bool = False) -> PlainMessage:
    return message(
        kiosk,
        seq,
        "survey_answer",
        {
            "session": "s1",
            "survey": "visit",
            "question": "q1",
            "kind": "smiley",
            "score": score,
            "low": low,
        },
    )


def alarm(kiosk: str, seq: int) -> PlainMessage:
    return message(kiosk, seq, "alarm", {"slot": 2, "reason": "CABLE", "sku": "XH-N1"})


def heartbeat(kiosk: str, seq: int) -> PlainMessage:
    return message(kiosk, seq, "heartbeat", {"uptime_s": seq * 15})


def device(kiosk: str, seq: int, status: str, name: str = "pickup") -> PlainMessage:
    return message(kiosk, seq, "device", {"device": name, "status": status, "detail": ""})


EMPTY = AttendantState(STORE)


# --- feed ----------------------------------------------------------------------------------


def test_feed_shows_newest_first_across_kiosks() -> None:
    lift = message(K1, 1, "lift", {"session": "s1", "slot": 1, "sku": "XH-N1"})
    drop = message(K3, 7, "drop", {"session": "s2", "slot": 3, "sku": "LY-A5", "dwell_ms": 900})
    state = receive(EMPTY, lift, drop).state
    assert [(entry.kiosk, entry.kind) for entry in state.feed] == [(K3, "drop"), (K1, "lift")]
    assert dict(state.feed[0].details) == {"slot": "3", "sku": "LY-A5", "dwell_ms": "900"}


def test_member_who_allowed_greeting_is_shown_by_name_with_last_viewed_phones() -> None:
    arrived = message(
        K1,
        1,
        "member_arrived",
        {"session": "s1", "greeting": "Anna", "last_viewed": ["LY-A5", "XH-N1"], "via": "rfid"},
    )
    entry = receive(EMPTY, arrived).state.feed[0]
    assert entry.greeting == "Anna"
    assert entry.last_viewed == ("LY-A5", "XH-N1")


def test_member_without_greeting_consent_is_just_a_member() -> None:
    arrived = message(
        K1,
        1,
        "member_arrived",
        {"session": "s1", "greeting": None, "last_viewed": [], "via": "ble"},
    )
    entry = receive(EMPTY, arrived).state.feed[0]
    assert entry.greeting is None
    assert "Anna" not in repr(entry)


def test_heartbeats_update_health_but_stay_out_of_the_feed() -> None:
    state = receive(
        EMPTY,
        heartbeat(K1, 1),
        message(K1, 2, "sync", {"backlog": 12, "dead_letters": 1}),
        message(K1, 3, "content", {"release": "2026.12.1"}),
        now=5.0,
    ).state
    assert state.feed == ()
    health = state.kiosks[K1]
    assert (health.backlog, health.dead_letters, health.release) == (12, 1, "2026.12.1")
    assert health.last_contact == 5.0


def test_feed_filters_by_kiosk_and_kind() -> None:
    state = receive(
        EMPTY,
        message(K1, 1, "lift", {"session": "s1", "slot": 1, "sku": "XH-N1"}),
        message(K3, 1, "signup", {"session": "s2"}),
        alarm(K3, 2),
    ).state
    assert [e.kind for e in visible_feed(state, kiosk=K3)] == ["alarm", "signup"]
    assert [e.kiosk for e in visible_feed(state, kinds=frozenset({"lift", "alarm"}))] == [K3, K1]
    assert visible_feed(state, kiosk=K1, kinds=frozenset({"alarm"})) == ()


def test_feed_keeps_only_the_latest_entries() -> None:
    lifts = [
        message(K1, seq, "lift", {"session": "s", "slot": 1, "sku": None})
        for seq in range(1, FEED_LIMIT + 51)
    ]
    state = receive(EMPTY, *lifts).state
    assert len(state.feed) == FEED_LIMIT
    assert state.feed[0].seq == FEED_LIMIT + 50
    assert state.feed[-1].seq == 51


# --- sequence numbers and bad input ----------------------------------------------------------


def test_repeated_and_late_messages_are_dropped_and_counted() -> None:
    state = receive(EMPTY, alarm(K1, 5), alarm(K1, 5), alarm(K1, 3)).state
    assert len(state.feed) == 1
    assert len(state.alerts) == 1
    assert state.kiosks[K1].dropped == 2


def test_skipped_sequence_numbers_are_counted_as_missed() -> None:
    state = receive(EMPTY, heartbeat(K1, 1), heartbeat(K1, 4)).state
    assert state.kiosks[K1].missed == 2


def test_another_stores_messages_are_ignored() -> None:
    state = receive(
        EMPTY, message(K1, 1, "alarm", {"slot": 1, "reason": "CABLE"}, store="bj")
    ).state
    assert state.feed == ()
    assert state.alerts == ()
    assert state.foreign == 1


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        ("alarm", {"slot": "two", "reason": "CABLE"}),
        ("alarm", {"slot": 2}),
        ("survey_answer", {"score": 1, "low": "yes"}),
        ("member_arrived", {"greeting": 42, "last_viewed": []}),
        ("member_arrived", {"greeting": None, "last_viewed": "XH-N1"}),
        ("device", {"device": "pickup", "status": "melting"}),
        ("sync", {"backlog": True, "dead_letters": 0}),
        ("ack", {"alert": "k:1", "by": "s1", "after_s": -3}),
        ("heartbeat", {"uptime_s": "long"}),
        ("teleport", {}),
    ],
)
def test_a_malformed_message_marks_its_kiosk_faulty_and_changes_nothing_else(
    kind: str, data: Mapping[str, object]
) -> None:
    state = receive(EMPTY, heartbeat(K1, 1), now=0.0).state
    after = receive(state, message(K1, 2, kind, data), now=1.0).state
    health = after.kiosks[K1]
    assert health.faulty(1.0)
    assert health.garbage == 1
    assert (after.feed, after.alerts) == (state.feed, state.alerts)
    assert health.last_seq == 1


def test_a_kiosk_reported_flooding_shows_as_faulty_for_a_minute() -> None:
    state = step(EMPTY, KioskMisbehaved(K3, "flood"), 10.0).state
    assert state.kiosks[K3].faulty(69.0)
    assert not state.kiosks[K3].faulty(71.0)


# --- alerts ----------------------------------------------------------------------------------


def test_low_survey_score_raises_an_alert_with_a_sound() -> None:
    transition = receive(EMPTY, low_score(K1, 4, score=1), now=3.0)
    (alert,) = transition.state.alerts
    assert (alert.id, alert.kind, alert.open) == (f"{K1}:4", AlertKind.LOW_SCORE, True)
    assert transition.effects == (SoundAlert(f"{K1}:4"),)
    assert transition.state.feed[0].alert_id == alert.id


def test_survey_score_threshold_is_the_managers_choice() -> None:
    assert receive(EMPTY, low_score(K1, 1, score=3)).state.alerts == ()
    strict = AttendantState(STORE, AlertThresholds(low_score=3))
    assert len(receive(strict, low_score(K1, 1, score=3)).state.alerts) == 1


def test_the_kiosks_low_flag_raises_an_alert_whatever_the_score() -> None:
    assert len(receive(EMPTY, low_score(K1, 1, score=None, low=True)).state.alerts) == 1


def test_a_good_score_raises_nothing() -> None:
    assert receive(EMPTY, low_score(K1, 1, score=5)).effects == ()


def test_acknowledging_an_alert_closes_it_tells_the_store_and_records_who_and_how_long() -> None:
    state = receive(EMPTY, alarm(K1, 9), now=100.0).state
    transition = step(state, Acknowledge(f"{K1}:9", "staff-7"), 142.5)
    (alert,) = transition.state.alerts
    assert not alert.open
    assert alert.acknowledged is not None
    assert (alert.acknowledged.by, alert.acknowledged.after_s) == ("staff-7", 42.5)
    assert transition.effects == (
        SendAck(f"{K1}:9", "staff-7", 42.5),
        RecordAction("staff-7", Action.ACKNOWLEDGE, f"{K1}:9", 42.5),
    )


def test_an_alert_is_acknowledged_once() -> None:
    state = receive(EMPTY, alarm(K1, 9), now=100.0).state
    first = step(state, Acknowledge(f"{K1}:9", "staff-7"), 110.0).state
    second = step(first, Acknowledge(f"{K1}:9", "staff-2"), 111.0)
    assert second.effects == ()
    assert second.state == first


def test_an_ack_from_another_attendant_closes_the_alert_here_without_sending_again() -> None:
    state = receive(EMPTY, alarm(K1, 9), now=100.0).state
    ack = message("attendant-2", 1, "ack", {"alert": f"{K1}:9", "by": "staff-2", "after_s": 8.0})
    transition = receive(state, ack, now=108.2)
    (alert,) = transition.state.alerts
    assert alert.acknowledged is not None
    assert alert.acknowledged.by == "staff-2"
    assert transition.effects == ()
    late_tap = step(transition.state, Acknowledge(f"{K1}:9", "staff-7"), 109.0)
    assert late_tap.effects == ()


def test_a_silent_kiosk_raises_one_alert_after_the_threshold() -> None:
    state = receive(EMPTY, heartbeat(K1, 1), now=0.0).state
    assert advance(state, 60.0).effects == ()
    transition = advance(state, 60.5)
    (alert,) = transition.state.alerts
    assert (alert.kind, alert.kiosk) == (AlertKind.KIOSK_SILENT, K1)
    assert transition.effects == (SoundAlert(alert.id),)
    assert advance(transition.state, 200.0).effects == ()  # still the same silence


def test_a_kiosk_that_speaks_again_and_falls_silent_again_raises_a_new_alert() -> None:
    state = receive(EMPTY, heartbeat(K1, 1), now=0.0).state
    state = advance(state, 61.0).state
    state = receive(state, heartbeat(K1, 2), now=70.0).state
    later = advance(state, 131.0)
    assert len(later.effects) == 1
    assert len(later.state.open_alerts()) == 2


def test_a_device_down_for_more_than_a_minute_raises_an_alert() -> None:
    state = receive(EMPTY, device(K1, 1, DeviceStatus.DOWN), now=0.0).state
    # Reconnecting is the same outage: its clock keeps running, and the screen says so.
    state = receive(
        state, device(K1, 2, DeviceStatus.RECONNECTING), heartbeat(K1, 3), now=30.0
    ).state
    assert state.kiosks[K1].devices["pickup"].status == DeviceStatus.RECONNECTING
    assert advance(state, 59.0).effects == ()
    transition = advance(state, 61.0)
    (alert,) = transition.state.alerts
    assert (alert.id, alert.kind, alert.detail) == (f"{K1}:1", AlertKind.DEVICE_DOWN, "pickup")
    assert advance(transition.state, 90.0).effects == ()


def test_a_device_back_up_within_the_minute_raises_nothing() -> None:
    state = receive(EMPTY, device(K1, 1, DeviceStatus.DOWN), now=0.0).state
    state = receive(state, device(K1, 2, DeviceStatus.UP), heartbeat(K1, 3), now=20.0).state
    assert advance(state, 75.0).effects == ()


def test_only_a_manager_changes_alert_thresholds() -> None:
    stricter = AlertThresholds(silence_s=30.0)
    refused = step(EMPTY, ChangeThresholds(stricter, "staff-7", Role.ATTENDANT), 0.0)
    assert refused.state.thresholds == AlertThresholds()
    assert refused.effects == (Refused("staff-7", Action.SET_THRESHOLDS),)
    done = step(EMPTY, ChangeThresholds(stricter, "boss-1", Role.MANAGER), 0.0)
    assert done.state.thresholds == stricter
    assert done.effects == (RecordAction("boss-1", Action.SET_THRESHOLDS),)


# --- any sequence of messages ------------------------------------------------------------------

KIOSKS = st.sampled_from([K1, K3, "attendant-2"])
KINDS_AND_DATA = st.one_of(
    st.builds(lambda: ("alarm", {"slot": 1, "reason": "PUCK", "sku": None})),
    st.builds(lambda s: ("survey_answer", {"score": s, "low": False}), st.integers(1, 5)),
    st.builds(lambda: ("heartbeat", {"uptime_s": 1})),
    st.builds(
        lambda status: ("device", {"device": "ble", "status": status, "detail": ""}),
        st.sampled_from(["up", "down", "reconnecting", "on fire"]),
    ),
    st.builds(
        lambda seq: ("ack", {"alert": f"{K1}:{seq}", "by": "staff-2", "after_s": 1.0}),
        st.integers(1, 30),
    ),
    st.tuples(
        st.sampled_from(["lift", "member_arrived", "sync", "nonsense"]),
        st.dictionaries(
            st.sampled_from(["slot", "sku", "greeting", "last_viewed", "backlog"]),
            st.one_of(st.none(), st.integers(), st.text(max_size=5), st.lists(st.text())),
            max_size=3,
        ),
    ),
)
MESSAGES = st.builds(
    lambda kiosk, seq, kind_data: message(kiosk, seq, kind_data[0], kind_data[1]),
    KIOSKS,
    st.integers(-3, 30),
    KINDS_AND_DATA,
)
INPUTS: st.SearchStrategy[AttendantInput] = st.one_of(
    st.builds(Received, MESSAGES),
    st.builds(KioskMisbehaved, KIOSKS, st.just("flood")),
    st.builds(
        Acknowledge,
        st.builds(lambda k, s: f"{k}:{s}", KIOSKS, st.integers(1, 30)),
        st.sampled_from(["staff-1", "staff-2"]),
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(INPUTS, st.floats(0, 20)), max_size=60))
def test_any_sequence_of_inputs_keeps_the_rules(inputs: list[tuple[AttendantInput, float]]) -> None:
    state, now = EMPTY, 0.0
    sends: list[str] = []
    for event, pause in inputs:
        now += pause
        before = state
        stepped = step(state, event, now)
        ticked = advance(stepped.state, now)
        state = ticked.state
        effects = stepped.effects + ticked.effects
        sends += [effect.alert for effect in effects if isinstance(effect, SendAck)]
        if isinstance(event, Received) and event.message.kiosk in before.kiosks:
            last = before.kiosks[event.message.kiosk].last_seq
            if event.message.seq <= last:  # repeated or late: nothing but the count changes
                assert state.feed == before.feed
                assert state.kiosks[event.message.kiosk].dropped == (
                    before.kiosks[event.message.kiosk].dropped + 1
                )
        for alert in before.alerts:  # an acknowledged alert stays acknowledged, by the same
            if not alert.open:
                assert state.alert(alert.id) in (None, alert)
    assert len(sends) == len(set(sends))  # each alert acknowledged at most once from here
    assert len(state.feed) <= FEED_LIMIT
    assert all(
        a.seq > b.seq
        for a, b in zip(state.feed, state.feed[1:], strict=False)
        if a.kiosk == b.kiosk
    )


# --- bounds: a flooding or garbage-sending kiosk cannot grow memory ------------------------------


def test_open_alerts_are_kept_up_to_a_bound_newest_first() -> None:
    alarms = [alarm(K1, seq) for seq in range(1, MAX_OPEN_ALERTS + 11)]
    state = receive(EMPTY, *alarms).state
    assert len(state.open_alerts()) == MAX_OPEN_ALERTS
    assert state.alerts[0].id == f"{K1}:{MAX_OPEN_ALERTS + 10}"
    assert state.alert(f"{K1}:10") is None
    assert state.alert(f"{K1}:11") is not None


def test_only_the_latest_acknowledged_alerts_are_kept() -> None:
    state = EMPTY
    for seq in range(1, CLOSED_ALERTS_KEPT + 6):
        state = receive(state, alarm(K1, seq)).state
        state = step(state, Acknowledge(f"{K1}:{seq}", "staff-7"), 1.0).state
    assert len(state.alerts) == CLOSED_ALERTS_KEPT
    assert state.alert(f"{K1}:5") is None
    assert state.alert(f"{K1}:6") is not None


def test_senders_beyond_a_stores_worth_are_ignored() -> None:
    state = receive(EMPTY, *(heartbeat(f"k{n}", 1) for n in range(MAX_SENDERS))).state
    flooded = receive(state, alarm("k-extra", 1)).state
    flooded = step(flooded, KioskMisbehaved("k-other", "flood"), 0.0).state
    assert len(flooded.kiosks) == MAX_SENDERS
    assert flooded.alerts == ()
    assert flooded.foreign == 2


def test_a_kiosk_reporting_too_many_devices_is_faulty() -> None:
    reports = [device(K1, seq, DeviceStatus.UP, f"dev{seq}") for seq in range(1, MAX_DEVICES + 2)]
    state = receive(EMPTY, *reports).state
    assert len(state.kiosks[K1].devices) == MAX_DEVICES
    assert state.kiosks[K1].faulty(0.0)


def test_a_message_of_another_contract_version_is_ignored() -> None:
    newer = PlainMessage(2, STORE, K1, 1, T0, "alarm", True, {"slot": 1, "reason": "CABLE"})
    state = receive(EMPTY, newer).state
    assert (state.alerts, state.foreign) == ((), 1)
    assert K1 not in state.kiosks


def test_an_unknown_phone_shows_as_nothing_rather_than_none() -> None:
    drop = message(K1, 1, "drop", {"session": "s", "slot": 4, "sku": None, "dwell_ms": 80})
    assert dict(receive(EMPTY, drop).state.feed[0].details)["sku"] == ""


def test_a_faulty_kiosk_is_logged_once_not_per_message(caplog: pytest.LogCaptureFixture) -> None:
    state = EMPTY
    for now in (0.0, 1.0, 2.0):
        state = step(state, KioskMisbehaved(K3, "garbage"), now).state
    state = step(state, KioskMisbehaved(K3, "garbage"), 100.0).state
    warnings = [
        r for r in caplog.records if r.name == "kiosk.attendant" and r.levelname == "WARNING"
    ]
    assert len(warnings) == 2


def test_a_comparison_shows_both_phones() -> None:
    compared = message(K1, 1, "comparison", {"session": "s", "skus": ["XH-N1", "LY-A5"]})
    assert dict(receive(EMPTY, compared).state.feed[0].details) == {"skus": "XH-N1 / LY-A5"}


# --- details the screens and the action log rely on -------------------------------------------


def test_feed_entry_carries_the_facts_time_and_when_it_arrived() -> None:
    lift = message(K1, 1, "lift", {"session": "s1", "slot": 1, "sku": "XH-N1"})
    entry = receive(EMPTY, lift, now=7.5).state.feed[0]
    assert (entry.at, entry.received) == (lift.at, 7.5)
    assert (entry.greeting, entry.last_viewed, entry.alert_id) == (None, (), None)


def test_a_member_without_last_viewed_phones_is_still_shown() -> None:
    arrived = message(K1, 1, "member_arrived", {"session": "s1", "via": "rfid"})
    assert receive(EMPTY, arrived).state.feed[0].last_viewed == ()


def test_consecutive_and_first_messages_miss_nothing() -> None:
    state = receive(EMPTY, heartbeat(K1, 7), heartbeat(K1, 8)).state
    assert state.kiosks[K1].missed == 0


def test_alerts_say_where_what_and_since_when() -> None:
    state = receive(EMPTY, low_score(K1, 1, score=1), alarm(K3, 1), now=4.0).state
    assert [(a.kiosk, a.kind, a.detail, a.raised) for a in state.alerts] == [
        (K3, AlertKind.ALARM, "CABLE", 4.0),
        (K1, AlertKind.LOW_SCORE, "visit", 4.0),
    ]


def test_a_good_score_without_the_kiosks_flag_raises_nothing() -> None:
    answer = message(K1, 1, "survey_answer", {"session": "s", "survey": "v", "score": 4})
    state = receive(EMPTY, answer).state
    assert state.alerts == ()
    assert [entry.kind for entry in state.feed] == ["survey_answer"]
    assert not state.kiosks[K1].faulty(0.0)


def test_a_low_score_without_a_survey_name_is_still_an_alert() -> None:
    answer = message(K1, 1, "survey_answer", {"session": "s", "score": 1})
    (alert,) = receive(EMPTY, answer).state.alerts
    assert alert.detail == ""


def test_acknowledging_one_alert_leaves_the_others_open() -> None:
    state = receive(EMPTY, alarm(K1, 1), alarm(K1, 2), alarm(K3, 1)).state
    state = step(state, Acknowledge(f"{K1}:2", "staff-7"), 5.0).state
    assert {alert.id for alert in state.open_alerts()} == {f"{K1}:1", f"{K3}:1"}


def test_an_alert_acknowledged_at_once_waited_no_time() -> None:
    state = receive(EMPTY, alarm(K1, 1), now=5.0).state
    (send, _record) = step(state, Acknowledge(f"{K1}:1", "staff-7"), 5.0).effects
    assert send == SendAck(f"{K1}:1", "staff-7", 0.0)


def test_an_ack_message_shows_in_the_feed_and_records_how_long_the_alert_waited() -> None:
    state = receive(EMPTY, alarm(K1, 1), now=0.0).state
    ack = message("attendant-2", 3, "ack", {"alert": f"{K1}:1", "by": "staff-2", "after_s": 0})
    state = receive(state, ack, now=0.4).state
    entry = state.feed[0]
    assert (entry.kind, entry.at, entry.received) == ("ack", ack.at, 0.4)
    assert entry.details == (("alert", f"{K1}:1"), ("by", "staff-2"))
    acknowledged = state.alerts[0].acknowledged
    assert acknowledged is not None
    assert acknowledged.after_s == 0.0


@pytest.mark.parametrize("after_s", [float("inf"), float("nan"), True, "8"])
def test_an_ack_with_a_nonsense_wait_is_garbage(after_s: object) -> None:
    state = receive(EMPTY, alarm(K1, 1)).state
    ack = message("attendant-2", 1, "ack", {"alert": f"{K1}:1", "by": "s2", "after_s": after_s})
    after = receive(state, ack, now=1.0).state
    assert after.alerts == state.alerts
    assert after.kiosks["attendant-2"].faulty(1.0)


def test_the_fault_reason_names_the_field_never_its_value() -> None:
    typed = message(K1, 1, "alarm", {"slot": "Anna 13800138000", "reason": "CABLE"})
    health = receive(EMPTY, typed).state.kiosks[K1]
    assert health.fault_reason == "alarm: slot is not a whole number"


def test_a_transport_report_says_why_the_kiosk_is_faulty() -> None:
    health = step(EMPTY, KioskMisbehaved(K3, "flood"), 0.0).state.kiosks[K3]
    assert (health.fault_reason, health.garbage) == ("flood", 1)


def test_device_reports_keep_status_and_detail() -> None:
    down = message(K1, 1, "device", {"device": "rfid", "status": "down", "detail": "unplugged"})
    back = message(K1, 2, "device", {"device": "rfid", "status": "reconnecting", "detail": "try 2"})
    state = receive(EMPTY, down, now=1.0).state
    first = state.kiosks[K1].devices["rfid"]
    assert (first.status, first.detail) == ("down", "unplugged")
    bare = message(K1, 5, "device", {"device": "ble", "status": "up"})
    assert receive(state, bare).state.kiosks[K1].devices["ble"].detail == ""
    report = receive(state, back, now=2.0).state.kiosks[K1].devices["rfid"]
    assert (report.status, report.detail, report.since) == ("reconnecting", "try 2", 1.0)


def test_a_kiosk_with_all_its_devices_can_still_report_on_them() -> None:
    reports = [device(K1, seq, DeviceStatus.UP, f"dev{seq}") for seq in range(1, MAX_DEVICES + 1)]
    state = receive(EMPTY, *reports, device(K1, 99, DeviceStatus.DOWN, "dev1")).state
    assert state.kiosks[K1].devices["dev1"].status == DeviceStatus.DOWN
    assert not state.kiosks[K1].faulty(0.0)


def test_a_device_down_exactly_the_threshold_is_not_yet_an_alert() -> None:
    state = receive(EMPTY, device(K1, 1, DeviceStatus.DOWN), now=10.0).state
    state = receive(state, heartbeat(K1, 2), now=69.0).state
    assert advance(state, 70.0).effects == ()
    (alert,) = advance(state, 70.5).state.alerts
    assert (alert.kiosk, alert.raised) == (K1, 70.5)


def test_a_silence_alert_says_which_kiosk_and_since_when() -> None:
    state = receive(EMPTY, heartbeat(K1, 4), now=0.0).state
    (alert,) = advance(state, 61.0).state.alerts
    assert (alert.id, alert.kiosk, alert.raised) == (f"{K1}:silent:4", K1, 61.0)


def test_a_faulty_kiosk_recovers_a_minute_after_its_last_bad_message() -> None:
    state = step(EMPTY, KioskMisbehaved(K3, "garbage"), 10.0).state
    assert state.kiosks[K3].faulty(69.9)
    assert not state.kiosks[K3].faulty(70.0)


def test_a_device_repeating_its_status_adds_no_feed_line_but_a_change_does() -> None:
    reports = [
        ("down", 1),
        ("reconnecting", 2),
        ("reconnecting", 3),
        ("reconnecting", 4),
        ("up", 5),
    ]
    state = receive(
        AttendantState(STORE), *(device(K1, seq, status) for status, seq in reports)
    ).state
    assert [entry.seq for entry in state.feed] == [5, 2, 1]
    assert state.kiosks[K1].devices["pickup"].status == "up"


def test_a_download_under_way_is_part_of_the_kiosks_health_until_it_is_done() -> None:
    downloading = {"state": "downloading", "number": 12, "bytes_done": 300, "bytes_total": 1200}
    state = receive(
        EMPTY, message(K1, 1, "content", {"release": None, **downloading}), now=5.0
    ).state
    health = state.kiosks[K1]
    assert health.release is None  # a first install: nothing shown yet
    assert health.update is not None
    assert (health.update.state, health.update.number, health.update.percent) == (
        "downloading",
        12,
        25,
    )
    assert state.feed == ()

    state = receive(state, message(K1, 2, "content", {"release": "hq-12"}), now=6.0).state
    assert (state.kiosks[K1].release, state.kiosks[K1].update) == ("hq-12", None)
