"""Member fob -> welcome with the member's offer painted.

The same path as bench/rfid_welcome.py (an RDM6300 frame written on the pty, the
member directory as the relay keeps it from HQ's feed), for members with marketing
consent and the Gold tier, so each welcome also decides their offer (rewards.offers),
asks the reward desk in the relay child for their counts and shows the offer's card.
Measured to the card's first frame on screen ("welcome:N:offer" in the trace; its
220 ms fade starts there), and to the welcome's own first paint for comparison.
Target: p99 < 100 ms on a 2-core machine, offscreen.

    .venv/bin/python bench/offer_welcome.py [--taps 200]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import time
import tty
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness import running_kiosk, sample_bundle, summary

from backend_client.credentials import Credentials, save_credentials
from backend_client.feed import FeedEntry, FeedPage
from backend_client.members import MEMBERS_FILE, MemberDirectory, tag_hash
from content.bundle import load_bundle
from devices.protocols.rfid import encode_rdm6300, rfid_tag

KEY = os.urandom(32)
FOBS = tuple(10_000_000 + 1_111 * i for i in range(8))  # in turn: each tap a new session
COUPON_KEY = hashlib.sha256(b"bench kiosk 31").digest()


def offer_bundle() -> Path:
    """The generated sample bundle, with its member offers (made again if cached before
    bundles had offers)."""
    path = sample_bundle(16)
    if not (path / "offers.json").exists():
        shutil.rmtree(path)
        path = sample_bundle(16)
    return path


def both_paints(painted: dict[str, float], sent: float) -> Callable[[dict[str, Any]], bool]:
    """A trace matcher noting the welcome's and its offer's first paints after `sent`."""

    def match(line: dict[str, Any]) -> bool:
        view = str(line.get("view", ""))
        if line["kind"] == "paint" and view.startswith("welcome:") and line["mono"] >= sent:
            painted["offer" if view.endswith(":offer") else "welcome"] = line["mono"]
        return "offer" in painted and "welcome" in painted

    return match


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--taps", type=int, default=200)
    parser.add_argument("--gap", type=float, default=0.3, help="seconds between taps")
    args = parser.parse_args()

    bundle_dir = offer_bundle()
    bundle = load_bundle(bundle_dir, verify_hashes=False)
    skus = [a.sku for a in bundle.planogram.slots]

    def prepare(data: Path) -> None:
        # The reward desk needs the kiosk's number and coupon key (HQ is not reachable).
        save_credentials(
            data, Credentials("http://127.0.0.1:9", "store-1", "kiosk-1", "token", 31, COUPON_KEY)
        )
        entries = tuple(
            FeedEntry(
                tag_hash(KEY, rfid_tag(fob)),
                f"0a1b2c3d-0000-4000-8000-00000000000{i}",
                "王芳" if i else None,
                tuple(skus[i * 3 : i * 3 + 3]),
                tier="gold",
                marketing=True,
            )
            for i, fob in enumerate(FOBS)
        )
        with MemberDirectory(data / MEMBERS_FILE) as directory:
            directory.apply(FeedPage(1, False, True, KEY, entries, ()))

    master, slave = os.openpty()
    tty.setraw(slave)
    offers: list[float] = []
    welcomes: list[float] = []
    try:
        extra = ["--rfid-port", os.ttyname(slave)]
        with running_kiosk(bundle_dir, extra, prepare) as kiosk:
            # Uncounted warm-up taps: the first welcome decodes its pictures, the desk
            # opens its ledger and the offer card's module loads.
            for i in range(args.taps + 4):
                sent = time.monotonic()
                os.write(master, encode_rdm6300(FOBS[i % len(FOBS)]))
                # One wait for both paints: lines read together must not be lost between two.
                painted: dict[str, float] = {}
                welcomed = both_paints(painted, sent)
                kiosk.trace.wait_for(welcomed, 30)
                if i >= 4:
                    welcomes.append((painted["welcome"] - sent) * 1000)
                    offers.append((painted["offer"] - sent) * 1000)
                time.sleep(args.gap)
    finally:
        os.close(master)
        os.close(slave)
    print(summary("fob frame -> first paint of the welcome", welcomes))
    print(summary("fob frame -> member offer painted on the welcome", offers))


if __name__ == "__main__":
    main()
