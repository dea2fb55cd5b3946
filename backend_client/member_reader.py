"""The kiosk's read-only view of the member directory, on the stdlib sqlite3 module.

The relay child makes, upgrades and writes the directory file
(`backend_client.members.MemberDirectory`, on SQLAlchemy); the kiosk's GUI process
only looks members up in it, and loads neither SQLAlchemy nor cryptography for that:

    directory = MemberReader(data_dir / MEMBERS_FILE)
    member = directory.find(tag)          # or lookup(tag_hash(directory.key(), tag))

The reader never creates or writes the file, and opens it lazily: while there is no
file yet, no table in it yet, or a schema version it does not read, lookups answer
None (nobody is recognised; logged once, and once again when it answers). It starts
answering as soon as the relay child has made the file, without a kiosk restart.

Opening a WAL file, even read-only, makes its -wal and -shm files if they are not
there (SQLite needs them to share the file with a writer). So the reader uses two
kinds of connection:

- While the writer has the file open, its -wal is there: a `mode=ro` connection
  reads it as any WAL reader does, and keeps the -wal alive after the writer exits
  (a WAL connection holds a shared lock on the file).
- While no -wal is there, no writer has the file open and it is whole, checkpointed:
  an `immutable=1` connection reads it without any companion file. A writer that
  comes along makes a -wal first, so each read checks, before and after, that there
  is still no -wal and that the file is as it was; if not, it reads again, through
  a `mode=ro` connection. (If the writer closes the file between that check and the
  live connection's first read, that read makes an empty -wal and -shm, as any WAL
  reader would; they hold nothing, and the next writer uses them. A window of
  microseconds, met only when the relay child stops.)

Tag hashes, names and member ids are personal data: nothing here logs them.
"""

from __future__ import annotations

import base64
import logging
import os
import sqlite3
import threading
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self
from urllib.parse import quote

from backend_client.member_file import (
    LOOKUPS,
    MEMBERS_FILE,
    SCHEMA_VERSION,
    TAG_KEY,
    Member,
    member_from_row,
    tag_hash,
    tag_hash_key,
)
from devices.events import TagId

__all__ = ["MEMBERS_FILE", "Member", "MemberReader", "tag_hash"]

_log = logging.getLogger("backend_client.members")

DEFAULT_BUSY_TIMEOUT: Final = 5.0
# Seconds to wait for the writer's lock: a WAL reader waits only while the writer
# recovers the file or truncates its WAL, milliseconds.

READ_CACHE_KIB: Final = 4096
# Lookups are random: a cache cannot hold a million members' pages anyway, and the OS's
# file cache serves the misses in microseconds; a small one keeps the GUI process small.

_READ_ATTEMPTS: Final = 3
# A snapshot read is read again, live, if a writer came along during it; a writer
# starting and stopping twice during one lookup is not worth waiting out.

_META: Final = "SELECT key, value FROM meta WHERE key IN (?, ?)"
_HAS_META: Final = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"

_Signature = tuple[int, int, int, int]  # the file's inode, size, mtime and ctime


class _NotThere(Exception):
    """The directory cannot answer yet; the message says why (safe to log)."""


class MemberReader:
    """The directory, read only. Every method may be called from any thread, also
    while the relay child applies a feed page."""

    def __init__(self, path: Path, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> None:
        self._path = path
        self._wal = path.with_name(path.name + "-wal")
        self._busy_timeout = busy_timeout
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._live = False  # False: an immutable snapshot, valid while _signature holds
        self._signature: _Signature | None = None
        self._schema: int | None = None  # the schema version read last
        self._closed = False
        self._not_answering: str | None = ""  # why, as last logged; "": nothing logged yet

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._disconnect()

    # --- answers --------------------------------------------------------------------

    def key(self) -> bytes | None:
        """The chain's tag key the entries answering lookups were hashed with; None
        before the first feed page, or while the directory cannot answer."""
        with self._lock:
            try:
                values = dict(self._read(_META, (SCHEMA_VERSION, TAG_KEY)))
                self._schema = _schema(values)
                self._check_schema()
            except _NotThere as reason:
                self._report(str(reason))
                return None
            self._report(None)
            found = values.get(TAG_KEY)
            return None if found is None else base64.b64decode(found)

    def lookup(self, tag_hash: str) -> Member | None:
        """The member whose tag has this hash (lower-case hex), if the kiosk may
        recognise them."""
        hashed = tag_hash_key(tag_hash)
        if hashed is None:
            return None
        with self._lock:
            try:
                if self._schema is None:
                    values = dict(self._read(_META, (SCHEMA_VERSION, TAG_KEY)))
                    self._schema = _schema(values)
                sql = self._check_schema()
                rows = self._read(sql, (hashed,))
            except _NotThere as reason:
                self._report(str(reason))
                return None
            self._report(None)
        return member_from_row(rows[0]) if rows else None

    def find(self, tag: TagId) -> Member | None:
        """The member holding `tag`; None before the first feed page or if unknown."""
        key = self.key()
        return None if key is None else self.lookup(tag_hash(key, tag))

    def _check_schema(self) -> str:
        sql = None if self._schema is None else LOOKUPS.get(self._schema)
        if sql is None:
            raise _NotThere(f"schema version {self._schema}, which this software does not read")
        return sql

    def _report(self, reason: str | None) -> None:
        # Once when it stops answering (or for another reason), once when it answers.
        if reason == self._not_answering:
            return
        if reason is None:
            if self._not_answering:
                _log.info("member directory %s readable: recognising members", self._path)
        elif reason.startswith("schema"):
            _log.warning("member directory %s has %s: recognising nobody", self._path, reason)
        else:
            _log.info("member directory %s %s yet: recognising nobody", self._path, reason)
        self._not_answering = reason

    # --- reading the file -----------------------------------------------------------

    def _read(self, sql: str, parameters: tuple[Any, ...]) -> list[Any]:
        """Rows of `sql`, read whole (fetchall: no read transaction stays open)."""
        if self._closed:
            raise RuntimeError(f"member directory {self._path} is closed")
        for _attempt in range(_READ_ATTEMPTS):
            connection = self._connect()
            if self._live:
                return connection.execute(sql, parameters).fetchall()
            try:
                rows = connection.execute(sql, parameters).fetchall()
            except sqlite3.DatabaseError:
                if self._still_snapshot():
                    raise
                rows = None  # a writer was making the file meanwhile: read it again
            if rows is not None and self._still_snapshot():
                return rows
            self._disconnect()
        raise sqlite3.OperationalError("member directory changing under every read")

    def _connect(self) -> sqlite3.Connection:
        if self._connection is not None and (self._live or self._still_snapshot()):
            return self._connection
        self._disconnect()
        try:
            found = self._path.stat()
        except FileNotFoundError:
            raise _NotThere("is not there") from None
        if found.st_size == 0:  # made empty a moment ago, before SQLite writes its header
            raise _NotThere("has no tables")
        live = self._wal.exists()
        options = "mode=ro" if live else "mode=ro&immutable=1"
        connection = sqlite3.connect(
            f"file:{quote(os.fspath(self._path))}?{options}",
            uri=True,
            isolation_level=None,
            check_same_thread=False,
            timeout=self._busy_timeout,
        )
        connection.execute(f"PRAGMA cache_size = -{READ_CACHE_KIB:d}")
        connection.execute("PRAGMA query_only = ON")
        if not connection.execute(_HAS_META).fetchall():
            connection.close()
            raise _NotThere("has no tables")
        # A snapshot that a writer changed while it opened fails _read's check after.
        self._connection, self._live = connection, live
        self._signature = None if live else _signature(found)
        return connection

    def _still_snapshot(self) -> bool:
        """No writer has touched the file since the snapshot connection opened."""
        try:
            found = _signature(self._path.stat())
        except FileNotFoundError:
            return False
        return found == self._signature and not self._wal.exists()

    def _disconnect(self) -> None:
        if self._connection is not None:
            self._connection.close()
        self._connection, self._live, self._signature = None, False, None


def _schema(meta: dict[str, str]) -> int | None:
    found = meta.get(SCHEMA_VERSION)
    return None if found is None else int(found)


def _signature(found: os.stat_result) -> _Signature:
    return (found.st_ino, found.st_size, found.st_mtime_ns, found.st_ctime_ns)
