"""How long an erasure or a withdrawal at HQ takes to reach a kiosk's member directory.

    .venv/bin/python bench/removal_reach.py [--rounds 6] [--interval 60]

Runs `kiosk-hq serve` (SQLite, a temporary data directory) and a kiosk's feed
sync as the relay child runs it (`FeedSync`, every `--interval` seconds, 60 by
default). Each round signs a member up with a fob, waits until the kiosk
recognises them, then erases them (even rounds: `kiosk-hq members erase`) or
records a recognition withdrawal (odd rounds: `kiosk-hq members withdraw`) and
times how long until the kiosk no longer recognises the fob. Staff act at a
random moment of the kiosk's interval. The bound is the
feed interval plus one sync; on average about half an interval.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from backend_client.client import HqClient, enroll
from backend_client.feed_sync import DEFAULT_INTERVAL, FeedSync
from backend_client.members import MEMBERS_FILE, MemberDirectory
from devices.events import TagId, TagKind

KIOSK_HQ = Path(sys.executable).parent / "kiosk-hq"
POLL_S = 0.1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cli(data: Path, *args: str) -> str:
    done = subprocess.run(
        [str(KIOSK_HQ), "--data-dir", str(data), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout


def _wait(condition: Any, timeout: float) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise TimeoutError("the kiosk did not catch up")
        time.sleep(POLL_S)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--interval", type=float, default=DEFAULT_INTERVAL)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as temporary:
        hq_data, kiosk_data = Path(temporary) / "hq", Path(temporary) / "kiosk"
        token = secrets.token_urlsafe(24)
        env = {**os.environ, "KIOSK_HQ_ADMIN_TOKEN": token}
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [str(KIOSK_HQ), "--data-dir", str(hq_data), "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait(lambda: _up(base), 30)
            _cli(hq_data, "store", "add", "bench-store", "--exist-ok")
            credentials = enroll(base, _cli(hq_data, "kiosk", "enroll-code", "bench-store").strip())
            events = requests.Session()
            events.headers["Authorization"] = f"Bearer {credentials.token}"
            sync = FeedSync(
                kiosk_data / MEMBERS_FILE, HqClient(credentials), interval=args.interval
            )
            sync.sync_once()
            sync.start()
            seq = 0
            times: dict[str, list[float]] = {"erase": [], "withdraw": []}
            try:
                with MemberDirectory(kiosk_data / MEMBERS_FILE) as directory:
                    for round_no in range(args.rounds):
                        member = str(uuid.uuid4())
                        fob = TagId(TagKind.RFID, f"{1000 + round_no:010d}")
                        seq = _sign_up(events, base, credentials, seq, member)
                        _cli(
                            hq_data,
                            "members",
                            "bind",
                            member,
                            "--kind",
                            "rfid",
                            "--value",
                            fob.value,
                        )
                        _wait(lambda fob=fob: directory.find(fob) is not None, 3 * args.interval)
                        # Staff act at any moment of the kiosk's interval, not just
                        # after a sync (which is when the member showed up).
                        time.sleep(random.uniform(0, args.interval))
                        how = "erase" if round_no % 2 == 0 else "withdraw"
                        started = time.monotonic()
                        if how == "erase":
                            _cli(hq_data, "members", "erase", member)
                        else:
                            _cli(
                                hq_data,
                                "members",
                                "withdraw",
                                member,
                                "--purpose",
                                "recognition",
                                "--by",
                                "bench",
                            )
                        _wait(lambda fob=fob: directory.find(fob) is None, 3 * args.interval)
                        times[how].append(time.monotonic() - started)
                        print(
                            f"round {round_no + 1}: {how} reached the kiosk in "
                            f"{times[how][-1]:.1f} s",
                            flush=True,
                        )
            finally:
                sync.stop()
        finally:
            server.terminate()
            server.wait(timeout=15)
    every = times["erase"] + times["withdraw"]
    print(
        f"removal reaches the kiosk (feed interval {args.interval:.0f} s): n={len(every)} "
        f"min={min(every):.1f} s median={statistics.median(every):.1f} s max={max(every):.1f} s"
    )


def _up(base: str) -> bool:
    try:
        return requests.get(f"{base}/v1/health", timeout=1).ok
    except requests.ConnectionError:
        return False


def _sign_up(session: requests.Session, base: str, credentials: Any, seq: int, member: str) -> int:
    now = datetime.now(UTC).isoformat()
    payloads = [
        (
            "member_signup",
            {
                "member_id": member,
                "phone": f"139{uuid.uuid4().int % 10**8:08d}",
                "region": "CN",
                "name": "测试",
                "email": None,
                "language": "zh-CN",
                "greet_by_name": True,
            },
        ),
        (
            "consent",
            {
                "member_id": member,
                "purpose": "recognition",
                "channel": None,
                "notice_version": "bench",
                "notice_sha256": "5e" * 32,
                "given": True,
            },
        ),
    ]
    batch = []
    for kind, payload in payloads:
        seq += 1
        batch.append(
            {
                "event_id": str(uuid.uuid4()),
                "store_id": credentials.store_id,
                "kiosk_id": credentials.kiosk_id,
                "seq": seq,
                "kind": kind,
                "schema_version": 1,
                "occurred_at": now,
                "payload": payload,
            }
        )
    answer = session.post(f"{base}/v1/events", json={"events": batch}, timeout=30)
    answer.raise_for_status()
    statuses = {result["status"] for result in answer.json()["results"]}
    if statuses != {"accepted"}:
        raise RuntimeError(f"HQ did not accept the sign-up: {answer.json()['results']}")
    return seq


if __name__ == "__main__":
    main()
