"""The screen's process reports its devices, release and survived exceptions for HQ's
heartbeat: each change once, never a driver's retry, never an exception's text."""

from __future__ import annotations

from datetime import UTC, datetime

from backend_client.kiosk_report import CrashNote, DeviceReport, KioskReport
from devices.events import DeviceHealth, HealthStatus
from kiosk.health_report import HealthReporter, configured_devices

WHEN = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)


def reporter(sent: list[KioskReport]) -> HealthReporter:
    return HealthReporter(
        sent.append,
        devices=configured_devices(pickup=True, rfid_serial=True, rfid_wedge=False, ble=False),
        release="hq-4",
        started_mono=50.0,
        wall_clock=lambda: WHEN,
    )


def test_configured_devices_are_unknown_until_they_report() -> None:
    sent: list[KioskReport] = []
    reporter(sent).start()
    assert sent == [
        KioskReport(
            (DeviceReport("pickup", "unknown"), DeviceReport("rfid", "unknown")), "hq-4", 50.0
        )
    ]


def test_each_change_is_sent_once_and_a_retry_not_at_all() -> None:
    sent: list[KioskReport] = []
    health = reporter(sent)
    health.start()
    down = DeviceHealth("rfid", HealthStatus.DOWN, 1.0, "[Errno 2] no such port")
    health.device_changed(down)
    health.device_changed(DeviceHealth("rfid", HealthStatus.DOWN, 3.0, "[Errno 2] no such port"))
    health.device_changed(DeviceHealth("pickup", HealthStatus.UP, 3.5, "open"))
    health.release_changed("hq-5")
    assert len(sent) == 4
    assert sent[-1].devices == (
        DeviceReport("pickup", "up", "open"),
        DeviceReport("rfid", "down", "[Errno 2] no such port"),
    )
    assert sent[-1].content_release == "hq-5"


def test_an_exception_is_reported_by_its_type_only() -> None:
    sent: list[KioskReport] = []
    health = reporter(sent)
    health.exception_raised(ValueError)
    assert sent[-1].last_exception == CrashNote(WHEN, "exception", "ValueError")
