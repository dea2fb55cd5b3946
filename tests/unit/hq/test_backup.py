"""Which dumps `kiosk-hq backup` removes, and how it hands HQ's database URL to pg_dump."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hq.backup import BackupError, dump, dump_name, expired, libpq_target

NOW = datetime(2026, 12, 6, 3, 30, tzinfo=UTC)


def daily(days: int) -> list[str]:
    return [dump_name(NOW - timedelta(days=day)) for day in range(days)]


def test_dumps_older_than_the_kept_days_go_oldest_first() -> None:
    names = daily(20)
    gone = expired(names, now=NOW, keep_days=14, keep_at_least=3)
    assert gone == names[15:]  # 15 days old and more; exactly 14 days old stays


def test_the_newest_dumps_stay_even_when_the_timer_stopped_for_weeks() -> None:
    old = [dump_name(NOW - timedelta(days=60 + day)) for day in range(5)]
    assert expired(old, now=NOW, keep_days=14, keep_at_least=3) == old[3:]


def test_files_that_are_not_its_dumps_are_never_chosen() -> None:
    others = ["notes.txt", "kiosk-hq-20200101T000000Z.dump.partial", ".kiosk-hq-x.dump"]
    names = [*others, dump_name(NOW - timedelta(days=400)), *daily(3)]
    assert expired(names, now=NOW, keep_days=1, keep_at_least=1) == [
        dump_name(NOW - timedelta(days=2)),
        dump_name(NOW - timedelta(days=400)),
    ]


def test_the_password_goes_to_the_environment_not_the_command_line() -> None:
    conninfo, env = libpq_target("postgresql+psycopg://hq:s3cret%21@db.internal:6432/kiosk_hq")
    assert "s3cret" not in conninfo
    assert env["PGPASSWORD"] == "s3cret!"
    assert "host=db.internal" in conninfo
    assert "port=6432" in conninfo
    assert "dbname=kiosk_hq" in conninfo


def test_a_local_socket_url_needs_no_host() -> None:
    conninfo, _ = libpq_target("postgresql://kiosk-hq@/kiosk_hq?host=/run/postgresql")
    assert "host=/run/postgresql" in conninfo


def test_sqlite_is_refused_with_how_to_copy_it_before_anything_is_made(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match=r"backups are for PostgreSQL.*\.backup"):
        dump(f"sqlite:///{tmp_path / 'hq.sqlite3'}", tmp_path / "backups", now=NOW)
    assert not (tmp_path / "backups").exists()
