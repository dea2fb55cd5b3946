"""What the kiosk's screen process tells its relay child for HQ's heartbeat, and the last crash.

The GUI process knows its devices' states (from their drivers' health events), the
content release on screen, when it started and the last exception it survived; it
sends a `KioskReport` over the data link whenever one of them changes (only the
latest matters). The relay child's heartbeat (backend_client/heartbeat.py) adds
what it knows itself: the outbox, the disk, the screen's power, and the last crash.

The last crash is kept in `<data dir>/last_crash.json` by the relay child: an
exception the kiosk survived (from its report), or the kiosk's death (its data link
ended without the goodbye a clean close sends), so it outlives both processes.
Only types and times, never a message: an exception's text may quote what a
shopper typed. Standard library only: the screen's process loads this module.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final, Literal

_log = logging.getLogger("backend_client.kiosk_report")

CRASH_FILE: Final = "last_crash.json"

DeviceStateName = Literal["up", "down", "reconnecting", "unknown"]
CrashKind = Literal["exception", "exited"]


@dataclass(frozen=True, slots=True)
class DeviceReport:
    name: str  # the driver's name: pickup, rfid, rfid-wedge, ble
    state: DeviceStateName
    detail: str = ""  # the driver's own words, safe to log (devices.events.DeviceHealth)


@dataclass(frozen=True, slots=True)
class CrashNote:
    at: datetime  # UTC
    kind: CrashKind
    what: str = ""  # an exception's type name; "" for a death


@dataclass(frozen=True, slots=True)
class KioskReport:
    """The kiosk as its screen process knows it (kiosk -> relay child, on the data link)."""

    devices: tuple[DeviceReport, ...]
    content_release: str | None
    started_mono: float  # time.monotonic() at the kiosk's start: comparable across processes
    last_exception: CrashNote | None = None


class ReportBox:
    """The latest report, handed from the data keeper's thread to the heartbeat's."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._report: KioskReport | None = None
        self._arrived = threading.Event()

    def put(self, report: KioskReport) -> None:
        with self._lock:
            self._report = report
        self._arrived.set()

    def latest(self) -> KioskReport | None:
        with self._lock:
            return self._report

    def wait(self, timeout: float) -> KioskReport | None:
        """The latest report, waiting up to `timeout` for a first one."""
        self._arrived.wait(timeout)
        return self.latest()


def read_crash(data_dir: Path) -> CrashNote | None:
    """The last crash recorded in `data_dir`; None if none (or the file is unreadable)."""
    try:
        data = json.loads((data_dir / CRASH_FILE).read_text(encoding="utf-8"))
        kind = data["kind"]
        if kind not in ("exception", "exited"):
            return None
        at = datetime.fromisoformat(data["at"])
        return None if at.tzinfo is None else CrashNote(at, kind, str(data.get("what", ""))[:100])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def record_crash(data_dir: Path, note: CrashNote) -> bool:
    """Keep `note` as the last crash unless a later one is recorded; whether it was written."""
    held = read_crash(data_dir)
    if held is not None and held.at >= note.at:
        return False
    path = data_dir / CRASH_FILE
    temporary = path.with_suffix(".tmp")
    document = {"at": note.at.isoformat(), "kind": note.kind, "what": note.what}
    try:
        temporary.write_text(json.dumps(document), encoding="utf-8")
        os.replace(temporary, path)
    except OSError as error:
        _log.warning("cannot record the kiosk's last crash: %s", type(error).__name__)
        with contextlib.suppress(OSError):
            temporary.unlink()
        return False
    return True
