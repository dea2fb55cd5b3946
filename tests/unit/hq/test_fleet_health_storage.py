"""Heartbeats and alerts in HQ's database (SQLite and PostgreSQL): the last heartbeat
kept, a bounded history, alerts raised and cleared with their times, and sweeps that
raise each alert once however many HQ workers run them at the same moment."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from helpers.pickup import wait_until
from sqlalchemy import func, insert, select, update

from hq import fleet
from hq.db import Database, fleet_alerts, heartbeat_history, kiosk_heartbeats, kiosks
from hq.enrollment import KioskIdentity
from hq.fleet_health.store import (
    HISTORY_KEEP,
    Sweep,
    alerts,
    read_fleet_health,
    record_heartbeat,
    sweep,
)
from hq.fleet_health.sweeper import AlertSweeper
from hq.fleet_health.wire import Heartbeat

T0 = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
K1 = KioskIdentity("sh-xujiahui-k1", "sh-xujiahui")
K2 = KioskIdentity("sh-xujiahui-k2", "sh-xujiahui")


def chain(database: Database) -> None:
    fleet.add_store(database, "sh-xujiahui", "上海徐家汇店", now=T0)
    with database.write() as connection:
        for kiosk in (K1, K2):
            connection.execute(
                insert(kiosks).values(
                    kiosk_id=kiosk.kiosk_id,
                    store_id=kiosk.store_id,
                    token_sha256=uuid.uuid4().hex * 2,
                    enrolled_at=T0,
                    contiguous_seq=0,
                    highest_seq=0,
                )
            )


def heartbeat(rfid: str = "up", **changes: object) -> Heartbeat:
    body: dict[str, object] = {
        "app_version": "0.1.0",
        "content_release": "hq-3",
        "devices": [
            {"name": "pickup", "state": "up", "detail": "open"},
            {"name": "rfid", "state": rfid, "detail": "open" if rfid == "up" else "no port"},
        ],
        "outbox": {"backlog": 2, "dead_letters": 0, "state": "idle"},
        "disk": {"free_bytes": 40 << 30, "total_bytes": 64 << 30},
        "uptime_s": 3600,
        "screen": "on",
    }
    body.update(changes)
    return Heartbeat.model_validate(body)


def open_alerts(database: Database) -> list[tuple[str, str, str]]:
    with database.read() as connection:
        return sorted((a.kiosk_id, a.kind, a.subject) for a in alerts(connection))


def test_the_last_heartbeat_is_kept_with_the_devices_states(database: Database) -> None:
    chain(database)
    record_heartbeat(database, K1, heartbeat(), now=T0)
    record_heartbeat(
        database, K1, heartbeat(rfid="down", uptime_s=3660), now=T0 + timedelta(seconds=60)
    )
    with database.read() as connection:
        (k1, k2) = read_fleet_health(connection, T0 + timedelta(seconds=90))
        assert connection.execute(select(func.count()).select_from(kiosk_heartbeats)).scalar() == 1
    assert k1.kiosk_id == K1.kiosk_id
    assert k1.state.value == "trouble"
    assert k1.age_s == 30
    assert k1.uptime_s == 3660
    assert k1.content_release == "hq-3"
    assert [(d.name, d.state) for d in k1.devices] == [("pickup", "up"), ("rfid", "down")]
    assert k2.state.value == "never"
    assert k2.last_heartbeat is None


def test_history_keeps_changes_and_one_row_per_ten_minutes_for_seven_days(
    database: Database,
) -> None:
    chain(database)
    for minute in range(30):  # steady: rows at 0, 10 and 20 minutes
        record_heartbeat(database, K1, heartbeat(), now=T0 + timedelta(minutes=minute))
    record_heartbeat(
        database, K1, heartbeat(rfid="down"), now=T0 + timedelta(minutes=30, seconds=5)
    )
    with database.read() as connection:
        times = (
            connection.execute(
                select(heartbeat_history.c.received_at).order_by(heartbeat_history.c.received_at)
            )
            .scalars()
            .all()
        )
    assert [t - T0 for t in times] == [
        timedelta(minutes=0),
        timedelta(minutes=10),
        timedelta(minutes=20),
        timedelta(minutes=30, seconds=5),  # the reader failed: a row of its own
    ]
    record_heartbeat(database, K1, heartbeat(), now=T0 + HISTORY_KEEP + timedelta(minutes=15))
    with database.read() as connection:
        left = connection.execute(select(heartbeat_history.c.received_at)).scalars().all()
    assert min(left) > T0 + timedelta(minutes=15)  # older than 7 days: gone


def test_a_failed_device_is_raised_on_its_heartbeat_and_cleared_on_the_next_good_one(
    database: Database,
) -> None:
    chain(database)
    record_heartbeat(database, K1, heartbeat(rfid="reconnecting"), now=T0)
    assert open_alerts(database) == [(K1.kiosk_id, "device", "rfid")]
    record_heartbeat(database, K1, heartbeat(), now=T0 + timedelta(seconds=60))
    assert open_alerts(database) == []
    with database.read() as connection:
        (alert,) = alerts(connection, kiosk_id=K1.kiosk_id, open_only=False)
    assert (alert.raised_at, alert.cleared_at) == (T0, T0 + timedelta(seconds=60))
    assert alert.detail == "rfid reconnecting: no port"


def test_silence_is_raised_by_the_sweep_and_cleared_by_the_next_heartbeat(
    database: Database,
) -> None:
    chain(database)
    record_heartbeat(database, K1, heartbeat(), now=T0)
    assert sweep(database, now=T0 + timedelta(seconds=150)).raised == 0
    done = sweep(database, now=T0 + timedelta(seconds=170))
    assert (done.raised, done.cleared) == (1, 0)
    assert sweep(database, now=T0 + timedelta(seconds=200)).raised == 0  # open already
    assert open_alerts(database) == [(K1.kiosk_id, "silent", "")]
    back = T0 + timedelta(minutes=10)
    record_heartbeat(database, K1, heartbeat(), now=back)
    with database.read() as connection:
        (alert,) = alerts(connection, kiosk_id=K1.kiosk_id, open_only=False)
    assert alert.kind == "silent"
    assert (alert.raised_at, alert.cleared_at) == (T0 + timedelta(seconds=150), back)


def test_concurrent_sweeps_raise_each_alert_once(database: Database) -> None:
    chain(database)
    record_heartbeat(database, K1, heartbeat(), now=T0)
    record_heartbeat(database, K2, heartbeat(), now=T0)
    start = threading.Barrier(4)
    raised: list[int] = []

    def worker() -> None:
        start.wait()
        raised.append(sweep(database, now=T0 + timedelta(minutes=5)).raised)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(raised) == 2
    with database.read() as connection:
        assert connection.execute(select(func.count()).select_from(fleet_alerts)).scalar() == 2


def test_a_revoked_kiosks_alerts_are_cleared_by_the_sweep(database: Database) -> None:
    chain(database)
    record_heartbeat(database, K1, heartbeat(rfid="down"), now=T0)
    with database.write() as connection:
        connection.execute(
            update(kiosks).where(kiosks.c.kiosk_id == K1.kiosk_id).values(revoked_at=T0)
        )
    assert sweep(database, now=T0 + timedelta(seconds=30)).cleared == 1
    assert open_alerts(database) == []


def test_the_sweeper_thread_raises_silence_by_itself(database: Database) -> None:
    chain(database)
    record_heartbeat(database, K1, heartbeat(), now=T0)
    sweeper = AlertSweeper(database, lambda: T0 + timedelta(minutes=3), every=0.02)
    sweeper.start()
    try:
        wait_until(lambda: open_alerts(database) == [(K1.kiosk_id, "silent", "")], timeout=10)
    finally:
        sweeper.stop()


def test_a_sweep_skips_a_kiosk_whose_heartbeat_commits_while_it_waits(
    database: Database,
) -> None:
    # A heartbeat in flight holds its kiosk's row: the sweep waits for it, then finds
    # the kiosk no longer silent (no silence raised on a stale read, no advisory lock).
    if database.is_sqlite:
        pytest.skip("SQLite has one writer at a time: a sweep cannot overlap a heartbeat")
    chain(database)
    record_heartbeat(database, K1, heartbeat(), now=T0)
    record_heartbeat(database, K2, heartbeat(), now=T0)
    later = T0 + timedelta(minutes=5)
    done: list[Sweep] = []
    with database.write() as beating:
        beating.execute(
            update(kiosk_heartbeats)
            .where(kiosk_heartbeats.c.kiosk_id == K1.kiosk_id)
            .values(received_at=later)
        )
        sweeper = threading.Thread(target=lambda: done.append(sweep(database, now=later)))
        sweeper.start()
        sweeper.join(0.3)
        assert sweeper.is_alive()  # waiting for K1's heartbeat to commit
    sweeper.join(10)
    assert (done[0].raised, done[0].cleared) == (1, 0)
    assert open_alerts(database) == [(K2.kiosk_id, "silent", "")]
