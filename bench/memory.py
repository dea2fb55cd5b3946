"""Memory: RSS of the kiosk over 1,000 lift/drop cycles.

Each cycle lifts a phone, waits for its screen's first paint, and puts it back.
Target: at most 200 MB after 1,000 cycles and no growth over the last 500.

    .venv/bin/python bench/memory.py [--cycles 1000] [--enrolled]

--enrolled: with the relay child and the store channel (writer thread, server child).
"""

from __future__ import annotations

import argparse
import time

from harness import channel_args, enrol, running_kiosk, sample_bundle

from content.bundle import load_bundle

MB = 1024 * 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cycles", type=int, default=1000)
    parser.add_argument("--enrolled", action="store_true", help="with the store channel")
    args = parser.parse_args()
    prepare, extra = (enrol, channel_args()) if args.enrolled else (None, [])
    bundle_dir = sample_bundle(16)
    slots = [(a.slot, a.sku) for a in load_bundle(bundle_dir).planogram.slots]
    samples: dict[int, int] = {}
    with running_kiosk(bundle_dir, ["--drop-grace", "0.05", *extra], prepare) as kiosk:
        samples[0] = kiosk.rss_bytes()
        for cycle in range(1, args.cycles + 1):
            slot, sku = slots[cycle % len(slots)]
            kiosk.lift(slot, sku)
            time.sleep(0.2)  # held long enough to be a real pick, not a bounce
            kiosk.drop(slot)
            kiosk.trace.wait_for(lambda line: line["kind"] == "paint" and line["view"] == "attract")
            if cycle % 100 == 0:
                samples[cycle] = kiosk.rss_bytes()
    half = args.cycles // 2
    print("RSS by cycle: " + ", ".join(f"{c}: {b / MB:.0f} MB" for c, b in samples.items()))
    end = samples[max(samples)]
    growth = end - samples.get(half, samples[0])
    print(
        f"after {args.cycles} cycles: {end / MB:.1f} MB; "
        f"growth over the last {args.cycles - half}: {growth / MB:+.1f} MB"
    )


if __name__ == "__main__":
    main()
