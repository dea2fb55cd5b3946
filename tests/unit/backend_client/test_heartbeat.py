"""The kiosk's heartbeat, piece by piece: its body (pure), the screen's power from the
kernel's DRM connectors, the last crash kept on disk, and the kiosk's report on its
data link (only the latest, again to each new child, and a goodbye on close)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from multiprocessing import Pipe
from pathlib import Path

import pytest

from backend_client.data_link import Bye, DataLink, Report
from backend_client.heartbeat import heartbeat_body, screen_state
from backend_client.kiosk_report import (
    CrashNote,
    DeviceReport,
    KioskReport,
    read_crash,
    record_crash,
)
from backend_client.status import SyncState, SyncStatus

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
REPORT = KioskReport(
    (DeviceReport("pickup", "up", "open"), DeviceReport("rfid", "down", "no such port")),
    "hq-7",
    started_mono=1000.0,
)


def body(**changes: object) -> dict[str, object]:
    inputs: dict[str, object] = {
        "version": "0.1.0",
        "report": REPORT,
        "sync": SyncStatus(SyncState.BACKING_OFF, 1200, 3, None, 4.0, 0),
        "disk": (5 << 30, 32 << 30),
        "crash": None,
        "screen": "on",
        "now_mono": 4600.0,
        "child_started_mono": 4000.0,
    }
    inputs.update(changes)
    return heartbeat_body(**inputs)  # type: ignore[arg-type]


def test_the_body_carries_what_the_kiosk_and_the_child_know() -> None:
    assert body() == {
        "app_version": "0.1.0",
        "content_release": "hq-7",
        "devices": [
            {"name": "pickup", "state": "up", "detail": "open"},
            {"name": "rfid", "state": "down", "detail": "no such port"},
        ],
        "uptime_s": 3600,  # since the kiosk's start, not the child's
        "screen": "on",
        "last_crash": None,
        "outbox": {"backlog": 1200, "dead_letters": 3, "state": "backing_off"},
        "disk": {"free_bytes": 5 << 30, "total_bytes": 32 << 30},
    }


def test_before_the_kiosk_reports_it_says_only_what_the_child_knows() -> None:
    sent = body(report=None, sync=None, disk=None)
    assert sent["devices"] == []
    assert sent["content_release"] is None
    assert sent["uptime_s"] == 600  # the child's own
    assert "outbox" not in sent  # unknown, not "empty"
    assert "disk" not in sent


def test_the_newest_crash_is_the_last_one() -> None:
    died = CrashNote(NOW, "exited")
    survived = CrashNote(NOW + timedelta(minutes=5), "exception", "KeyError")
    report = KioskReport(REPORT.devices, "hq-7", 1000.0, last_exception=survived)
    assert body(report=report, crash=died)["last_crash"] == {
        "at": "2026-12-06T10:05:00+00:00",
        "kind": "exception",
        "what": "KeyError",
    }
    assert body(crash=died)["last_crash"]["kind"] == "exited"  # type: ignore[index]


def drm(root: Path, connectors: dict[str, tuple[str, str]]) -> Path:
    for name, (status, dpms) in connectors.items():
        folder = root / name
        folder.mkdir(parents=True)
        (folder / "status").write_text(status + "\n")
        (folder / "dpms").write_text(dpms + "\n")
    return root


@pytest.mark.parametrize(
    ("connectors", "expected"),
    [
        ({"card0-HDMI-A-1": ("connected", "On"), "card0-DP-1": ("disconnected", "Off")}, "on"),
        ({"card0-HDMI-A-1": ("connected", "Off")}, "off"),
        ({"card0-DP-1": ("disconnected", "Off")}, "unknown"),
        ({}, "unknown"),
    ],
)
def test_the_screen_is_on_when_a_connected_display_is_lit(
    tmp_path: Path, connectors: dict[str, tuple[str, str]], expected: str
) -> None:
    assert screen_state(drm(tmp_path / "drm", connectors)) == expected


def test_the_last_crash_is_kept_unless_an_older_one_comes(tmp_path: Path) -> None:
    assert read_crash(tmp_path) is None
    assert record_crash(tmp_path, CrashNote(NOW, "exited"))
    assert not record_crash(tmp_path, CrashNote(NOW - timedelta(hours=1), "exception", "X"))
    assert read_crash(tmp_path) == CrashNote(NOW, "exited", "")
    (tmp_path / "last_crash.json").write_text("{not json")
    assert read_crash(tmp_path) is None  # a damaged file is no crash, and no error


def test_the_link_sends_the_latest_report_to_each_child_and_says_goodbye() -> None:
    link = DataLink()
    first, first_child = Pipe()
    older = KioskReport((), "hq-6", 1.0)
    link.report(older)
    link.report(REPORT)  # before any child: only the latest is kept
    link.attach(first)
    assert first_child.recv() == Report(REPORT)
    first_child.close()  # that child dies
    second, second_child = Pipe()
    link.attach(second)
    assert second_child.recv() == Report(REPORT)  # the new child hears it too
    link.close(timeout=1)
    assert second_child.recv() == Bye()
    with pytest.raises(EOFError):
        second_child.recv()
