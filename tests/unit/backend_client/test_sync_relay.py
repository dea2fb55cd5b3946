"""The relay drains a real outbox file to a scripted HQ over real HTTP on loopback."""

from __future__ import annotations

import contextlib
import logging
import random
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from helpers.fake_hq import FakeHq, running_fake_hq
from helpers.pickup import wait_until

from backend_client.client import BatchAnswer, HqClient, WireEvent
from backend_client.credentials import Credentials
from backend_client.crypto import PayloadCipher
from backend_client.outbox import Outbox, OutboxRecord, OutboxWriter
from backend_client.sync import SyncRelay, SyncState, SyncStatus

OCCURRED_AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SHOPPER_PHONE = "13800138000"
SYNC_LOG = "backend_client.sync"


class CountingClient(HqClient):
    """The real client, counting tries (a refused connection never reaches the fake HQ)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tries: list[float] = []

    def post_events(self, events: Sequence[WireEvent]) -> BatchAnswer:
        self.tries.append(time.monotonic())
        return super().post_events(events)


@dataclass
class Kiosk:
    """A kiosk's outbox file, key and credentials, and the relays a test starts."""

    path: Path
    cipher: PayloadCipher
    credentials: Credentials
    client: CountingClient
    statuses: list[SyncStatus] = field(default_factory=list)
    relays: list[SyncRelay] = field(default_factory=list)

    def append(self, count: int, **payload: Any) -> list[OutboxRecord]:
        records = [
            OutboxRecord.new(
                "lift",
                {"session": "s1", "slot": 1 + i % 16, "sku": None, **payload},
                occurred_at=OCCURRED_AT + timedelta(seconds=i),
            )
            for i in range(count)
        ]
        with Outbox(self.path, cipher=self.cipher) as outbox:
            outbox.append_many(records)
        return records

    def start_relay(self, **options: Any) -> SyncRelay:
        settings: dict[str, Any] = {
            "cipher": self.cipher,
            "base_delay": 0.02,
            "max_delay": 0.2,
            "idle_poll": 30.0,  # long: a test that needs the relay to look again must wake it
            "on_status": self.statuses.append,
            "rng": random.Random(7),
            **options,
        }
        relay = SyncRelay(self.path, self.client, self.credentials, **settings)
        self.relays.append(relay)
        relay.start()
        return relay

    def outbox(self) -> Outbox:
        return Outbox(self.path, cipher=self.cipher)

    def status(self) -> SyncStatus:
        return self.statuses[-1]

    def drained(self) -> bool:
        return bool(self.statuses) and self.status().state == "idle" and self.status().pending == 0


@pytest.fixture
def hq() -> Iterator[FakeHq]:
    with running_fake_hq() as running:
        yield running


@pytest.fixture
def kiosk(tmp_path: Path, hq: FakeHq) -> Iterator[Kiosk]:
    credentials = hq.add_kiosk()
    client = CountingClient(credentials, timeout=(1.0, 3.0))
    made = Kiosk(
        tmp_path / "outbox.sqlite3",
        PayloadCipher.from_key_file(tmp_path / "outbox.key"),
        credentials,
        client,
    )
    yield made
    for relay in made.relays:
        assert relay.stop(timeout=5)
    client.close()


def sync_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == SYNC_LOG and r.levelno >= logging.INFO]


# --- draining ---------------------------------------------------------------------


def test_relay_drains_the_outbox_in_seq_order_in_batches(hq: FakeHq, kiosk: Kiosk) -> None:
    records = kiosk.append(25, phone=SHOPPER_PHONE)

    kiosk.start_relay(batch_size=10)
    wait_until(kiosk.drained, what="an empty outbox")

    assert [r.seqs for r in hq.event_requests()] == [
        tuple(range(1, 11)),
        tuple(range(11, 21)),
        tuple(range(21, 26)),
    ]
    assert hq.stored_seqs() == list(range(1, 26))
    assert [hq.events[str(r.event_id)]["payload"] for r in records] == [
        dict(r.payload) for r in records
    ]
    sent = hq.events[str(records[0].event_id)]
    assert (sent["store_id"], sent["kiosk_id"], sent["kind"], sent["schema_version"]) == (
        kiosk.credentials.store_id,
        kiosk.credentials.kiosk_id,
        "lift",
        1,
    )
    assert datetime.fromisoformat(sent["occurred_at"]) == OCCURRED_AT
    with kiosk.outbox() as outbox:
        assert outbox.count() == 0
    final = kiosk.status()
    assert (final.state, final.pending, final.dead_letters, final.sent_total) == ("idle", 0, 0, 25)
    assert final.last_success is not None
    assert final.retry_in is None


def test_status_reports_syncing_then_idle(kiosk: Kiosk) -> None:
    kiosk.append(3)

    kiosk.start_relay(batch_size=2)
    wait_until(kiosk.drained)

    assert [(s.state, s.pending, s.sent_total) for s in kiosk.statuses] == [
        ("syncing", 3, 0),
        ("syncing", 1, 2),
        ("syncing", 0, 3),
        ("idle", 0, 3),
    ]


def test_records_written_while_idle_are_sent_on_wake(hq: FakeHq, kiosk: Kiosk) -> None:
    relay = kiosk.start_relay()  # idle_poll 30 s: only wake() can bring these in time
    wait_until(kiosk.drained)
    writer = OutboxWriter(kiosk.path, cipher=kiosk.cipher, on_written=relay.wake)
    writer.start()
    try:
        for slot in range(1, 4):
            writer.append(OutboxRecord.new("lift", {"slot": slot}, occurred_at=OCCURRED_AT))
        assert writer.flush()
        wait_until(lambda: len(hq.events) == 3, timeout=2, what="the new records at HQ")
    finally:
        writer.close()


def test_rejected_records_go_to_dead_letters_with_hqs_reason(hq: FakeHq, kiosk: Kiosk) -> None:
    records = kiosk.append(5)
    hq.reject(records[2].event_id, "payload.slot: must be >= 1")

    kiosk.start_relay()
    wait_until(kiosk.drained)

    assert hq.stored_seqs() == [1, 2, 4, 5]
    with kiosk.outbox() as outbox:
        (letter,) = outbox.dead_letters()
    assert (letter.seq, letter.event_id, letter.reason) == (
        3,
        records[2].event_id,
        "payload.slot: must be >= 1",
    )
    assert (kiosk.status().dead_letters, kiosk.status().sent_total) == (1, 4)


def test_a_malformed_answer_is_retried_not_dead_lettered(hq: FakeHq, kiosk: Kiosk) -> None:
    kiosk.append(2)
    hq.answer_next(1, 200, body=b'{"results": []}')

    kiosk.start_relay()
    wait_until(kiosk.drained)

    assert hq.stored_seqs() == [1, 2]
    assert kiosk.status().dead_letters == 0
    assert len(hq.event_requests()) == 2


def test_records_that_do_not_decrypt_are_set_aside_and_the_rest_flow(
    hq: FakeHq, kiosk: Kiosk
) -> None:
    kiosk.append(3)
    with contextlib.closing(sqlite3.connect(kiosk.path)) as connection, connection:
        (sealed,) = connection.execute("SELECT payload FROM outbox WHERE seq = 1").fetchone()
        connection.execute("UPDATE outbox SET payload = ? WHERE seq = 2", (sealed,))

    kiosk.start_relay()
    wait_until(kiosk.drained)

    assert hq.stored_seqs() == [1, 3]
    with kiosk.outbox() as outbox:
        (letter,) = outbox.dead_letters()
    assert letter.seq == 2
    assert letter.reason.startswith("unreadable on this kiosk: ")


# --- HQ in trouble ----------------------------------------------------------------


def test_hq_down_backs_off_without_a_busy_loop_and_resumes_when_it_returns(
    hq: FakeHq, kiosk: Kiosk, caplog: pytest.LogCaptureFixture
) -> None:
    kiosk.append(5)
    hq.go_down()

    kiosk.start_relay(base_delay=0.05, max_delay=0.4)
    time.sleep(1.5)  # not a wait for an event: the window the rate of tries is counted in

    # Mean pause is half the window (0.05, 0.1, 0.2, then 0.4): about 9 tries in 1.5 s.
    tries = len(kiosk.client.tries)
    assert 3 <= tries <= 25, tries
    status = kiosk.status()
    assert status.state == "backing_off"
    assert status.pending == 5
    assert status.retry_in is not None
    assert 0 <= status.retry_in <= 0.4

    hq.come_up()
    wait_until(kiosk.drained, timeout=3)
    assert hq.stored_seqs() == [1, 2, 3, 4, 5]
    failed, recovered = sync_warnings(caplog)
    assert failed.levelno == logging.WARNING
    assert failed.getMessage() == (
        "sync to HQ failing, retrying with backoff: cannot reach HQ: Connection refused"
    )
    assert recovered.getMessage().startswith("sync to HQ recovered after")


def test_retry_after_as_an_http_date_is_honoured(hq: FakeHq, kiosk: Kiosk) -> None:
    kiosk.append(1)
    # Whole seconds on the wire: "now + 2 s" lands 1 to 2 s ahead.
    hq.answer_next(
        1, 429, headers={"Retry-After": format_datetime(datetime.now(UTC) + timedelta(seconds=2))}
    )

    kiosk.start_relay(base_delay=0.01, max_delay=0.05)
    wait_until(kiosk.drained, timeout=4)

    first, second = (r.at for r in hq.event_requests())
    assert 0.9 <= second - first <= 2.5


def test_retry_after_in_seconds_is_honoured_however_often_new_records_wake_the_relay(
    hq: FakeHq, kiosk: Kiosk
) -> None:
    kiosk.append(1)
    hq.answer_next(1, 503, headers={"Retry-After": "1"})
    relay = kiosk.start_relay(base_delay=0.01, max_delay=0.05)
    wait_until(lambda: kiosk.statuses and kiosk.status().state == "backing_off")
    assert kiosk.status().retry_in == 1.0

    for _ in range(40):  # as a busy shopper's records would
        relay.wake()
        time.sleep(0.02)
    assert len(hq.event_requests()) == 1

    wait_until(kiosk.drained, timeout=2)
    first, second = (r.at for r in hq.event_requests())
    assert second - first >= 1.0


def test_unauthorised_waits_for_a_working_token_then_resumes(
    hq: FakeHq, kiosk: Kiosk, caplog: pytest.LogCaptureFixture
) -> None:
    kiosk.append(3)
    hq.revoke(kiosk.credentials.token)

    kiosk.start_relay(base_delay=0.05, max_delay=0.2)
    wait_until(lambda: kiosk.statuses and kiosk.status().state == "unauthorised")
    time.sleep(0.5)
    assert 2 <= len(hq.event_requests()) <= 20
    assert kiosk.status().pending == 3
    assert hq.events == {}

    hq.restore(kiosk.credentials)
    wait_until(kiosk.drained, timeout=2)
    assert hq.stored_seqs() == [1, 2, 3]
    failed, recovered = sync_warnings(caplog)
    assert failed.levelno == logging.ERROR
    assert "does not accept this kiosk's token" in failed.getMessage()
    assert recovered.getMessage().startswith("sync to HQ recovered")
    assert all(kiosk.credentials.token not in r.getMessage() for r in caplog.records)


def test_a_refused_batch_is_halved_until_only_the_bad_record_is_dead_lettered(
    hq: FakeHq, kiosk: Kiosk
) -> None:
    records = kiosk.append(8)
    hq.refuse_batches_with(records[5].event_id)  # seq 6

    kiosk.start_relay(batch_size=8)
    wait_until(kiosk.drained)

    assert [r.seqs for r in hq.event_requests()] == [
        (1, 2, 3, 4, 5, 6, 7, 8),  # refused: halve
        (1, 2, 3, 4),  # through: grow back
        (5, 6, 7, 8),  # refused
        (5, 6),  # refused
        (5,),  # through
        (6, 7),  # refused
        (6,),  # refused alone: dead letter
        (7,),
        (8,),
    ]
    assert hq.stored_seqs() == [1, 2, 3, 4, 5, 7, 8]
    with kiosk.outbox() as outbox:
        (letter,) = outbox.dead_letters()
    assert letter.seq == 6
    assert letter.reason == "HQ refused: 422 body.events.0.payload: scripted refusal"
    assert (kiosk.status().dead_letters, kiosk.status().sent_total) == (1, 7)


def test_hq_refusing_this_kiosk_dead_letters_nothing(hq: FakeHq, kiosk: Kiosk) -> None:
    kiosk.append(4)
    hq.answer_next(3, 403, body={"detail": "an event names another store or kiosk"})

    kiosk.start_relay()
    wait_until(kiosk.drained, timeout=3)

    assert [r.seqs for r in hq.event_requests()][:3] == [(1, 2, 3, 4)] * 3
    assert hq.stored_seqs() == [1, 2, 3, 4]
    assert "unauthorised" in [s.state for s in kiosk.statuses]
    assert kiosk.status().dead_letters == 0


# --- the thread -------------------------------------------------------------------


def test_stop_is_prompt_in_the_middle_of_a_long_backoff(hq: FakeHq, kiosk: Kiosk) -> None:
    kiosk.append(1)
    hq.answer_next(1, 503, headers={"Retry-After": "600"})
    relay = kiosk.start_relay()
    wait_until(lambda: kiosk.statuses and kiosk.status().state == "backing_off")
    assert kiosk.status().retry_in == 600

    started = time.monotonic()
    assert relay.stop(timeout=5)
    assert time.monotonic() - started < 0.5


def test_stop_is_prompt_while_idle(kiosk: Kiosk) -> None:
    relay = kiosk.start_relay(idle_poll=600)
    wait_until(kiosk.drained)

    started = time.monotonic()
    assert relay.stop()
    assert time.monotonic() - started < 0.5


def test_stop_waits_no_longer_than_asked_for_a_request_in_flight(hq: FakeHq, kiosk: Kiosk) -> None:
    kiosk.append(1)
    hq.delay = 0.8  # shorter than the client's read timeout: HQ answers, late
    relay = kiosk.start_relay()
    wait_until(lambda: len(hq.requests) == 1)

    started = time.monotonic()
    assert not relay.stop(timeout=0.3)
    assert time.monotonic() - started < 0.6
    assert relay.stop(timeout=2)  # the answer came; the relay committed it and ended
    with kiosk.outbox() as outbox:
        assert outbox.count() == 0


def test_checkpoints_mark_each_step_of_a_round(kiosk: Kiosk) -> None:
    kiosk.append(3)
    passed: list[str] = []

    kiosk.start_relay(batch_size=2, checkpoint=passed.append)
    wait_until(kiosk.drained)

    assert passed == ["batch_read", "posted", "acknowledged"] * 2


def test_a_crash_between_posting_and_acknowledging_only_resends(
    hq: FakeHq, kiosk: Kiosk, caplog: pytest.LogCaptureFixture
) -> None:
    kiosk.append(3)
    crashed = threading.Event()

    def crash_once(name: str) -> None:
        if name == "posted" and not crashed.is_set():
            crashed.set()
            raise RuntimeError("the power went")

    kiosk.start_relay(checkpoint=crash_once)
    wait_until(kiosk.drained)

    assert hq.stored_seqs() == [1, 2, 3]
    assert [r.seqs for r in hq.event_requests()] == [(1, 2, 3), (1, 2, 3)]
    assert kiosk.status().sent_total == 3  # the resend was answered as duplicates
    failed, recovered = sync_warnings(caplog)
    assert failed.getMessage().endswith("unexpected RuntimeError")
    assert failed.exc_info is not None
    assert recovered.getMessage().startswith("sync to HQ recovered")


def test_a_broken_status_listener_does_not_stop_the_relay(
    hq: FakeHq, kiosk: Kiosk, caplog: pytest.LogCaptureFixture
) -> None:
    kiosk.append(2)

    def broken(_status: SyncStatus) -> None:
        raise RuntimeError("listener bug")

    relay = kiosk.start_relay(on_status=broken)
    wait_until(lambda: len(hq.events) == 2)
    wait_until(lambda: relay.status is not None and relay.status.state == SyncState.IDLE)
    assert "on_status listener failed" in caplog.text


def test_nothing_personal_or_secret_is_logged(
    hq: FakeHq, kiosk: Kiosk, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    records = kiosk.append(4, phone=SHOPPER_PHONE)
    hq.reject(records[0].event_id, f"payload.phone: {SHOPPER_PHONE} is not a number")
    hq.refuse_batches_with(records[1].event_id)
    hq.answer_next(1, 503)

    kiosk.start_relay()
    wait_until(kiosk.drained, timeout=3)

    assert kiosk.status().dead_letters == 2
    assert SHOPPER_PHONE not in caplog.text
    assert kiosk.credentials.token not in caplog.text


def test_a_relay_starts_once(kiosk: Kiosk) -> None:
    relay = kiosk.start_relay()

    with pytest.raises(RuntimeError, match="starts once"):
        relay.start()
