"""The relay as the kiosk runs it: a supervised child process talking through two pipes.

Against a real `kiosk-hq serve` on SQLite (the database makes no difference to how
the kiosk runs its relay; test_sync_exactly_once covers both).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.hq_process import HqProcess
from helpers.kiosk_sync import assert_exactly_once, enrolled_kiosk, fill_outbox
from helpers.pickup import wait_until

from backend_client.relay_process import DEFAULT_NICENESS, RelayProcess
from backend_client.sync import SyncState, SyncStatus

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def hq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HqProcess]:
    process = HqProcess(tmp_path_factory.mktemp("hq"))
    process.start()
    yield process
    process.stop()


class Statuses:
    """An `on_status` that keeps what the child reported."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seen: list[SyncStatus] = []

    def __call__(self, status: SyncStatus) -> None:
        with self._lock:
            self.seen.append(status)

    def drained(self, total: int, *, idle: bool = False) -> bool:
        """The last report has nothing pending and `total` sent; with `idle`, it also says
        IDLE (after its last batch the relay reports SYNCING with nothing pending, and
        IDLE only once it has found the outbox empty)."""
        with self._lock:
            last = self.seen[-1] if self.seen else None
        return (
            last is not None
            and last.pending == 0
            and last.sent_total >= total
            and (not idle or last.state is SyncState.IDLE)
        )


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers signal 0; its state in /proc tells.
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture
def kiosk_data(hq: HqProcess, tmp_path: Path) -> Path:
    return enrolled_kiosk(hq, tmp_path / "kiosk")


def test_the_relay_process_drains_the_outbox_and_reports_its_progress(
    hq: HqProcess, kiosk_data: Path
) -> None:
    sent = fill_outbox(kiosk_data, 1200)
    statuses = Statuses()
    relay = RelayProcess(kiosk_data, on_status=statuses)
    relay.start()
    try:
        wait_until(
            lambda: statuses.drained(1200, idle=True), timeout=60, what="the outbox to drain"
        )
        pid = relay.pid
        assert pid is not None
        assert pid != os.getpid()
    finally:
        assert relay.stop(), "the child stopped when asked, without being killed"
    assert not alive(pid)
    assert_exactly_once(hq, kiosk_data, sent)
    assert statuses.seen[0].state is SyncState.SYNCING
    assert statuses.seen[-1].state is SyncState.IDLE
    pending = [s.pending for s in statuses.seen]
    assert pending == sorted(pending, reverse=True), "the count only goes down while draining"
    assert relay.spawned == 1


def test_wake_sends_new_records_at_once(hq: HqProcess, kiosk_data: Path) -> None:
    statuses = Statuses()
    relay = RelayProcess(kiosk_data, on_status=statuses)
    relay.start()
    try:
        wait_until(lambda: statuses.seen, timeout=30, what="the child's first status")
        assert statuses.seen[-1].state is SyncState.IDLE
        # The idle relay polls every 30 s; only the wake brings these over in time.
        sent = fill_outbox(kiosk_data, 5)
        relay.wake()
        # Within 20 s, well before the 30 s poll, even on a loaded machine.
        wait_until(lambda: statuses.drained(5), timeout=20, what="the woken relay to send")
    finally:
        relay.stop()
    assert_exactly_once(hq, kiosk_data, sent)


def test_a_killed_relay_is_started_again_and_nothing_is_lost_or_doubled(
    hq: HqProcess, kiosk_data: Path
) -> None:
    sent = fill_outbox(kiosk_data, 6000)
    statuses = Statuses()
    relay = RelayProcess(kiosk_data, on_status=statuses, restart_delay=0.1)
    relay.start()
    try:
        wait_until(lambda: statuses.seen and statuses.seen[-1].sent_total > 0, timeout=30)
        first = relay.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)  # mid-drain: 6,000 records take several seconds
        wait_until(lambda: relay.spawned == 2 and relay.pid not in {None, first}, timeout=10)
        wait_until(lambda: statuses.drained(6000), timeout=60, what="the new child to finish")
    finally:
        relay.stop()
    assert_exactly_once(hq, kiosk_data, sent)
    assert statuses.seen[-1].sent_total >= 6000, "the count goes on across children"


def test_the_relay_stops_when_the_kiosk_dies(kiosk_data: Path) -> None:
    kiosk = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, sys, time\n"
            "from pathlib import Path\n"
            "from backend_client.relay_process import RelayProcess\n"
            "relay = RelayProcess(Path(sys.argv[1]))\n"
            "relay.start()\n"
            "while relay.pid is None: time.sleep(0.01)\n"
            "print(relay.pid, flush=True)\n"
            "signal.pause()  # until killed\n",
            str(kiosk_data),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert kiosk.stdout is not None
    with kiosk.stdout:
        child = int(kiosk.stdout.readline())
        assert alive(child)
        kiosk.send_signal(signal.SIGKILL)  # no handler runs: only the closed pipe tells
        kiosk.wait(timeout=10)
    wait_until(lambda: not alive(child), timeout=10, what="the orphaned relay to exit")


def test_an_unenrolled_kiosk_gets_one_try_and_an_error_not_a_restart_loop(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="backend_client.relay_process")
    relay = RelayProcess(tmp_path / "never-enrolled", restart_delay=0.05)
    relay.start()
    try:
        wait_until(lambda: "not syncing" in caplog.text, timeout=30)
        assert relay.pid is None
        assert relay.spawned == 1
    finally:
        assert relay.stop()


def test_the_relay_yields_the_cpu_to_the_screen(hq: HqProcess, kiosk_data: Path) -> None:
    relay = RelayProcess(kiosk_data)
    relay.start()
    try:
        pid = wait_until(lambda: relay.pid, timeout=10)
        ours = os.getpriority(os.PRIO_PROCESS, 0)
        expected = min(19, ours + DEFAULT_NICENESS)
        wait_until(lambda: os.getpriority(os.PRIO_PROCESS, pid) == expected, timeout=10)
    finally:
        relay.stop()
