"""The kiosk's heartbeat to HQ (`POST /v1/heartbeat`, docs/hq-api.md), from the relay child.

Every minute (or as HQ's answer says) the child tells HQ how the kiosk is: the app's
and the content's versions, each device's state and the content release as the
kiosk's screen process last reported them (backend_client/kiosk_report.py, over the
data link), the outbox's backlog and dead letters (the relay's status), the data
directory's free disk, the kiosk's uptime, its last crash and whether the screen is
on. A heartbeat HQ did not get is not kept: the next one says how things are then.
Nothing personal goes in one: names of devices, states, counts, sizes, times.

`heartbeat_body` is pure (tests give it every input); `HeartbeatSender` gathers the
inputs and sends on a thread of its own (backend_client/periodic.py), with its own
client. A failure is logged once, and the recovery once.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any, Final, Literal

from backend_client.client import HqClient, HqError, HqHints
from backend_client.kiosk_report import CrashNote, KioskReport, ReportBox, read_crash
from backend_client.periodic import PeriodicThread
from backend_client.status import SyncStatus

__all__ = ["DEFAULT_INTERVAL", "HeartbeatSender", "app_version", "heartbeat_body", "screen_state"]

_log = logging.getLogger("backend_client.heartbeat")

DEFAULT_INTERVAL: Final = 60.0
FIRST_REPORT_WAIT_S: Final = 5.0
# At the child's start the kiosk's report is a link message away: the first heartbeat
# waits that long for it rather than tell HQ the kiosk has no devices.
DRM: Final = Path("/sys/class/drm")
PACKAGE: Final = "lift-and-learn-kiosk"

ScreenState = Literal["on", "off", "unknown"]


def app_version() -> str:
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        return "unknown"


def screen_state(drm: Path = DRM) -> ScreenState:
    """Whether a connected display is lit, from the kernel's DRM connectors (no privileges
    needed): "on" if any connected connector's DPMS is On, "off" if all are off,
    "unknown" where there is no DRM display (a virtual machine, a test)."""
    states: list[str] = []
    try:
        connectors = sorted(drm.glob("card*-*"))
    except OSError:
        return "unknown"
    for connector in connectors:
        try:
            if (connector / "status").read_text(encoding="ascii").strip() != "connected":
                continue
            states.append((connector / "dpms").read_text(encoding="ascii").strip())
        except (OSError, UnicodeDecodeError):
            continue
    if not states:
        return "unknown"
    return "on" if "On" in states else "off"


def heartbeat_body(
    *,
    version: str,
    report: KioskReport | None,
    sync: SyncStatus | None,
    disk: tuple[int, int] | None,
    crash: CrashNote | None,
    screen: ScreenState,
    now_mono: float,
    child_started_mono: float,
) -> dict[str, Any]:
    """The heartbeat's JSON body. Without a report from the kiosk yet: no devices, and the
    relay child's own uptime."""
    crashes = [note for note in (crash, None if report is None else report.last_exception) if note]
    last = max(crashes, key=lambda note: note.at, default=None)
    started = child_started_mono if report is None else report.started_mono
    body: dict[str, Any] = {
        "app_version": version[:40],
        "content_release": None if report is None else report.content_release,
        "devices": []
        if report is None
        else [
            {"name": device.name, "state": device.state, "detail": device.detail[:200]}
            for device in report.devices
        ],
        "uptime_s": max(0, int(now_mono - started)),
        "screen": screen,
        "last_crash": None
        if last is None
        else {"at": last.at.isoformat(), "kind": last.kind, "what": last.what},
    }
    if sync is not None:
        body["outbox"] = {
            "backlog": sync.pending,
            "dead_letters": sync.dead_letters,
            "state": sync.state.value,
        }
    if disk is not None:
        body["disk"] = {"free_bytes": disk[0], "total_bytes": disk[1]}
    return body


class HeartbeatSender:
    """Sends the kiosk in `data_dir`'s heartbeat through `client` (which it then owns)."""

    def __init__(
        self,
        data_dir: Path,
        client: HqClient,
        reports: ReportBox,
        *,
        interval: float | None = None,
        drm: Path = DRM,
        clock: Callable[[], float] = time.monotonic,
        on_commands: Callable[[tuple[object, ...]], None] | None = None,
        on_hints: Callable[[HqHints], None] | None = None,
    ) -> None:
        """`interval`: seconds between heartbeats whatever HQ answers (a test, a demo);
        None: HQ's pace, 60 s until its first answer. `on_commands`: HQ's commands from
        each answer, as they came (backend_client/command_runner.py verifies them);
        `on_hints`: what HQ holds for the kiosk now (content and member feed versions)."""
        if interval is not None and interval <= 0:
            raise ValueError("interval must be > 0")
        self._data_dir = data_dir
        self._client = client
        self._reports = reports
        self._fixed = interval
        self._interval = DEFAULT_INTERVAL if interval is None else interval
        self._drm = drm
        self._clock = clock
        self._on_commands = on_commands
        self._on_hints = on_hints
        self._started = clock()
        self._version = app_version()
        self._sync: SyncStatus | None = None
        self._failing: str | None = None
        self._thread = PeriodicThread("heartbeat", self.beat_once, wait=lambda: self._interval)

    def on_sync(self, status: SyncStatus) -> None:
        """The relay's status (its thread): the outbox's backlog and dead letters."""
        self._sync = status

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        self._thread.stop(timeout)
        self._client.close()

    def beat_once(self) -> bool:
        """Send one heartbeat now; whether HQ took it."""
        report = self._reports.wait(FIRST_REPORT_WAIT_S)
        body = heartbeat_body(
            version=self._version,
            report=report,
            sync=self._sync,
            disk=self._disk(),
            crash=read_crash(self._data_dir),
            screen=screen_state(self._drm),
            now_mono=self._clock(),
            child_started_mono=self._started,
        )
        try:
            reply = self._client.post_heartbeat(body)
        except HqError as error:
            if self._failing is None:
                _log.warning("heartbeat not taken (not kept; the next says more): %s", error)
            self._failing = str(error)
            return False
        if self._failing is not None:
            _log.info("heartbeats reach HQ again")
            self._failing = None
        if self._fixed is None:
            self._interval = float(reply.next_in)
        if reply.commands and self._on_commands is not None:
            self._on_commands(reply.commands)
        if reply.hints is not None and self._on_hints is not None:
            self._on_hints(reply.hints)
        return True

    def _disk(self) -> tuple[int, int] | None:
        try:
            usage = shutil.disk_usage(self._data_dir)
        except OSError:
            return None
        return (usage.free, usage.total)
