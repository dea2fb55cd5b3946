"""Member fob -> welcome: an RDM6300 frame written on the pty -> first paint of the welcome.

This process plays the fob reader on a pseudo-terminal; the kiosk process runs
with `--rfid-port` and a member directory holding two members (as the relay
keeps it from HQ's feed). Fobs alternate, so each read starts a fresh member
session and a new welcome screen; the kiosk's trace stamps its first paint.
Target: p99 <= 100 ms on a 2-core machine, offscreen.

    .venv/bin/python bench/rfid_welcome.py [--taps 200]
"""

from __future__ import annotations

import argparse
import os
import time
import tty
from pathlib import Path

from harness import running_kiosk, sample_bundle, summary

from backend_client.feed import FeedEntry, FeedPage
from backend_client.members import MEMBERS_FILE, MemberDirectory, tag_hash
from content.bundle import load_bundle
from devices.protocols.rfid import encode_rdm6300, rfid_tag

KEY = os.urandom(32)
FOBS = tuple(10_000_000 + 1_111 * i for i in range(8))
# Eight members in turn: a fob comes back after 8 x --gap, past the reader's 1.5 s
# repeat window (the same fob sooner is one held fob, by design not a new read).


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--taps", type=int, default=200)
    parser.add_argument("--gap", type=float, default=0.3, help="seconds between taps")
    args = parser.parse_args()

    bundle_dir = sample_bundle(16)
    bundle = load_bundle(bundle_dir, verify_hashes=False)
    skus = [a.sku for a in bundle.planogram.slots]

    def prepare(data: Path) -> None:
        entries = tuple(
            FeedEntry(
                tag_hash(KEY, rfid_tag(fob)),
                f"0a1b2c3d-0000-4000-8000-00000000000{i}",
                "王芳" if i else None,
                tuple(skus[i * 3 : i * 3 + 3]),
                None,
            )
            for i, fob in enumerate(FOBS)
        )
        with MemberDirectory(data / MEMBERS_FILE) as directory:
            directory.apply(FeedPage(1, False, True, KEY, entries, ()))

    master, slave = os.openpty()
    tty.setraw(slave)
    latencies: list[float] = []
    try:
        extra = ["--rfid-port", os.ttyname(slave)]
        with running_kiosk(bundle_dir, extra, prepare) as kiosk:
            # Frames written before the reader opens the port wait in the pty: no wait needed.
            # Uncounted warm-up taps: the first welcome decodes its pictures in the foreground.
            for i in range(args.taps + 4):
                sent = time.monotonic()
                os.write(master, encode_rdm6300(FOBS[i % len(FOBS)]))
                paint = kiosk.trace.wait_for(
                    lambda x, sent=sent: (
                        x["kind"] == "paint"
                        and x["view"].startswith("welcome:")
                        and x["mono"] >= sent
                    )
                )
                if i >= 4:
                    latencies.append((paint["mono"] - sent) * 1000)
                time.sleep(args.gap)
    finally:
        os.close(master)
        os.close(slave)
    print(summary("fob frame -> first paint of the welcome", latencies))


if __name__ == "__main__":
    main()
