"""Two attendant apps follow the same real kiosk channel server (a process on loopback):
an alarm sounds and is acknowledged on one and closes on the other; a coupon redeemed at
one is refused at the other, with no HQ anywhere; a planogram edit reaches the kiosk."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import argon2
import pytest
from helpers.bundles import sample_bundle
from helpers.channel import KEY, STORE, Kiosk
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from backend_client.channel.keys import StoreKeys
from backend_client.channel.planogram import load_edits
from backend_client.crypto import PayloadCipher
from backend_client.outbox import Outbox
from backend_client.relay_process import KEY_FILE, OUTBOX_FILE
from content.bundle import Bundle
from content.store import ContentStore
from kiosk.attendant.app import Attendant, AttendantOptions, StoreAccess, build
from kiosk.attendant.staff import Action, PinHasher
from kiosk.attendant.till import TillOutcome
from kiosk.attendant.window import Page
from rewards.codes import issue_code, kiosk_key, store_key

pytestmark = pytest.mark.slow

HASHER = PinHasher(argon2.PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
STORE_COUPON_KEY = store_key(b"chain coupon secret, HQ only....", STORE)
WAIT_MS = 30_000  # generous for a loaded machine; passing waits take well under a second
K1 = f"{STORE}-k1"


class CountingPlayer:
    def __init__(self) -> None:
        self.played = 0

    def play(self) -> None:
        self.played += 1


@pytest.fixture
def content(tmp_path: Path) -> tuple[Path, Bundle]:
    root = tmp_path / "content"
    bundle = ContentStore(root).install(sample_bundle(tmp_path / "bundle"))
    return root, bundle


@pytest.fixture
def kiosk(tmp_path: Path, content: tuple[Path, Bundle]) -> Iterator[Kiosk]:
    served = Kiosk(tmp_path / "k1", K1, content=content[0])
    try:
        served.serve()
        yield served
    finally:
        served.close()


def attendant_of(
    qtbot: QtBot, qapp: QApplication, data_dir: Path, kiosk: Kiosk, manager: str
) -> Attendant:
    built = build(
        AttendantOptions(data_dir=data_dir, kiosks=(kiosk.endpoint,), discover=False, sync=False),
        qapp,
        StoreAccess(STORE, StoreKeys(STORE, KEY), STORE_COUPON_KEY),
        player=CountingPlayer(),
        hasher=HASHER,
    )
    qtbot.addWidget(built.window)
    built.window.resize(1280, 800)
    built.window.show()
    signin = built.window.signin
    signin.name.setText(manager)
    signin.type_pin("2468")
    signin.type_pin("2468")
    qtbot.waitUntil(lambda: built.console.links.live() == [K1], timeout=WAIT_MS)
    return built


@pytest.fixture
def two(
    qtbot: QtBot, qapp: QApplication, tmp_path: Path, kiosk: Kiosk
) -> Iterator[tuple[Attendant, Attendant]]:
    first = attendant_of(qtbot, qapp, tmp_path / "a1", kiosk, "李店长")
    second = attendant_of(qtbot, qapp, tmp_path / "a2", kiosk, "赵经理")
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def outbox_records(data_dir: Path, kind: str) -> list[dict[str, object]]:
    cipher = PayloadCipher.from_key_file(data_dir / KEY_FILE)
    with Outbox(data_dir / OUTBOX_FILE, cipher=cipher) as outbox:
        return [dict(r.payload) for r in outbox.pending() if r.kind == kind]


def test_an_alarm_acknowledged_on_one_attendant_closes_on_the_other(
    qtbot: QtBot, two: tuple[Attendant, Attendant], kiosk: Kiosk, tmp_path: Path
) -> None:
    first, second = two
    alarm = kiosk.window.append(
        "alarm", {"slot": 3, "reason": "cable_cut", "sku": None}, at=datetime.now(UTC), alert=True
    )
    alert_id = f"{K1}:{alarm.seq}"
    for attendant in two:
        qtbot.waitUntil(lambda a=attendant: a.console.desk.state.alert(alert_id) is not None)
        assert attendant.console._player.played == 1  # type: ignore[attr-defined]
        qtbot.waitUntil(attendant.window.banner.isVisible)  # redrawn once the loop settles
    first.window.show_page(Page.ALERTS)
    (card,) = [c for c in first.window.alerts.cards if c.button is not None]
    card.button.click()
    me = first.store.staff()[0]

    def closed_on_second() -> bool:
        alert = second.console.desk.state.alert(alert_id)
        return alert is not None and not alert.open

    qtbot.waitUntil(closed_on_second, timeout=WAIT_MS)
    acknowledged = second.console.desk.state.alert(alert_id)
    assert acknowledged is not None
    assert acknowledged.acknowledged is not None
    assert acknowledged.acknowledged.by == me.id
    qtbot.waitUntil(lambda: not second.window.banner.isVisible())
    assert first.outbox is not None
    assert first.outbox.flush()
    (record,) = outbox_records(tmp_path / "a1", "alert_ack")
    assert record["kiosk"] == K1
    assert record["alert_seq"] == alarm.seq
    assert record["alert_kind"] == "alarm"
    assert record["by"] == me.id
    assert isinstance(record["after_s"], float)
    assert record["after_s"] >= 0
    (logged,) = [r for r in first.store.actions() if r.action is Action.ACKNOWLEDGE]
    assert logged.staff_id == me.id
    assert logged.subject == alert_id
    assert logged.after_s is not None
    assert round(logged.after_s, 3) == record["after_s"]  # the time it took, both places
    assert outbox_records(tmp_path / "a2", "alert_ack") == []  # the second did not ack it


def test_alerts_caught_up_from_long_ago_are_listed_without_the_chime(
    qtbot: QtBot, two: tuple[Attendant, Attendant], kiosk: Kiosk
) -> None:
    first, _ = two
    old = kiosk.window.append(
        "alarm",
        {"slot": 3, "reason": "CABLE", "sku": None},
        at=datetime.now(UTC) - timedelta(hours=3),
        alert=True,
    )
    new = kiosk.window.append(
        "alarm", {"slot": 4, "reason": "PUCK", "sku": None}, at=datetime.now(UTC), alert=True
    )
    desk = first.console.desk
    qtbot.waitUntil(lambda: desk.state.alert(f"{K1}:{new.seq}") is not None, timeout=WAIT_MS)
    assert desk.state.alert(f"{K1}:{old.seq}") is not None  # listed, to be seen to
    assert first.console._player.played == 1  # type: ignore[attr-defined]  # the new one only


def test_a_low_survey_alert_names_its_survey_once_the_catalog_is_known(
    qtbot: QtBot, qapp: QApplication, tmp_path: Path, kiosk: Kiosk
) -> None:
    attendant = attendant_of(qtbot, qapp, tmp_path / "a1", kiosk, "李店长")
    try:
        low = kiosk.window.append(
            "survey_answer",
            {
                "session": "s-1",
                "survey": "visit",
                "question": "overall",
                "kind": "smiley",
                "score": 1,
                "low": True,
            },
            at=datetime.now(UTC),
            alert=True,
        )
        window = attendant.window
        window.show_page(Page.ALERTS)

        def cards() -> list[str]:
            return [card.title.text() for card in window.alerts.cards]

        title = "1 号终端 · 低分评价 · 一分钟购物体验调查"  # the sample bundle's survey "visit"
        qtbot.waitUntil(lambda: cards() == [title], timeout=WAIT_MS)
        assert attendant.console.desk.state.alert(f"{K1}:{low.seq}") is not None
        assert title in window.banner_text.text()
        assert "visit" not in window.banner_text.text()
    finally:
        attendant.close()


def scan(qtbot: QtBot, attendant: Attendant, text: str) -> None:
    page = attendant.window.till
    attendant.window.show_page(Page.TILL)
    before = page.recent.count()
    page.scan.setText(text)
    page.scan.returnPressed.emit()
    qtbot.waitUntil(lambda: page.recent.count() == before + 1, timeout=WAIT_MS)


def test_a_coupon_redeemed_at_one_attendant_is_refused_at_the_other_without_hq(
    qtbot: QtBot, two: tuple[Attendant, Attendant], tmp_path: Path
) -> None:
    first, second = two
    code = issue_code(
        kiosk_key(STORE_COUPON_KEY, 17),
        campaign_no=3,
        kiosk_no=17,
        serial=4711,
        expires_on=date(2099, 12, 31),
    ).text
    scan(qtbot, first, code)
    result = first.window.till.last
    assert result is not None
    assert result.outcome is TillOutcome.REDEEMED
    assert result.claimed_at == (K1,)
    assert "未连上" not in first.window.till.result_body.text()
    scan(qtbot, second, code)
    refused = second.window.till.last
    assert refused is not None
    assert refused.outcome is TillOutcome.ALREADY
    assert refused.where == K1
    assert refused.by == first.store.staff()[0].id
    assert second.window.till.result_title.text() == "此券已使用"
    assert "在 1 号终端 核销" in second.window.till.result_body.text()
    assert len(outbox_records(tmp_path / "a1", "coupon_redeemed")) == 1
    assert outbox_records(tmp_path / "a2", "coupon_redeemed") == []


def test_a_planogram_edit_reaches_the_kiosk_and_its_catalog(
    qtbot: QtBot,
    two: tuple[Attendant, Attendant],
    kiosk: Kiosk,
    content: tuple[Path, Bundle],
    tmp_path: Path,
) -> None:
    first, _ = two
    _, bundle = content
    window = first.window
    window.show_page(Page.PLANOGRAM)
    page = window.planogram
    qtbot.waitUntil(lambda: len(page.slots.buttons()) > 0, timeout=WAIT_MS)
    slot = 3
    before = bundle.sku_on_slot(slot)
    other = next(p.sku for p in bundle.catalog.products if p.sku != before)
    page.choose(slot, other)
    page.apply.click()
    me = first.store.staff()[0]
    qtbot.waitUntil(lambda: any(e.slot == slot for e in load_edits(kiosk.data_dir)))
    (edit,) = load_edits(kiosk.data_dir)
    assert (edit.sku, edit.before, edit.by) == (other, before, me.id)

    def shown() -> bool:
        index = next(
            (n for n, b in enumerate(page.slots.buttons()) if b.text().startswith("3 号位")), None
        )
        text = page.slots.buttons()[index].text() if index is not None else ""
        return "李店长" in text and name in text

    name = first.console.names.name(K1, other, first.console.language)
    assert name is not None
    qtbot.waitUntil(shown, timeout=WAIT_MS)
    assert name in page.message.text()
    (logged,) = [r for r in first.store.actions() if r.action is Action.EDIT_PLANOGRAM]
    assert logged.subject == f"{K1}:{slot}"
    assert first.outbox is not None
    assert first.outbox.flush()
    (record,) = outbox_records(tmp_path / "a1", "planogram_edit")
    assert record == {"kiosk": K1, "slot": slot, "before": before, "after": other, "by": me.id}


def test_a_kiosk_downloading_a_release_shows_a_progress_bar_on_the_health_page(
    qtbot: QtBot, qapp: QApplication, tmp_path: Path, kiosk: Kiosk
) -> None:
    attendant = attendant_of(qtbot, qapp, tmp_path / "a1", kiosk, "李店长")
    try:
        attendant.window.show_page(Page.HEALTH)
        health = attendant.window.health

        def tell(**update: object) -> None:
            data = {"release": "sample-16-1", **update}
            kiosk.window.append("content", data, at=datetime.now(UTC), alert=False)

        tell(state="downloading", number=12, bytes_done=450_000, bytes_total=1_000_000)
        qtbot.waitUntil(lambda: health.update_bar(0) is not None, timeout=WAIT_MS)
        bar = health.update_bar(0)
        assert bar is not None
        assert bar.value() == 45
        assert bar.text() == "下载版本 12：45%"

        tell(state="downloading", number=12, bytes_done=1_000_000, bytes_total=1_000_000)
        qtbot.waitUntil(lambda: bar.value() == 100, timeout=WAIT_MS)

        tell(state="ready", number=12)
        qtbot.waitUntil(lambda: health.update_bar(0) is None, timeout=WAIT_MS)
        assert health.table.item(0, 6).text() == "版本 12 已就绪"

        kiosk.window.append("content", {"release": "hq-12"}, at=datetime.now(UTC), alert=False)
        qtbot.waitUntil(lambda: health.table.item(0, 4).text() == "hq-12", timeout=WAIT_MS)
        assert health.table.item(0, 6).text() == "—"
    finally:
        attendant.close()
