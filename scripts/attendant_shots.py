"""The attendant app's screens for docs/screenshots (called by scripts/screenshots.py).

Builds the real app (kiosk/attendant/app.py build) on a throwaway data dir and feeds its
desk the channel messages three kiosks of a store would send on a busy afternoon, the
kiosks' catalogs from the sample bundle, and a few staff; then grabs each page at
1280x800. Messages go in directly (no kiosk processes): what is drawn is the same.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from backend_client.channel.client import KioskEndpoint, KioskState, KioskStatus
from backend_client.channel.commands import (
    CatalogProduct,
    KioskCatalog,
    PlanogramSlot,
)
from backend_client.channel.execute import catalog_labels
from content.bundle import Bundle
from content.model import Language
from kiosk.attendant.app import AttendantOptions, StoreAccess, build
from kiosk.attendant.look import SCREEN_SIZE
from kiosk.attendant.model import PlainMessage
from kiosk.attendant.staff import PinHasher, Role, StaffMember, StaffSource
from kiosk.attendant.till import Claimed
from kiosk.attendant.till_page import TillPage
from kiosk.attendant.window import Page
from rewards.codes import issue_code, kiosk_key, store_key

STORE = "sh-nanjing-road"
KIOSKS = (f"{STORE}-k1", f"{STORE}-k2", f"{STORE}-k3")
STORE_COUPON_KEY = store_key(b"demo chain coupon secret........", STORE)


class Quiet:
    def play(self) -> None:
        pass


def catalog_of(bundle: Bundle, kiosk: str, edited: Mapping[int, tuple[str, str]]) -> KioskCatalog:
    """What the kiosk's server answers (backend_client/channel/execute.py), with `edited`
    slots: {slot: (sku, by)}."""
    at = datetime.now(UTC) - timedelta(minutes=42)
    return KioskCatalog(
        kiosk,
        bundle.release,
        tuple(
            CatalogProduct(p.sku, p.name.zh_cn, p.name.en, p.brand) for p in bundle.catalog.products
        ),
        tuple(
            PlanogramSlot(
                a.slot,
                edited[a.slot][0] if a.slot in edited else a.sku,
                a.sku,
                edited[a.slot][1] if a.slot in edited else None,
                at if a.slot in edited else None,
            )
            for a in sorted(bundle.planogram.slots, key=lambda a: a.slot)
        ),
        catalog_labels(bundle),
    )


def shoot(app: QApplication, bundle: Bundle, data_dir: Path, out: Path) -> None:
    app.setStyleSheet("")  # the kiosk's sheet is for the shopper's screen
    hasher = PinHasher()
    clock_offset = [0.0]

    def clock() -> float:
        return time.monotonic() + clock_offset[0]

    attendant = build(
        AttendantOptions(data_dir=data_dir, discover=False, sync=False),
        app,
        StoreAccess(STORE, None, STORE_COUPON_KEY),
        player=Quiet(),
        clock=clock,
        hasher=hasher,
        claim=lambda kiosk, _hash, _by: Claimed(kiosk),
    )
    console, window = attendant.console, attendant.window
    window.resize(*SCREEN_SIZE)
    window.show()

    def shot(name: str) -> None:
        QTest.qWait(400)
        path = out / f"attendant-{name}.png"
        window.grab().save(str(path))
        print(path)

    # Staff: the manager who set the device up, and two attendants.
    manager = StaffMember(
        "st-3f9a21c0", "李静", Role.MANAGER, hasher.hash("2468"), StaffSource.LOCAL
    )
    staff = [
        manager,
        StaffMember("st-8c1d07e2", "王磊", Role.ATTENDANT, hasher.hash("1357"), StaffSource.LOCAL),
        StaffMember(
            "st-51aa9b3f", "陈晓雯", Role.ATTENDANT, hasher.hash("8642"), StaffSource.LOCAL
        ),
    ]
    now = datetime.now(UTC)
    for member in staff:
        attendant.store.add_staff(member, by=None if member is manager else manager.id, at=now)
    console.start()  # again: the staff list is read at start
    window.signin.choose(manager.id)
    for digit in "24":
        window.signin.pad.keys[digit].click()
    shot("signin")

    window.signin.type_pin("68")
    for kiosk in KIOSKS:
        console.links.found(KioskEndpoint(kiosk, "http://127.0.0.1:8765"))
        console.on_status(KioskStatus(kiosk, KioskState.LIVE))
    console.links.status(KioskStatus(KIOSKS[2], KioskState.DOWN, "stream ended"))
    edited = {3: (bundle.catalog.products[4].sku, manager.id)}
    for kiosk in KIOSKS:
        console.names.learn(catalog_of(bundle, kiosk, edited if kiosk == KIOSKS[0] else {}))
    feed_the_desk(console.desk.receive, bundle)
    QTest.qWait(200)
    # One alert was seen to by the manager a minute ago.
    first_alert = console.desk.state.open_alerts()[-1]
    clock_offset[0] += 38
    console.desk.staff_id = manager.id
    console.desk.acknowledge(first_alert.id)
    clock_offset[0] += 2
    window.show_page(Page.FEED)
    shot("feed")
    window.show_page(Page.ALERTS)
    shot("alerts")
    window.show_page(Page.HEALTH)
    shot("health")

    window.show_page(Page.TILL)
    code = issue_code(
        kiosk_key(STORE_COUPON_KEY, 17),
        campaign_no=3,
        kiosk_no=17,
        serial=4711,
        expires_on=date.today() + timedelta(days=14),
    ).text
    for text in ("7K2M-Q9TX-0000-0000-0000-0000", code):
        redeem(window.till, text)
    shot("till")
    redeem(window.till, code)
    shot("till-used")

    window.show_page(Page.PLANOGRAM)
    QTest.qWait(1500)  # the fetch from the (absent) kiosk fails first
    catalog = console.names.catalog(KIOSKS[0])
    assert catalog is not None
    console._show_catalog(catalog)  # what the fetch would show (no kiosk process here)
    window.planogram.show_message("")
    window.planogram.choose(5, bundle.catalog.products[9].sku)
    shot("planogram")
    window.show_page(Page.STAFF)
    shot("staff")
    window.show_page(Page.THRESHOLDS)
    shot("thresholds")
    console.set_language(Language.EN)
    window.show_page(Page.FEED)
    shot("feed-en")
    console.set_language(Language.ZH_CN)
    console.sign_out("tapped")
    for _ in range(3):
        window.signin.choose(staff[1].id)
        window.signin.type_pin("0000")
    shot("locked-out")
    attendant.close()
    window.close()


def redeem(till: TillPage, text: str) -> None:
    """Type the code and Enter, then wait for the answer (the till works on a thread)."""
    before = till.recent.count()
    till.scan.setText(text)
    till.scan.returnPressed.emit()
    deadline = time.monotonic() + 20
    while till.recent.count() == before and time.monotonic() < deadline:
        QTest.qWait(50)


def feed_the_desk(receive: Callable[[PlainMessage], None], bundle: Bundle) -> None:
    sku = [p.sku for p in bundle.catalog.products]
    start = datetime.now(UTC) - timedelta(minutes=9)
    seqs = dict.fromkeys(KIOSKS, 0)

    def send(
        kiosk: str, minute: float, kind: str, data: dict[str, object], alert: bool = False
    ) -> None:
        seqs[kiosk] += 1
        at = start + timedelta(minutes=minute)
        receive(PlainMessage(1, STORE, kiosk, seqs[kiosk], at, kind, alert, data))

    k1, k2, k3 = KIOSKS
    for n, kiosk in enumerate(KIOSKS):
        send(kiosk, 0, "content", {"release": bundle.release})
        send(kiosk, 0.1, "sync", {"backlog": [0, 3, 41][n], "dead_letters": [0, 0, 2][n]})
        send(kiosk, 0.2, "device", {"device": "pickup", "status": "up", "detail": ""})
        send(kiosk, 0.2, "device", {"device": "rfid", "status": "up", "detail": ""})
        send(kiosk, 0.3, "heartbeat", {"uptime_s": 3600})
    send(k3, 0.4, "device", {"device": "ble", "status": "reconnecting", "detail": "hci0 reset"})
    # HQ's next release on its way to one kiosk: the health page's update bar.
    send(
        k2,
        0.5,
        "content",
        {
            "release": bundle.release,
            "state": "downloading",
            "number": 12,
            "bytes_done": 318_767_104,
            "bytes_total": 524_288_000,
        },
    )
    send(k2, 1.0, "lift", {"session": "s1", "slot": 5, "sku": sku[4]})
    send(k2, 1.5, "drop", {"session": "s1", "slot": 5, "sku": sku[4], "dwell_ms": 23_000})
    send(k2, 2.0, "signup", {"session": "s2"})
    send(k1, 2.5, "coupon_issued", {"session": "s3", "campaign": "phone-200"})
    send(
        k3,
        3.0,
        "survey_answer",
        {
            "session": "s4",
            "survey": "visit",
            "question": "q1",
            "kind": "faces",
            "score": 1,
            "low": True,
        },
        alert=True,
    )
    send(k1, 4.0, "prize_won", {"session": "s5", "draw": "daily-draw", "prize": "grand"})
    send(k1, 5.0, "comparison", {"session": "s6", "skus": [sku[0], sku[8]]})
    send(k2, 6.0, "alarm", {"slot": 4, "reason": "CABLE", "sku": sku[3]}, alert=True)
    send(k1, 7.0, "lift", {"session": "s7", "slot": 3, "sku": sku[4]})
    send(
        k1,
        8.5,
        "member_arrived",
        {"session": "s8", "greeting": "王芳", "last_viewed": [sku[2], sku[6]], "via": "rfid"},
    )
    send(
        k2,
        8.8,
        "member_arrived",
        {"session": "s9", "greeting": None, "last_viewed": [sku[10]], "via": "ble"},
    )
    for kiosk in (k1, k2):
        send(kiosk, 8.9, "heartbeat", {"uptime_s": 4200})
