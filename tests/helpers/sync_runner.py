"""A kiosk's sync relay as a process of its own, for kill -9 tests.

    python -m helpers.sync_runner DATA_DIR [--kill-at POINT:N] [--batch-size N] [--pace S]

Drains DATA_DIR's outbox to the HQ its credentials name and exits 0 once the
outbox is empty. With --kill-at it SIGKILLs itself the Nth time the relay
passes the named point ("batch_read", "posted", "acknowledged"): no handler
runs, no buffer is flushed, as when the power goes. With --pace it waits S seconds
at every point, so a kill at a random moment always finds work left to resume.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path

from backend_client.client import HqClient
from backend_client.credentials import load_credentials
from backend_client.crypto import PayloadCipher
from backend_client.sync import SyncRelay, SyncStatus


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--kill-at", help="POINT:N, e.g. posted:3")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--pace", type=float, default=0.0, help="seconds to wait at every point")
    args = parser.parse_args(argv)

    kill_point, kill_after = None, 0
    if args.kill_at:
        kill_point, count = args.kill_at.split(":")
        kill_after = int(count)
    passes = 0

    def checkpoint(name: str) -> None:
        nonlocal passes
        time.sleep(args.pace)
        if name == kill_point:
            passes += 1
            if passes >= kill_after:
                os.kill(os.getpid(), signal.SIGKILL)

    credentials = load_credentials(args.data_dir)
    assert credentials is not None, "enrol the kiosk first"
    cipher = PayloadCipher.from_key_file(args.data_dir / "outbox.key")
    drained = threading.Event()

    def on_status(status: SyncStatus) -> None:
        if status.pending == 0 and status.state == "idle":
            drained.set()

    relay = SyncRelay(
        args.data_dir / "outbox.sqlite3",
        HqClient(credentials),
        credentials,
        cipher=cipher,
        batch_size=args.batch_size,
        base_delay=0.05,
        max_delay=0.5,
        on_status=on_status,
        checkpoint=checkpoint,
    )
    relay.start()
    finished = drained.wait(timeout=120)
    relay.stop()
    return 0 if finished else 3


if __name__ == "__main__":
    sys.exit(main())
