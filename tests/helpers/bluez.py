"""BLE test helpers: a mocked BlueZ on a private bus, a scanner connected to it.

Plain context managers (as in helpers.pickup) so any test module can wrap
them in a fixture of its own:

    @requires_bluez_mock
    def test_something():
        with mock_bluez() as mock, running_scanner(mock) as (scanner, events):
            ...

Both need dbus-daemon and python-dbusmock; `requires_bluez_mock` skips a test
with the reason when either is missing.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from devices.ble import BleTagScanner
from devices.events import DeviceEvent, HealthStatus, TagAway, TagId, TagSeen
from devices.presence import PresenceConfig
from devices.sim.ble import MockBluez, missing_requirements
from helpers.pickup import EventRecorder, is_health

_MISSING = missing_requirements()
requires_bluez_mock = pytest.mark.skipif(
    _MISSING is not None, reason=f"no mocked BlueZ here: {_MISSING}"
)

FAST_PRESENCE = PresenceConfig(away_floor_s=0.5)
"""Default presence, but tags silent for half a second are away: the tests'
tags advertise every 50 ms, so that is still ten missed advertisements."""

TEST_INTERVAL_S = 0.05  # tags advertise fast so that tests wait milliseconds, not seconds


@contextlib.contextmanager
def mock_bluez(**options: Any) -> Iterator[MockBluez]:
    """A started MockBluez (tags advertising every TEST_INTERVAL_S), stopped on exit."""
    options.setdefault("interval", TEST_INTERVAL_S)
    with MockBluez(**options) as mock:
        yield mock


@contextlib.contextmanager
def system_bus(address: str) -> Iterator[None]:
    """Point DBUS_SYSTEM_BUS_ADDRESS (what bleak connects to) at `address` meanwhile."""
    previous = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS")
    os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = address
    try:
        yield
    finally:
        if previous is None:
            del os.environ["DBUS_SYSTEM_BUS_ADDRESS"]
        else:
            os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = previous


@contextlib.contextmanager
def running_scanner(
    mock: MockBluez, *, wait_up: bool = True, **options: Any
) -> Iterator[tuple[BleTagScanner, EventRecorder]]:
    """A BleTagScanner on the mock's bus that is scanning (unless `wait_up` is False).

    Presence, backoff and sweep defaults are short so timeouts and restarts
    take milliseconds."""
    recorder = EventRecorder()
    options.setdefault("presence_config", FAST_PRESENCE)
    options.setdefault("restart_backoff", (0.05, 0.2))
    options.setdefault("tick_interval", 0.02)
    with system_bus(mock.bus_address):
        scanner = BleTagScanner(recorder, **options)
        scanner.start()
        try:
            if wait_up:
                recorder.wait_for(is_health(HealthStatus.UP))
            yield scanner, recorder
        finally:
            scanner.stop()


def seen(tag: TagId) -> Callable[[DeviceEvent], bool]:
    return lambda event: isinstance(event, TagSeen) and event.tag == tag


def away(tag: TagId) -> Callable[[DeviceEvent], bool]:
    return lambda event: isinstance(event, TagAway) and event.tag == tag


def tag_events(recorder: EventRecorder, since: int = 0) -> list[TagSeen | TagAway]:
    return [e for e in recorder.since(since) if isinstance(e, TagSeen | TagAway)]
