"""The attendant under a busy store: what one channel message costs on its GUI thread.

    .venv/bin/python bench/attendant_feed.py [--messages 5000] [--kiosks 20]

Feeds lifts, drops, member arrivals, heartbeats and an alarm now and then from
`--kiosks` kiosks into `kiosk.attendant.model.step` (the feed full at its bound),
then, for `--redraws` more, steps and redraws the attendant screen (offscreen) after each.

Target: a message well under 1 ms in the model; a redraw under one 60 Hz frame
(16 ms), so a store's worth of kiosks never makes the tablet lag. Figures are
median, p99 and max in microseconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from harness import percentile  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from content.model import Language  # noqa: E402
from kiosk.attendant.model import AttendantState, PlainMessage, Received, step  # noqa: E402
from kiosk.attendant.screen import SCREEN_SIZE, AttendantScreen  # noqa: E402

STORE = "sh-nanjing-road"
T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def messages(count: int, kiosks: int) -> list[PlainMessage]:
    made = []
    for n in range(count):
        kiosk, seq = f"{STORE}-k{n % kiosks}", n // kiosks + 1
        session = f"s{n // 7}"
        match n % 11:
            case 0:
                kind, data = "heartbeat", {"uptime_s": n}
            case 1:
                kind, data = (
                    "member_arrived",
                    {"session": session, "greeting": None, "last_viewed": ["XH-N1"], "via": "ble"},
                )
            case 5 if n % 77 == 5:
                kind, data = "alarm", {"slot": 3, "reason": "CABLE", "sku": "LY-A5"}
            case _ if n % 2:
                kind, data = "lift", {"session": session, "slot": n % 8, "sku": "XH-N1"}
            case _:
                kind, data = (
                    "drop",
                    {"session": session, "slot": n % 8, "sku": None, "dwell_ms": 900},
                )
        at = T0 + timedelta(milliseconds=100 * n)
        made.append(PlainMessage(1, STORE, kiosk, seq, at, kind, False, data))
    return made


def report(name: str, micros: list[float]) -> None:
    print(
        f"{name}: median {statistics.median(micros):.0f} us, "
        f"p99 {percentile(micros, 99):.0f} us, max {max(micros):.0f} us ({len(micros)} calls)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--kiosks", type=int, default=20)
    parser.add_argument("--redraws", type=int, default=200)
    args = parser.parse_args()

    app = QApplication.instance() or QApplication([])
    state, costs = AttendantState(STORE), []
    feed = messages(args.messages + args.redraws, args.kiosks)
    for n, each in enumerate(feed[: args.messages]):
        started = time.perf_counter()
        state = step(state, Received(each), n * 0.1).state
        costs.append((time.perf_counter() - started) * 1e6)
    report("model step", costs[len(costs) // 2 :])  # the second half: feed at its bound
    print(f"  feed {len(state.feed)} entries, {len(state.open_alerts())} open alerts")

    screen = AttendantScreen()
    screen.resize(*SCREEN_SIZE)
    screen.show()
    screen.show_state(state, Language.ZH_CN, args.messages * 0.1)
    app.processEvents()
    redraws = []
    for n, each in enumerate(feed[args.messages :], start=args.messages):
        started = time.perf_counter()
        state = step(state, Received(each), n * 0.1).state
        screen.show_state(state, Language.ZH_CN, n * 0.1)
        app.processEvents()
        redraws.append((time.perf_counter() - started) * 1e6)
    report("message + screen redraw", redraws)
    screen.close()


if __name__ == "__main__":
    main()
