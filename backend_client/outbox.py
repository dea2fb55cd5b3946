"""The outbox: every fact the kiosk captures, kept on disk until HQ acknowledges it.

One SQLite file (WAL, synchronous=FULL) with three tables:

- `outbox`: records waiting for HQ. `seq` is the kiosk's sequence number: an
  AUTOINCREMENT key, so a number is never handed out twice, not even after the
  records holding the highest numbers were acknowledged and deleted.
- `dead_letter`: records HQ rejected, with the reason, kept for staff to inspect.
- `meta`: the schema version of this file.

Other kiosk parts may keep tables of their own in the file (rewards/ledger.py) and
commit a row together with the record reporting it to HQ: `Outbox.write_with`.

`Outbox` is the synchronous store (one thread at a time). `OutboxWriter` puts it
behind a queue and a thread so the GUI thread can append without touching disk.
Payloads may carry personal data, so neither class ever logs them.

Given a `PayloadCipher`, both store every payload encrypted, sealed to its event
id so a payload cannot be moved to another row; dead letters keep it sealed.
Rows written in plain JSON before (their text starts with "{") still read, so
turning encryption on needs no migration. Connections run with
`secure_delete`: an acknowledged row is overwritten, not left in a free page.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self, TypeVar

from sqlalchemy import (
    Column,
    Connection,
    Integer,
    MetaData,
    Row,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.exc import SQLAlchemyError, StatementError

from backend_client.crypto import DecryptionError, PayloadCipher
from backend_client.private_files import private_dir, private_sqlite
from backend_client.records import OutboxRecord
from backend_client.sqlite_files import sqlite_engines

_log = logging.getLogger("backend_client.outbox")
_T = TypeVar("_T")

OUTBOX_FILE_VERSION: Final = 1
"""Schema version of the outbox file; bump it (with a migration) when a table changes."""

DEFAULT_BUSY_TIMEOUT: Final = 5.0
"""Seconds a connection waits for another one's write lock. The relay's transactions
take milliseconds; 5 s also rides out a WAL checkpoint on a slow SD card."""

_IN_CHUNK: Final = 500
# Values per `IN (...)`: older SQLite builds allow 999 bound variables per statement.

_WRITER_BATCH_MAX: Final = 500
# Records per writer transaction: bounds how long the relay waits for the write lock.

_RETRY_FIRST_DELAY: Final = 0.1
_RETRY_MAX_DELAY: Final = 5.0
# A lock clears in milliseconds, so retry soon; a full disk needs a person, so cap
# the backoff: the writer stays quiet yet writes within seconds of the fix.

_SYNCHRONOUS_NAMES: Final = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
_SCHEMA_VERSION_KEY: Final = "schema_version"

_metadata = MetaData()

_outbox = Table(
    "outbox",
    _metadata,
    Column("seq", Integer, primary_key=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("kind", String, nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("payload", Text, nullable=False),
    Column("occurred_at", String, nullable=False),
    Column("recorded_at", String, nullable=False),
    sqlite_autoincrement=True,
)

_dead_letter = Table(
    "dead_letter",
    _metadata,
    # The record's seq from the outbox: it tells HQ staff where it sat in the stream.
    Column("seq", Integer, primary_key=True, autoincrement=False),
    # Not unique: a record may be appended again after it was dead-lettered.
    Column("event_id", String(36), nullable=False, index=True),
    Column("kind", String, nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("payload", Text, nullable=False),
    Column("occurred_at", String, nullable=False),
    Column("recorded_at", String, nullable=False),
    Column("reason", Text, nullable=False),
    Column("failed_at", String, nullable=False),
)

_meta = Table(
    "meta",
    _metadata,
    Column("key", String, primary_key=True),
    Column("value", String, nullable=False),
)


class OutboxError(Exception):
    """The outbox file cannot be used (wrong schema version, no WAL support, no key)."""


class UnreadableRecordError(OutboxError):
    """A stored payload cannot be read back: it fails to decrypt, or is not JSON."""

    def __init__(self, seq: int, reason: str) -> None:
        super().__init__(f"outbox record {seq}: {reason}")
        self.seq = seq
        self.reason = reason


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A record as stored: its sequence number and when the outbox committed it."""

    seq: int
    event_id: uuid.UUID
    kind: str
    schema_version: int
    payload: Mapping[str, Any]
    occurred_at: datetime
    recorded_at: datetime

    @classmethod
    def _from_row(cls, row: Row[Any], cipher: PayloadCipher | None) -> StoredRecord:
        return cls(
            seq=int(row.seq),
            event_id=uuid.UUID(row.event_id),
            kind=row.kind,
            schema_version=int(row.schema_version),
            payload=_decode_payload(int(row.seq), row.event_id, row.payload, cipher),
            occurred_at=datetime.fromisoformat(row.occurred_at),
            recorded_at=datetime.fromisoformat(row.recorded_at),
        )


@dataclass(frozen=True, slots=True)
class PendingBatch:
    """The next records for HQ, and those among them that cannot be read (seq -> why)."""

    records: list[StoredRecord]
    unreadable: dict[int, str]


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A record HQ (or this kiosk) gave up on. The payload stays in the file, sealed."""

    seq: int
    event_id: uuid.UUID
    kind: str
    schema_version: int
    occurred_at: datetime
    recorded_at: datetime
    reason: str
    failed_at: datetime


@dataclass(frozen=True, slots=True)
class Settled:
    """What `Outbox.settle` did."""

    acknowledged: int
    dead_lettered: int


@dataclass(frozen=True, slots=True)
class SqliteSettings:
    """What a connection to the outbox file runs with (for checks and diagnostics)."""

    journal_mode: str
    synchronous: str
    busy_timeout_ms: int
    secure_delete: bool


@dataclass(frozen=True, slots=True)
class _EncodedRecord:
    """An `OutboxRecord` turned into column values, ready for the writer thread."""

    event_id: str
    kind: str
    schema_version: int
    payload: str
    occurred_at: str

    @classmethod
    def of(cls, record: OutboxRecord, cipher: PayloadCipher | None) -> _EncodedRecord:
        event_id = str(record.event_id)
        payload = json.dumps(
            dict(record.payload), ensure_ascii=False, allow_nan=False, separators=(",", ":")
        )
        if cipher is not None:
            payload = cipher.encrypt(payload.encode(), _associated(event_id))
        return cls(
            event_id, record.kind, record.schema_version, payload, _iso_utc(record.occurred_at)
        )


def _associated(event_id: str) -> bytes:
    # The event id is unique in the outbox: a sealed payload is bound to its own row.
    return event_id.encode("ascii")


def _decode_payload(
    seq: int, event_id: str, stored: str, cipher: PayloadCipher | None
) -> Mapping[str, Any]:
    """The payload of a row; UnreadableRecordError if it is damaged or sealed to another row."""
    if stored.startswith("{"):
        text = stored  # written before encryption was turned on
    elif cipher is None:
        # Not the record's fault: the caller forgot the key. No record is dead-lettered.
        raise OutboxError(f"outbox record {seq} is encrypted and this Outbox was given no key")
    else:
        try:
            text = cipher.decrypt(stored, _associated(event_id)).decode()
        except (DecryptionError, UnicodeDecodeError) as exc:
            raise UnreadableRecordError(seq, str(exc)) from None
    try:
        payload = json.loads(text)
    except json.JSONDecodeError:
        raise UnreadableRecordError(seq, "payload is not valid JSON") from None
    if not isinstance(payload, dict):
        raise UnreadableRecordError(seq, "payload is not a JSON object")
    return payload


def _chunks(values: Sequence[_T]) -> Iterator[Sequence[_T]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield values[start : start + _IN_CHUNK]


def _iso_utc(moment: datetime) -> str:
    # One fixed format, so the text sorts like the time it stands for.
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _insert_encoded(connection: Connection, records: Sequence[_EncodedRecord]) -> list[int]:
    """Insert `records` on `connection` (inside its write transaction); the new seqs."""
    recorded_at = _iso_utc(datetime.now(UTC))
    # Skip known event ids before inserting: an INSERT that SQLite ignores still
    # uses up an AUTOINCREMENT number, and gaps in seq would look like losses.
    known: set[str] = set()
    for chunk in _chunks(sorted({record.event_id for record in records})):
        known.update(
            connection.execute(
                select(_outbox.c.event_id).where(_outbox.c.event_id.in_(chunk))
            ).scalars()
        )
    rows: list[dict[str, Any]] = []
    for record in records:
        if record.event_id in known:
            continue
        known.add(record.event_id)
        rows.append(
            {
                "event_id": record.event_id,
                "kind": record.kind,
                "schema_version": record.schema_version,
                "payload": record.payload,
                "occurred_at": record.occurred_at,
                "recorded_at": recorded_at,
            }
        )
    if not rows:
        return []
    # One multi-row INSERT ... RETURNING per few hundred rows ("insertmanyvalues");
    # sort_by_parameter_order hands the seqs back in the order of `rows`.
    statement = insert(_outbox).returning(_outbox.c.seq, sort_by_parameter_order=True)
    return [int(seq) for seq in connection.execute(statement, rows).scalars()]


class Outbox:
    """The outbox file. Synchronous; use one instance from one thread at a time."""

    def __init__(
        self,
        path: Path,
        *,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        cipher: PayloadCipher | None = None,
    ) -> None:
        # Personal data until HQ has it: the kiosk's user's eyes only.
        private_dir(path.parent)
        private_sqlite(path)
        self._path = path
        self._cipher = cipher
        self._closed = False
        busy_timeout_ms = int(busy_timeout * 1000)

        def configure(dbapi_connection: Any) -> None:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute(f"PRAGMA busy_timeout = {busy_timeout_ms:d}")
                (mode,) = cursor.execute("PRAGMA journal_mode = WAL").fetchone()
                if str(mode).lower() != "wal":
                    raise OutboxError(f"{path}: the file system does not support WAL ({mode})")
                cursor.execute("PRAGMA synchronous = FULL")
                # Zero deleted content: acknowledged payloads must not linger in free pages.
                cursor.execute("PRAGMA secure_delete = ON")
            finally:
                cursor.close()

        self._engine, self._writes = sqlite_engines(path, configure)
        try:
            self._prepare()
        except BaseException:
            self._engine.dispose()
            raise

    def _prepare(self) -> None:
        with self._writes.begin() as connection:
            _metadata.create_all(connection)
            found = connection.execute(
                select(_meta.c.value).where(_meta.c.key == _SCHEMA_VERSION_KEY)
            ).scalar_one_or_none()
            if found is None:
                connection.execute(
                    insert(_meta).values(key=_SCHEMA_VERSION_KEY, value=str(OUTBOX_FILE_VERSION))
                )
            elif int(found) != OUTBOX_FILE_VERSION:
                raise OutboxError(
                    f"{self._path}: outbox file schema version {found}, "
                    f"this software reads version {OUTBOX_FILE_VERSION}"
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

    def append_many(self, records: Sequence[OutboxRecord]) -> list[int]:
        """Store `records` in one transaction and return the seqs of those newly stored.

        A record whose event id is already in the outbox is skipped (appending is
        idempotent), so the result can be shorter than `records`; it keeps their order.
        """
        return self._append_encoded([_EncodedRecord.of(record, self._cipher) for record in records])

    def _append_encoded(self, records: Sequence[_EncodedRecord]) -> list[int]:
        self._check_open()
        if not records:
            return []
        with self._writes.begin() as connection:
            return _insert_encoded(connection, records)

    def write_with(
        self, work: Callable[[Connection], tuple[_T, Sequence[OutboxRecord]]]
    ) -> tuple[_T, list[int]]:
        """Run `work` and append the records it returns, all in one write transaction.

        For a fact that lives in a table of its own in this file (the reward ledger's
        coupons and draws) and must reach HQ too: the row and the record that reports
        it commit together or not at all. `work(connection)` may read and write its own
        tables (never the outbox's) and returns `(result, records)`; this returns
        `(result, seqs of the records newly stored)`. If `work` raises, nothing is
        written. Records are appended as by `append_many` (idempotent by event id).
        """
        self._check_open()
        with self._writes.begin() as connection:
            result, records = work(connection)
            encoded = [_EncodedRecord.of(record, self._cipher) for record in records]
            seqs = _insert_encoded(connection, encoded) if encoded else []
        return result, seqs

    def pending(self, *, limit: int = 500, after_seq: int = 0) -> list[StoredRecord]:
        """Up to `limit` records with seq > `after_seq`, in seq order.

        Raises UnreadableRecordError for a payload that does not decrypt or parse;
        `read_batch` instead sets such records aside.
        """
        return [
            StoredRecord._from_row(row, self._cipher)
            for row in self._pending_rows(limit=limit, after_seq=after_seq)
        ]

    def read_batch(self, *, limit: int = 500) -> PendingBatch:
        """The first `limit` pending records in seq order, unreadable ones set aside."""
        records: list[StoredRecord] = []
        unreadable: dict[int, str] = {}
        for row in self._pending_rows(limit=limit, after_seq=0):
            try:
                records.append(StoredRecord._from_row(row, self._cipher))
            except UnreadableRecordError as exc:
                unreadable[exc.seq] = exc.reason
        return PendingBatch(records, unreadable)

    def _pending_rows(self, *, limit: int, after_seq: int) -> Sequence[Row[Any]]:
        self._check_open()
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit}")
        statement = (
            select(_outbox).where(_outbox.c.seq > after_seq).order_by(_outbox.c.seq).limit(limit)
        )
        with self._engine.connect() as connection:
            return connection.execute(statement).all()

    def acknowledge(self, seqs: Iterable[int]) -> int:
        """Delete the records HQ acknowledged; returns how many were deleted."""
        self._check_open()
        wanted = sorted(set(seqs))
        if not wanted:
            return 0
        deleted = 0
        with self._writes.begin() as connection:
            for chunk in _chunks(wanted):
                result = connection.execute(delete(_outbox).where(_outbox.c.seq.in_(chunk)))
                deleted += result.rowcount
        return deleted

    def dead_letter(self, seq: int, reason: str) -> None:
        """Move record `seq` to the dead-letter table; KeyError if it is not pending."""
        self._check_open()
        with self._writes.begin() as connection:
            row = connection.execute(select(_outbox).where(_outbox.c.seq == seq)).one_or_none()
            if row is None:
                raise KeyError(f"no pending outbox record with seq {seq}")
            connection.execute(
                insert(_dead_letter).values(
                    **row._mapping, reason=reason, failed_at=_iso_utc(datetime.now(UTC))
                )
            )
            connection.execute(delete(_outbox).where(_outbox.c.seq == seq))
        # The reason is not logged: HQ may quote the rejected payload in it.
        _log.warning("outbox record %d (%s) moved to dead letters", seq, row.kind)

    def settle(
        self, *, acknowledged: Iterable[int] = (), dead_letters: Mapping[int, str] | None = None
    ) -> Settled:
        """In one transaction: delete the `acknowledged` records and move each of
        `dead_letters` (seq -> reason) to the dead-letter table.

        Seqs no longer pending are skipped, so settling the same answer twice is harmless.
        """
        self._check_open()
        rejected = dict(dead_letters or {})
        done = sorted(set(acknowledged) - rejected.keys())
        if not done and not rejected:
            return Settled(0, 0)
        failed_at = _iso_utc(datetime.now(UTC))
        moved: list[int] = []
        with self._writes.begin() as connection:
            for seq, reason in sorted(rejected.items()):
                row = connection.execute(select(_outbox).where(_outbox.c.seq == seq)).one_or_none()
                if row is None:
                    continue
                connection.execute(
                    insert(_dead_letter).values(**row._mapping, reason=reason, failed_at=failed_at)
                )
                moved.append(seq)
            deleted = 0
            for chunk in _chunks([*done, *moved]):
                deleted += connection.execute(
                    delete(_outbox).where(_outbox.c.seq.in_(chunk))
                ).rowcount
        if moved:
            # Reasons are not logged: HQ may quote the rejected payload in them.
            _log.warning(
                "%d outbox records moved to dead letters (seq %d to %d)",
                len(moved),
                moved[0],
                moved[-1],
            )
        return Settled(acknowledged=deleted - len(moved), dead_lettered=len(moved))

    def dead_letters(self, *, limit: int = 100) -> list[DeadLetter]:
        """The most recent `limit` dead letters, newest first (without their payloads)."""
        self._check_open()
        statement = select(
            _dead_letter.c.seq,
            _dead_letter.c.event_id,
            _dead_letter.c.kind,
            _dead_letter.c.schema_version,
            _dead_letter.c.occurred_at,
            _dead_letter.c.recorded_at,
            _dead_letter.c.reason,
            _dead_letter.c.failed_at,
        ).order_by(_dead_letter.c.failed_at.desc(), _dead_letter.c.seq.desc())
        with self._engine.connect() as connection:
            rows = connection.execute(statement.limit(limit)).all()
        return [
            DeadLetter(
                seq=int(row.seq),
                event_id=uuid.UUID(row.event_id),
                kind=row.kind,
                schema_version=int(row.schema_version),
                occurred_at=datetime.fromisoformat(row.occurred_at),
                recorded_at=datetime.fromisoformat(row.recorded_at),
                reason=row.reason,
                failed_at=datetime.fromisoformat(row.failed_at),
            )
            for row in rows
        ]

    def count(self) -> int:
        """How many records wait for HQ."""
        return self._scalar_int(select(func.count()).select_from(_outbox))

    def dead_letter_count(self) -> int:
        return self._scalar_int(select(func.count()).select_from(_dead_letter))

    def last_seq(self) -> int:
        """The highest seq ever handed out (0 if none), even if since acknowledged."""
        return self._scalar_int(text("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'"))

    def connection_settings(self) -> SqliteSettings:
        """The PRAGMA values a connection of this outbox actually runs with."""
        self._check_open()
        with self._engine.connect() as connection:
            journal_mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar_one()
            synchronous = connection.exec_driver_sql("PRAGMA synchronous").scalar_one()
            busy_timeout = connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one()
            secure_delete = connection.exec_driver_sql("PRAGMA secure_delete").scalar_one()
        return SqliteSettings(
            journal_mode=str(journal_mode),
            synchronous=_SYNCHRONOUS_NAMES.get(int(synchronous), str(synchronous)),
            busy_timeout_ms=int(busy_timeout),
            secure_delete=int(secure_delete) == 1,
        )

    def close(self) -> None:
        self._closed = True
        self._engine.dispose()

    def _scalar_int(self, statement: Any) -> int:
        self._check_open()
        with self._engine.connect() as connection:
            value = connection.execute(statement).scalar_one_or_none()
        return int(value or 0)

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"outbox {self._path} is closed")


_QueueItem = _EncodedRecord | threading.Event | None
"""A record to write, a flush marker to set once all before it are written, or stop."""


class OutboxWriter:
    """Appends records from any thread without blocking it; one thread writes them.

    `append()` only encodes the record and puts it on a queue. The writer thread owns
    its own `Outbox` and commits whatever is queued in one transaction per batch. When
    a write fails (disk full, file locked) it keeps the records and retries with capped
    backoff; it logs the failure once and the recovery once. Retrying is safe even if
    a failed commit did land: the event id makes appending idempotent.

    `on_written` is called on the writer thread with the seqs of each committed batch.
    With a `cipher` the payload is sealed in `append()`, so plaintext never queues.
    Call `close()` at shutdown: the thread is a daemon, so records still queued when
    the process exits without `close()` are lost.
    """

    def __init__(
        self,
        outbox_path: Path,
        *,
        on_written: Callable[[list[int]], None] | None = None,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        cipher: PayloadCipher | None = None,
    ) -> None:
        self._path = outbox_path
        self._on_written = on_written
        self._busy_timeout = busy_timeout
        self._cipher = cipher
        self._queue: queue.SimpleQueue[_QueueItem] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._lock = threading.Lock()  # orders append/close; never held during I/O
        self._closed = False
        self._thread: threading.Thread | None = None
        # Owned by the writer thread:
        self._outbox: Outbox | None = None
        self._failing_since: float | None = None

    def start(self) -> None:
        with self._lock:
            if self._closed or self._thread is not None:
                raise RuntimeError("an OutboxWriter starts once")
            self._thread = threading.Thread(target=self._run, name="outbox-writer", daemon=True)
            self._thread.start()

    def append(self, record: OutboxRecord) -> None:
        """Queue `record` and return at once.

        The payload is encoded here, on the caller's thread: a payload that is not
        JSON-serialisable raises at the call site instead of jamming the writer, and
        later changes to the caller's dict cannot change what is stored.
        """
        encoded = _EncodedRecord.of(record, self._cipher)
        with self._lock:
            if self._closed:
                raise RuntimeError("the OutboxWriter is closed")
            self._queue.put(encoded)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything appended so far is committed; False on timeout."""
        if self._thread is None:
            raise RuntimeError("start() the OutboxWriter before flush()")
        marker = threading.Event()
        self._queue.put(marker)
        return marker.wait(timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Flush, stop the thread and close the outbox, within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
        if thread is None:
            if not self._queue.empty():
                _log.error("outbox writer closed before start(); queued records not written")
            return
        marker = threading.Event()
        self._queue.put(marker)
        if not marker.wait(timeout):
            _log.error("outbox writer did not finish writing within %.1f s of close()", timeout)
        self._stopping.set()
        self._queue.put(None)
        thread.join(max(deadline - time.monotonic(), 0.5))
        if thread.is_alive():
            _log.error("outbox writer thread did not stop")

    def _run(self) -> None:
        batch: list[_EncodedRecord] = []
        waiting: list[threading.Event] = []
        stop = False
        delay = _RETRY_FIRST_DELAY
        try:
            while True:
                if not batch and not waiting:
                    if stop:
                        return
                    stop = self._take(self._queue.get(), batch, waiting)
                while not stop and len(batch) < _WRITER_BATCH_MAX:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    stop = self._take(item, batch, waiting)
                seqs = self._write(batch)
                if seqs is None:
                    if self._stopping.wait(delay):
                        _log.error("outbox writer stopped; %d records were not written", len(batch))
                        return
                    delay = min(delay * 2, _RETRY_MAX_DELAY)
                    continue
                delay = _RETRY_FIRST_DELAY
                batch = []
                for marker in waiting:
                    marker.set()
                waiting = []
                if seqs:
                    self._notify(seqs)
        finally:
            if self._outbox is not None:
                self._outbox.close()
                self._outbox = None

    @staticmethod
    def _take(
        item: _QueueItem, batch: list[_EncodedRecord], waiting: list[threading.Event]
    ) -> bool:
        """Sort a queue item into the batch or the flush markers; True means stop."""
        if item is None:
            return True
        if isinstance(item, threading.Event):
            waiting.append(item)
        else:
            batch.append(item)
        return False

    def _write(self, batch: list[_EncodedRecord]) -> list[int] | None:
        """Commit `batch`; the new seqs, or None if it failed (logged once per outage)."""
        try:
            if self._outbox is None:
                self._outbox = Outbox(
                    self._path, busy_timeout=self._busy_timeout, cipher=self._cipher
                )
            seqs = self._outbox._append_encoded(batch)
        except Exception as exc:  # whatever went wrong, keep the records and retry
            if self._failing_since is None:
                self._failing_since = time.monotonic()
                _log.warning(
                    "outbox write failed, keeping %d records and retrying: %s",
                    len(batch),
                    _describe(exc),
                    exc_info=not isinstance(exc, SQLAlchemyError | OSError | OutboxError),
                )
            if self._outbox is not None:
                # A fresh connection recovers from states a failed one may keep.
                self._outbox.close()
                self._outbox = None
            return None
        if self._failing_since is not None:
            _log.info("outbox write recovered after %.1f s", time.monotonic() - self._failing_since)
            self._failing_since = None
        return seqs

    def _notify(self, seqs: list[int]) -> None:
        if self._on_written is None:
            return
        try:
            self._on_written(seqs)
        except Exception:
            _log.exception("on_written listener failed")


def _describe(exc: BaseException) -> str:
    """A one-line description of a failure that never quotes SQL parameters."""
    if isinstance(exc, StatementError) and exc.orig is not None:
        exc = exc.orig
    return f"{type(exc).__name__}: {exc}"
