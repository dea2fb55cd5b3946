"""The kiosk's private files: its data directory 0700, files with personal data,
keys or tokens 0600.

The data directory holds the outbox (personal data until HQ has it), the member
directory (names, member ids, tag hashes and the tag key), the outbox key and
HQ credentials. Modes are set here, whatever the umask and whether the directory
or file existed before: a directory found open to group or others is closed up,
with a warning naming it and its mode. (hq/private_files.py is HQ's copy of the
same rules: HQ and the kiosk share no code.)
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path
from typing import Final

_log = logging.getLogger("backend_client.files")

PRIVATE_DIR: Final = 0o700
PRIVATE_FILE: Final = 0o600
_OPEN_TO_OTHERS: Final = 0o077


def private_dir(path: Path) -> None:
    """Make `path` (and missing parents) a directory only its owner can enter."""
    try:
        path.mkdir(parents=True, mode=PRIVATE_DIR)
    except FileExistsError:
        _close_up(path, PRIVATE_DIR)
    else:
        os.chmod(path, PRIVATE_DIR)  # mkdir's mode passes through the umask


def private_sqlite(path: Path) -> None:
    """Before SQLite opens the database at `path`: make it 0600, and its -wal and -shm.

    A missing file is created empty (SQLite takes an empty file as a new database)
    with O_EXCL, never opened otherwise: closing any descriptor of a database file
    drops this process's SQLite locks on it. SQLite gives the -wal and -shm files
    it makes the database file's mode.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, PRIVATE_FILE)
    except FileExistsError:
        pass
    else:
        try:
            os.fchmod(fd, PRIVATE_FILE)  # whatever the umask took away or left
        finally:
            os.close(fd)
    for companion in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(FileNotFoundError):
            _close_up(companion, PRIVATE_FILE)


def _close_up(path: Path, mode: int) -> None:
    found = stat.S_IMODE(path.stat().st_mode)
    if found & _OPEN_TO_OTHERS:
        _log.warning("%s was open to group or others (mode %04o): made %04o", path, found, mode)
        os.chmod(path, mode)
