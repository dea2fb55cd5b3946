"""A reward row and the outbox record reporting it commit together or not at all
(`Outbox.write_with`, which the ledger and redemption are built on)."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.rewards import CIPHER, NOW, outbox_records, read_ledger
from sqlalchemy import Column, Connection, Integer, MetaData, Table, insert, select
from sqlalchemy.exc import IntegrityError

from backend_client.outbox import Outbox, OutboxRecord
from content.model import CouponCampaign
from rewards.answers import Issued, Refused
from rewards.issuing import Refusal
from rewards.ledger import RewardLedger

_metadata = MetaData()
_facts = Table("test_fact", _metadata, Column("n", Integer, primary_key=True))


def fact(n: int) -> OutboxRecord:
    return OutboxRecord.new("test_fact", {"n": n}, occurred_at=NOW)


def facts(path: Path) -> list[int]:
    with sqlite3.connect(path) as connection:
        found = [n for (n,) in connection.execute("SELECT n FROM test_fact ORDER BY n")]
    connection.close()
    return found


def create_facts(connection: Connection) -> tuple[None, list[OutboxRecord]]:
    _metadata.create_all(connection)
    return None, []


@pytest.fixture
def outbox(outbox_path: Path) -> Iterator[Outbox]:
    with Outbox(outbox_path, cipher=CIPHER) as opened:
        opened.write_with(create_facts)
        yield opened


def test_row_and_records_commit_together_and_the_relay_reads_them(
    outbox: Outbox, outbox_path: Path
) -> None:
    def work(connection: Connection) -> tuple[str, list[OutboxRecord]]:
        connection.execute(insert(_facts).values(n=1))
        return "done", [fact(1), fact(2)]

    assert outbox.write_with(work) == ("done", [1, 2])
    assert facts(outbox_path) == [1]
    assert [record.payload for record in outbox.pending()] == [{"n": 1}, {"n": 2}]


def test_work_that_fails_leaves_neither_its_row_nor_its_records(
    outbox: Outbox, outbox_path: Path
) -> None:
    def work(connection: Connection) -> tuple[None, list[OutboxRecord]]:
        connection.execute(insert(_facts).values(n=1))
        connection.execute(insert(_facts).values(n=1))  # a UNIQUE violation
        return None, [fact(1)]

    with pytest.raises(IntegrityError):
        outbox.write_with(work)
    assert facts(outbox_path) == []
    assert outbox.count() == 0


def test_records_that_cannot_be_stored_undo_the_row(outbox: Outbox, outbox_path: Path) -> None:
    def work(connection: Connection) -> tuple[None, list[OutboxRecord]]:
        connection.execute(insert(_facts).values(n=1))
        return None, [OutboxRecord.new("test_fact", {"n": float("nan")}, occurred_at=NOW)]

    with pytest.raises(ValueError, match="JSON"):
        outbox.write_with(work)
    assert facts(outbox_path) == []


def test_work_sees_its_own_writes_and_a_known_event_id_is_stored_once(outbox: Outbox) -> None:
    record = fact(7)
    outbox.append_many([record])

    def work(connection: Connection) -> tuple[int, list[OutboxRecord]]:
        connection.execute(insert(_facts).values(n=7))
        seen = connection.execute(select(_facts.c.n)).scalar_one()
        return seen, [record, fact(8)]

    assert outbox.write_with(work) == (7, [2])  # the known record is skipped, no seq gap


def test_coupon_is_not_issued_when_its_report_cannot_be_written(
    ledger: RewardLedger, campaign: CouponCampaign, outbox_path: Path
) -> None:
    with sqlite3.connect(outbox_path) as connection:
        connection.execute(
            "CREATE TRIGGER full_disk BEFORE INSERT ON outbox "
            "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
        )
    connection.close()
    member = str(uuid.uuid4())
    with pytest.raises(Exception, match="disk is full"):
        ledger.issue(campaign, member_id=member, session="s", reason="survey", now=NOW)
    assert read_ledger(outbox_path).coupons == []

    with sqlite3.connect(outbox_path) as connection:
        connection.execute("DROP TRIGGER full_disk")
    connection.close()
    outcome = ledger.issue(campaign, member_id=member, session="s", reason="survey", now=NOW)
    assert isinstance(outcome, Issued)
    assert outcome.code.serial == 0  # the failed attempt used up no serial
    assert [record.payload["serial"] for record in outbox_records(outbox_path)] == [0]
    again = ledger.issue(campaign, member_id=member, session="s", reason="survey", now=NOW)
    assert again == Refused(Refusal.MEMBER_LIMIT)
