"""The live content switch: a staged release ready -> first paint of its attract screen.

    .venv/bin/python bench/content_switch.py [--switches 20] [--products 10000]

Builds the kiosk exactly as `kiosk` does (kiosk.app.build, offscreen, attract loop
running) on a data directory holding a release of `--products` phones, then, for each
switch, stages a new release of the same size as the relay child's updater does
(ContentStore.stage: hard links, not timed) and tells the kiosk the way the relay's
status line does (`RelayProcess(on_content=...)`, called here from another thread as
the supervisor thread calls it). Timed: that call -> the window's first paint of the
new attract screen (the worker activates and loads the release, reads the store's
planogram edits and decodes the first slide; the GUI thread swaps it in). A 1 ms
precise timer on the GUI thread records its longest stall during the switches.
Target: < 200 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from harness import percentile, sample_bundle, summary  # noqa: E402
from PySide6.QtCore import Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from backend_client.status import ContentStatus  # noqa: E402
from content.store import ContentStore  # noqa: E402
from kiosk import theme  # noqa: E402
from kiosk.app import KioskOptions, build  # noqa: E402

TICK_MS = 1
TIMEOUT_S = 30.0
SETTLE_S = 0.5  # between switches: the attract loop runs on, as in a store


def release_source(base: Path, out: Path, name: str) -> Path:
    """`base` as release `name`: hard links to its files, a manifest of its own."""
    for path in base.rglob("*"):
        target = out / path.relative_to(base)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif path.name != "manifest.json":
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(path, target)
    manifest = json.loads((base / "manifest.json").read_text())
    manifest["release"] = name
    (out / "manifest.json").write_text(json.dumps(manifest))
    return out


def wait(app: QApplication, done: threading.Event | None, until: float) -> None:
    while (done is None or not done.is_set()) and time.monotonic() < until:
        app.processEvents()
        time.sleep(0.0005)
    if done is not None and not done.is_set():
        raise TimeoutError("the kiosk did not paint the new release in time")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--switches", type=int, default=20)
    parser.add_argument("--products", type=int, default=10_000)
    args = parser.parse_args()

    base = sample_bundle(args.products)
    work = Path(tempfile.mkdtemp(prefix="bench-switch-"))
    data = work / "data"
    store = ContentStore(data / "content")
    store.install(base)

    app = QApplication(sys.argv[:1])
    app.setFont(theme.ui_font())
    app.setStyleSheet(theme.STYLE_SHEET)
    kiosk = build(KioskOptions(data_dir=data, trace=work / "trace.jsonl"), app)
    kiosk.window.resize(*theme.SCREEN_SIZE)
    kiosk.window.show()
    switch = kiosk.content_switch
    assert switch is not None

    painted = threading.Event()
    paint_at: list[float] = []
    swapped_at: list[float] = []

    def on_paint(view: str, mono: float) -> None:
        if view == "attract" and swapped_at and not painted.is_set():
            paint_at.append(mono)
            painted.set()

    kiosk.window.first_paint.connect(on_paint)
    switch.switched.connect(lambda _ready: swapped_at.append(time.monotonic()))
    wait(app, None, time.monotonic() + 2.0)  # started, first paint, preloads under way

    stalls: list[float] = []
    last = [time.monotonic()]

    def tick() -> None:
        now = time.monotonic()
        stalls.append((now - last[0]) * 1000 - TICK_MS)
        last[0] = now

    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.timeout.connect(tick)

    to_paint: list[float] = []
    to_swap: list[float] = []
    gui_stalls: list[float] = []
    for number in range(1, args.switches + 1):
        name = f"hq-{number}"
        source = release_source(base, work / "sources" / name, name)
        store.stage(source, number=number, not_before=None)
        painted.clear()
        paint_at.clear()
        swapped_at.clear()
        stalls.clear()
        last[0] = time.monotonic()
        timer.start(TICK_MS)
        status = ContentStatus((name,), None, None)
        told = time.monotonic()
        threading.Thread(target=switch.on_content, args=(status,)).start()
        wait(app, painted, time.monotonic() + TIMEOUT_S)
        timer.stop()
        to_paint.append((paint_at[0] - told) * 1000)
        to_swap.append((swapped_at[0] - told) * 1000)
        gui_stalls.append(max(stalls, default=0.0))
        assert kiosk.bundle is not None
        assert kiosk.bundle.release == name
        wait(app, None, time.monotonic() + SETTLE_S)
        store.prune(keep=2)

    kiosk.close()
    print(f"catalog: {args.products} products; {args.switches} switches")
    print(summary("staged release ready -> first paint of the new attract", to_paint))
    print(summary("  of which ready -> swapped in on the GUI thread", to_swap))
    print(
        f"GUI thread's longest stall per switch (1 ms timer): median "
        f"{statistics.median(gui_stalls):.1f} ms, p99 {percentile(gui_stalls, 99):.1f} ms, "
        f"max {max(gui_stalls):.1f} ms"
    )


if __name__ == "__main__":
    main()
