"""Render the shopper screens to PNG files for the README (and for looking at them).

Runs the real kiosk wiring on the offscreen platform with the sample bundle,
plays lifts through the device bridge, and grabs the window after each step, in
each of the kiosk's shapes (kiosk/theme.py SCREEN_SHAPES): landscape as NAME.png,
portrait as NAME-portrait.png; and the attract loop on a 3840x2160 panel, shown at
device pixel ratio 2 as the kiosk chooses it (kiosk/display.py), as attract-4k.png.

    .venv/bin/python scripts/screenshots.py [OUT_DIR] [--kiosk-only | --attendant-only
                                                | --console-only | --maintenance-only]
                                                (default docs/screenshots)

The staff maintenance screen (maintenance*.png) is shot with the kiosk's, or alone.

The attendant app's screens (docs/screenshots/attendant-*.png) come from
scripts/attendant_shots.py, after the kiosk's; HQ's web console pages
(docs/screenshots/console-*.png) from scripts/console_shots.py, last.
"""

from __future__ import annotations

import json
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

from datetime import UTC, date, datetime, timedelta

import attendant_shots  # scripts/ is on sys.path when this script runs
import console_shots
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from backend_client.credentials import Credentials, save_credentials
from backend_client.status import ContentStatus, SyncState, SyncStatus
from content.model import ConsentPurpose, Language
from content.store import ContentStore
from devices.events import DeviceHealth, Dropped, HealthStatus, Lifted
from kiosk import display, theme
from kiosk.app import Kiosk, KioskOptions, build
from kiosk.attendant.staff import PinHasher
from kiosk.maintenance import save_pin
from kiosk.screens.maintenance import MaintenanceScreen
from kiosk.session import (
    HqLinkChanged,
    IssuedCoupon,
    MemberArrived,
    MemberLeft,
    MemberVisit,
    RewardReady,
    SessionConfig,
    TagPresented,
)
from kiosk.signup import SignupForm
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
    flags = {arg for arg in sys.argv[1:] if arg.startswith("--")}
    out = Path(args[0]) if args else ROOT / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    if "--console-only" in flags:
        console_shots.shoot(out)
        return
    if "--attract-4k" in flags:  # in a process of its own: Qt takes the ratio as it starts
        with tempfile.TemporaryDirectory() as tmp:
            shoot_attract(Path(tmp), out)
        return
    app = QApplication([])
    app.setFont(theme.ui_font())
    app.setStyleSheet(theme.STYLE_SHEET)
    with tempfile.TemporaryDirectory() as tmp:
        bundle = sample(Path(tmp))
        if "--maintenance-only" in flags:
            for shape, size in theme.SCREEN_SHAPES.items():
                suffix = "" if shape == "landscape" else f"-{shape}"
                shoot_maintenance(app, bundle, Path(tmp) / shape, size, out, suffix=suffix)
            return
        if "--attendant-only" in flags:
            installed = ContentStore(Path(tmp) / "content").install(bundle)
            attendant_shots.shoot(app, installed, Path(tmp) / "attendant", out)
            return
        for shape, size in theme.SCREEN_SHAPES.items():
            suffix = "" if shape == "landscape" else f"-{shape}"
            shoot_kiosk(app, bundle, Path(tmp) / shape, size, out, suffix=suffix)
        shoot_4k(out)
        if "--kiosk-only" in flags:
            return
        installed = ContentStore(Path(tmp) / "content").install(bundle)
        attendant_shots.shoot(app, installed, Path(tmp) / "attendant", out)
    console_shots.shoot(out)


def sample(tmp: Path) -> Path:
    bundle = tmp / "bundle"
    if not bundle.exists():
        subprocess.run(
            [sys.executable, "-m", "content.sample", str(bundle)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return bundle


def shoot_kiosk(
    app: QApplication, bundle: Path, data: Path, size: tuple[int, int], out: Path, *, suffix: str
) -> None:
    """Every shopper screen, in a window of `size` that no screen may grow."""
    # Enrolled (HQ itself is not there): the reward desk issues real codes for the offer.
    data.mkdir(parents=True, exist_ok=True)
    save_credentials(
        data, Credentials("http://127.0.0.1:9", "demo-store", "kiosk-1", "token", 17, bytes(32))
    )
    kiosk = build(KioskOptions(content=bundle, data_dir=data), app)
    kiosk.window.setFixedSize(*size)
    kiosk.window.show()

    def shot(name: str) -> None:
        settle(app, 0.4)
        grabbed = kiosk.window.grab()
        assert (grabbed.width(), grabbed.height()) == size, f"{name}: window is {grabbed.size()}"
        grabbed.save(str(out / f"{name}{suffix}.png"))
        print(out / f"{name}{suffix}.png")

    settle(app, 1.0)
    browsing(app, kiosk, shot)
    member(app, kiosk, shot)
    member_offer(app, kiosk, shot)
    signing_up(app, kiosk, shot)
    surveying(app, kiosk, shot)
    kiosk.bridge.post(TagPresented(None, "rfid"))  # a fob that recognises no one
    shot("fob")
    kiosk.close()
    shoot_maintenance(app, bundle, data.with_name(data.name + "-maint"), size, out, suffix=suffix)


def shoot_maintenance(
    app: QApplication, bundle: Path, data: Path, size: tuple[int, int], out: Path, *, suffix: str
) -> None:
    """The staff maintenance screen: its PIN pad, then its sections with the relay's
    reports as a kiosk backing off from an unreachable HQ has them."""
    save_pin(data, "4821", PinHasher())
    kiosk = build(KioskOptions(content=bundle, data_dir=data), app)
    kiosk.window.setFixedSize(*size)
    kiosk.window.show()
    settle(app, 1.0)
    door = kiosk.maintenance
    assert door is not None
    door.open()  # as the hidden gesture does (tests/qt/test_maintenance.py makes it)
    screen = kiosk.window.overlay
    assert isinstance(screen, MaintenanceScreen)
    for name in ("maintenance-pin", "maintenance"):
        if name == "maintenance":
            screen.pin.pad.keys["C"].click()
            screen.pin.type_pin("4821")
            ago = datetime.now(UTC) - timedelta(minutes=4)
            door.on_sync(SyncStatus(SyncState.BACKING_OFF, 23, 0, ago, 40.0, 310))
            door.on_content(ContentStatus((), (13, 3_200_000, 8_000_000), None))
            settle(app, 1.2)  # the screen's refresh
            assert screen.current_page() is screen.sections
        else:
            for digit in "48":
                screen.pin.pad.keys[digit].click()
        settle(app, 0.4)
        grabbed = kiosk.window.grab()
        grabbed.save(str(out / f"{name}{suffix}.png"))
        print(out / f"{name}{suffix}.png")
    kiosk.close()


def shoot_4k(out: Path) -> None:
    """attract-4k.png: this script again, on an offscreen 3840x2160 panel."""
    width, height = 3840, 2160
    panel = {"name": "4K", "x": 0, "y": 0, "width": width, "height": height}
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "screens.json"
        config.write_text(json.dumps({"screens": [{**panel, "logicalDpi": 96, "dpr": 1}]}))
        ratio = display.pixel_ratio_for(width, height)
        env = dict(
            os.environ,
            QT_QPA_PLATFORM=f"offscreen:configfile={config}",
            QT_SCREEN_SCALE_FACTORS=f"{panel['name']}={ratio}",
        )
        subprocess.run(
            [sys.executable, __file__, str(out), "--attract-4k"], check=True, env=env, cwd=ROOT
        )


def shoot_attract(tmp: Path, out: Path) -> None:
    app = QApplication([])
    app.setFont(theme.ui_font())
    app.setStyleSheet(theme.STYLE_SHEET)
    screen = app.primaryScreen()
    kiosk = build(KioskOptions(content=sample(tmp), data_dir=tmp / "data"), app)
    display.cover(kiosk.window, screen)
    settle(app, 1.4)
    grabbed = kiosk.window.grab()
    ratio = grabbed.devicePixelRatio()
    grabbed.save(str(out / "attract-4k.png"))
    print(out / "attract-4k.png", f"{grabbed.width()}x{grabbed.height()} at ratio {ratio:g}")
    kiosk.close()


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
    last_time = datetime.now(UTC) - timedelta(days=3)  # her last visit, as HQ's feed says
    visit = MemberVisit("demo-member", "王芳", looked_at, last_seen=last_time)
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


def member_offer(app: QApplication, kiosk: Kiosk, shot: Shot) -> None:
    """A member with marketing consent who looked at Xinghe phones: the sample bundle's
    offer for them features one; taken, its coupon with send and print (issue 20)."""
    assert kiosk.bundle is not None
    looked_at = tuple(kiosk.bundle.sku_on_slot(slot) or "" for slot in (3, 7, 10))
    visit = MemberVisit(
        "7a3c1f00-0000-4000-8000-00000000d3e0",
        "王芳",
        looked_at,
        last_seen=datetime.now(UTC) - timedelta(days=3),
        personalised=True,
        marketing=True,
        tier="gold",
    )
    # The receipt printer is ready and HQ reachable: Print shows, the text goes soon.
    kiosk.bridge.post(DeviceHealth("printer", HealthStatus.UP, time.monotonic()))
    kiosk.bridge.post(HqLinkChanged(True))
    kiosk.bridge.post(MemberArrived(visit, deliberate=True))
    deadline = time.monotonic() + 20  # the reward desk's first answer opens its ledger
    while kiosk.window.welcome.hero is None and time.monotonic() < deadline:
        settle(app, 0.1)
    settle(app, 0.4)  # the card's fade
    shot("welcome-offer")
    kiosk.controller.offer_taken()
    deadline = time.monotonic() + 20
    while not kiosk.window.coupon.isVisible() and time.monotonic() < deadline:
        settle(app, 0.1)
    shot("offer-coupon")
    kiosk.controller.offer_text_asked()
    shot("offer-coupon-sent")
    kiosk.controller.flow_closed()
    kiosk.bridge.post(MemberLeft(visit.member_id))
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
    form = SignupForm(
        phone="139 1234 5678",
        name="王芳",
        consents=frozenset({ConsentPurpose.MEMBERSHIP, ConsentPurpose.MARKETING}),
    )
    kiosk.controller.signup_submitted(form)
    shot("signup-done")
    kiosk.controller.flow_closed()
    settle(app, 0.3)


def surveying(app: QApplication, kiosk: Kiosk, shot: Shot) -> None:
    kiosk.controller.survey_opened("visit")
    shot("survey")
    kiosk.controller.survey_answered(Answer(score=4))
    shot("survey-nps")
    kiosk.controller.flow_closed()
    settle(app, 0.3)
    smiley(kiosk, shot)


def smiley(kiosk: Kiosk, shot: Shot) -> None:
    """Back on the attract loop: a face pressed, and its thank-you."""
    kiosk.window.attract.faces[3].click()
    shot("attract-thanks")


if __name__ == "__main__":
    main()
