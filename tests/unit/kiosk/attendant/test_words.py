"""What the attendant's screens say, in zh-CN first and English."""

from __future__ import annotations

from content.model import Language
from kiosk.attendant.model import DeviceHealth, KioskHealth
from kiosk.attendant.words import health_line

K3 = "sh-nanjing-road-k3"


def test_a_healthy_kiosk_shows_its_devices_backlog_release_and_last_contact() -> None:
    health = KioskHealth(
        last_seq=9,
        last_contact=100.0,
        devices={
            "pickup": DeviceHealth("up", "", since=0.0, seq=1),
            "ble": DeviceHealth("reconnecting", "hci0 reset", since=90.0, seq=8),
        },
        backlog=12,
        dead_letters=1,
        release="2026.12.1",
    )
    assert health_line(K3, health, 112.4, Language.ZH_CN) == (
        f"{K3} · 12 秒前联系 · 蓝牙 重连中 · 取货板 正常 · 待同步 12，失败 1 · 内容 2026.12.1"
    )
    assert health_line(K3, health, 112.4, Language.EN) == (
        f"{K3} · heard 12 s ago · BLE reconnecting · pickup board up"
        " · backlog 12, dead letters 1 · content 2026.12.1"
    )


def test_a_faulty_kiosk_says_so_first_and_recovers_after_a_minute() -> None:
    health = KioskHealth(last_fault=50.0, fault_reason="flood")
    assert health_line(K3, health, 60.0, Language.EN) == f"{K3} · faulty: flood · not heard yet"
    assert health_line(K3, health, 111.0, Language.EN) == f"{K3} · not heard yet"


def test_every_word_of_the_app_has_both_languages() -> None:
    from kiosk.attendant.words import WORDS  # noqa: PLC0415

    for key, texts in WORDS.items():
        assert set(texts) == {Language.ZH_CN, Language.EN}, key
        assert all(text.strip() for text in texts.values()), key


def test_a_kiosk_of_the_store_is_named_by_its_number() -> None:
    from kiosk.attendant.words import kiosk_label  # noqa: PLC0415

    assert kiosk_label(K3, "sh-nanjing-road", Language.ZH_CN) == "3 号终端"
    assert kiosk_label(K3, "sh-nanjing-road", Language.EN) == "Kiosk 3"
    assert kiosk_label("entrance", "sh-nanjing-road", Language.EN) == "entrance"
    assert kiosk_label("bj-wangfujing-k2", "sh-nanjing-road", Language.EN) == "bj-wangfujing-k2"


def test_the_feed_names_products_staff_and_kiosks_once_they_are_known() -> None:
    from datetime import UTC, datetime  # noqa: PLC0415

    from kiosk.attendant.model import FeedEntry  # noqa: PLC0415
    from kiosk.attendant.words import Names, feed_line  # noqa: PLC0415

    names = Names(
        product=lambda kiosk, sku: {"XH-X60": "星河 X60", "LY-GT7": "凌云 GT7"}.get(sku),
        staff=lambda staff_id: {"st-1": "李静"}.get(staff_id, staff_id),
        kiosk=lambda kiosk: "3 号终端",
    )
    at = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
    arrived = FeedEntry(K3, 1, at, "member_arrived", 0.0, None, ("XH-X60", "QL-Q9"))
    line = feed_line(arrived, Language.ZH_CN, names)
    assert line.endswith(" · 3 号终端 · 会员 到店 · 上次看过 星河 X60、QL-Q9")
    lift = FeedEntry(K3, 2, at, "lift", 0.0, details=(("slot", "3"), ("sku", "LY-GT7")))
    assert feed_line(lift, Language.EN, names).endswith("Phone lifted · slot 3: 凌云 GT7")
    moved = FeedEntry(
        K3,
        3,
        at,
        "planogram",
        0.0,
        details=(("slot", "3"), ("before", "LY-GT7"), ("after", "XH-X60"), ("by", "st-1")),
    )
    assert feed_line(moved, Language.ZH_CN, names).endswith(
        "陈列调整 · 3 号位 · 凌云 GT7 → 星河 X60 · 李静"
    )
