"""Render the shopper screens to PNG files for the README (and for looking at them).

Runs the real kiosk wiring on the offscreen platform with the sample bundle,
plays lifts through the device bridge, and grabs the window after each step.

    .venv/bin/python scripts/screenshots.py [OUT_DIR] [--attendant-only | --console-only]
                                                (default docs/screenshots)

The attendant app's screens (docs/screenshots/attendant-*.png) come from
scripts/attendant_shots.py, after the kiosk's; HQ's web console pages
(docs/screenshots/console-*.png) from scripts/console_shots.py, last.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_IM_MODULE", "qtvirtualkeyboard")
os.environ.setdefault("QT_VIRTUALKEYBOARD_DESKTOP_DISABLE", "1")

from datetime import date

import attendant_shots  # scripts/ is on sys.path when this script runs
import console_shots
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from content.model import Language
from content.store import ContentStore
from devices.events import Dropped, Lifted
from kiosk import theme
from kiosk.app import Kiosk, KioskOptions, build
from kiosk.session import (
    IssuedCoupon,
    MemberArrived,
    MemberLeft,
    MemberVisit,
    RewardReady,
    SessionConfig,
)
from kiosk.survey import Answer
from rewards.codes import issue_code

ROOT = Path(__file__).resolve().parent.parent


def settle(app: QApplication, seconds: float) -> None:
    # QTest.qWait runs the loop in C++; PySide6 6.12's Python processEvents() is unsafe
    # while other threads run (see kiosk/images.py).
    QTest.qWait(round(seconds * 1000))


Shot = Callable[[str], None]


def main() -> None:
    args = [arg for arg in sys.argv[1:] if not arg.startswith("--")]
    attendant_only = "--attendant-only" in sys.argv[1:]
    out = Path(args[0]) if args else ROOT / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    if "--console-only" in sys.argv[1:]:
        console_shots.shoot(out)
        return
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
        if attendant_only:
            installed = ContentStore(Path(tmp) / "content").install(bundle)
            attendant_shots.shoot(app, installed, Path(tmp) / "attendant", out)
            return
        kiosk = build(KioskOptions(content=bundle, data_dir=Path(tmp) / "data"), app)
        kiosk.window.resize(*theme.SCREEN_SIZE)
        kiosk.window.show()

        def shot(name: str) -> None:
            settle(app, 0.4)
            kiosk.window.grab().save(str(out / f"{name}.png"))
            print(out / f"{name}.png")

        settle(app, 1.0)
        browsing(app, kiosk, shot)
        member(app, kiosk, shot)
        signing_up(app, kiosk, shot)
        surveying(kiosk, shot)
        kiosk.close()
        installed = ContentStore(Path(tmp) / "content").install(bundle)
        attendant_shots.shoot(app, installed, Path(tmp) / "attendant", out)
    console_shots.shoot(out)


def browsing(app: QApplication, kiosk: Kiosk, shot: Shot) -> None:
    shot("attract")
    kiosk.bridge.post(Lifted(3, time.monotonic()))
    shot("product")
    kiosk.bridge.post(Lifted(7, time.monotonic()))
    shot("compare")
    kiosk.bridge.post(Dropped(7, time.monotonic()))
    settle(app, 0.3)
    card = next(c for c in kiosk.window.product.related.cards if c.slot.isVisible())
    kiosk.controller.recommendation_tapped(card.sku, "related")
    shot("locate")
    kiosk.controller.language_chosen(Language.EN)
    shot("product-en")
    kiosk.bridge.post(Dropped(3, time.monotonic()))
    settle(app, SessionConfig().drop_grace + 0.5)  # back to attract, session over


def member(app: QApplication, kiosk: Kiosk, shot: Shot) -> None:
    assert kiosk.bundle is not None
    looked_at = tuple(kiosk.bundle.sku_on_slot(slot) or "" for slot in (3, 7, 10))
    visit = MemberVisit("demo-member", "王芳", looked_at)
    kiosk.bridge.post(MemberArrived(visit, deliberate=True))  # as a fob tap brings it
    shot("welcome")
    kiosk.controller.draw_opened("daily-draw")
    shot("draw")
    code = issue_code(
        bytes(32), campaign_no=3, kiosk_no=17, serial=4711, expires_on=date(2026, 12, 23)
    )
    coupon = IssuedCoupon(code.text, "phone-200", code.expires_on)
    kiosk.bridge.post(RewardReady(kiosk.controller.state.number, coupon, prize="grand"))
    shot("coupon")
    kiosk.controller.flow_closed()  # back to her welcome
    kiosk.bridge.post(MemberLeft(visit.member_id))  # her tag leaves: session over
    settle(app, 0.3)


def signing_up(app: QApplication, kiosk: Kiosk, shot: Shot) -> None:
    """The age question, then the form with its keyboard and a number a digit short."""
    kiosk.controller.signup_opened()
    shot("signup-age")
    kiosk.controller.age_answered(True)
    signup = kiosk.window.signup
    signup.phone.edit.setText("138 0013 800")
    signup.name.edit.setFocus()
    signup.name.edit.setText("王")
    signup.submit.click()
    shot("signup-form")
    kiosk.controller.flow_closed()
    settle(app, 0.3)


def surveying(kiosk: Kiosk, shot: Shot) -> None:
    kiosk.controller.survey_opened("visit")
    shot("survey")
    kiosk.controller.survey_answered(Answer(score=4))
    shot("survey-nps")
    kiosk.controller.flow_closed()


if __name__ == "__main__":
    main()
