"""Render the shopper screens to PNG files for the README (and for looking at them).

Runs the real kiosk wiring on the offscreen platform with the sample bundle,
plays lifts through the device bridge, and grabs the window after each step.

    .venv/bin/python scripts/screenshots.py [OUT_DIR]   (default docs/screenshots)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from content.model import Language
from devices.events import Dropped, Lifted
from kiosk import theme
from kiosk.app import KioskOptions, build
from kiosk.session import MemberArrived, MemberVisit, SessionConfig

ROOT = Path(__file__).resolve().parent.parent


def settle(app: QApplication, seconds: float) -> None:
    # QTest.qWait runs the loop in C++; PySide6 6.12's Python processEvents() is unsafe
    # while other threads run (see kiosk/images.py).
    QTest.qWait(round(seconds * 1000))


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication([])
    app.setFont(theme.ui_font())
    app.setStyleSheet(theme.STYLE_SHEET)
    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp) / "bundle"
        subprocess.run(
            [sys.executable, "-m", "content.sample", str(bundle)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        kiosk = build(KioskOptions(content=bundle, data_dir=Path(tmp) / "data"), app)
        window = kiosk.window
        window.resize(*theme.SCREEN_SIZE)
        window.show()

        def shot(name: str) -> None:
            settle(app, 0.4)
            window.grab().save(str(out / f"{name}.png"))
            print(out / f"{name}.png")

        settle(app, 1.0)
        shot("attract")
        kiosk.bridge.post(Lifted(3, time.monotonic()))
        shot("product")
        kiosk.bridge.post(Lifted(7, time.monotonic()))
        shot("compare")
        kiosk.bridge.post(Dropped(7, time.monotonic()))
        settle(app, 0.3)
        card = next(c for c in window.product.related.cards if c.slot.isVisible())
        kiosk.controller.recommendation_tapped(card.sku, "related")
        shot("locate")
        kiosk.controller.language_chosen(Language.EN)
        shot("product-en")
        kiosk.bridge.post(Dropped(3, time.monotonic()))
        settle(app, SessionConfig().drop_grace + 0.5)  # back to attract, session over
        assert kiosk.bundle is not None
        looked_at = tuple(kiosk.bundle.sku_on_slot(slot) or "" for slot in (3, 7, 10))
        member = MemberVisit("demo-member", "王芳", looked_at)
        kiosk.bridge.post(MemberArrived(member, deliberate=True))  # as a fob tap brings it
        shot("welcome")
        kiosk.close()


if __name__ == "__main__":
    main()
