"""The fleet's alert rules, pure: a kiosk's last heartbeat and `now` in, alerts out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hq.fleet_health.alerts import (
    AlertKind,
    Beat,
    DeviceState,
    Filter,
    KioskState,
    OpenAlert,
    Thresholds,
    conditions,
    conditions_of,
    kiosk_state,
    reconcile,
    shown,
)

HEARD = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)


def beat(**changes: object) -> Beat:
    fields: dict[str, object] = {
        "kiosk_id": "sh-xujiahui-k1",
        "store_id": "sh-xujiahui",
        "received_at": HEARD,
        "devices": (DeviceState("pickup", "up", "open"), DeviceState("rfid", "up", "open")),
        "backlog": 3,
        "dead_letters": 0,
        "disk_free": 20 << 30,
    }
    fields.update(changes)
    return Beat(**fields)  # type: ignore[arg-type]


def kinds(found: list[object]) -> list[str]:
    return [f"{c.kind}:{c.subject}" if c.subject else str(c.kind) for c in found]  # type: ignore[attr-defined]


def test_a_well_kiosk_heard_a_minute_ago_has_no_alert() -> None:
    found = conditions_of(beat(), HEARD + timedelta(seconds=60))
    assert found == []
    assert kiosk_state(beat(), found) is KioskState.OK


def test_silence_starts_after_150_seconds_and_is_dated_then() -> None:
    assert conditions_of(beat(), HEARD + timedelta(seconds=150)) == []
    found = conditions_of(beat(), HEARD + timedelta(seconds=151))
    assert kinds(found) == ["silent"]
    assert found[0].since == HEARD + timedelta(seconds=150)
    assert kiosk_state(beat(), found) is KioskState.SILENT


def test_a_kiosk_silent_for_a_sweep_is_raised_within_three_minutes() -> None:
    # Swept every 30 s: the first sweep after 150 s comes at 180 s at the latest.
    last_sweep_before = HEARD + timedelta(seconds=150)
    assert conditions_of(beat(), last_sweep_before) == []
    assert kinds(conditions_of(beat(), last_sweep_before + timedelta(seconds=30))) == ["silent"]


@pytest.mark.parametrize("state", ["down", "reconnecting"])
def test_a_device_that_is_not_up_is_an_alert_naming_it(state: str) -> None:
    failed = beat(devices=(DeviceState("pickup", "up"), DeviceState("rfid", state, "no port")))
    found = conditions_of(failed, HEARD)
    assert kinds(found) == ["device:rfid"]
    assert found[0].detail == f"rfid {state}: no port"
    assert found[0].since == HEARD
    assert kiosk_state(failed, found) is KioskState.TROUBLE


def test_a_device_not_heard_from_yet_is_not_a_failure() -> None:
    assert conditions_of(beat(devices=(DeviceState("ble", "unknown"),)), HEARD) == []


def test_backlog_dead_letters_and_disk_have_thresholds() -> None:
    limits = Thresholds(backlog=100, dead_letters=2, low_disk_bytes=1000)
    assert conditions_of(beat(backlog=99, dead_letters=1, disk_free=1000), HEARD, limits) == []
    found = conditions_of(beat(backlog=100, dead_letters=2, disk_free=999), HEARD, limits)
    assert kinds(found) == ["backlog", "dead_letters", "disk"]


def test_a_silent_kiosk_keeps_what_it_last_said() -> None:
    failed = beat(devices=(DeviceState("pickup", "down"),))
    found = conditions_of(failed, HEARD + timedelta(minutes=10))
    assert kinds(found) == ["silent", "device:pickup"]
    assert kiosk_state(failed, found) is KioskState.SILENT


def test_reconcile_raises_what_is_new_and_clears_what_ended() -> None:
    now = HEARD + timedelta(minutes=5)
    beats = [
        beat(kiosk_id="k1"),  # silent now
        beat(kiosk_id="k2", received_at=now, devices=(DeviceState("rfid", "down"),)),
    ]
    wanted = conditions(beats, now)
    open_alerts = [
        OpenAlert(1, "k1", "silent", ""),  # still silent: stays, not raised again
        OpenAlert(2, "k2", "silent", ""),  # heard again: cleared
        OpenAlert(3, "k9", "device", "pickup"),  # a kiosk no longer swept (revoked): cleared
    ]
    change = reconcile(open_alerts, wanted)
    assert [(c.kiosk_id, c.kind, c.subject) for c in change.raise_] == [
        ("k2", AlertKind.DEVICE, "rfid")
    ]
    assert [alert.alert_id for alert in change.clear] == [2, 3]
    # Applying it and deciding again changes nothing: the sweep is idempotent.
    after = [a for a in open_alerts if a not in change.clear] + [
        OpenAlert(4, "k2", "device", "rfid")
    ]
    again = reconcile(after, wanted)
    assert again.raise_ == ()
    assert again.clear == ()


def test_never_heard_kiosks_are_silent_for_the_filters_but_not_alerted() -> None:
    assert kiosk_state(None, []) is KioskState.NEVER
    assert shown(KioskState.NEVER, [], Filter.SILENT)
    assert shown(KioskState.NEVER, [], Filter.TROUBLE)


def test_filters_pick_the_kiosks_they_name() -> None:
    now = HEARD
    cases = {
        "ok": beat(),
        "device": beat(devices=(DeviceState("pickup", "down"),)),
        "backlog": beat(backlog=10_000),
        "dead": beat(dead_letters=4),
        "disk": beat(disk_free=10),
    }
    picked = {
        wanted.value: sorted(
            name
            for name, each in cases.items()
            if shown(kiosk_state(each, found := conditions_of(each, now)), found, wanted)
        )
        for wanted in Filter
    }
    assert picked == {
        "all": ["backlog", "dead", "device", "disk", "ok"],
        "trouble": ["backlog", "dead", "device", "disk"],
        "silent": [],
        "device": ["device"],
        "backlog": ["backlog", "dead"],
    }
