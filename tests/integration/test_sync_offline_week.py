"""A week without internet: 100,000 events wait in the outbox, then all reach HQ once."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from helpers.events import records
from helpers.hq_process import HqProcess
from sqlalchemy import create_engine, func, select

from backend_client.client import HqClient, enroll
from backend_client.credentials import save_credentials
from backend_client.crypto import PayloadCipher
from backend_client.outbox import OutboxWriter
from backend_client.sync import SyncRelay, SyncStatus
from hq.db import events as hq_events

pytestmark = pytest.mark.slow

EVENTS = 100_000
MAX_DELAY = 2.0  # the relay's backoff cap here; 15 min in the field


class CountingClient(HqClient):
    """The real client, counting how often the relay tries HQ."""

    attempts = 0

    def post_events(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        CountingClient.attempts += 1
        return super().post_events(*args, **kwargs)


def test_a_week_offline_then_every_event_arrives_once_in_order(tmp_path: Path) -> None:
    hq = HqProcess(tmp_path / "hq")
    hq.start()
    data = tmp_path / "kiosk"
    data.mkdir()
    credentials = enroll(hq.base_url, hq.enroll_code("store-a"))
    save_credentials(data, credentials)
    hq.stop()  # the store's line goes down

    cipher = PayloadCipher.from_key_file(data / "outbox.key")
    drained = threading.Event()
    statuses: list[SyncStatus] = []
    first_delivery: list[float] = []
    all_waiting = threading.Event()

    def on_status(status: SyncStatus) -> None:
        statuses.append(status)
        if status.state == "backing_off" and status.pending == EVENTS:
            all_waiting.set()
        if status.sent_total > 0 and not first_delivery:
            first_delivery.append(time.monotonic())
        if status.pending == 0 and status.state == "idle" and status.sent_total == EVENTS:
            drained.set()

    relay = SyncRelay(
        data / "outbox.sqlite3",
        CountingClient(credentials),
        credentials,
        cipher=cipher,
        base_delay=0.2,
        max_delay=MAX_DELAY,
        on_status=on_status,
    )
    writer = OutboxWriter(data / "outbox.sqlite3", cipher=cipher, on_written=lambda _: relay.wake())
    writer.start()
    relay.start()
    try:
        offline_from = time.monotonic()
        for item in records(EVENTS, seed=7):
            writer.append(item)
        assert writer.flush(timeout=120)
        # The relay has seen every record and is still waiting for HQ.
        assert all_waiting.wait(timeout=30)
        offline = time.monotonic() - offline_from
        tries_offline = CountingClient.attempts
        # Backing off, not hammering: at most about one try per second at the 2 s cap.
        assert 1 <= tries_offline <= 10 + offline * 2, (tries_offline, offline)
        assert statuses[-1].state == "backing_off"
        assert statuses[-1].pending == EVENTS

        hq.start()
        back_at = time.monotonic()  # HQ answers its health check
        assert drained.wait(timeout=180), statuses[-1]
    finally:
        relay.stop()
        writer.close()
        hq.stop()
    # Sync resumed within one backoff step of HQ's return.
    assert first_delivery[0] - back_at < MAX_DELAY + 0.5

    engine = create_engine(f"sqlite:///{hq.data_dir / 'hq.sqlite3'}")
    with engine.connect() as connection:
        count, distinct = connection.execute(
            select(func.count(), func.count(hq_events.c.event_id.distinct()))
        ).one()
        arrival = connection.execute(select(hq_events.c.seq).order_by(hq_events.c.id)).scalars()
        arrived_seqs = list(arrival)
    engine.dispose()
    assert count == distinct == EVENTS
    assert arrived_seqs == list(range(1, EVENTS + 1))  # in order, no gaps
    (kiosk,) = json.loads(hq.cli("stats", "--json"))["kiosks"]
    assert kiosk["contiguous_seq"] == EVENTS
    assert kiosk["gaps"] == []
