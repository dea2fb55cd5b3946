"""Member BLE tag -> welcome: the first advertisement over the enter threshold -> first paint.

The kiosk process runs with `--ble` against a mocked BlueZ on a private D-Bus
(devices/sim/ble.py, the real bleak scanner inside the kiosk) and a member
directory holding the tags' members. Each round one member's iBeacon tag
(advertising every --interval seconds) either
- approaches: heard far away (-90 dBm) five times, then steps up (-55 dBm), or
- walks in: first heard already near (-55 dBm),
and the time from that first strong advertisement to the first paint of the
welcome is taken; then the tag falls silent and the kiosk returns to attract.
Target: at most one advertising interval + 100 ms.

    .venv/bin/python bench/ble_welcome.py [--rounds 20] [--interval 0.2]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

from harness import running_kiosk, sample_bundle, summary

from backend_client.feed import FeedEntry, FeedPage
from backend_client.members import MEMBERS_FILE, MemberDirectory, tag_hash
from content.bundle import load_bundle
from devices.events import TagId, TagKind
from devices.sim.ble import MockBluez, missing_requirements

KEY = os.urandom(32)
BEACON_UUID = uuid.UUID("6f1c3a52-2b7e-4c1d-9a55-0d3e5b1f7a10")
NEAR, FAR = -55.0, -90.0
FAR_ADVERTISEMENTS = 5  # heard far away long enough to fill the smoothing window


def tag(minor: int) -> TagId:
    return TagId(TagKind.IBEACON, f"{BEACON_UUID}:1:{minor}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--interval", type=float, default=0.2, help="advertising interval, s")
    args = parser.parse_args()
    missing = missing_requirements()
    if missing:
        print(f"skipped: {missing}")
        return 0

    bundle_dir = sample_bundle(16)
    skus = [a.sku for a in load_bundle(bundle_dir, verify_hashes=False).planogram.slots]

    def prepare(data: Path) -> None:
        entries = tuple(
            FeedEntry(
                tag_hash(KEY, tag(i)),
                str(uuid.UUID(int=i + 1)),
                None,
                tuple(skus[i % 9 : i % 9 + 3]),
                None,
            )
            for i in range(args.rounds + 1)
        )
        with MemberDirectory(data / MEMBERS_FILE) as directory:
            directory.apply(FeedPage(1, False, True, KEY, entries, ()))

    results: dict[str, list[float]] = {"approach": [], "walk-in": []}
    with MockBluez(interval=args.interval) as bluez:
        env = {"DBUS_SYSTEM_BUS_ADDRESS": bluez.bus_address}
        with running_kiosk(bundle_dir, ["--ble"], prepare, env) as kiosk:
            # Round 0 is not counted: it waits for the scanner to start and decodes the
            # welcome's pictures for the first time.
            for i in range(args.rounds + 1):
                name = f"member{i}"
                scenario = "approach" if i % 2 == 0 else "walk-in"
                if scenario == "approach":
                    bluez.add_ibeacon(name, BEACON_UUID, 1, i, rssi=FAR)
                    while bluez.advertisements(name) < FAR_ADVERTISEMENTS:
                        time.sleep(0.01)
                    sent = time.monotonic()
                    bluez.set_rssi(name, NEAR)
                else:
                    sent = time.monotonic()
                    bluez.add_ibeacon(name, BEACON_UUID, 1, i, rssi=NEAR)
                paint = kiosk.trace.wait_for(
                    lambda x, sent=sent: (
                        x["kind"] == "paint"
                        and x["view"].startswith("welcome:")
                        and x["mono"] >= sent
                    ),
                    30,
                )
                if i > 0:
                    results[scenario].append((paint["mono"] - sent) * 1000)
                bluez.away(name)  # silent: the member leaves, their welcome ends
                kiosk.trace.wait_for(lambda x: x["kind"] == "paint" and x["view"] == "attract", 15)
    for scenario, values in results.items():
        print(summary(f"BLE {scenario}: first strong advertisement -> welcome", values))
    print(f"target: one advertising interval + 100 ms = {args.interval * 1000 + 100:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
