"""The outbox keeps every fact on disk, in order, once, until HQ acknowledges it."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from backend_client.crypto import SEALED_PREFIX, PayloadCipher
from backend_client.outbox import (
    DEFAULT_BUSY_TIMEOUT,
    OUTBOX_FILE_VERSION,
    Outbox,
    OutboxError,
    OutboxRecord,
    OutboxWriter,
    Settled,
    StoredRecord,
    UnreadableRecordError,
)

OCCURRED_AT = datetime(2024, 5, 1, 10, 30, 15, 123456, tzinfo=UTC)
# A marker that must never reach a log line: payloads may carry personal data.
SHOPPER_PHONE = "13800138000"


def lifted(slot: int = 3, **extra: object) -> OutboxRecord:
    return OutboxRecord.new("lifted", {"slot": slot, **extra}, occurred_at=OCCURRED_AT)


@pytest.fixture
def outbox_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "outbox.sqlite"


@pytest.fixture
def outbox(outbox_path: Path) -> Iterator[Outbox]:
    with Outbox(outbox_path) as opened:
        yield opened


@pytest.fixture
def writer_factory(outbox_path: Path) -> Iterator[list[OutboxWriter]]:
    """Writers a test starts; all are closed at the end even if the test fails."""
    writers: list[OutboxWriter] = []
    yield writers
    for writer in writers:
        writer.close()


def start_writer(
    writers: list[OutboxWriter],
    path: Path,
    *,
    on_written: Callable[[list[int]], None] | None = None,
    busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
) -> OutboxWriter:
    writer = OutboxWriter(path, on_written=on_written, busy_timeout=busy_timeout)
    writers.append(writer)
    writer.start()
    return writer


@contextlib.contextmanager
def write_lock_held(path: Path) -> Iterator[None]:
    """Another connection holds the file's write lock, as a busy relay would."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        yield
        connection.execute("COMMIT")
    finally:
        connection.close()


def stored_kinds(outbox: Outbox) -> list[str]:
    return [record.kind for record in outbox.pending(limit=100_000)]


# --- the file ---------------------------------------------------------------------


def test_connections_use_wal_and_full_sync(outbox: Outbox, outbox_path: Path) -> None:
    settings = outbox.connection_settings()

    assert settings.journal_mode == "wal"
    assert settings.synchronous == "FULL"
    assert settings.busy_timeout_ms == 5000
    assert outbox_path.with_name(outbox_path.name + "-wal").exists()


def test_file_records_its_schema_version(outbox: Outbox, outbox_path: Path) -> None:
    with contextlib.closing(sqlite3.connect(outbox_path)) as connection:
        (value,) = connection.execute(
            "SELECT value FROM meta WHERE key = 'schema_version'"
        ).fetchone()

    assert int(value) == OUTBOX_FILE_VERSION


def test_file_with_other_schema_version_is_refused(outbox_path: Path) -> None:
    Outbox(outbox_path).close()
    with contextlib.closing(sqlite3.connect(outbox_path)) as connection, connection:
        connection.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")

    with pytest.raises(OutboxError, match="schema version 99"):
        Outbox(outbox_path)


def test_closed_outbox_refuses_use(outbox_path: Path) -> None:
    outbox = Outbox(outbox_path)
    outbox.close()

    with pytest.raises(RuntimeError, match="closed"):
        outbox.count()


# --- records ----------------------------------------------------------------------


def test_seqs_strictly_increase_and_are_not_reused_after_acknowledge(
    outbox_path: Path,
) -> None:
    with Outbox(outbox_path) as outbox:
        first = outbox.append_many([lifted(1), lifted(2), lifted(3)])
        assert first == [1, 2, 3]
        assert outbox.acknowledge(first) == 3
        assert outbox.count() == 0
        assert outbox.last_seq() == 3
        assert outbox.append_many([lifted(4)]) == [4]
        outbox.acknowledge([4])

    with Outbox(outbox_path) as reopened:
        assert reopened.last_seq() == 4
        assert reopened.append_many([lifted(5), lifted(6)]) == [5, 6]


def test_duplicate_event_id_is_ignored_without_using_up_a_seq(outbox: Outbox) -> None:
    record = lifted()

    assert outbox.append_many([record]) == [1]
    assert outbox.append_many([record]) == []
    assert outbox.append_many([lifted(7), record, lifted(8)]) == [2, 3]
    assert outbox.count() == 3


def test_duplicate_within_one_batch_is_stored_once(outbox: Outbox) -> None:
    record = lifted()

    assert outbox.append_many([record, record]) == [1]
    assert outbox.count() == 1


def test_pending_returns_records_in_seq_order_from_after_seq(outbox: Outbox) -> None:
    outbox.append_many([lifted(slot) for slot in range(10)])

    page = outbox.pending(limit=4, after_seq=3)

    assert [record.seq for record in page] == [4, 5, 6, 7]
    assert [record.payload["slot"] for record in page] == [3, 4, 5, 6]


def test_pending_refuses_a_limit_below_one(outbox: Outbox) -> None:
    with pytest.raises(ValueError, match="limit"):
        outbox.pending(limit=0)


def test_acknowledge_deletes_only_the_given_records(outbox: Outbox) -> None:
    outbox.append_many([lifted(slot) for slot in range(5)])

    deleted = outbox.acknowledge(iter([2, 4, 4, 99]))

    assert deleted == 2
    assert [record.seq for record in outbox.pending()] == [1, 3, 5]
    assert outbox.acknowledge([]) == 0


def test_acknowledge_handles_more_seqs_than_one_statement_binds(outbox: Outbox) -> None:
    seqs = outbox.append_many([lifted(slot) for slot in range(1200)])

    assert outbox.acknowledge(seqs) == 1200
    assert outbox.count() == 0


def test_dead_letter_moves_the_record_with_its_reason(outbox: Outbox, outbox_path: Path) -> None:
    outbox.append_many([lifted(1), lifted(2, phone=SHOPPER_PHONE)])

    outbox.dead_letter(2, "HQ rejected: schema_version 1 unknown")

    assert [record.seq for record in outbox.pending()] == [1]
    assert outbox.dead_letter_count() == 1
    with contextlib.closing(sqlite3.connect(outbox_path)) as connection:
        seq, reason, failed_at = connection.execute(
            "SELECT seq, reason, failed_at FROM dead_letter"
        ).fetchone()
    assert seq == 2
    assert reason == "HQ rejected: schema_version 1 unknown"
    assert datetime.fromisoformat(failed_at).tzinfo is not None


def test_dead_letter_of_unknown_seq_raises(outbox: Outbox) -> None:
    with pytest.raises(KeyError, match="seq 42"):
        outbox.dead_letter(42, "gone")


def test_dead_lettered_event_can_be_appended_again(outbox: Outbox) -> None:
    record = lifted()
    outbox.append_many([record])
    outbox.dead_letter(1, "rejected")

    assert outbox.append_many([record]) == [2]


def test_json_payload_round_trips_including_chinese_text(outbox: Outbox) -> None:
    payload = {
        "product": "小米 14 Ultra",
        "note": "顾客比较了两款手机",
        "dwell_s": 12.5,
        "slots": [3, 5],
        "nested": {"ok": True, "none": None},
    }
    record = OutboxRecord.new(
        "compared",
        payload,
        occurred_at=datetime(2024, 5, 1, 18, 30, tzinfo=timezone(timedelta(hours=8))),
        schema_version=2,
    )
    outbox.append_many([record])

    (stored,) = outbox.pending()

    assert stored == StoredRecord(
        seq=1,
        event_id=record.event_id,
        kind="compared",
        schema_version=2,
        payload=payload,
        occurred_at=datetime(2024, 5, 1, 10, 30, tzinfo=UTC),
        recorded_at=stored.recorded_at,
    )
    assert stored.occurred_at.utcoffset() == timedelta(0)
    assert stored.recorded_at.utcoffset() == timedelta(0)


def test_payload_is_stored_as_readable_json_text(outbox: Outbox, outbox_path: Path) -> None:
    outbox.append_many([OutboxRecord.new("viewed", {"name": "华为"}, occurred_at=OCCURRED_AT)])

    with contextlib.closing(sqlite3.connect(outbox_path)) as connection:
        (payload, occurred_at) = connection.execute(
            "SELECT payload, occurred_at FROM outbox"
        ).fetchone()

    assert payload == '{"name":"华为"}'
    assert occurred_at == "2024-05-01T10:30:15.123456+00:00"


def test_records_survive_close_and_reopen(outbox_path: Path) -> None:
    records = [lifted(slot) for slot in range(3)]
    with Outbox(outbox_path) as outbox:
        outbox.append_many(records)

    with Outbox(outbox_path) as reopened:
        assert [stored.event_id for stored in reopened.pending()] == [
            record.event_id for record in records
        ]


def test_record_needs_a_timezone_aware_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        OutboxRecord.new("lifted", {}, occurred_at=datetime(2024, 5, 1, 10, 0))


def test_unserialisable_payload_is_refused_before_anything_is_written(outbox: Outbox) -> None:
    with pytest.raises(TypeError):
        outbox.append_many(
            [lifted(1), OutboxRecord.new("x", {"at": object()}, occurred_at=OCCURRED_AT)]
        )

    assert outbox.count() == 0


# --- the writer -------------------------------------------------------------------


def test_writer_writes_appended_records_in_order(
    writer_factory: list[OutboxWriter], outbox_path: Path
) -> None:
    written: list[list[int]] = []
    writer = start_writer(writer_factory, outbox_path, on_written=written.append)
    records = [lifted(slot) for slot in range(20)]

    for record in records:
        writer.append(record)

    assert writer.flush()
    assert [seq for batch in written for seq in batch] == list(range(1, 21))
    with Outbox(outbox_path) as outbox:
        assert [stored.event_id for stored in outbox.pending()] == [r.event_id for r in records]


def test_writer_append_returns_at_once_while_the_file_is_locked(
    writer_factory: list[OutboxWriter], outbox_path: Path
) -> None:
    writer = start_writer(writer_factory, outbox_path)
    assert writer.flush()  # the file exists and the writer is connected

    with write_lock_held(outbox_path):
        writer.append(lifted(0))
        time.sleep(0.2)  # the writer is now waiting for the lock inside SQLite
        slowest = 0.0
        for slot in range(1, 50):
            started = time.perf_counter()
            writer.append(lifted(slot))
            slowest = max(slowest, time.perf_counter() - started)
        assert slowest < 0.05
        assert not writer.flush(timeout=0.1)

    assert writer.flush()
    with Outbox(outbox_path) as outbox:
        assert outbox.count() == 50


def test_writer_keeps_records_through_failures_and_logs_once(
    writer_factory: list[OutboxWriter], outbox_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A short busy timeout makes every attempt fail while the lock is held.
    writer = start_writer(writer_factory, outbox_path, busy_timeout=0.02)
    assert writer.flush()

    with write_lock_held(outbox_path):
        for slot in range(5):
            writer.append(lifted(slot, phone=SHOPPER_PHONE))
        time.sleep(0.4)  # a few retries
        assert not writer.flush(timeout=0.05)

    assert writer.flush()
    with Outbox(outbox_path) as outbox:
        assert outbox.count() == 5
    failed, recovered = [r for r in caplog.records if r.name == "backend_client.outbox"]
    assert failed.levelno == logging.WARNING
    assert failed.getMessage().startswith("outbox write failed, keeping ")
    assert "database is locked" in failed.getMessage()
    assert recovered.levelno == logging.INFO
    assert recovered.getMessage().startswith("outbox write recovered after")
    assert SHOPPER_PHONE not in caplog.text


def test_writer_survives_a_broken_on_written_listener(
    writer_factory: list[OutboxWriter], outbox_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(_seqs: list[int]) -> None:
        raise RuntimeError("listener bug")

    writer = start_writer(writer_factory, outbox_path, on_written=broken)
    writer.append(lifted(1))
    assert writer.flush()
    writer.append(lifted(2))
    assert writer.flush()

    with Outbox(outbox_path) as outbox:
        assert outbox.count() == 2
    assert "on_written listener failed" in caplog.text


def test_writer_ignores_a_record_appended_twice(
    writer_factory: list[OutboxWriter], outbox_path: Path
) -> None:
    writer = start_writer(writer_factory, outbox_path)
    record = lifted()
    writer.append(record)
    writer.append(record)

    assert writer.flush()
    with Outbox(outbox_path) as outbox:
        assert outbox.count() == 1


def test_writer_refuses_unserialisable_payload_at_the_call_site(
    writer_factory: list[OutboxWriter], outbox_path: Path
) -> None:
    writer = start_writer(writer_factory, outbox_path)

    with pytest.raises(TypeError):
        writer.append(OutboxRecord.new("x", {"at": object()}, occurred_at=OCCURRED_AT))
    writer.append(lifted())

    assert writer.flush()


def test_writer_stores_the_payload_as_it_was_when_appended(
    writer_factory: list[OutboxWriter], outbox_path: Path
) -> None:
    writer = start_writer(writer_factory, outbox_path)
    payload: dict[str, object] = {"slot": 3}
    writer.append(OutboxRecord.new("lifted", payload, occurred_at=OCCURRED_AT))
    payload["slot"] = 4

    assert writer.flush()
    with Outbox(outbox_path) as outbox:
        assert outbox.pending()[0].payload == {"slot": 3}


def test_writer_close_writes_what_was_queued(outbox_path: Path) -> None:
    writer = OutboxWriter(outbox_path)
    writer.start()
    for slot in range(100):
        writer.append(lifted(slot))

    writer.close()

    with Outbox(outbox_path) as outbox:
        assert outbox.count() == 100
    with pytest.raises(RuntimeError, match="closed"):
        writer.append(lifted())


def test_writer_appends_from_many_threads_all_land(
    writer_factory: list[OutboxWriter], outbox_path: Path
) -> None:
    writer = start_writer(writer_factory, outbox_path)

    def append_some() -> None:
        for slot in range(200):
            writer.append(lifted(slot))

    threads = [threading.Thread(target=append_some) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert writer.flush()
    with Outbox(outbox_path) as outbox:
        assert outbox.count() == 800
        assert [r.seq for r in outbox.pending(limit=1000)] == list(range(1, 801))


# A child process writes 200 records, flushes, says so, then keeps writing until killed.
KILLED_WRITER = """
import sys, time
from datetime import UTC, datetime
from pathlib import Path
from backend_client.outbox import OutboxRecord, OutboxWriter

writer = OutboxWriter(Path(sys.argv[1]))
writer.start()
now = datetime.now(UTC)
for i in range(200):
    writer.append(OutboxRecord.new("flushed", {"i": i, "text": "已保存"}, occurred_at=now))
if not writer.flush(10):
    sys.exit("flush timed out")
print("flushed", flush=True)
i = 0
while True:
    writer.append(OutboxRecord.new("after_flush", {"i": i}, occurred_at=now))
    i += 1
    time.sleep(0.0005)
"""


def test_killed_process_keeps_everything_it_flushed(outbox_path: Path) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(outbox_path)],
        stdout=subprocess.PIPE,
        text=True,
    ) as child:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "flushed"
        time.sleep(0.3)  # let it commit more, so the kill lands among writes
        child.kill()  # SIGKILL: no cleanup, no checkpoint
        assert child.wait(timeout=10) == -9

    with contextlib.closing(sqlite3.connect(outbox_path)) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    with Outbox(outbox_path) as outbox:
        stored = outbox.pending(limit=100_000)
    flushed = [record for record in stored if record.kind == "flushed"]
    assert [record.payload["i"] for record in flushed] == list(range(200))
    assert flushed[0].payload["text"] == "已保存"
    assert [record.seq for record in stored] == list(range(1, len(stored) + 1))


def test_new_records_get_fresh_event_ids() -> None:
    first, second = lifted(), lifted()

    assert first.event_id != second.event_id
    assert first.event_id.version == 4
    assert isinstance(first.event_id, uuid.UUID)


# --- encryption at rest -----------------------------------------------------------


@pytest.fixture
def cipher(tmp_path: Path) -> PayloadCipher:
    return PayloadCipher.from_key_file(tmp_path / "outbox.key")


def file_bytes(path: Path) -> bytes:
    """The outbox file and its WAL, as someone who took the disk would read them."""
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def raw_payloads(path: Path, table: str = "outbox") -> list[str]:
    assert table in {"outbox", "dead_letter"}
    statement = f"SELECT payload FROM {table} ORDER BY seq"  # noqa: S608 - a fixed table name
    with contextlib.closing(sqlite3.connect(path)) as connection:
        return [row[0] for row in connection.execute(statement)]


def test_encrypted_outbox_keeps_no_payload_text_on_disk(
    outbox_path: Path, cipher: PayloadCipher, writer_factory: list[OutboxWriter]
) -> None:
    with Outbox(outbox_path, cipher=cipher) as outbox:
        outbox.append_many([lifted(1, phone=SHOPPER_PHONE)])
        writer = OutboxWriter(outbox_path, cipher=cipher)
        writer_factory.append(writer)
        writer.start()
        writer.append(lifted(2, phone=SHOPPER_PHONE, name="王芳"))
        assert writer.flush()

        assert SHOPPER_PHONE.encode() not in file_bytes(outbox_path)
        assert "王芳".encode() not in file_bytes(outbox_path)
        assert all(payload.startswith(SEALED_PREFIX) for payload in raw_payloads(outbox_path))
        stored = outbox.pending()
    assert [record.payload for record in stored] == [
        {"slot": 1, "phone": SHOPPER_PHONE},
        {"slot": 2, "phone": SHOPPER_PHONE, "name": "王芳"},
    ]


def test_plaintext_rows_from_before_encryption_still_read(
    outbox_path: Path, cipher: PayloadCipher
) -> None:
    with Outbox(outbox_path) as plain:
        plain.append_many([lifted(1)])

    with Outbox(outbox_path, cipher=cipher) as outbox:
        outbox.append_many([lifted(2)])
        assert [record.payload["slot"] for record in outbox.pending()] == [1, 2]
    first, second = raw_payloads(outbox_path)
    assert first == '{"slot":1}'
    assert second.startswith(SEALED_PREFIX)


def test_encrypted_rows_without_the_key_are_an_outbox_error_not_bad_records(
    outbox_path: Path, cipher: PayloadCipher
) -> None:
    with Outbox(outbox_path, cipher=cipher) as outbox:
        outbox.append_many([lifted(1)])

    with Outbox(outbox_path) as keyless:
        assert keyless.count() == 1
        with pytest.raises(OutboxError, match="no key") as raised:
            keyless.read_batch()
    assert not isinstance(raised.value, UnreadableRecordError)


def test_a_payload_swapped_into_another_row_does_not_read(
    outbox_path: Path, cipher: PayloadCipher
) -> None:
    with Outbox(outbox_path, cipher=cipher) as outbox:
        outbox.append_many([lifted(1), lifted(2), lifted(3)])
    with contextlib.closing(sqlite3.connect(outbox_path)) as connection, connection:
        (sealed,) = connection.execute("SELECT payload FROM outbox WHERE seq = 1").fetchone()
        connection.execute("UPDATE outbox SET payload = ? WHERE seq = 2", (sealed,))

    with Outbox(outbox_path, cipher=cipher) as outbox:
        batch = outbox.read_batch()
        with pytest.raises(UnreadableRecordError, match=r"outbox record 2: .*integrity check"):
            outbox.pending()
    assert [record.seq for record in batch.records] == [1, 3]
    assert list(batch.unreadable) == [2]
    assert "integrity check" in batch.unreadable[2]


def test_dead_letters_keep_the_payload_sealed(outbox_path: Path, cipher: PayloadCipher) -> None:
    with Outbox(outbox_path, cipher=cipher) as outbox:
        outbox.append_many([lifted(1, phone=SHOPPER_PHONE), lifted(2, phone=SHOPPER_PHONE)])
        outbox.dead_letter(1, "HQ refused: 422 payload.slot")
        outbox.settle(dead_letters={2: "rejected"})

    (first, second) = raw_payloads(outbox_path, "dead_letter")
    assert first.startswith(SEALED_PREFIX)
    assert second.startswith(SEALED_PREFIX)
    assert SHOPPER_PHONE.encode() not in file_bytes(outbox_path)


def test_acknowledged_rows_are_overwritten_in_the_file(outbox_path: Path) -> None:
    # Plain JSON on purpose: the marker shows whether deleted bytes stay in free pages.
    with Outbox(outbox_path) as outbox:
        assert outbox.connection_settings().secure_delete
        outbox.append_many([lifted(slot, phone=SHOPPER_PHONE) for slot in range(50)])
    assert SHOPPER_PHONE.encode() in outbox_path.read_bytes()  # closing checkpointed the WAL

    with Outbox(outbox_path) as outbox:
        outbox.acknowledge(range(1, 51))

    assert not outbox_path.with_name(outbox_path.name + "-wal").exists()
    assert SHOPPER_PHONE.encode() not in outbox_path.read_bytes()


# --- settling HQ's answers --------------------------------------------------------


def test_settle_acknowledges_and_dead_letters_in_one_go(outbox: Outbox) -> None:
    outbox.append_many([lifted(slot) for slot in range(1, 6)])

    settled = outbox.settle(acknowledged=[1, 2, 4], dead_letters={3: "payload.slot: too big"})

    assert settled == Settled(acknowledged=3, dead_lettered=1)
    assert [record.seq for record in outbox.pending()] == [5]
    (letter,) = outbox.dead_letters()
    assert (letter.seq, letter.kind, letter.reason) == (3, "lifted", "payload.slot: too big")
    assert letter.occurred_at == OCCURRED_AT
    assert letter.failed_at.tzinfo is not None


def test_settle_skips_records_already_gone(outbox: Outbox) -> None:
    outbox.append_many([lifted(1), lifted(2)])
    outbox.settle(acknowledged=[1], dead_letters={2: "rejected"})

    again = outbox.settle(acknowledged=[1, 7], dead_letters={2: "rejected", 9: "x"})

    assert again == Settled(0, 0)
    assert outbox.dead_letter_count() == 1
    assert outbox.settle() == Settled(0, 0)


def test_settle_rolls_back_as_a_whole(outbox: Outbox, outbox_path: Path) -> None:
    outbox.append_many([lifted(1), lifted(2)])
    outbox.settle(dead_letters={1: "first"})
    # A dead letter with seq 2 already there makes the move of seq 2 fail midway.
    with contextlib.closing(sqlite3.connect(outbox_path)) as connection, connection:
        connection.execute(
            "INSERT INTO dead_letter SELECT seq + 1, event_id, kind, schema_version, payload,"
            " occurred_at, recorded_at, reason, failed_at FROM dead_letter"
        )

    with pytest.raises(IntegrityError):
        outbox.settle(acknowledged=[1], dead_letters={2: "second"})

    assert [record.seq for record in outbox.pending()] == [2]


def test_dead_letters_are_listed_newest_first(outbox: Outbox) -> None:
    outbox.append_many([lifted(slot) for slot in range(1, 5)])
    outbox.settle(dead_letters={1: "a"})
    outbox.settle(dead_letters={3: "b", 4: "c"})

    assert [(d.seq, d.reason) for d in outbox.dead_letters()] == [(4, "c"), (3, "b"), (1, "a")]
    assert len(outbox.dead_letters(limit=1)) == 1


def test_seqs_come_back_in_the_order_records_were_given(outbox: Outbox) -> None:
    records = [lifted(slot) for slot in range(1200)]

    seqs = outbox.append_many(records)

    assert seqs == list(range(1, 1201))
    assert [r.event_id for r in outbox.pending(limit=2000)] == [r.event_id for r in records]
