"""The kiosk's records reach its outbox through the relay child, once each, whatever dies.

The screen's process writes no database file (backend_client/data_link.py): a real
relay child (not enrolled: it only writes) takes the records over its link and
commits them. A child killed mid-stream, a kiosk that dies right after appending,
a reward request nobody can answer: no record is lost or stored twice, and no
shopper waits on an answer that cannot come.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers.pickup import wait_until

from backend_client.credentials import Credentials, save_credentials
from backend_client.crypto import PayloadCipher
from backend_client.data_link import DataLink
from backend_client.outbox import Outbox
from backend_client.records import OutboxRecord
from backend_client.relay_process import KEY_FILE, OUTBOX_FILE, RelayProcess
from rewards.answers import Refused, RewardAnswer, Standing, StandingRequest
from rewards.issuing import Refusal

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def record(n: int) -> OutboxRecord:
    return OutboxRecord.new("lift", {"slot": n % 12, "n": n}, occurred_at=datetime.now(UTC))


def stored_ids(data_dir: Path) -> list[uuid.UUID]:
    """Every event id in the outbox, in the order it was stored."""
    cipher = PayloadCipher.from_key_file(data_dir / KEY_FILE)
    with Outbox(data_dir / OUTBOX_FILE, cipher=cipher) as outbox:
        return [r.event_id for r in outbox.pending(limit=100_000)]


class Answers:
    def __init__(self) -> None:
        self.seen: list[RewardAnswer] = []
        self.lock = threading.Lock()

    def __call__(self, answer: RewardAnswer) -> None:
        with self.lock:
            self.seen.append(answer)


@pytest.fixture
def answers() -> Answers:
    return Answers()


@pytest.fixture
def running(tmp_path: Path, answers: Answers) -> Iterator[tuple[DataLink, RelayProcess]]:
    link = DataLink(on_answer=answers)
    relay = RelayProcess(tmp_path, link=link, restart_delay=0.05, max_restart_delay=0.1)
    relay.start()
    yield link, relay
    link.close()
    relay.stop()


def test_records_reach_the_outbox_of_a_kiosk_not_enrolled_yet(
    tmp_path: Path, running: tuple[DataLink, RelayProcess]
) -> None:
    link, _ = running
    sent = [record(n) for n in range(50)]
    for r in sent:
        link.append(r)
    assert link.flush(timeout=20)
    assert stored_ids(tmp_path) == [r.event_id for r in sent]
    assert link.held == 0


def test_a_relay_child_killed_mid_stream_loses_and_duplicates_no_record(
    tmp_path: Path, running: tuple[DataLink, RelayProcess]
) -> None:
    link, relay = running
    wait_until(lambda: relay.pid is not None, timeout=10)
    sent: list[OutboxRecord] = []
    for round_ in range(3):
        pid = relay.pid
        assert pid is not None
        for n in range(300):
            sent.append(record(n))
            link.append(sent[-1])
            if n == 150:
                os.kill(pid, signal.SIGKILL)  # with records in the pipe and uncommitted
        wait_until(lambda p=pid: relay.pid not in (None, p), timeout=10)
        assert relay.spawned == round_ + 2
    assert link.flush(timeout=30)
    stored = stored_ids(tmp_path)
    assert len(stored) == len(set(stored)) == len(sent)
    assert set(stored) == {r.event_id for r in sent}


def test_records_sent_just_before_the_kiosk_dies_are_kept(tmp_path: Path) -> None:
    # The kiosk sends and dies at once (no flush, no close): the child reads its link to
    # the end before it stops. (What the kiosk had not yet sent dies with it, as a record
    # the last milliseconds before a power cut always did.)
    script = textwrap.dedent(
        f"""
        import os, sys
        from datetime import UTC, datetime
        from pathlib import Path
        from backend_client.data_link import DataLink
        from backend_client.records import OutboxRecord
        from backend_client.relay_process import RelayProcess
        link = DataLink()
        relay = RelayProcess(Path({str(tmp_path)!r}), link=link)
        relay.start()
        while relay.pid is None:
            pass
        for n in range(200):
            record = OutboxRecord.new("lift", {{"n": n}}, occurred_at=datetime.now(UTC))
            link.append(record)
            print(record.event_id, flush=True)
        while link.unsent or link.held > 150:  # all sent, most not yet acknowledged
            pass
        os._exit(0)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    sent = [uuid.UUID(line) for line in done.stdout.split()]
    assert len(sent) == 200
    # The orphaned child commits what it read, then ends at the end of its input.
    wait_until(lambda: len(stored_ids(tmp_path)) == 200, timeout=20)
    assert stored_ids(tmp_path) == sent


def test_a_reward_request_nobody_can_answer_is_refused_at_once(
    tmp_path: Path, answers: Answers
) -> None:
    link = DataLink(on_answer=answers)  # no child yet
    request = StandingRequest((), uuid.uuid4(), datetime.now(UTC))
    link.submit(request)
    assert answers.seen == [RewardAnswer(request, Refused(Refusal.UNAVAILABLE))]
    assert answers.seen[0].request is request  # the kiosk matches answers by identity
    link.close()


def test_the_childs_reward_desk_answers_each_request_once_even_when_it_dies(
    tmp_path: Path, answers: Answers
) -> None:
    # Enrolled with a coupon key (an HQ nobody answers at: the relay backs off), so the
    # child runs the reward desk.
    credentials = Credentials(
        "http://127.0.0.1:9", "store-1", "store-1-k1", "token", kiosk_no=1, coupon_key=bytes(32)
    )
    save_credentials(tmp_path, credentials)
    link = DataLink(on_answer=answers)
    relay = RelayProcess(tmp_path, link=link, restart_delay=0.05, max_restart_delay=0.1)
    relay.start()
    try:
        wait_until(lambda: link.connected, timeout=10)
        asked = StandingRequest((), uuid.uuid4(), datetime.now(UTC))
        link.submit(asked)
        wait_until(lambda: len(answers.seen) == 1, timeout=10)
        assert answers.seen[0].request is asked  # the kiosk matches answers by identity
        assert answers.seen[0].outcome == Standing({})  # the desk's answer, not a refusal

        # A request on its way when the child is killed gets one answer all the same.
        pid = relay.pid
        assert pid is not None
        requests = [StandingRequest((), uuid.uuid4(), datetime.now(UTC)) for n in range(20)]
        for n, request in enumerate(requests):
            link.submit(request)
            if n == 10:
                os.kill(pid, signal.SIGKILL)
        wait_until(lambda: len(answers.seen) == 21, timeout=10)
        assert sorted(id(a.request) for a in answers.seen[1:]) == sorted(map(id, requests))
        wait_until(lambda: link.connected and relay.pid not in (None, pid), timeout=10)
        again = StandingRequest((), uuid.uuid4(), datetime.now(UTC))
        link.submit(again)
        wait_until(lambda: answers.seen[-1].request is again, timeout=10)
        assert answers.seen[-1].outcome == Standing({})
    finally:
        link.close()
        relay.stop()
