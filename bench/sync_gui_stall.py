"""GUI stalls while the kiosk syncs: does the Qt event loop ever wait on the outbox or HQ?

    .venv/bin/python bench/sync_gui_stall.py [--events 10000]

Builds the kiosk exactly as `kiosk` does (kiosk.app.build: attract loop running,
outbox writer and sync relay threads) on a data directory enrolled with a real
`kiosk-hq serve` and holding 10,000 queued events, then ticks a 1 ms precise
timer on the GUI thread and records how late each tick comes, first while the
relay drains the outbox, then for 5 s once it is idle (the baseline: what the
screen's own drawing costs). Target: no stall over 16 ms (one frame) while syncing.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import os
import sys
import threading
import time
import uuid
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from harness import CACHE, percentile, sample_bundle  # noqa: E402
from helpers.events import records  # noqa: E402
from helpers.hq_process import HqProcess  # noqa: E402
from PySide6.QtCore import Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from backend_client.client import enroll  # noqa: E402
from backend_client.credentials import save_credentials  # noqa: E402
from backend_client.crypto import PayloadCipher  # noqa: E402
from backend_client.outbox import Outbox  # noqa: E402
from kiosk import theme  # noqa: E402
from kiosk.app import KioskOptions, build  # noqa: E402

TICK_MS = 1
FRAME_MS = 16.0
IDLE_SECONDS = 5.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    args = parser.parse_args()

    work = CACHE / f"gui-stall-{uuid.uuid4().hex[:8]}"
    hq = HqProcess(work / "hq")
    hq.start()
    try:
        data = work / "kiosk"
        data.mkdir(parents=True)
        save_credentials(data, enroll(hq.base_url, hq.enroll_code("bench-store")))
        cipher = PayloadCipher.from_key_file(data / "outbox.key")
        with Outbox(data / "outbox.sqlite3", cipher=cipher) as outbox:
            outbox.append_many(records(args.events, seed=5))

        app = QApplication(sys.argv[:1])
        app.setFont(theme.ui_font())
        app.setStyleSheet(theme.STYLE_SHEET)
        options = KioskOptions(content=sample_bundle(16), data_dir=data)
        kiosk = build(options, app)
        gc.freeze()  # as kiosk.app.main does after building
        kiosk.window.resize(*theme.SCREEN_SIZE)
        kiosk.window.show()

        # Watches the outbox from a thread of its own, so the GUI thread never reads it.
        drained = threading.Event()
        drained_at: list[float] = []

        def watch() -> None:
            with Outbox(data / "outbox.sqlite3") as outbox:
                while outbox.count() > 0:
                    time.sleep(0.05)
            drained_at.append(time.perf_counter())
            drained.set()

        threading.Thread(target=watch, daemon=True).start()
        ticks: list[float] = []
        timer = QTimer()
        timer.setTimerType(Qt.TimerType.PreciseTimer)
        timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
        timer.start(TICK_MS)
        started = time.perf_counter()
        check = QTimer()

        def maybe_quit() -> None:
            if drained.is_set() and time.perf_counter() > drained_at[0] + IDLE_SECONDS:
                app.quit()

        check.timeout.connect(maybe_quit)
        check.start(50)
        app.exec()
        kiosk.close()

        def stalls(since: float, until: float) -> list[float]:
            span = [t for t in ticks if since <= t <= until]
            return [(b - a) * 1000 - TICK_MS for a, b in itertools.pairwise(span)]

        syncing = stalls(started, drained_at[0])
        idle = stalls(drained_at[0], drained_at[0] + IDLE_SECONDS)
        for label, values in (("while syncing", syncing), ("idle after", idle)):
            print(
                f"{label}: {len(values):,} ticks, stall p99 {percentile(values, 99):.2f} ms, "
                f"max {max(values):.1f} ms, over one frame ({FRAME_MS:.0f} ms): "
                f"{sum(v > FRAME_MS for v in values)}"
            )
        print(f"{args.events:,} events drained in {drained_at[0] - started:.1f} s")
    finally:
        hq.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
