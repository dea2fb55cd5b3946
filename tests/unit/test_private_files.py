"""HQ's and the kiosk's private_files: the same rules in each (they share no code)."""

from __future__ import annotations

import logging
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from backend_client import private_files as kiosk_files
from hq import private_files as hq_files


@pytest.fixture(params=[hq_files, kiosk_files], ids=["hq", "kiosk"])
def files(request: pytest.FixtureRequest) -> ModuleType:
    module: ModuleType = request.param
    return module


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_directories_and_databases_are_private_whatever_the_umask(
    files: ModuleType, tmp_path: Path, no_umask: None
) -> None:
    data = tmp_path / "new" / "data"
    files.private_dir(data)
    files.private_sqlite(data / "db.sqlite3")
    with sqlite3.connect(data / "db.sqlite3") as connection:
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("CREATE TABLE t (x)")
        assert {p.name: mode(p) for p in data.iterdir()} == {
            "db.sqlite3": 0o600,
            "db.sqlite3-wal": 0o600,
            "db.sqlite3-shm": 0o600,
        }
    assert mode(data) == 0o700


def test_an_open_directory_and_database_are_closed_up_with_a_warning(
    files: ModuleType, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    (data / "db.sqlite3").touch()
    (data / "db.sqlite3").chmod(0o644)
    with caplog.at_level(logging.WARNING):
        files.private_dir(data)
        files.private_sqlite(data / "db.sqlite3")
    assert (mode(data), mode(data / "db.sqlite3")) == (0o700, 0o600)
    warnings = [record.getMessage() for record in caplog.records]
    assert any(str(data) in w and "0755" in w for w in warnings), warnings
    caplog.clear()  # said once: a private directory is left alone, silently
    files.private_dir(data)
    assert caplog.records == []


def test_closing_up_a_database_this_process_holds_locked_keeps_its_lock(
    files: ModuleType, tmp_path: Path
) -> None:
    # Closing any descriptor of a file drops the process's POSIX locks on it: a
    # database opened and closed to fchmod it would let another process write
    # into a transaction in progress.
    path = tmp_path / "db.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        # A rollback journal: the locks are on the database file itself (in WAL mode
        # the write lock is in the -shm file).
        holder.execute("CREATE TABLE t (x)")
        path.chmod(0o644)
        holder.execute("BEGIN IMMEDIATE")
        files.private_sqlite(path)
        writer = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sqlite3, sys; c = sqlite3.connect(sys.argv[1], timeout=0);"
                " c.execute('INSERT INTO t VALUES (1)'); c.commit()",
                str(path),
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        holder.execute("COMMIT")
    finally:
        holder.close()
    assert writer.returncode != 0
    assert "locked" in writer.stderr
    assert mode(path) == 0o600
