"""Lift latency: `LIFT n` written on the pty -> first paint of that product screen.

A separate process (this one) plays the pickup board on a pseudo-terminal and
reads the kiosk's trace for the first-paint line of the lifted phone's screen.
Target: p99 <= 20 ms on a 2-core machine, offscreen.

    .venv/bin/python bench/lift_latency.py [--lifts 300] [--enrolled] [--noisy]

--enrolled: the kiosk is enrolled with its store key, so it also runs its relay child,
writes the store channel on its writer thread (a heartbeat every 5 s) and serves it
from its server child.
--noisy: a loose connector and a chatty board: lines of garbage bytes and the board's
STATE heartbeat go down the same wire between (and around) the lifts, as a real
cabinet's do; the reader must skip them without delaying the lift behind them.
"""

from __future__ import annotations

import argparse
import os
import random
import threading
import time
from contextlib import nullcontext

from harness import ROOT, KioskUnderTest, channel_args, enrol, running_kiosk, sample_bundle, summary

from content.bundle import load_bundle

NOISE_EVERY_S = 0.05  # a line of garbage this often: far noisier than a real cabinet
STATE_EVERY_S = 0.5  # the board's STATE line (it sends one every couple of seconds)
_GARBAGE = bytes(range(0x80, 0x100)) + bytes(b for b in range(0x20) if b != 0x0A)


class Chatter:
    """Writes noise lines and STATE heartbeats on the board's side of the pty, from a
    thread of its own, so they land before, between and during the lifts."""

    def __init__(self, master: int, lock: threading.RLock) -> None:
        self._master = master
        self._lock = lock
        self._stop = threading.Event()
        self._lifted: set[int] = set()
        self._thread = threading.Thread(target=self._run, name="chatter", daemon=True)
        self.lines = 0

    def send(self, kiosk: KioskUnderTest, line: str, lifted: set[int]) -> float:
        """Write a LIFT or DROP and change what STATE says with it, in one step: a STATE
        that ran ahead of its LIFT would show the phone before the line we time."""
        with self._lock:
            self._lifted = set(lifted)
            return kiosk.write(line)

    def __enter__(self) -> Chatter:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        rng = random.Random(17)
        next_state = time.monotonic()
        while not self._stop.wait(NOISE_EVERY_S):
            lines = [bytes(rng.choices(_GARBAGE, k=rng.randint(4, 40))) + b"\n"]
            if time.monotonic() >= next_state:
                next_state += STATE_EVERY_S
                mask = sum(1 << (slot - 1) for slot in self._lifted)
                lines.append(f"STATE {mask:X}\n".encode())
            with self._lock:
                for line in lines:
                    os.write(self._master, line)
            self.lines += len(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lifts", type=int, default=300)
    parser.add_argument("--hold", type=float, default=0.2, help="seconds a phone stays lifted")
    parser.add_argument("--enrolled", action="store_true", help="with the store channel")
    parser.add_argument("--noisy", action="store_true", help="noise and STATE lines too")
    args = parser.parse_args()
    prepare, extra = (enrol, channel_args()) if args.enrolled else (None, [])

    bundle_dir = sample_bundle(16)
    bundle = load_bundle(bundle_dir, verify_hashes=False)
    slots = [(a.slot, a.sku) for a in bundle.planogram.slots]
    latencies: list[float] = []
    with running_kiosk(bundle_dir, extra, prepare) as kiosk:
        # A store's first shopper arrives long after the pictures were decoded and the
        # cabinet's product panels prepared in the background: wait for exactly that
        # (kiosks from before prepared panels have no such line), then one uncounted pass.
        if '"prepared"' in (ROOT / "kiosk" / "app.py").read_text():
            kiosk.trace.wait_for(lambda line: line["kind"] == "prepared", 30)
        for slot, sku in slots:
            kiosk.lift(slot, sku)
            kiosk.drop(slot)
        lock = threading.RLock()
        kiosk.write_lock = lock  # our lines and the chatter's never interleave mid-line
        chatter = Chatter(kiosk.master, lock)
        with chatter if args.noisy else nullcontext():
            for i in range(args.lifts):
                slot, sku = slots[i % len(slots)]
                sent = chatter.send(kiosk, f"LIFT {slot}", {slot})
                latencies.append(kiosk.painted_after(f"product:{sku}", sent))
                time.sleep(args.hold)
                chatter.send(kiosk, f"DROP {slot}", set())
                kiosk.drain()
                time.sleep(0.05)
    mode = " (noise and STATE lines interleaved)" if args.noisy else ""
    print(summary("lift -> first paint" + mode, latencies))
    if args.noisy:
        print(f"chatter: {chatter.lines} noise and STATE lines written")


if __name__ == "__main__":
    main()
