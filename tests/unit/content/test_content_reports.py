"""Content reports for HQ: kept on disk until acknowledged, shared by several processes."""

from __future__ import annotations

import multiprocessing
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from content import reports
from content.reports import MAX_PENDING, REPORTS, acknowledge, pending, record

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)


def test_a_recorded_report_is_pending_with_its_wire_form(tmp_path: Path) -> None:
    root = tmp_path / "content"
    kept = record(root, release=12, reason="signature", detail="unknown key", now=NOW)

    assert pending(root) == [kept]
    assert kept.to_wire() == {
        "id": kept.id,
        "release": 12,
        "reason": "signature",
        "detail": "unknown key",
        "at": "2026-12-06T10:00:00Z",
    }


def test_reports_file_is_private_whatever_the_umask(tmp_path: Path) -> None:
    root = tmp_path / "content"
    record(root, release=None, reason="no_key", detail="no content key", now=NOW)

    assert stat.S_IMODE((root / REPORTS).stat().st_mode) == 0o600
    assert stat.S_IMODE(root.stat().st_mode) == 0o700


def test_acknowledged_reports_are_forgotten_the_others_stay(tmp_path: Path) -> None:
    first = record(tmp_path, release=3, reason="expired", detail="a", now=NOW)
    second = record(tmp_path, release=4, reason="rollback", detail="b", now=NOW)

    acknowledge(tmp_path, [first.id, "not-a-known-id"])

    assert pending(tmp_path) == [second]


def test_reports_survive_a_new_reader(tmp_path: Path) -> None:
    record(tmp_path, release=5, reason="asset_hash", detail="x", now=NOW + timedelta(hours=1))

    (only,) = pending(tmp_path)
    assert (only.release, only.reason, only.at) == (5, "asset_hash", NOW + timedelta(hours=1))


def test_only_the_latest_download_failure_is_kept(tmp_path: Path) -> None:
    kept = record(tmp_path, release=7, reason="signature", detail="s", now=NOW)
    record(tmp_path, release=7, reason="download", detail="timed out", now=NOW)
    latest = record(tmp_path, release=7, reason="download", detail="503", now=NOW)

    assert pending(tmp_path) == [kept, latest]


def test_unknown_reason_and_naive_time_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="reason"):
        record(tmp_path, release=1, reason="bored", detail="", now=NOW)
    with pytest.raises(ValueError, match="timezone"):
        record(tmp_path, release=1, reason="expired", detail="", now=datetime(2026, 1, 1))
    assert pending(tmp_path) == []


def test_detail_is_cut_to_what_hq_accepts(tmp_path: Path) -> None:
    report = record(tmp_path, release=1, reason="bundle_invalid", detail="x" * 1000, now=NOW)

    assert len(report.detail) == reports.DETAIL_MAX == len(pending(tmp_path)[0].detail)


def test_a_torn_last_line_is_skipped_and_the_rest_kept(tmp_path: Path) -> None:
    kept = record(tmp_path, release=1, reason="crashed", detail="", now=NOW)
    with (tmp_path / REPORTS).open("ab") as file:
        file.write(b'{"id": "abc", "release": 2, "rea')

    assert pending(tmp_path) == [kept]
    later = record(tmp_path, release=3, reason="load_failed", detail="", now=NOW)
    assert pending(tmp_path) == [kept, later]


def test_an_offline_kiosk_keeps_only_the_newest_reports(tmp_path: Path) -> None:
    for number in range(MAX_PENDING + 5):
        record(tmp_path, release=number, reason="expired", detail="", now=NOW)

    kept = pending(tmp_path)
    assert len(kept) == MAX_PENDING
    assert [r.release for r in kept] == list(range(5, MAX_PENDING + 5))


def _record_many(root: str, writer: int, count: int) -> None:
    for n in range(count):
        record(Path(root), release=writer * 1000 + n, reason="expired", detail="", now=NOW)


def test_writers_in_several_processes_lose_no_report(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_record_many, args=(str(tmp_path), w, 30)) for w in range(3)]
    for process in writers:
        process.start()
    first = record(tmp_path, release=None, reason="no_key", detail="", now=NOW)
    acknowledge(tmp_path, [first.id])  # a rewrite while others append
    for process in writers:
        process.join(timeout=60)
        assert process.exitcode == 0

    numbers = sorted(r.release for r in pending(tmp_path) if r.release is not None)
    assert numbers == sorted(w * 1000 + n for w in range(3) for n in range(30))
