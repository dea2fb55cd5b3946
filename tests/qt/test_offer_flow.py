"""A member offer end to end at the touchscreen: the real kiosk (controller, reward desk
in the relay child writing the real outbox) with the sample bundle's offers, and the
receipt printer driver on the printer simulator's pty. The coupon's QR is read off the
screen and off the printed ticket by a real decoder (zxing-cpp), and verifies."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from helpers.bundles import sample_bundle
from helpers.qr import decode_qr
from helpers.qt_kiosk import themed
from helpers.touch import tap
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from backend_client.credentials import Credentials, save_credentials
from backend_client.crypto import PayloadCipher
from backend_client.outbox import Outbox
from devices.printer import PAPER_DOTS
from devices.sim.printer import PrinterSim, Ticket
from kiosk import theme
from kiosk.app import DEFAULT_TIMEZONE, Kiosk, KioskOptions, build
from kiosk.session import CouponView, MemberArrived, MemberVisit, OfferStep, SessionConfig
from rewards.codes import parse_code

KIOSK_NO = 23
COUPON_KEY = hashlib.sha256(b"kiosk 23").digest()
# A Gold member with marketing consent, no birthday this month, seen this month already:
# of the sample offers, the Gold members' accessories coupon is hers.
GOLD = MemberVisit(
    "0a1b2c3d-0000-4000-8000-0000000000bb",
    "王芳",
    (),
    marketing=True,
    tier="gold",
    birth_month=None,
    last_seen=datetime.now(ZoneInfo(DEFAULT_TIMEZONE)),
)


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sample_bundle(tmp_path_factory.mktemp("offer-flow") / "bundle")


class Paper:
    """The tickets the simulator cut, as they come."""

    def __init__(self) -> None:
        self.tickets: list[Ticket] = []
        self._lock = threading.Lock()

    def __call__(self, ticket: Ticket) -> None:
        with self._lock:
            self.tickets.append(ticket)


@pytest.fixture
def printer(tmp_path: Path) -> Iterator[tuple[PrinterSim, Paper]]:
    paper = Paper()
    sim = PrinterSim(
        dots=PAPER_DOTS[80],
        out_dir=tmp_path / "tickets",
        link=tmp_path / "printer",
        on_ticket=paper,
    )
    sim.start()
    yield sim, paper
    sim.stop()


def start_kiosk(
    qtbot: QtBot, qapp: QApplication, bundle_dir: Path, tmp_path: Path, printer_port: str
) -> Kiosk:
    data = tmp_path / "data"
    data.mkdir()
    save_credentials(
        data, Credentials("http://127.0.0.1:9", "store-1", "kiosk-1", "token", KIOSK_NO, COUPON_KEY)
    )
    themed(qapp)
    options = KioskOptions(
        content=bundle_dir,
        data_dir=data,
        trace=tmp_path / "trace.jsonl",
        channel=False,
        printer_port=printer_port,
        session=SessionConfig(drop_grace=30.0),
    )
    kiosk = build(options, qapp)
    kiosk.window.resize(*theme.SCREEN_SIZE)
    kiosk.window.show()
    qtbot.waitExposed(kiosk.window)
    return kiosk


def outbox_records(kiosk: Kiosk, data: Path) -> list[dict[str, object]]:
    assert kiosk.outbox.flush()
    cipher = PayloadCipher.from_key_file(data / "outbox.key")
    with Outbox(data / "outbox.sqlite3", cipher=cipher) as outbox:
        return [{**r.payload, "kind": r.kind} for r in outbox.read_batch(limit=500).records]


def verify(text: str) -> None:
    today = datetime.now(ZoneInfo(DEFAULT_TIMEZONE)).date()
    parse_code(text, {KIOSK_NO: COUPON_KEY}.get, today=today)


def test_a_member_takes_their_offer_sends_it_to_their_phone_and_prints_it(
    qtbot: QtBot,
    qapp: QApplication,
    bundle_dir: Path,
    tmp_path: Path,
    printer: tuple[PrinterSim, Paper],
) -> None:
    sim, paper = printer
    kiosk = start_kiosk(qtbot, qapp, bundle_dir, tmp_path, sim.port)
    window = kiosk.window
    try:
        qtbot.waitUntil(lambda: kiosk.controller.state.printer_ready, timeout=10_000)
        qtbot.waitUntil(lambda: kiosk.outbox.connected, timeout=10_000)  # the desk is there
        kiosk.bridge.post(MemberArrived(GOLD, deliberate=True))  # her fob, recognised
        qtbot.waitUntil(window.welcome.isVisible, timeout=3000)
        # The desk's first answer opens its ledger: seconds on a loaded machine.
        qtbot.waitUntil(lambda: window.welcome.hero is not None, timeout=20_000)
        hero = window.welcome.hero
        assert hero is not None
        qtbot.waitUntil(hero.take.isVisible, timeout=5000)
        assert hero.title.text() == "金卡会员专享：配件8折"
        tap(hero.take)

        qtbot.waitUntil(window.coupon.isVisible, timeout=20_000)
        view = kiosk.controller.state.view
        assert isinstance(view, CouponView)
        assert view.offer == "gold-accessories"
        shown = window.coupon.code.text()
        read = decode_qr(window.coupon.qr.grab().toImage())
        assert read == shown.replace("-", "")
        verify(read)

        assert window.coupon.send.isVisible()
        tap(window.coupon.send)
        # The relay cannot reach HQ here: the text waits for the store to be back online.
        qtbot.waitUntil(window.coupon.phone_note.isVisible, timeout=2000)
        assert window.coupon.phone_note.text() == "门店网络恢复后，短信将发送到您的手机"
        assert not window.coupon.send.isEnabled()  # sent: no second text

        assert window.coupon.print.isVisible()
        tap(window.coupon.print)
        qtbot.waitUntil(lambda: window.coupon.print_note.text() == "请在下方取券", timeout=15_000)
        assert not window.coupon.print.isEnabled()  # one ticket per coupon
        qtbot.waitUntil(lambda: len(paper.tickets) == 1, timeout=5000)
        (ticket,) = paper.tickets
        assert ticket.qr_codes is not None
        assert ticket.qr_codes == (shown,)  # the paper's QR is the issued code
        verify(ticket.qr_codes[0])

        records = outbox_records(kiosk, tmp_path / "data")
        kinds = [r["kind"] for r in records]
        for kind in ("offer_shown", "coupon_issued", "offer_text_requested", "offer_printed"):
            assert kinds.count(kind) == 1, kind
        (issued,) = [r for r in records if r["kind"] == "coupon_issued"]
        assert (issued["reason"], issued["offer"], issued["code"]) == (
            "offer",
            "gold-accessories",
            shown,
        )
        (texted,) = [r for r in records if r["kind"] == "offer_text_requested"]
        assert (texted["code"], texted["member_id"], texted["language"]) == (
            shown,
            GOLD.member_id,
            "zh-CN",
        )
        assert kiosk.controller.state.offer is not None
        assert kiosk.controller.state.offer.step is OfferStep.TAKEN
        # The phone number is nowhere on the kiosk: the request names the member only.
        assert "phone" not in texted
    finally:
        kiosk.close()


def test_the_print_button_goes_while_the_printer_is_out_of_paper(
    qtbot: QtBot,
    qapp: QApplication,
    bundle_dir: Path,
    tmp_path: Path,
    printer: tuple[PrinterSim, Paper],
) -> None:
    sim, _ = printer
    kiosk = start_kiosk(qtbot, qapp, bundle_dir, tmp_path, sim.port)
    window = kiosk.window
    try:
        qtbot.waitUntil(lambda: kiosk.controller.state.printer_ready, timeout=10_000)
        qtbot.waitUntil(lambda: kiosk.outbox.connected, timeout=10_000)  # the desk is there
        kiosk.bridge.post(MemberArrived(GOLD, deliberate=True))
        qtbot.waitUntil(lambda: window.welcome.hero is not None, timeout=20_000)
        hero = window.welcome.hero
        assert hero is not None
        qtbot.waitUntil(hero.take.isVisible, timeout=5000)
        tap(hero.take)
        qtbot.waitUntil(window.coupon.isVisible, timeout=20_000)
        assert window.coupon.print.isVisible()
        sim.set_paper_out(True)
        qtbot.waitUntil(lambda: not window.coupon.print.isVisible(), timeout=10_000)
        assert window.coupon.send.isVisible()  # the phone and the QR remain
        sim.set_paper_out(False)
        qtbot.waitUntil(window.coupon.print.isVisible, timeout=10_000)
    finally:
        kiosk.close()
