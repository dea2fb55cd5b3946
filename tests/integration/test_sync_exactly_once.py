"""Every captured event reaches HQ exactly once, however often either side is killed.

The kiosk side is a real relay process (helpers/sync_runner.py) on a real outbox
file; HQ is the real `kiosk-hq serve` process on SQLite and on PostgreSQL. Both
are killed with SIGKILL: at named points of a sync round (after reading a batch,
after HQ answered but before the kiosk committed the acknowledgement, after
that commit) and at random moments. At the end HQ must hold each event once,
with the kiosk's seq, kind, time and payload, and no gaps.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.hq import fresh_postgres_database
from helpers.hq_process import HqProcess
from helpers.kiosk_sync import assert_exactly_once, enrolled_kiosk, fill_outbox, pending

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


def relay_process(data: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "tests"))
    args = [sys.executable, "-m", "helpers.sync_runner", str(data), *extra]
    return subprocess.Popen(args, cwd=ROOT, env=env, stderr=subprocess.PIPE)


def run_relay(data: Path, *extra: str) -> int:
    process = relay_process(data, *extra)
    _, err = process.communicate(timeout=120)
    assert process.returncode in {0, SIGKILLED}, err.decode(errors="replace")
    return process.returncode


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
    # And at random moments, wherever the relay happens to be. Paced, the ~2,000 events
    # left take at least 100 batches x 3 points x 20 ms = 6 s to drain, longer than the
    # four runs together live (< 2.4 s): however fast the machine, work is left.
    for _ in range(4):
        process = relay_process(data, "--batch-size", "20", "--pace", "0.02")
        time.sleep(rng.uniform(0.05, 0.6))
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
    assert pending(data) > 0, f"seed {seed}: the kills left nothing to resume"
    assert run_relay(data) == 0
    assert pending(data) == 0
    assert_exactly_once(hq, data, sent)


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
    assert_exactly_once(hq, data, sent)
