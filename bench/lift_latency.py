"""Lift latency: `LIFT n` written on the pty -> first paint of that product screen.

A separate process (this one) plays the pickup board on a pseudo-terminal and
reads the kiosk's trace for the first-paint line of the lifted phone's screen.
Target: p99 <= 50 ms on a 2-core machine, offscreen.

    .venv/bin/python bench/lift_latency.py [--lifts 300]
"""

from __future__ import annotations

import argparse
import time

from harness import running_kiosk, sample_bundle, summary

from content.bundle import load_bundle


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lifts", type=int, default=300)
    parser.add_argument("--hold", type=float, default=0.2, help="seconds a phone stays lifted")
    args = parser.parse_args()

    bundle_dir = sample_bundle(16)
    bundle = load_bundle(bundle_dir, verify_hashes=False)
    slots = [(a.slot, a.sku) for a in bundle.planogram.slots]
    latencies: list[float] = []
    with running_kiosk(bundle_dir) as kiosk:
        time.sleep(1.0)  # let the background picture decoding finish, as in a store
        for i in range(args.lifts):
            slot, sku = slots[i % len(slots)]
            sent = kiosk.write(f"LIFT {slot}")
            paint = kiosk.trace.wait_for(
                lambda line, sku=sku, sent=sent: (
                    line["kind"] == "paint"
                    and line["view"] == f"product:{sku}"
                    and line["mono"] >= sent
                )
            )
            latencies.append((paint["mono"] - sent) * 1000)
            time.sleep(args.hold)
            kiosk.write(f"DROP {slot}")
            kiosk.drain()
            time.sleep(0.05)
    print(summary("lift -> first paint", latencies))


if __name__ == "__main__":
    main()
