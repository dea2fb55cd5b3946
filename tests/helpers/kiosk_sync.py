"""A kiosk's data directory enrolled with a real HQ, and checks of what HQ ends up holding."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select

from backend_client.client import enroll
from backend_client.credentials import load_credentials, save_credentials
from backend_client.crypto import PayloadCipher
from backend_client.outbox import Outbox, OutboxRecord
from helpers.events import records
from helpers.hq_process import HqProcess
from hq.db import events as hq_events


def enrolled_kiosk(hq: HqProcess, data: Path) -> Path:
    data.mkdir(parents=True)
    save_credentials(data, enroll(hq.base_url, hq.enroll_code("store-a")))
    return data


def fill_outbox(
    data: Path, count: int, seed: int | None = None
) -> dict[str, tuple[int, OutboxRecord]]:
    """`count` records in the kiosk's outbox: event id -> (seq, record). Records are
    made from `seed` (default: `count`); pass another one to add different records."""
    cipher = PayloadCipher.from_key_file(data / "outbox.key")
    batch = records(count, seed=count if seed is None else seed)
    with Outbox(data / "outbox.sqlite3", cipher=cipher) as outbox:
        seqs = outbox.append_many(batch)
    assert len(seqs) == count
    return {str(r.event_id): (seq, r) for seq, r in zip(seqs, batch, strict=True)}


def pending(data: Path) -> int:
    with Outbox(data / "outbox.sqlite3") as outbox:
        return outbox.count()


def kiosk_id(data: Path) -> str:
    credentials = load_credentials(data)
    assert credentials is not None, f"{data} is not enrolled"
    return credentials.kiosk_id


def stored_at_hq(hq: HqProcess, kiosk: str) -> dict[str, dict[str, Any]]:
    """The events HQ holds from `kiosk`: event id -> row."""
    url = hq.database_url or f"sqlite:///{hq.data_dir / 'hq.sqlite3'}"
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            query = select(hq_events).where(hq_events.c.kiosk_id == kiosk)
            rows = connection.execute(query).mappings().all()
    finally:
        engine.dispose()
    return {str(row["event_id"]): dict(row) for row in rows}


def assert_exactly_once(
    hq: HqProcess, data: Path, sent: dict[str, tuple[int, OutboxRecord]]
) -> None:
    """HQ holds each of `sent` once, as the kiosk whose data is in `data` stored it,
    and nothing else from that kiosk; its sequence has no gaps."""
    kiosk = kiosk_id(data)
    stored = stored_at_hq(hq, kiosk)
    assert len(stored) == len(sent)
    assert stored.keys() == sent.keys()
    for event_id, (seq, record) in sent.items():
        row = stored[event_id]
        payload = row["payload"] if isinstance(row["payload"], dict) else json.loads(row["payload"])
        assert (row["seq"], row["kind"], payload) == (seq, record.kind, dict(record.payload))
        occurred_at = row["occurred_at"]
        if occurred_at.tzinfo is None:  # SQLite keeps UTC without an offset
            occurred_at = occurred_at.replace(tzinfo=record.occurred_at.tzinfo)
        assert occurred_at == record.occurred_at
    stats = json.loads(hq.cli("stats", "--json"))
    (seen,) = [entry for entry in stats["kiosks"] if entry["kiosk_id"] == kiosk]
    assert seen["contiguous_seq"] == seen["highest_seq"] == len(sent)
    assert seen["gaps"] == []
