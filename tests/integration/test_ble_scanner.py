"""The BLE tag scanner: real bleak against a mocked BlueZ on a private D-Bus."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from helpers.bluez import (
    TEST_INTERVAL_S,
    away,
    mock_bluez,
    requires_bluez_mock,
    running_scanner,
    seen,
    system_bus,
    tag_events,
)
from helpers.pickup import EventRecorder, is_health, wait_until

from devices.ble import BleTagScanner
from devices.events import DeviceEvent, HealthStatus, TagAway, TagId, TagKind, TagSeen
from devices.protocols.ble import APPLE_COMPANY_ID, EDDYSTONE_SERVICE_UUID, encode_ibeacon
from devices.sim.ble import MockBluez

pytestmark = requires_bluez_mock

SCANNER_LOG = "devices.ble"
ALICE_UUID = "b9407f30-f5f8-466e-aff9-25556b57fe6d"
ALICE = TagId(TagKind.IBEACON, f"{ALICE_UUID}:1:2")
BOB_NAMESPACE, BOB_INSTANCE = "8b0cd5ea7ee8a2e74b1f", "000000000001"
BOB = TagId(TagKind.EDDYSTONE, f"{BOB_NAMESPACE}:{BOB_INSTANCE}")
NORDIC = 0x0059


@pytest.fixture
def mock() -> Iterator[MockBluez]:
    with mock_bluez() as bluez:
        yield bluez


@pytest.fixture
def scanner(mock: MockBluez) -> Iterator[tuple[BleTagScanner, EventRecorder]]:
    with running_scanner(mock) as connected:
        yield connected


def add_alice(mock: MockBluez, rssi: float, interval: float | None = None) -> None:
    mock.add_ibeacon("alice", ALICE_UUID, 1, 2, rssi=rssi, interval=interval)


def heard_more(scanner: BleTagScanner, count: int) -> None:
    """Wait until the scanner has read `count` more tag advertisements."""
    target = scanner.stats.tags + count
    wait_until(lambda: scanner.stats.tags >= target, what=f"{count} more tag advertisements")


def scanner_records(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == SCANNER_LOG and r.levelno == level]


# -- entering, staying, leaving ----------------------------------------------------------------


def test_a_tag_whose_rssi_rises_over_enter_gives_exactly_one_tag_seen(
    mock: MockBluez, scanner: tuple[BleTagScanner, EventRecorder]
) -> None:
    ble, events = scanner
    add_alice(mock, rssi=-90)
    heard_more(ble, 3)
    assert tag_events(events) == []

    mock.walk("alice", -90, -55, 0.3)
    index = events.wait_for(seen(ALICE))
    event = events.events[index]
    assert isinstance(event, TagSeen)
    assert event.reader == "ble"
    assert event.rssi is not None
    assert event.rssi >= -65
    heard_more(ble, 10)  # still near, still advertising: nothing new
    assert [type(e) for e in tag_events(events)] == [TagSeen]
    assert ble.present == {ALICE}


def test_a_tag_first_heard_near_is_seen_within_milliseconds(
    mock: MockBluez, scanner: tuple[BleTagScanner, EventRecorder]
) -> None:
    _, events = scanner
    sent = time.monotonic()
    add_alice(mock, rssi=-55)  # its first advertisement is already over the threshold
    index = events.wait_for(seen(ALICE))
    # The target is one advertising interval plus 100 ms; a first strong
    # advertisement is the whole story, so only D-Bus delivery remains.
    assert events.received_at(index) - sent < 0.1


def test_rssi_oscillating_between_the_thresholds_does_not_flap(
    mock: MockBluez, scanner: tuple[BleTagScanner, EventRecorder]
) -> None:
    ble, events = scanner
    add_alice(mock, rssi=-55)
    events.wait_for(seen(ALICE))
    for step in range(30):
        mock.set_rssi("alice", -68 if step % 2 else -72)
    heard_more(ble, 30)
    assert [type(e) for e in tag_events(events)] == [TagSeen]
    assert ble.present == {ALICE}


def test_rssi_under_exit_gives_one_tag_away(
    mock: MockBluez, scanner: tuple[BleTagScanner, EventRecorder]
) -> None:
    ble, events = scanner
    add_alice(mock, rssi=-55)
    events.wait_for(seen(ALICE))
    mock.set_rssi("alice", -90)
    events.wait_for(away(ALICE))
    heard_more(ble, 10)  # still heard, far away: no second TagAway
    assert [type(e) for e in tag_events(events)] == [TagSeen, TagAway]
    assert ble.present == frozenset()


def test_a_tag_that_goes_silent_is_away_after_its_timeout(
    mock: MockBluez, scanner: tuple[BleTagScanner, EventRecorder]
) -> None:
    ble, events = scanner
    add_alice(mock, rssi=-55)
    events.wait_for(seen(ALICE))
    heard_more(ble, 5)
    mock.away("alice")
    silent_from = time.monotonic()
    index = events.wait_for(away(ALICE))
    # A fast tag gets the 0.5 s floor; its last advertisement may precede away().
    waited = events.received_at(index) - silent_from
    assert 0.5 - TEST_INTERVAL_S - 0.02 <= waited < 1.0, waited
    assert [type(e) for e in tag_events(events)] == [TagSeen, TagAway]


def test_a_slow_tag_is_not_dropped_between_its_advertisements(
    mock: MockBluez, scanner: tuple[BleTagScanner, EventRecorder]
) -> None:
    ble, events = scanner
    add_alice(mock, rssi=-55, interval=0.3)  # slower than the 0.5 s floor allows for long
    events.wait_for(seen(ALICE))
    heard_more(ble, 4)  # ~1 s of advertising: the interval is learned
    assert tag_events(events)[-1] == TagSeen(ALICE, "ble", tag_events(events)[-1].at, -55)
    mock.away("alice")
    silent_from = time.monotonic()
    index = events.wait_for(away(ALICE))
    # Four intervals (1.2 s), counted from the last advertisement (up to 0.3 s before away()).
    waited = events.received_at(index) - silent_from
    assert 0.85 <= waited < 1.6, waited
    assert [type(e) for e in tag_events(events)] == [TagSeen, TagAway]


# -- what the scanner reads -------------------------------------------------------------------


def test_an_eddystone_uid_tag_is_seen(
    mock: MockBluez, scanner: tuple[BleTagScanner, EventRecorder]
) -> None:
    _, events = scanner
    mock.add_eddystone("bob", BOB_NAMESPACE, BOB_INSTANCE, rssi=-50)
    events.wait_for(seen(BOB))


def test_manufacturer_data_of_a_configured_company_is_a_tag(mock: MockBluez) -> None:
    with running_scanner(mock, company_ids=[NORDIC]) as (_, events):
        mock.add_manufacturer_tag("carol", NORDIC, "c0ffee01", rssi=-50)
        events.wait_for(seen(TagId(TagKind.MANUFACTURER, "0059:c0ffee01")))


def test_unknown_and_unparsable_advertisements_give_nothing(
    mock: MockBluez, scanner: tuple[BleTagScanner, EventRecorder]
) -> None:
    ble, events = scanner
    # All near: only their content keeps them out.
    mock.add_device("sensor", manufacturer_data={NORDIC: b"\x01\x02\x03"}, rssi=-40)
    mock.add_device("phone", manufacturer_data={APPLE_COMPANY_ID: bytes.fromhex("1005011c")})
    mock.add_device(
        "cut-beacon",
        manufacturer_data={APPLE_COMPANY_ID: encode_ibeacon(ALICE_UUID, 1, 2)[:-3]},
        rssi=-40,
    )
    mock.add_device(
        "url-beacon", service_data={EDDYSTONE_SERVICE_UUID: bytes.fromhex("10ee0367")}, rssi=-40
    )
    mock.add_device("quiet", rssi=-40)  # no data at all
    wait_until(lambda: ble.stats.unknown >= 30, what="30 unknown advertisements")
    assert tag_events(events) == []
    assert ble.stats.tags == 0
    assert ble.stats.advertisements >= ble.stats.unknown


# -- passive and active scanning ----------------------------------------------------------------


def test_passive_scanning_is_used_when_bluez_offers_it(
    mock: MockBluez, scanner: tuple[BleTagScanner, EventRecorder], caplog: pytest.LogCaptureFixture
) -> None:
    ble, events = scanner
    assert ble.scanning_mode == "passive"
    assert is_health(HealthStatus.UP, "passive on hci0")(events.events[-1])
    assert mock.adapter_calls("RegisterMonitor") == 1
    assert mock.adapter_calls("StartDiscovery") == 0
    add_alice(mock, rssi=-55)
    events.wait_for(seen(ALICE))
    assert not [m for m in scanner_records(caplog, logging.INFO) if "actively" in m]


@pytest.mark.parametrize("monitor_api", [True, False], ids=["passive", "active"])
def test_an_ibeacon_after_another_apple_item_is_seen_in_either_mode(monitor_api: bool) -> None:
    # An iPhone app's beacon: Apple's "nearby" item first, then the iBeacon item.
    nearby = bytes.fromhex("1005011c2a3b4c")
    with mock_bluez(monitor_api=monitor_api) as mock, running_scanner(mock) as (ble, events):
        assert ble.scanning_mode == ("passive" if monitor_api else "active")
        mock.add_device("noise", manufacturer_data={NORDIC: b"\x01\x02"}, rssi=-40)
        mock.add_device(
            "dana",
            manufacturer_data={APPLE_COMPANY_ID: nearby + encode_ibeacon(ALICE_UUID, 1, 2)},
            rssi=-50,
        )
        events.wait_for(seen(ALICE))
    if monitor_api:  # the mock plays bluetoothd's filter: other advertisers stay unheard
        assert ble.stats.unknown == 0


def test_without_the_monitor_api_it_falls_back_to_active_and_says_so_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with mock_bluez(monitor_api=False) as mock, running_scanner(mock) as (ble, events):
        assert ble.scanning_mode == "active"
        assert mock.adapter_calls("StartDiscovery") == 1
        add_alice(mock, rssi=-55)
        events.wait_for(seen(ALICE))
        # Losing the adapter and scanning again does not repeat the notice.
        start = events.mark()
        mock.remove_adapter()
        events.wait_for(is_health(HealthStatus.DOWN), since=start)
        mock.add_adapter()
        events.wait_for(is_health(HealthStatus.UP, "active on hci0"), since=start)
    fallbacks = [m for m in scanner_records(caplog, logging.INFO) if "actively" in m]
    assert len(fallbacks) == 1
    assert "--experimental" in fallbacks[0]


def test_passive_false_scans_actively_without_a_notice(
    mock: MockBluez, caplog: pytest.LogCaptureFixture
) -> None:
    with running_scanner(mock, passive=False) as (ble, _):
        assert ble.scanning_mode == "active"
        assert mock.adapter_calls("RegisterMonitor") == 0
    assert not [m for m in scanner_records(caplog, logging.INFO) if "actively" in m]


# -- losing the adapter ---------------------------------------------------------------------------


def test_adapter_removed_and_readded_goes_down_then_up_and_scanning_resumes(
    mock: MockBluez,
    scanner: tuple[BleTagScanner, EventRecorder],
    caplog: pytest.LogCaptureFixture,
) -> None:
    ble, events = scanner
    add_alice(mock, rssi=-55)
    events.wait_for(seen(ALICE))
    start = events.mark()

    mock.remove_adapter()
    events.wait_for(is_health(HealthStatus.DOWN, "adapter hci0 removed"), since=start)
    events.wait_for(away(ALICE), since=start)  # nothing heard for longer than its timeout
    mock.add_adapter()

    events.wait_for(is_health(HealthStatus.UP), since=start)
    events.wait_for(seen(ALICE), since=start)  # the tag still advertises: it is found again
    health = events.health(since=start)
    assert health[0] is HealthStatus.DOWN
    assert HealthStatus.RECONNECTING in health
    assert health[-1] is HealthStatus.UP
    assert health.count(HealthStatus.DOWN) == 1
    assert ble.stats.restarts == 1
    assert ble.scanning_mode == "passive"
    # Failure logged once, recovery logged once, however many attempts it took.
    assert len(scanner_records(caplog, logging.WARNING)) == 1
    assert len([m for m in scanner_records(caplog, logging.INFO) if "back on" in m]) == 1


def test_adapter_powered_off_and_on_goes_down_then_up(
    mock: MockBluez, scanner: tuple[BleTagScanner, EventRecorder]
) -> None:
    ble, events = scanner
    add_alice(mock, rssi=-55)
    events.wait_for(seen(ALICE))
    start = events.mark()
    mock.set_powered(False)
    events.wait_for(is_health(HealthStatus.DOWN, "adapter hci0 powered off"), since=start)
    mock.set_powered(True)
    events.wait_for(is_health(HealthStatus.UP), since=start)
    heard_more(ble, 3)
    assert events.health(since=start).count(HealthStatus.DOWN) == 1


def test_an_adapter_missing_at_start_is_waited_for(mock: MockBluez) -> None:
    mock.remove_adapter()
    with running_scanner(mock, wait_up=False) as (ble, events):
        events.wait_for(is_health(HealthStatus.RECONNECTING))
        assert events.health()[0] is HealthStatus.DOWN
        assert ble.scanning_mode is None
        mock.add_adapter()
        events.wait_for(is_health(HealthStatus.UP))
        add_alice(mock, rssi=-55)
        events.wait_for(seen(ALICE))
        assert events.health().count(HealthStatus.DOWN) == 1


def test_a_named_adapter_that_is_not_there_is_down_with_its_name(mock: MockBluez) -> None:
    with running_scanner(mock, adapter="hci1", wait_up=False) as (_, events):
        events.wait_for(is_health(HealthStatus.DOWN, "adapter hci1 not found"))


def test_no_system_bus_at_all_is_down_and_retried() -> None:
    events = EventRecorder()
    with system_bus("unix:path=/nonexistent/kiosk-test-bus"):
        ble = BleTagScanner(events, restart_backoff=(0.01, 0.05))
        ble.start()
        try:
            events.wait_for(is_health(HealthStatus.RECONNECTING))
            events.wait_for(lambda e: len(events.health()) >= 4)  # it keeps trying
            assert events.health().count(HealthStatus.DOWN) == 1
        finally:
            ble.stop()


# -- privacy, listeners, stopping ------------------------------------------------------------


def test_no_tag_value_reaches_the_log(mock: MockBluez, caplog: pytest.LogCaptureFixture) -> None:
    def listener(event: DeviceEvent) -> None:
        events(event)
        if isinstance(event, TagSeen):
            raise RuntimeError("listener bug")  # makes the scanner log the event

    events = EventRecorder()
    with system_bus(mock.bus_address):
        ble = BleTagScanner(listener, company_ids=[NORDIC], restart_backoff=(0.05, 0.2))
        ble.start()
        try:
            events.wait_for(is_health(HealthStatus.UP))
            add_alice(mock, rssi=-55)
            mock.add_eddystone("bob", BOB_NAMESPACE, BOB_INSTANCE, rssi=-55)
            mock.add_manufacturer_tag("carol", NORDIC, "c0ffee01", rssi=-55)
            # An Apple item that is no iBeacon: past the passive scan's filter, read as nothing.
            mock.add_device(
                "stranger", manufacturer_data={APPLE_COMPANY_ID: b"\x10\x04\xde\xad\xbe\xef"}
            )
            for tag in (ALICE, BOB):
                events.wait_for(seen(tag))
            wait_until(lambda: ble.stats.unknown > 0)
            mock.remove_adapter()
            events.wait_for(is_health(HealthStatus.DOWN))
        finally:
            ble.stop()

    text = caplog.text + "\n".join(repr(r.args) for r in caplog.records)
    assert "listener bug" in text  # the log was written
    secrets = [
        ALICE.value,
        ALICE_UUID,
        ALICE_UUID.upper(),
        ALICE_UUID.replace("-", ""),
        encode_ibeacon(ALICE_UUID, 1, 2).hex(),
        BOB_NAMESPACE,
        "c0ffee01",
        "deadbeef",
        repr(b"\xde\xad\xbe\xef"),
    ]
    for secret in secrets:
        assert secret not in text.lower()
    assert not [
        r for r in caplog.records if r.name.startswith("bleak") and r.levelno < logging.INFO
    ]


def test_a_failing_listener_does_not_stop_the_scanner(
    mock: MockBluez, caplog: pytest.LogCaptureFixture
) -> None:
    received: list[DeviceEvent] = []

    def listener(event: DeviceEvent) -> None:
        received.append(event)
        if isinstance(event, TagSeen):
            raise RuntimeError("listener bug")

    with system_bus(mock.bus_address):
        ble = BleTagScanner(listener, presence_config=None, tick_interval=0.02)
        ble.start()
        try:
            add_alice(mock, rssi=-55)
            wait_until(lambda: any(isinstance(e, TagSeen) for e in received))
            mock.set_rssi("alice", -95)
            wait_until(lambda: any(isinstance(e, TagAway) for e in received))
        finally:
            ble.stop()
    failures = [r for r in caplog.records if r.name == SCANNER_LOG and r.exc_info]
    assert len(failures) == 1


def test_stop_is_prompt_and_leaves_no_thread(scanner: tuple[BleTagScanner, EventRecorder]) -> None:
    ble, _ = scanner
    began = time.monotonic()
    ble.stop()
    assert time.monotonic() - began < 0.5
    assert not [t for t in threading.enumerate() if t.name == "ble-scanner"]


def test_stop_is_prompt_during_a_long_backoff(mock: MockBluez) -> None:
    mock.remove_adapter()
    with running_scanner(mock, wait_up=False, restart_backoff=(30.0, 30.0)) as (ble, events):
        events.wait_for(is_health(HealthStatus.RECONNECTING))
        began = time.monotonic()
        ble.stop()
        assert time.monotonic() - began < 0.5


def test_bad_company_ids_are_refused_at_once() -> None:
    with pytest.raises(ValueError, match="company id"):
        BleTagScanner(lambda event: None, company_ids=[0x10000])


# -- the demo path: kiosk-sim ble as its own process ------------------------------------------


def test_kiosk_sim_ble_drives_a_scanner_from_its_prompt() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "devices.sim.cli", "ble", "--interval", str(TEST_INTERVAL_S)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    try:
        first = process.stdout.readline()
        assert first.startswith("bus: unix:path="), first
        address = first.removeprefix("bus: ").strip()
        events = EventRecorder()
        with system_bus(address):
            ble = BleTagScanner(events, tick_interval=0.02)
            ble.start()
            try:
                events.wait_for(is_health(HealthStatus.UP))
                process.stdin.write(f"tag alice ibeacon {ALICE_UUID} 1 2\n")
                process.stdin.write("walk alice -90 -50 0.2\n")
                process.stdin.flush()
                events.wait_for(seen(ALICE))
                process.stdin.write("rssi alice -95\n")
                process.stdin.flush()
                events.wait_for(away(ALICE))
            finally:
                ble.stop()
        process.stdin.write("quit\n")
        process.stdin.flush()
        assert process.wait(5) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stdin.close()
