"""Nothing in HQ's or a kiosk's data directory is readable by another local user.

Both data directories exist beforehand, open to everyone (0755, as `./run demo`
makes them), and the umask is 0: the worst case. HQ serves from its directory
(SQLite database with its -wal and -shm, admin token); the kiosk enrols and
keeps its outbox, payload key and member directory in its own.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from helpers.events import records
from helpers.hq import issue_code, running_hq

from backend_client.client import HqClient, enroll
from backend_client.credentials import save_credentials
from backend_client.crypto import PayloadCipher
from backend_client.feed_sync import FeedSync
from backend_client.members import MEMBERS_FILE, MemberDirectory
from backend_client.outbox import Outbox
from backend_client.relay_process import KEY_FILE, OUTBOX_FILE
from hq.settings import Settings, sqlite_url

NOBODY = "nobody"


@pytest.fixture
def open_to_all() -> Iterator[Path]:
    """A directory every user may pass through (pytest's own tmp_path is 0700, which
    would hide everything in it from another user whatever its modes)."""
    base = Path(tempfile.mkdtemp(prefix="kiosk-private-"))
    base.chmod(0o711)
    try:
        yield base
    finally:
        shutil.rmtree(base)


def files_under(directory: Path) -> list[Path]:
    return sorted(path for path in directory.rglob("*") if path.is_file())


def modes(directory: Path) -> dict[str, str]:
    """Each file and directory under `directory` (itself too, as "."): its mode."""
    found = {".": oct(stat.S_IMODE(directory.stat().st_mode))}
    for path in sorted(directory.rglob("*")):
        found[str(path.relative_to(directory))] = oct(stat.S_IMODE(path.stat().st_mode))
    return found


def readable_by_nobody(path: Path) -> bool:
    done = subprocess.run(
        ["runuser", "-u", NOBODY, "--", "cat", str(path)],
        capture_output=True,
        timeout=30,
        check=False,
    )
    return done.returncode == 0


@pytest.fixture
def as_root() -> None:
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        pytest.skip("reading as another user needs root and runuser")


def test_the_probe_reads_what_is_open_to_everyone(as_root: None, open_to_all: Path) -> None:
    shared = open_to_all / "shared.txt"
    shared.write_text("anyone may read this")
    shared.chmod(0o644)
    assert readable_by_nobody(shared)


@contextmanager
def kiosk_running(data: Path, hq_url: str, database_url: str) -> Iterator[None]:
    """What a kiosk keeps while it runs: credentials, payload key, outbox and member
    directory, both open (so their -wal and -shm files are there)."""
    credentials = enroll(hq_url, issue_code(database_url, "store-private"))
    save_credentials(data, credentials)
    cipher = PayloadCipher.from_key_file(data / KEY_FILE)
    with Outbox(data / OUTBOX_FILE, cipher=cipher) as outbox:
        outbox.append_many(records(3, seed=1))
        sync = FeedSync(data / MEMBERS_FILE, HqClient(credentials), interval=60)
        try:
            sync.sync_once()
            with MemberDirectory(data / MEMBERS_FILE):
                yield
        finally:
            sync.stop()


def test_no_other_user_can_read_hqs_or_the_kiosks_data(
    as_root: None, open_to_all: Path, no_umask: None, caplog: pytest.LogCaptureFixture
) -> None:
    hq_data, kiosk_data = open_to_all / "hq", open_to_all / "kiosk"
    for directory in (hq_data, kiosk_data):
        directory.mkdir()
        directory.chmod(0o755)
    settings = Settings(data_dir=hq_data, database_url=sqlite_url(hq_data / "hq.sqlite3"))

    with (
        caplog.at_level(logging.WARNING),
        running_hq(settings) as base_url,
        kiosk_running(kiosk_data, base_url, settings.database_url),
    ):
        # While both run: the databases' -wal and -shm files are there too.
        assert {path.name for path in files_under(hq_data)} >= {
            "hq.sqlite3",
            "hq.sqlite3-wal",
            "hq.sqlite3-shm",
            "admin-token",
            "console-secret",  # signs the web console's session and CSRF cookies
        }
        assert {path.name for path in files_under(kiosk_data)} >= {
            "hq.json",
            KEY_FILE,
            OUTBOX_FILE,
            f"{OUTBOX_FILE}-wal",
            f"{OUTBOX_FILE}-shm",
            MEMBERS_FILE,
            f"{MEMBERS_FILE}-wal",
            f"{MEMBERS_FILE}-shm",
        }
        # HQ's content signing keys are a folder of their own (hq/content/signing.py).
        assert (hq_data / "keys" / "content-keys.json").is_file()
        for directory in (hq_data, kiosk_data):
            found = modes(directory)
            assert found.pop(".") == "0o700"
            folders = {name for name in found if (directory / name).is_dir()}
            assert {name: mode for name, mode in found.items() if name in folders} == dict.fromkeys(
                folders, "0o700"
            )
            assert {
                name: mode
                for name, mode in found.items()
                if mode != "0o600" and name not in folders
            } == {}
            unreadable = [p.name for p in files_under(directory) if readable_by_nobody(p)]
            assert unreadable == []

    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(str(hq_data) in w and "0755" in w for w in warnings), warnings
    assert any(str(kiosk_data) in w and "0755" in w for w in warnings), warnings
