"""The kiosk as the sign-up tests start it, and the taps that bring up its form."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from backend_client.credentials import Credentials, save_credentials
from backend_client.feed import FeedPage
from backend_client.members import MEMBERS_FILE, MemberDirectory
from content.bundle import Bundle
from devices.sim.rfid import RfidReaderSim
from helpers.keyboard import type_keys
from helpers.qt_kiosk import themed
from helpers.touch import tap
from kiosk import theme
from kiosk.app import Kiosk, KioskOptions, build
from kiosk.session import SessionConfig

TAG_KEY = bytes(range(32))  # the chain's key for hashing fobs, as HQ's member feed gives it


def start_kiosk(
    qtbot: QtBot,
    qapp: QApplication,
    bundle: tuple[Path, Bundle],
    tmp_path: Path,
    *,
    reader: RfidReaderSim | None = None,
    pickup_port: str | None = None,
    session: SessionConfig | None = None,
    credentials: Credentials | None = None,
) -> Kiosk:
    """`credentials`: what enrolment gives (a coupon key: the kiosk issues coupons)."""
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    if credentials is not None:
        save_credentials(data, credentials)
    with MemberDirectory(data / MEMBERS_FILE) as directory:
        directory.apply(FeedPage(1, False, True, TAG_KEY, (), ()))
    themed(qapp)
    options = KioskOptions(
        content=bundle[0],
        data_dir=data,
        pickup_port=pickup_port,
        rfid_port=None if reader is None else reader.port,
        trace=tmp_path / "trace.jsonl",
        session=session or SessionConfig(),
    )
    kiosk = build(options, qapp)
    kiosk.window.resize(*theme.SCREEN_SIZE)
    kiosk.window.show()
    qtbot.waitExposed(kiosk.window)
    return kiosk


def answer_age(qtbot: QtBot, kiosk: Kiosk) -> None:
    """On the sign-up screen: tap "14 or older" and wait for the form and its keyboard."""
    window = kiosk.window
    tap(window.signup.age_yes)
    qtbot.waitUntil(window.signup.phone.edit.isVisible, timeout=2000)
    keyboard = window.signup.keyboard
    assert keyboard is not None
    assert keyboard.ready
    qtbot.waitUntil(keyboard.isVisible, timeout=2000)


def open_form(qtbot: QtBot, kiosk: Kiosk) -> None:
    """From the attract loop: tap "join", then "14 or older"."""
    window = kiosk.window
    tap(window.attract.join_button)
    qtbot.waitUntil(window.signup.isVisible, timeout=2000)
    answer_age(qtbot, kiosk)


def type_into(qtbot: QtBot, kiosk: Kiosk, field_name: str, keys: str) -> None:
    """Tap a form field, then its text's keys on the on-screen keyboard."""
    field = getattr(kiosk.window.signup, field_name)
    tap(field.edit)
    qtbot.waitUntil(field.edit.hasFocus, timeout=1000)
    keyboard = kiosk.window.signup.keyboard
    assert keyboard is not None
    type_keys(qtbot, keyboard, keys)


def set_shape(qtbot: QtBot, kiosk: Kiosk, shape: str) -> None:
    """Give the window one of the kiosk's screen shapes ("landscape", "portrait"), fixed
    as a full-screen window is: no screen can grow it."""
    kiosk.window.setFixedSize(*theme.SCREEN_SHAPES[shape])
    qtbot.waitUntil(
        lambda: kiosk.window.size().toTuple() == theme.SCREEN_SHAPES[shape], timeout=2000
    )
