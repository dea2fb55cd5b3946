"""GUI stalls while the kiosk syncs: does the Qt event loop ever wait on the outbox or HQ?

    .venv/bin/python bench/sync_gui_stall.py [--events 10000] [--settle 3] [--attendants 3]

Builds the kiosk exactly as `kiosk` does (kiosk.app.build: attract loop running,
the relay child, which writes the outbox the kiosk hands it and syncs it, the store
channel's server child) on a data directory enrolled with a real `kiosk-hq serve`, has
`--attendants` attendants follow its store channel (`python -m
backend_client.channel.follow`, a process each), lets it settle, has another
process queue 10,000 events in its outbox and wakes the relay. A 1 ms precise
timer on the GUI thread records how late each tick comes while the relay drains
the outbox (and its status goes out on the channel to the attendants), then for
5 s once it is idle (the baseline: what the screen's own drawing costs). Target: no
stall over 16 ms (one frame) while syncing.

HQ shares this machine's cores with the kiosk here; in a store it is far away.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from harness import CACHE, percentile, sample_bundle  # noqa: E402
from helpers.hq_process import HqProcess  # noqa: E402
from PySide6.QtCore import Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from backend_client.channel.keys import write_store_key  # noqa: E402
from backend_client.client import enroll  # noqa: E402
from backend_client.credentials import save_credentials  # noqa: E402
from kiosk import theme  # noqa: E402
from kiosk.app import KioskOptions, build  # noqa: E402

TICK_MS = 1
FRAME_MS = 16.0
IDLE_SECONDS = 5.0
TIMEOUT_SECONDS = 120.0


FILL = """
import sys
from pathlib import Path
from helpers.events import records
from backend_client.crypto import PayloadCipher
from backend_client.outbox import Outbox
data, count = Path(sys.argv[1]), int(sys.argv[2])
with Outbox(data / "outbox.sqlite3", cipher=PayloadCipher.from_key_file(data / "outbox.key")) as o:
    o.append_many(records(count, seed=5))
"""


def follow(
    data: Path, store: str, url: str, work: Path, count: int
) -> list[subprocess.Popen[bytes]]:
    """`count` attendants following the kiosk at `url`, each a process writing its feed."""
    return [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "backend_client.channel.follow",
                "--data-dir",
                str(data),
                "--store",
                store,
                "--feed",
                str(work / f"attendant-{n}.jsonl"),
                "--kiosk",
                url,
            ],
            stderr=subprocess.DEVNULL,
        )
        for n in range(count)
    ]


def process_figures(pid: int) -> tuple[float, float]:
    """CPU seconds used and resident MiB of process `pid`."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    rss_pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return cpu, rss_pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--settle", type=float, default=3.0, help="seconds before syncing")
    parser.add_argument("--attendants", type=int, default=3, help="following the channel")
    args = parser.parse_args()

    work = CACHE / f"gui-stall-{uuid.uuid4().hex[:8]}"
    hq = HqProcess(work / "hq")
    hq.start()
    try:
        data = work / "kiosk"
        data.mkdir(parents=True)
        credentials = enroll(hq.base_url, hq.enroll_code("bench-store"))
        save_credentials(data, credentials)
        assert credentials.channel_key is not None, "an HQ from before the store channel"
        write_store_key(data, credentials.channel_key.key)  # as `kiosk enroll` does

        app = QApplication(sys.argv[:1])
        app.setFont(theme.ui_font())
        app.setStyleSheet(theme.STYLE_SHEET)
        options = KioskOptions(
            content=sample_bundle(16), data_dir=data, channel_host="127.0.0.1", channel_port=0
        )
        kiosk = build(options, app)
        assert kiosk.relay is not None
        assert kiosk.channel is not None
        assert kiosk.channel.server is not None
        relay, server = kiosk.relay, kiosk.channel.server
        gc.freeze()  # as kiosk.app.main does after building
        kiosk.window.resize(*theme.SCREEN_SIZE)
        kiosk.window.show()

        ticks: list[float] = []
        timer = QTimer()
        timer.setTimerType(Qt.TimerType.PreciseTimer)
        timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
        timer.start(TICK_MS)

        # The timeline, checked every 50 ms on the GUI thread (it only reads memory):
        # settle, queue the events from another process, wake the relay, wait for it
        # to report an empty outbox, then IDLE_SECONDS of baseline.
        marks: dict[str, float] = {"built": time.perf_counter()}
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "tests"), str(ROOT)]))
        filler: list[subprocess.Popen[bytes]] = []
        relay_figures: list[tuple[float, float]] = []
        followers: list[subprocess.Popen[bytes]] = []

        def step() -> None:
            now = time.perf_counter()
            if not followers and args.attendants:
                if server.port is None:
                    return  # the channel server is starting
                url = f"{credentials.kiosk_id}=http://127.0.0.1:{server.port}"
                followers.extend(follow(data, credentials.store_id, url, work, args.attendants))
                marks["built"] = now  # settle with the attendants connected
            if "filling" not in marks and now > marks["built"] + args.settle:
                marks["filling"] = now
                command = [sys.executable, "-c", FILL, str(data), str(args.events)]
                filler.append(subprocess.Popen(command, env=env))
            elif "syncing" not in marks and filler and filler[0].poll() is not None:
                if filler[0].returncode != 0:
                    app.exit(1)
                marks["syncing"] = now
                relay_figures.append(process_figures(relay.pid or 0))
                relay.wake()  # what the relay child's outbox writer does after each commit
            elif "drained" not in marks and "syncing" in marks:
                status = relay.status
                if status and status.pending == 0 and status.sent_total >= args.events:
                    marks["drained"] = now
                    relay_figures.append(process_figures(relay.pid or 0))
            elif "drained" in marks and now > marks["drained"] + IDLE_SECONDS:
                app.quit()
            if now > marks["built"] + TIMEOUT_SECONDS:
                print("timed out", marks)
                app.exit(1)

        check = QTimer()
        check.timeout.connect(step)
        check.start(50)
        code = app.exec()
        for follower in followers:
            follower.terminate()
            follower.wait(10)
        kiosk.close()
        if code != 0:
            return code

        def stalls(since: float, until: float) -> list[float]:
            span = [t for t in ticks if since <= t <= until]
            return [(b - a) * 1000 - TICK_MS for a, b in itertools.pairwise(span)]

        syncing = stalls(marks["syncing"], marks["drained"])
        idle = stalls(marks["drained"], marks["drained"] + IDLE_SECONDS)
        for label, values in (("while syncing", syncing), ("idle after", idle)):
            print(
                f"{label}: {len(values):,} ticks, stall p99 {percentile(values, 99):.2f} ms, "
                f"max {max(values):.1f} ms, over one frame ({FRAME_MS:.0f} ms): "
                f"{sum(v > FRAME_MS for v in values)}"
            )
        received = [
            len((work / f"attendant-{n}.jsonl").read_text().splitlines())
            for n in range(args.attendants)
        ]
        print(f"{args.attendants} attendants following the channel; messages each: {received}")
        (cpu_before, _), (cpu_after, rss) = relay_figures
        print(
            f"{args.events:,} events drained in {marks['drained'] - marks['syncing']:.1f} s; "
            f"relay process: {cpu_after - cpu_before:.1f} s CPU, {rss:.0f} MiB resident"
        )
    finally:
        hq.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
