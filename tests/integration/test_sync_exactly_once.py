"""Every captured event reaches HQ exactly once, however often either side is killed.

The kiosk side is a real relay process (helpers/sync_runner.py) on a real outbox
file; HQ is the real `kiosk-hq serve` process on SQLite and on PostgreSQL. Both
are killed with SIGKILL: at named points of a sync round (after reading a batch,
after HQ answered but before the kiosk committed the acknowledgement, after
that commit) and at random moments. At the end HQ must hold each event once,
with the kiosk's seq, kind, time and payload, and no gaps.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.events import records
from helpers.hq import fresh_postgres_database
from helpers.hq_process import HqProcess
from sqlalchemy import create_engine, select

from backend_client.client import enroll
from backend_client.credentials import save_credentials
from backend_client.crypto import PayloadCipher
from backend_client.outbox import Outbox, OutboxRecord
from hq.db import events as hq_events

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
SIGKILLED = -signal.SIGKILL


@pytest.fixture(params=["sqlite", "postgresql"])
def hq(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HqProcess]:
    if request.param == "sqlite":
        process = HqProcess(tmp_path / "hq")
        process.start()
        yield process
        process.stop()
        return
    with fresh_postgres_database() as url:
        process = HqProcess(tmp_path / "hq", url)
        process.start()
        yield process
        process.stop()


def enrolled_kiosk(hq: HqProcess, data: Path) -> Path:
    data.mkdir(parents=True)
    save_credentials(data, enroll(hq.base_url, hq.enroll_code("store-a")))
    return data


def fill_outbox(data: Path, count: int) -> dict[str, tuple[int, OutboxRecord]]:
    """`count` records in the kiosk's outbox: event id -> (seq, record)."""
    cipher = PayloadCipher.from_key_file(data / "outbox.key")
    batch = records(count, seed=count)
    with Outbox(data / "outbox.sqlite3", cipher=cipher) as outbox:
        seqs = outbox.append_many(batch)
    assert len(seqs) == count
    return {str(r.event_id): (seq, r) for seq, r in zip(seqs, batch, strict=True)}


def relay_process(data: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "tests"))
    args = [sys.executable, "-m", "helpers.sync_runner", str(data), *extra]
    return subprocess.Popen(args, cwd=ROOT, env=env, stderr=subprocess.PIPE)


def run_relay(data: Path, *extra: str) -> int:
    process = relay_process(data, *extra)
    _, err = process.communicate(timeout=120)
    assert process.returncode in {0, SIGKILLED}, err.decode(errors="replace")
    return process.returncode


def pending(data: Path) -> int:
    with Outbox(data / "outbox.sqlite3") as outbox:
        return outbox.count()


def stored_at_hq(hq: HqProcess) -> dict[str, dict[str, Any]]:
    url = hq.database_url or f"sqlite:///{hq.data_dir / 'hq.sqlite3'}"
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(hq_events)).mappings().all()
    finally:
        engine.dispose()
    return {str(row["event_id"]): dict(row) for row in rows}


def assert_exactly_once(hq: HqProcess, sent: dict[str, tuple[int, OutboxRecord]]) -> None:
    stored = stored_at_hq(hq)
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
    (kiosk,) = stats["kiosks"]
    assert kiosk["contiguous_seq"] == kiosk["highest_seq"] == len(sent)
    assert kiosk["gaps"] == []


def test_kiosk_killed_at_every_point_of_a_sync_round_still_delivers_each_event_once(
    hq: HqProcess, tmp_path: Path
) -> None:
    data = enrolled_kiosk(hq, tmp_path / "kiosk")
    sent = fill_outbox(data, 3000)
    rng = random.Random()
    seed = rng.randrange(2**32)
    rng.seed(seed)

    # Killed after reading a batch, after HQ committed but before the local ack, and
    # right after the local ack: each run dies, and each leaves the outbox shorter.
    for point in ("batch_read:2", "posted:1", "posted:3", "acknowledged:2", "posted:2"):
        before = pending(data)
        assert run_relay(data, "--kill-at", point) == SIGKILLED, point
        assert pending(data) <= before
    # And at random moments, wherever the relay happens to be.
    for _ in range(4):
        process = relay_process(data)
        time.sleep(rng.uniform(0.05, 0.6))
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
    assert pending(data) > 0, f"seed {seed}: the kills left nothing to resume"
    assert run_relay(data) == 0
    assert pending(data) == 0
    assert_exactly_once(hq, sent)


def test_hq_killed_while_a_kiosk_syncs_still_holds_each_event_once(
    hq: HqProcess, tmp_path: Path
) -> None:
    data = enrolled_kiosk(hq, tmp_path / "kiosk")
    sent = fill_outbox(data, 4000)
    rng = random.Random()
    seed = rng.randrange(2**32)
    rng.seed(seed)

    relay = relay_process(data, "--batch-size", "50")
    kills_mid_sync = 0
    for _ in range(5):
        time.sleep(rng.uniform(0.05, 0.4))
        left = pending(data)
        hq.kill()
        kills_mid_sync += left > 0
        time.sleep(rng.uniform(0.0, 0.3))
        hq.start()
    _, err = relay.communicate(timeout=120)
    assert relay.returncode == 0, err.decode(errors="replace")
    assert kills_mid_sync > 0, f"seed {seed}: HQ was never killed while events were pending"
    assert pending(data) == 0
    assert_exactly_once(hq, sent)
