"""An attract video the kiosk had to skip: a trace line now, and a content report for HQ.

The attract screen skips a video that cannot be played (`kiosk/screens/attract.py`)
and says so once per video and playlist; this turns that into an `attract` trace
line (`status: video_failed`) and a `video_failed` report in the content store's
reports file (`content/reports.py`), which the relay child sends to HQ with its
next status. Writing the report takes a file lock and an fsync, so it happens on
a short-lived thread of its own: the GUI thread never waits on the disk.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from content import reports
from kiosk.trace import Trace

log = logging.getLogger("kiosk.video_reports")

# Releases installed from HQ are named "hq-<release number>" (docs/content-releases.md);
# a bundle installed by hand has no number HQ would know.
_HQ_RELEASE: Final = re.compile(r"hq-([0-9]{1,18})")
_REASON_MAX: Final = 200  # Qt's error text is short; the trace stays one readable line


def hq_release_number(release: str) -> int | None:
    """HQ's number of the installed release `release`, or None for a local one."""
    match = _HQ_RELEASE.fullmatch(release)
    return int(match.group(1)) if match else None


class VideoFailureReports:
    """Connect `report` to `KioskWindow.video_failed`."""

    def __init__(
        self,
        content_root: Path,
        trace: Trace,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._root = content_root
        self._trace = trace
        self._clock = clock
        self._writers: list[threading.Thread] = []

    def report(self, release: str, video: str, reason: str) -> None:
        reason = reason[:_REASON_MAX]
        self._trace.emit("attract", status="video_failed", release=release, video=video, why=reason)
        writer = threading.Thread(
            target=self._record,
            args=(hq_release_number(release), f"{video}: {reason}", self._clock()),
            name="video-report",
            daemon=True,
        )
        self._writers = [w for w in self._writers if w.is_alive()] + [writer]
        writer.start()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the reports being written (at exit, and in tests)."""
        for writer in self._writers:
            writer.join(timeout)

    def _record(self, release: int | None, detail: str, now: datetime) -> None:
        try:
            reports.record(
                self._root, release=release, reason="video_failed", detail=detail, now=now
            )
        except Exception:  # a full disk must not take the kiosk down; the trace has it
            log.exception("could not keep the video report for HQ")
