"""Attendant commands: round trips to a kiosk's channel server process on loopback.

A channel server process serves a content store holding a sample bundle of N
products. An attendant sends `redeem` (a new code each time), `ack` and `set_slot`
commands one after another, and fetches the catalog; each call is timed from
before `send_command` / `fetch_catalog` to its reply (proof, sealing, HTTP, the
SQLite transaction with fsync, opening the answer).
Target: a till's redeem claim well under a second at p99 (staff wait on it).

    .venv/bin/python bench/channel_commands.py [--commands 200] [--products 200]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from harness import percentile  # noqa: E402

from backend_client.channel.client import KioskEndpoint  # noqa: E402
from backend_client.channel.commands import (  # noqa: E402
    Ack,
    Redeem,
    SetSlot,
    fetch_catalog,
    send_command,
)
from backend_client.channel.keys import StoreKeys, write_store_key  # noqa: E402
from content.sample import write_sample_bundle  # noqa: E402
from content.store import ContentStore  # noqa: E402

STORE, KIOSK, KEY = "bench-store", "bench-store-k1", bytes(range(32))


def _timed(count: int, call: Callable[[int], object]) -> list[float]:
    took = []
    for n in range(count):
        start = time.perf_counter()
        call(n)
        took.append((time.perf_counter() - start) * 1000)
    return took


def _report(name: str, took: list[float]) -> None:
    print(
        f"{name:>10}: n={len(took)} median {percentile(took, 50):.1f} ms,"
        f" p99 {percentile(took, 99):.1f} ms, max {max(took):.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--commands", type=int, default=200)
    parser.add_argument("--products", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        data, content = Path(temporary) / "data", Path(temporary) / "content"
        write_store_key(data, KEY)
        write_sample_bundle(Path(temporary) / "bundle", products=args.products, seed=1)
        bundle = ContentStore(content).install(Path(temporary) / "bundle")
        server = subprocess.Popen(
            [sys.executable, "-m", "backend_client.channel.serve", "--data-dir", str(data),
             "--store", STORE, "--kiosk", KIOSK, "--content", str(content),
             "--host", "127.0.0.1", "--port", "0"],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert server.stdout is not None
            port = int(server.stdout.readline().rsplit(":", 1)[1])
            endpoint, keys = KioskEndpoint(KIOSK, f"http://127.0.0.1:{port}"), StoreKeys(STORE, KEY)
            skus = [product.sku for product in bundle.catalog.products]
            slots = [assignment.slot for assignment in bundle.planogram.slots]
            fetch_catalog(endpoint, keys)  # the server loads the bundle once, untimed
            _report(
                "redeem",
                _timed(
                    args.commands,
                    lambda n: send_command(endpoint, keys, Redeem(code_hash=f"{n:032x}", by="s-1")),
                ),
            )
            _report(
                "ack",
                _timed(
                    args.commands,
                    lambda n: send_command(
                        endpoint, keys, Ack(alert=f"{KIOSK}:{n + 1}", by="s-1", after_s=1.0)
                    ),
                ),
            )
            _report(
                "set_slot",
                _timed(
                    args.commands,
                    lambda n: send_command(
                        endpoint,
                        keys,
                        SetSlot(slot=slots[n % len(slots)], sku=skus[n % len(skus)], by="m-1"),
                    ),
                ),
            )
            _report(
                f"catalog/{len(skus)}",
                _timed(max(10, args.commands // 10), lambda _: fetch_catalog(endpoint, keys)),
            )
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
