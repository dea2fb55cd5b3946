"""What the kiosk's screen process knows of its own health, handed to the relay child for HQ.

The drivers' health events (through the controller), the content release on screen
and the exceptions the kiosk survived go into a `KioskReport`
(backend_client/kiosk_report.py), sent over the data link whenever something in it
changes; the relay child's heartbeat carries it to HQ every minute. Sending never
blocks (DataLink.report keeps the latest and returns), and a driver retrying every
second or two sends nothing new. No Qt here: the controller's signal is connected in
kiosk/app.py.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from backend_client.kiosk_report import CrashNote, DeviceReport, KioskReport
from devices.events import DeviceHealth

DETAIL_CHARS = 120  # as the store channel's device message: one readable line


class HealthReporter:
    def __init__(
        self,
        send: Callable[[KioskReport], None],
        *,
        devices: Iterable[str],
        release: str | None,
        started_mono: float,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """`devices`: the drivers this kiosk runs, "unknown" until each reports."""
        self._send = send
        self._wall_clock = wall_clock
        self._lock = threading.Lock()  # exceptions may be reported from any thread
        self._devices = {name: DeviceReport(name, "unknown") for name in devices}
        self._release = release
        self._started = started_mono
        self._exception: CrashNote | None = None
        self._last_sent: KioskReport | None = None

    def start(self) -> None:
        self._tell()

    def device_changed(self, health: DeviceHealth) -> None:
        report = DeviceReport(health.device, health.status.value, health.detail[:DETAIL_CHARS])
        with self._lock:
            self._devices[health.device] = report
        self._tell()

    def release_changed(self, release: str | None) -> None:
        with self._lock:
            self._release = release
        self._tell()

    def exception_raised(self, kind: type[BaseException]) -> None:
        """An exception the kiosk logged and survived: its type only, never its text."""
        with self._lock:
            self._exception = CrashNote(self._wall_clock(), "exception", kind.__name__[:100])
        self._tell()

    def _tell(self) -> None:
        with self._lock:
            report = KioskReport(
                tuple(self._devices[name] for name in sorted(self._devices)),
                self._release,
                self._started,
                self._exception,
            )
            if report == self._last_sent:
                return
            self._last_sent = report
        self._send(report)


def configured_devices(
    *, pickup: bool, rfid_serial: bool, rfid_wedge: bool, ble: bool, printer: bool = False
) -> list[str]:
    """The drivers' names (their defaults in devices/) for what this kiosk was started with."""
    chosen = {
        "pickup": pickup,
        "rfid": rfid_serial,
        "rfid-wedge": rfid_wedge,
        "ble": ble,
        "printer": printer,
    }
    return [name for name, on in chosen.items() if on]
