"""The `--trace FILE` diagnostic stream: one JSON object per line.

Every line has `kind`, `mono` (time.monotonic(), comparable across processes on
one machine) and `wall` (ISO 8601, UTC). Kinds written by the kiosk:
`device` (a device event), `screen` (the view changed; a coupon's screen names
its campaign and serial, never the redeemable code), `paint` (first paint of a new
view), `prepared` (every phone of the cabinet has its product panel ready,
`panels`), `health` (a device lost, then back: once each, not every retry), `noise` (a
burst of input a device's parser rejected: device and reason), `alert`, `content`,
`sync` (the relay's state, pending and dead-letter counts), `attract` (a video
skipped: `status: video_failed`, release, video, why), `start`, `stop`. Lines are
written by a thread of their own so the GUI thread never waits on the disk; the time
stamps are taken by the caller, so the writer's delay does not skew them.
Nothing personal goes in here: SKUs, slots and screen names only.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger("kiosk.trace")


def wall_clock_at(mono: float, now_mono: float) -> datetime:
    """The wall-clock time of an earlier monotonic stamp (drivers stamp monotonic)."""
    return datetime.now(UTC) - timedelta(seconds=max(0.0, now_mono - mono))


class Trace(Protocol):
    def emit(self, kind: str, /, **fields: Any) -> None: ...

    def close(self) -> None: ...


class NullTrace:
    """Used when no --trace is given."""

    def emit(self, kind: str, /, **fields: Any) -> None:
        pass

    def close(self) -> None:
        pass


class FileTrace:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a", encoding="utf-8", buffering=1)
        self._queue: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="trace-writer", daemon=True)
        self._thread.start()

    def emit(self, kind: str, /, **fields: Any) -> None:
        mono = fields.pop("mono", None)
        mono = time.monotonic() if mono is None else mono
        wall = wall_clock_at(mono, time.monotonic())
        line = {"kind": kind, "mono": mono, "wall": wall.isoformat(timespec="microseconds")}
        line.update(fields)
        self._queue.put(json.dumps(line, ensure_ascii=False, default=str))

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=5)
        self._file.close()

    def _run(self) -> None:
        while (line := self._queue.get()) is not None:
            try:
                self._file.write(line + "\n")
            except OSError:
                log.exception("trace write failed; trace lines are being lost")
