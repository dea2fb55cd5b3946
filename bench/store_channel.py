"""Store channel: catch-up throughput and live latency, kiosk window -> server process -> client.

A kiosk's window holds N messages; a channel server process serves it on
loopback; an attendant client connects from 0 and is timed until it has all N
(catch-up, e.g. after a night away). Then messages are appended one at a time
and each is timed from `append` returning to the client's `on_message`
(live latency: the server polls the window every 0.1 s; appends made in lock-step with
the client wait out a whole poll).
Targets: 100,000 messages (the window's floor) caught up within 60 s;
live latency p95 under 250 ms.

    .venv/bin/python bench/store_channel.py [--messages 20000] [--live 200]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from harness import percentile  # noqa: E402

from backend_client.channel.client import ChannelClient, KioskEndpoint, KioskStatus  # noqa: E402
from backend_client.channel.keys import StoreKeys, write_store_key  # noqa: E402
from backend_client.channel.messages import ChannelMessage  # noqa: E402
from backend_client.channel.window import open_window  # noqa: E402

STORE, KIOSK, KEY = "bench-store", "bench-store-k1", bytes(range(32))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--live", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        data = Path(temporary)
        write_store_key(data, KEY)
        window = open_window(data, store=STORE, kiosk=KIOSK)
        now = datetime.now(UTC)
        for n in range(args.messages):
            window.append("heartbeat", {"uptime_s": n}, at=now)
        server = subprocess.Popen(
            [sys.executable, "-m", "backend_client.channel.serve", "--data-dir", str(data),
             "--store", STORE, "--kiosk", KIOSK, "--host", "127.0.0.1", "--port", "0"],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert server.stdout is not None
        port = int(server.stdout.readline().rsplit(":", 1)[1])
        arrived: dict[int, float] = {}
        changed = threading.Condition()

        def on_message(message: ChannelMessage) -> None:
            with changed:
                arrived[message.seq] = time.perf_counter()
                changed.notify_all()

        def on_status(_status: KioskStatus) -> None:
            pass

        client = ChannelClient(
            [KioskEndpoint(KIOSK, f"http://127.0.0.1:{port}")],
            StoreKeys(STORE, KEY), on_message, on_status,
            flood=(1e9, 10**9),  # measuring throughput, not the flood guard
        )  # fmt: skip
        try:
            start = time.perf_counter()
            client.start()
            with changed:
                changed.wait_for(lambda: len(arrived) >= args.messages, timeout=600)
            catch_up = time.perf_counter() - start
            latencies = []
            for n in range(args.live):
                sent = time.perf_counter()
                seq = window.append("heartbeat", {"uptime_s": n}, at=datetime.now(UTC)).seq
                with changed:
                    changed.wait_for(lambda: seq in arrived, timeout=10)  # noqa: B023
                latencies.append((arrived[seq] - sent) * 1000)
        finally:
            client.stop()
            server.terminate()
            server.wait(10)
            server.stdout.close()
            window.close()
    print(
        f"catch-up: {args.messages} messages in {catch_up:.1f} s "
        f"({args.messages / catch_up:,.0f}/s)"
    )
    print(
        f"live latency (append -> on_message), {args.live} messages: "
        f"median {percentile(latencies, 50):.0f} ms, p95 {percentile(latencies, 95):.0f} ms, "
        f"max {max(latencies):.0f} ms"
    )


if __name__ == "__main__":
    main()
