"""The till: a USB scanner types the shopper's code into the focused field, Enter
redeems it; the result panel says what happened. Codes come from rewards.codes with
kiosk keys derived from the store's coupon key, as HQ hands them out."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import argon2
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from backend_client.crypto import PayloadCipher
from backend_client.outbox import Outbox
from backend_client.relay_process import KEY_FILE, OUTBOX_FILE
from kiosk.attendant.app import Attendant, AttendantOptions, StoreAccess, build
from kiosk.attendant.staff import Action, PinHasher
from kiosk.attendant.till import Claim, TillOutcome
from kiosk.attendant.window import Page
from rewards.codes import issue_code, kiosk_key, store_key

HASHER = PinHasher(argon2.PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
STORE = "sh-nanjing-road"
STORE_COUPON_KEY = store_key(b"chain coupon secret, HQ only....", STORE)
TODAY = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


class SilentPlayer:
    def play(self) -> None:
        pass


def code(serial: int, *, kiosk_no: int = 17, expires_on: date = date(2026, 12, 31)) -> str:
    return issue_code(
        kiosk_key(STORE_COUPON_KEY, kiosk_no),
        campaign_no=3,
        kiosk_no=kiosk_no,
        serial=serial,
        expires_on=expires_on,
    ).text


def open_till(
    qtbot: QtBot, qapp: QApplication, data_dir: Path, claim: Claim | None = None
) -> Attendant:
    built = build(
        AttendantOptions(data_dir=data_dir, discover=False, sync=False),
        qapp,
        StoreAccess(STORE, None, STORE_COUPON_KEY),
        player=SilentPlayer(),
        hasher=HASHER,
        wall_clock=lambda: TODAY,
        claim=claim,
    )
    qtbot.addWidget(built.window)
    built.window.resize(1280, 800)
    built.window.show()
    qtbot.waitExposed(built.window)
    built.window.activateWindow()
    signin = built.window.signin
    signin.name.setText("李店长")
    signin.type_pin("2468")
    signin.type_pin("2468")
    built.window.show_page(Page.TILL)
    return built


@pytest.fixture
def attendant(qtbot: QtBot, qapp: QApplication, tmp_path: Path) -> Iterator[Attendant]:
    built = open_till(qtbot, qapp, tmp_path / "attendant")
    yield built
    built.close()


def scan(qtbot: QtBot, attendant: Attendant, text: str) -> None:
    """As a keyboard-wedge scanner does: keystrokes into whatever has the focus, then
    Enter. Nobody taps the field first."""
    page = attendant.window.till
    qtbot.waitUntil(lambda: QApplication.focusWidget() is page.scan)
    before = page.recent.count()
    QTest.keyClicks(QApplication.focusWidget(), text.replace("-", ""))
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: page.recent.count() == before + 1, timeout=10_000)


def reports_for_hq(data_dir: Path) -> list[dict[str, object]]:
    cipher = PayloadCipher.from_key_file(data_dir / KEY_FILE)
    with Outbox(data_dir / OUTBOX_FILE, cipher=cipher) as outbox:
        return [dict(r.payload) for r in outbox.pending() if r.kind == "coupon_redeemed"]


def test_a_scanned_code_is_redeemed_once_and_queued_for_hq_once(
    qtbot: QtBot, attendant: Attendant, tmp_path: Path
) -> None:
    page = attendant.window.till
    valid = code(4711)
    scan(qtbot, attendant, valid)
    assert page.last is not None
    assert page.last.outcome is TillOutcome.REDEEMED
    assert page.result_title.text() == "核销成功"
    assert "未连上本店终端" in page.result_body.text()  # no kiosk followed: said so
    scan(qtbot, attendant, valid)
    assert page.last.outcome is TillOutcome.ALREADY
    assert page.result_title.text() == "此券已使用"
    assert "李店长" in page.result_body.text()
    assert "本机" in page.result_body.text()
    (report,) = reports_for_hq(tmp_path / "attendant")
    assert report["code"] == valid
    me = attendant.store.staff()[0]
    assert report["by"] == me.id
    redeemed = [r for r in attendant.store.actions() if r.action is Action.REDEEM]
    assert [r.detail for r in redeemed] == ["already", "redeemed offline"]
    assert all(r.staff_id == me.id for r in redeemed)


@pytest.mark.parametrize(
    ("typed", "outcome", "title"),
    [
        (code(1)[:-1] + ("0" if code(1)[-1] != "0" else "1"), TillOutcome.FORGED, "无效券码"),
        (code(2, expires_on=date(2026, 12, 5)), TillOutcome.EXPIRED, "已过期"),
        ("HELLO-WORLD", TillOutcome.MALFORMED, "不是券码"),
    ],
)
def test_a_code_that_cannot_be_honoured_says_why_and_reaches_nobody(
    qtbot: QtBot,
    attendant: Attendant,
    tmp_path: Path,
    typed: str,
    outcome: TillOutcome,
    title: str,
) -> None:
    page = attendant.window.till
    scan(qtbot, attendant, typed)
    assert page.last is not None
    assert page.last.outcome is outcome
    assert page.result_title.text() == title
    assert reports_for_hq(tmp_path / "attendant") == []


def test_a_typed_code_with_hyphens_and_lower_case_is_redeemed(
    qtbot: QtBot, attendant: Attendant
) -> None:
    page = attendant.window.till
    page.scan.setText(code(99).lower())
    page.redeem.click()
    qtbot.waitUntil(lambda: page.last is not None, timeout=10_000)
    assert page.last is not None
    assert page.last.outcome is TillOutcome.REDEEMED
