"""Keyboard window: the tap that opens the sign-up form -> the keyboard's first frame.

Each run is a fresh kiosk process on a real X server (the first keyboard of a process
is the one that costs: its QML loads, and Qt must not re-create the window for it). In
that process a tap on 注册会员 opens the age question, and the timer starts at the tap on
已满 14 周岁, which brings the form and its keyboard; it stops when the keyboard's first
frame has been painted with its keys laid out. Also reported: the kiosk window's X id
before and after, which must not change (a change is a re-created window: a black
frame and a lost tap), and the process's RSS with the keyboard up. Needs DISPLAY
(`./run bench` starts Xvfb); no target yet.

    .venv/bin/python bench/keyboard_window.py [--runs 20]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from harness import ROOT, sample_bundle, summary


def one_run(bundle: Path) -> dict[str, float]:
    """In this process: start the kiosk, open the form, time its keyboard's first frame."""
    # Imported here: the parent process never starts Qt.
    from PySide6.QtCore import QEvent, QObject, Qt  # noqa: PLC0415
    from PySide6.QtTest import QTest  # noqa: PLC0415
    from PySide6.QtWidgets import QApplication, QWidget  # noqa: PLC0415

    from kiosk import theme  # noqa: PLC0415
    from kiosk.app import KioskOptions, build  # noqa: PLC0415
    from kiosk.screens.text_entry import input_method_environment  # noqa: PLC0415

    os.environ.update(input_method_environment())
    app = QApplication([])
    app.setFont(theme.ui_font())
    app.setStyleSheet(theme.STYLE_SHEET)
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-") as data:
        kiosk = build(KioskOptions(content=bundle, data_dir=Path(data)), app)
        window = kiosk.window
        window.resize(*theme.SCREEN_SIZE)
        window.show()
        assert QTest.qWaitForWindowExposed(window)

        def tap(widget: QWidget) -> None:  # through the native window, as a touch is
            handle = window.windowHandle()
            at = widget.mapTo(window, widget.rect().center())
            QTest.mouseClick(handle, Qt.MouseButton.LeftButton, Qt.KeyboardModifier(0), at)

        def wait_for(condition: Callable[[], object], timeout: float = 10) -> None:
            deadline = time.monotonic() + timeout
            while not condition():
                if time.monotonic() > deadline:
                    raise TimeoutError("the kiosk did not get there")
                QTest.qWait(1)

        x_window = int(window.winId())
        tap(window.attract.join_button)
        wait_for(window.signup.age_yes.isVisible)
        QTest.qWait(200)  # the age question laid out and painted, as a shopper reads it
        painted: list[float] = []

        class FirstFrame(QObject):
            def eventFilter(self, watched: QObject, event: QEvent) -> bool:
                keyboard = window.signup.keyboard
                if watched is keyboard and event.type() == QEvent.Type.Paint and not painted:
                    root = keyboard.rootObject() if keyboard is not None else None
                    if root is not None and root.property("panelHeight"):
                        painted.append(time.monotonic())
                return False

        spy = FirstFrame()
        app.installEventFilter(spy)  # only here: the keyboard does not exist before the tap
        tapped = time.monotonic()
        tap(window.signup.age_yes)
        wait_for(lambda: bool(painted))
        QTest.qWait(500)  # a re-created window would have come by now
        result = {
            "ms": (painted[0] - tapped) * 1000,
            "window_recreated": float(int(window.winId()) != x_window),
            "rss_mb": _rss_bytes() / 2**20,
        }
        app.removeEventFilter(spy)
        kiosk.close()
    return result


def _rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(one_run(args.child)))
        return
    if not os.environ.get("DISPLAY"):
        sys.exit("keyboard_window: needs an X server (DISPLAY); ./run bench starts Xvfb")
    bundle = sample_bundle(16)
    env = dict(os.environ, QT_QPA_PLATFORM="xcb", PYTHONPATH=str(ROOT))
    times: list[float] = []
    recreated = 0
    rss: list[float] = []
    for _ in range(args.runs):
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(bundle)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])
        times.append(result["ms"])
        recreated += int(result["window_recreated"])
        rss.append(result["rss_mb"])
    print(summary("tap 已满 14 周岁 -> keyboard's first frame", times))
    print(f"kiosk RSS with the keyboard on screen: median {statistics.median(rss):.0f} MB")
    print(f"kiosk window re-created when the keyboard appeared: {recreated} of {args.runs} runs")


if __name__ == "__main__":
    main()
