"""The kiosk's content reports for HQ: what went wrong with a release, until HQ has it.

A JSON-lines file `<root>/reports.jsonl`, where `root` is the content store's
root (`ContentStore.root`, i.e. `<data>/content`). Several writers share it
(the updater in the relay child, the switch and crash rollback and the attract
video in the kiosk process), so every change holds an flock on
`<root>/.reports.lock`. The relay child sends `pending(root)` with each status
POST and `acknowledge`s the ids HQ accepted.

A report is appended and flushed to disk; acknowledging rewrites the file to a
temporary one and renames it over, so a power cut loses neither old nor new
reports. A torn last line (a writer killed mid-write) is skipped when read.
The file is 0600: details never hold personal data, but they are the kiosk's
business only.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import uuid
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

_log = logging.getLogger("content.reports")

REPORTS: Final = "reports.jsonl"
_LOCK: Final = ".reports.lock"
_FILE_MODE: Final = 0o600
_DIR_MODE: Final = 0o700

# The closed list HQ accepts (docs/content-releases.md).
REASONS: Final = frozenset(
    {
        "no_key",
        "signature",
        "rollback",
        "expired",
        "wrong_target",
        "asset_hash",
        "bundle_invalid",
        "load_failed",
        "crashed",
        "video_failed",
        "download",
    }
)
# HQ keeps only the latest network failure per kiosk; so does the kiosk.
_LATEST_ONLY: Final = frozenset({"download"})
DETAIL_MAX: Final = 300  # HQ's limit
# A kiosk offline for months must not fill its disk with reports: the oldest go.
MAX_PENDING: Final = 200


@dataclass(frozen=True, slots=True)
class Report:
    """One thing that went wrong with a release, as HQ receives it."""

    id: str
    release: int | None
    reason: str
    detail: str
    at: datetime

    def to_wire(self) -> dict[str, object]:
        """The report as an item of the status POST's `failures`."""
        return {
            "id": self.id,
            "release": self.release,
            "reason": self.reason,
            "detail": self.detail,
            "at": _iso(self.at),
        }


def record(root: Path, *, release: int | None, reason: str, detail: str, now: datetime) -> Report:
    """Keep a report for HQ (flushed to disk before returning) and return it.

    `reason` must be one of REASONS; `detail` is cut to DETAIL_MAX characters.
    A `download` report replaces an earlier pending one.
    """
    if reason not in REASONS:
        raise ValueError(f"unknown content report reason {reason!r}")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    report = Report(str(uuid.uuid4()), release, reason, detail[:DETAIL_MAX], now.astimezone(UTC))
    with _locked(root):
        pending = _read(root)
        drop_earlier = reason in _LATEST_ONLY and any(r.reason == reason for r in pending)
        if drop_earlier or len(pending) >= MAX_PENDING:
            kept = [r for r in pending if not (drop_earlier and r.reason == reason)]
            _rewrite(root, [*kept[-(MAX_PENDING - 1) :], report])
        else:
            _append(root, report)
    return report


def pending(root: Path) -> list[Report]:
    """The reports HQ has not acknowledged yet, oldest first."""
    with _locked(root):
        return _read(root)


def acknowledge(root: Path, ids: Collection[str]) -> None:
    """Forget the reports HQ accepted (unknown ids are ignored)."""
    if not ids:
        return
    wanted = frozenset(ids)
    with _locked(root):
        reports = _read(root)
        kept = [r for r in reports if r.id not in wanted]
        if len(kept) != len(reports):
            _rewrite(root, kept)


# --- internals -----------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _line(report: Report) -> bytes:
    return json.dumps(report.to_wire(), separators=(",", ":")).encode() + b"\n"


def _parse(line: bytes) -> Report | None:
    try:
        item = json.loads(line)
        release = item["release"]
        if release is not None and (type(release) is not int):
            return None
        at = datetime.fromisoformat(item["at"])
        if at.tzinfo is None:
            return None
        fields = (item["id"], item["reason"], item["detail"])
        if not all(isinstance(f, str) for f in fields):
            return None
        return Report(item["id"], release, item["reason"], item["detail"], at)
    except (ValueError, KeyError, TypeError):
        return None


def _read(root: Path) -> list[Report]:
    try:
        data = (root / REPORTS).read_bytes()
    except FileNotFoundError:
        return []
    reports: list[Report] = []
    for line in data.splitlines():
        if not line.strip():
            continue
        report = _parse(line)
        if report is None:
            # A writer killed mid-line; nothing else writes this file.
            _log.warning("Skipping an unreadable line in %s", REPORTS)
            continue
        reports.append(report)
    return reports


def _append(root: Path, report: Report) -> None:
    path = root / REPORTS
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, _FILE_MODE)
    try:
        os.fchmod(fd, _FILE_MODE)  # whatever the umask or an older file said
        size = os.fstat(fd).st_size
        # After a torn line (a writer killed mid-write) start a fresh line,
        # or this report would be glued to the fragment and lost with it.
        torn = size > 0 and os.pread(fd, 1, size - 1) != b"\n"
        os.write(fd, (b"\n" if torn else b"") + _line(report))
        os.fsync(fd)
    finally:
        os.close(fd)


def _rewrite(root: Path, reports: list[Report]) -> None:
    temporary = root / f".{REPORTS}.{uuid.uuid4().hex[:8]}"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, _FILE_MODE)
    try:
        os.fchmod(fd, _FILE_MODE)
        os.write(fd, b"".join(_line(r) for r in reports))
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        temporary.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(temporary, root / REPORTS)
    dir_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)  # the rename is durable only once the directory is
    finally:
        os.close(dir_fd)


@contextmanager
def _locked(root: Path) -> Iterator[None]:
    if not root.exists():
        root.mkdir(parents=True, mode=_DIR_MODE)
    fd = os.open(root / _LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, _FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing drops the lock
