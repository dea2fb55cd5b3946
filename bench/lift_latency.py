"""Lift latency: `LIFT n` written on the pty -> first paint of that product screen.

A separate process (this one) plays the pickup board on a pseudo-terminal and
reads the kiosk's trace for the first-paint line of the lifted phone's screen.
Target: p99 <= 50 ms on a 2-core machine, offscreen.

    .venv/bin/python bench/lift_latency.py [--lifts 300] [--enrolled]

--enrolled: the kiosk is enrolled with its store key, so it also runs its relay child,
writes the store channel on its writer thread and serves it from its server child.
"""

from __future__ import annotations

import argparse
import time

from harness import channel_args, enrol, running_kiosk, sample_bundle, summary

from content.bundle import load_bundle


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lifts", type=int, default=300)
    parser.add_argument("--hold", type=float, default=0.2, help="seconds a phone stays lifted")
    parser.add_argument("--enrolled", action="store_true", help="with the store channel")
    args = parser.parse_args()
    prepare, extra = (enrol, channel_args()) if args.enrolled else (None, [])

    bundle_dir = sample_bundle(16)
    bundle = load_bundle(bundle_dir, verify_hashes=False)
    slots = [(a.slot, a.sku) for a in bundle.planogram.slots]
    latencies: list[float] = []
    with running_kiosk(bundle_dir, extra, prepare) as kiosk:
        # One uncounted pass over the cabinet: a store's first shopper arrives long after
        # the pictures were decoded in the background, and this waits for exactly that.
        for slot, sku in slots:
            kiosk.lift(slot, sku)
            kiosk.drop(slot)
        for i in range(args.lifts):
            slot, sku = slots[i % len(slots)]
            latencies.append(kiosk.lift(slot, sku))
            time.sleep(args.hold)
            kiosk.drop(slot)
            time.sleep(0.05)
    print(summary("lift -> first paint", latencies))


if __name__ == "__main__":
    main()
