"""The kiosk's member directory: who it may recognise, by the keyed hash of their tag.

HQ's member feed (`GET /v1/members/feed`, docs/hq-api.md) lists the members who
said yes to recognition, one entry per bound fob or tag. `FeedSync`
(backend_client/feed_sync.py) keeps this directory in step with it; the kiosk
looks members up here when a tag is seen:

    directory = MemberDirectory(data_dir / MEMBERS_FILE)
    member = directory.find(tag)          # or lookup(tag_hash(directory.key(), tag))

This is the writing side, in the relay child: it makes the file, upgrades it and
applies the feed. The kiosk's GUI process reads the file with
`backend_client.member_reader.MemberReader`, which needs no SQLAlchemy; what both
share (file name, schema version, `Member`, `tag_hash`) is in
`backend_client.member_file`.

One SQLite file (WAL, mode 0600: it holds names and the chain's tag key):

- `members`: tag hash (32 bytes) -> member id, greeting name, last viewed SKUs,
  when they last lifted a phone (to the hour), their consents to personalisation
  and to marketing, and, with the latter only, their loyalty tier, tags and birth
  month; WITHOUT ROWID, so a lookup is one B-tree descent.
- `members_next`: only while a full snapshot (a `reset` page and the pages after
  it) is loading. Lookups keep answering from `members` until the last page of
  the snapshot arrives; then the two are swapped in that page's transaction.
- `meta`: the file's schema version, the feed version held and the tag key (and,
  while a snapshot loads, the version and key it will bring).

Each `apply(page)` is one transaction, so a reader, in this process or another,
sees the directory before a page or after it, never half of it. Writes run on
SQLAlchemy's engine and transactions as in the outbox, a page's rows as one
DB-API executemany (half the time of SQLAlchemy's insert). Lookups use the
sqlite3 module on a connection of their own: through SQLAlchemy Core a lookup
took 5 to 7 times as long (median 133 us against 19 us on a million members,
bench/recognition_feed.py) and its tail reached 2 ms.

A lookup that starts while the writer checkpoints the WAL into the file waits
for the checkpoint and its fsync: up to tens of milliseconds after a page of
thousands of changes, rarely (see the benchmark). The checkpoint keeps SQLite's
default policy and fsync: a kiosk loses power now and then, and a copy of the
feed may lose its last page then, never its consistency.

A page that removes anyone (a withdrawal, an unbinding, an erasure at HQ), or
takes marketing consent from a member held with it, ends with
`wal_checkpoint(TRUNCATE)`: deleted rows are zeroed in the file (secure_delete),
and the WAL, which still held them, is emptied. After that no file of the
directory holds the removed member's name, member id or tag hash, nor the tier,
tags and birth month of a member who withdrew marketing consent.

Tag hashes, names and member ids are personal data: nothing here logs them, and
their reprs hide them.
"""

from __future__ import annotations

import base64
import json
import logging
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

from sqlalchemy import (
    Column,
    Connection,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
    text,
)

from backend_client.feed import FeedEntry, FeedPage
from backend_client.member_file import (
    LOADING_KEY,
    LOADING_VERSION,
    LOOKUPS,
    MEMBERS_FILE,
    MEMBERS_FILE_VERSION,
    SCHEMA_VERSION,
    TAG_KEY,
    VERSION,
    Member,
    member_from_row,
    tag_hash,
    tag_hash_key,
)
from backend_client.private_files import private_dir, private_sqlite
from backend_client.sqlite_files import sqlite_engines
from devices.events import TagId

__all__ = [
    "MEMBERS_FILE",
    "Applied",
    "Member",
    "MemberDirectory",
    "MemberDirectoryError",
    "tag_hash",
]

_log = logging.getLogger("backend_client.members")

DEFAULT_BUSY_TIMEOUT: Final = 5.0
# Seconds to wait for the other side's lock. Applying a page of 5,000 entries
# takes tens of milliseconds; swapping in a million-member snapshot about a second.

READ_CACHE_KIB: Final = 4096
# The lookup connection's page cache. Lookups are random: a cache cannot hold a
# million members' pages anyway, and the OS's file cache serves the misses in
# microseconds; a small cache keeps what the directory adds to the process small.


_metadata = MetaData()


def _members_table(name: str) -> Table:
    return Table(
        name,
        _metadata,
        Column("tag_hash", LargeBinary(32), primary_key=True),
        Column("member_id", String(36), nullable=False),
        Column("greeting_name", Text, nullable=True),
        Column("last_viewed", Text, nullable=False),  # a JSON array of SKUs, newest first
        Column("tier", Text, nullable=True),
        Column("last_seen", Text, nullable=True),  # ISO 8601 with its zone
        Column("personalised", Integer, nullable=False, server_default="0"),
        Column("marketing", Integer, nullable=False, server_default="0"),
        Column("tags", Text, nullable=False, server_default="[]"),  # a JSON array, sorted
        Column("birth_month", Integer, nullable=True),
        sqlite_with_rowid=False,
    )


_members = _members_table("members")
_members_next = _members_table("members_next")
_meta = Table(
    "meta",
    _metadata,
    Column("key", String, primary_key=True),
    Column("value", String, nullable=False),
)

_LOOKUP: Final = LOOKUPS[MEMBERS_FILE_VERSION]
_LOOKUP_CHUNK: Final = 500  # tag hashes per statement: well inside SQLite's 32,766 parameters


class MemberDirectoryError(Exception):
    """The directory file cannot be used (another schema version, no WAL support)."""


@dataclass(frozen=True, slots=True)
class Applied:
    """What `apply` did with a page."""

    upserts: int
    removed: int
    loading: bool  # a snapshot is loading: its pages go to `members_next` until the last
    swapped: bool  # this page completed a snapshot, which now answers lookups
    restart: bool  # the page was not applied: ask again from version 0 (tag key changed)


class MemberDirectory:
    """The directory file. `lookup`, `find`, `version`, `key` and `count` may be called
    from any thread, also while another thread or process applies a page; `apply`
    from one thread at a time."""

    def __init__(self, path: Path, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> None:
        self._path = path
        private_dir(path.parent)
        private_sqlite(path)
        busy_timeout_ms = int(busy_timeout * 1000)
        self._engine, self._writes = sqlite_engines(
            path, lambda connection: _configure_connection(connection, path, busy_timeout_ms)
        )
        self._read_lock = threading.Lock()
        self._reader: sqlite3.Connection | None = None
        try:
            self._prepare()
            reader = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, timeout=busy_timeout
            )
            _configure_connection(reader, path, busy_timeout_ms)
            reader.execute(f"PRAGMA cache_size = -{READ_CACHE_KIB:d}")
            reader.execute("PRAGMA query_only = ON")
            self._reader = reader
        except BaseException:
            self._engine.dispose()
            raise

    def _prepare(self) -> None:
        with self._engine.connect() as connection:
            found: str | None = None
            if connection.execute(
                text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'")
            ).first():
                found = connection.execute(
                    select(_meta.c.value).where(_meta.c.key == SCHEMA_VERSION)
                ).scalar_one_or_none()
        if found is None:  # a new file: made here, by whichever process comes first
            with self._writes.begin() as connection:
                _metadata.create_all(connection, tables=[_members, _meta])
                connection.execute(
                    _upsert_meta(),
                    [{"key": SCHEMA_VERSION, "value": str(MEMBERS_FILE_VERSION)}],
                )
        elif int(found) in (1, 2, 3):
            self._upgrade_from(int(found))
        elif int(found) != MEMBERS_FILE_VERSION:
            raise MemberDirectoryError(
                f"{self._path}: member directory schema version {found}, "
                f"this software reads version {MEMBERS_FILE_VERSION}"
            )

    def _upgrade_from(self, version: int) -> None:
        with self._writes.begin() as connection:
            found = connection.execute(
                select(_meta.c.value).where(_meta.c.key == SCHEMA_VERSION)
            ).scalar_one()
            if int(found) != version:
                return  # another process upgraded it meanwhile
            if version == 1:
                connection.execute(text("ALTER TABLE members ADD COLUMN last_seen TEXT"))
            if version <= 2:
                connection.execute(
                    text("ALTER TABLE members ADD COLUMN personalised INTEGER NOT NULL DEFAULT 0")
                )
            # An older HQ's `segment` came without marketing consent: not kept as a tier.
            connection.execute(text("ALTER TABLE members RENAME COLUMN segment TO tier"))
            connection.execute(text("UPDATE members SET tier = NULL WHERE tier IS NOT NULL"))
            for added in (
                "marketing INTEGER NOT NULL DEFAULT 0",
                "tags TEXT NOT NULL DEFAULT '[]'",
                "birth_month INTEGER",
            ):
                connection.execute(text(f"ALTER TABLE members ADD COLUMN {added}"))
            _drop_loading(connection)
            _set_meta(connection, **{SCHEMA_VERSION: str(MEMBERS_FILE_VERSION), VERSION: "0"})
        _log.info(
            "member directory upgraded to version %d: fetching the feed again",
            MEMBERS_FILE_VERSION,
        )

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
        with self._read_lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None
        self._engine.dispose()

    # --- reading ------------------------------------------------------------------

    def lookup(self, tag_hash: str) -> Member | None:
        """The member whose tag has this hash (lower-case hex), if the kiosk may
        recognise them."""
        key = tag_hash_key(tag_hash)
        if key is None:
            return None
        # fetchall: the statement runs to its end, so no read transaction stays open.
        rows = self._read(_LOOKUP, (key,))
        return member_from_row(rows[0]) if rows else None

    def find(self, tag: TagId) -> Member | None:
        """The member holding `tag`; None before the first sync or if unknown."""
        key = self.key()
        return None if key is None else self.lookup(tag_hash(key, tag))

    @property
    def version(self) -> int:
        """The feed version to ask HQ for changes after (0: nothing held yet). While a
        snapshot loads, the version of its last page applied."""
        rows = self._read(
            "SELECT key, value FROM meta WHERE key IN (?, ?)", (VERSION, LOADING_VERSION)
        )
        values = dict(rows)
        return int(values.get(LOADING_VERSION) or values.get(VERSION) or 0)

    def key(self) -> bytes | None:
        """The chain's tag key the entries answering lookups were hashed with."""
        rows = self._read("SELECT value FROM meta WHERE key = ?", (TAG_KEY,))
        return base64.b64decode(rows[0][0]) if rows else None

    def count(self) -> int:
        """How many tags lookups know."""
        return int(self._read("SELECT count(*) FROM members", ())[0][0])

    def _read(self, sql: str, parameters: tuple[Any, ...]) -> list[Any]:
        with self._read_lock:
            if self._reader is None:
                raise RuntimeError(f"member directory {self._path} is closed")
            return self._reader.execute(sql, parameters).fetchall()

    # --- applying the feed ----------------------------------------------------------

    def apply(self, page: FeedPage) -> Applied:
        """Apply one feed page in one transaction (see the module docstring)."""
        swapped = False
        key = base64.b64encode(page.tag_key).decode("ascii")
        with self._writes.begin() as connection:
            meta = {
                row.key: row.value
                for row in connection.execute(
                    select(_meta.c.key, _meta.c.value).where(
                        _meta.c.key.in_([TAG_KEY, LOADING_VERSION, LOADING_KEY])
                    )
                )
            }
            loading = page.reset or LOADING_VERSION in meta
            expected_key = meta.get(LOADING_KEY if LOADING_VERSION in meta else TAG_KEY)
            if not page.reset and expected_key is not None and expected_key != key:
                # The feed is hashed with another key (another HQ?): what is held cannot
                # be brought up to date. Keep serving it, and start a snapshot.
                _drop_loading(connection)
                _set_meta(connection, **{VERSION: "0"})
                return Applied(0, 0, loading=False, swapped=False, restart=True)
            if page.reset:
                _drop_loading(connection)
                _members_next.create(connection)
            table = _members_next if loading else _members
            withdrawn = not loading and _withdraws_marketing(connection, page)
            _write_page(connection, table, page)
            if loading and not page.more:
                connection.execute(text("DROP TABLE members"))
                connection.execute(text("ALTER TABLE members_next RENAME TO members"))
                connection.execute(
                    delete(_meta).where(_meta.c.key.in_([LOADING_VERSION, LOADING_KEY]))
                )
                _set_meta(connection, **{VERSION: str(page.version), TAG_KEY: key})
                swapped = True
            elif loading:
                _set_meta(connection, **{LOADING_VERSION: str(page.version), LOADING_KEY: key})
            else:
                _set_meta(connection, **{VERSION: str(page.version), TAG_KEY: key})
        if swapped:
            self._release_free_pages()
        if page.removed or swapped or withdrawn:
            self._empty_wal()
        return Applied(
            upserts=len(page.upserts),
            removed=len(page.removed),
            loading=loading and not swapped,
            swapped=swapped,
            restart=False,
        )

    def _empty_wal(self) -> None:
        # The WAL still holds the pages as they were before the removal: name,
        # member id and tag hash, with the tag key in the same file. Copy it back
        # into the (zeroed) file and truncate it. Lookups in progress finish first.
        raw = self._engine.raw_connection()
        try:
            (busy, _frames, _copied) = raw.driver_connection.execute(  # type: ignore[union-attr]
                "PRAGMA wal_checkpoint(TRUNCATE)"
            ).fetchone()
        finally:
            raw.close()
        if busy:
            # The next page's checkpoint finishes it; not worth failing the sync for.
            _log.warning("the member directory's WAL could not be emptied: a reader held it")

    def _release_free_pages(self) -> None:
        # The old table's pages are free now: give them back to the file system, or a
        # kiosk would keep two directories' worth of disk after every snapshot.
        # executescript steps the pragma to its end: execute() stops after one page.
        raw = self._engine.raw_connection()
        try:
            raw.driver_connection.executescript("PRAGMA incremental_vacuum;")  # type: ignore[union-attr]
        finally:
            raw.close()


def _write_page(connection: Connection, table: Table, page: FeedPage) -> None:
    # Plain DB-API executemany on the transaction's connection: SQLAlchemy's
    # per-row parameter handling took two thirds of the time of a 5,000-entry page.
    if page.upserts:
        connection.exec_driver_sql(
            f"INSERT OR REPLACE INTO {table.name}"  # noqa: S608 - one of our two tables
            " (tag_hash, member_id, greeting_name, last_viewed, tier, last_seen,"
            " personalised, marketing, tags, birth_month)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [_row(entry) for entry in page.upserts],
        )
    if page.removed:
        connection.exec_driver_sql(
            f"DELETE FROM {table.name} WHERE tag_hash = ?",  # noqa: S608 - as above
            [(bytes.fromhex(removed),) for removed in page.removed],
        )


_Row = tuple[bytes, str, str | None, str, str | None, str | None, int, int, str, int | None]


def _row(entry: FeedEntry) -> _Row:
    # Consent first: without marketing consent nothing offers are decided on is kept,
    # whoever built the entry.
    offers = entry.marketing
    return (
        bytes.fromhex(entry.tag_hash),
        entry.member_id,
        entry.greeting_name,
        json.dumps(list(entry.last_viewed), ensure_ascii=False),
        entry.tier if offers else None,
        None if entry.last_seen is None else entry.last_seen.isoformat(),
        int(entry.personalised),
        int(offers),
        json.dumps(sorted(entry.tags) if offers else [], ensure_ascii=False),
        entry.birth_month if offers else None,
    )


def _withdraws_marketing(connection: Connection, page: FeedPage) -> bool:
    """Whether the page takes marketing consent (and with it tier, tags and birth
    month) from a member the directory holds with it."""
    without = [bytes.fromhex(entry.tag_hash) for entry in page.upserts if not entry.marketing]
    for start in range(0, len(without), _LOOKUP_CHUNK):
        chunk = without[start : start + _LOOKUP_CHUNK]
        marks = ", ".join("?" * len(chunk))
        if connection.exec_driver_sql(
            f"SELECT 1 FROM members WHERE marketing = 1 AND tag_hash IN ({marks}) LIMIT 1",  # noqa: S608 - placeholders only
            tuple(chunk),
        ).first():
            return True
    return False


def _drop_loading(connection: Connection) -> None:
    connection.execute(text("DROP TABLE IF EXISTS members_next"))
    connection.execute(delete(_meta).where(_meta.c.key.in_([LOADING_VERSION, LOADING_KEY])))


def _upsert_meta() -> Any:
    return insert(_meta).prefix_with("OR REPLACE")


def _set_meta(connection: Connection, **values: str) -> None:
    connection.execute(_upsert_meta(), [{"key": k, "value": v} for k, v in values.items()])


def _configure_connection(dbapi_connection: Any, path: Path, busy_timeout_ms: int) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {busy_timeout_ms:d}")
        # Before the first table exists; on a file made before, it changes nothing.
        cursor.execute("PRAGMA auto_vacuum = INCREMENTAL")
        (mode,) = cursor.execute("PRAGMA journal_mode = WAL").fetchone()
        if str(mode).lower() != "wal":
            raise MemberDirectoryError(f"{path}: the file system does not support WAL ({mode})")
        # The directory is a copy of HQ's feed, its version in the same transaction as
        # its entries: a power cut may lose the last page, never mix two, and the next
        # sync fetches it again.
        cursor.execute("PRAGMA synchronous = NORMAL")
        # Withdrawn and erased members must not linger in free space: ON, not FAST,
        # which leaves freed pages as they were.
        cursor.execute("PRAGMA secure_delete = ON")
    finally:
        cursor.close()
