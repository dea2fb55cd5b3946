"""What the attendant's screens say, in zh-CN first and English."""

from __future__ import annotations

from content.model import Language
from kiosk.attendant.model import DeviceHealth, KioskHealth
from kiosk.attendant.words import Names, health_line

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


def test_a_printer_down_says_why_in_staffs_words() -> None:
    health = KioskHealth(
        last_seq=3,
        last_contact=100.0,
        devices={"printer": DeviceHealth("down", "paper_out", since=90.0, seq=3)},
    )
    assert health_line(K3, health, 101.0, Language.EN) == (
        f"{K3} · heard 1 s ago · printer down: paper out"
    )
    assert (
        health_line(K3, health, 101.0, Language.ZH_CN) == f"{K3} · 1 秒前联系 · 打印机 断开：缺纸"
    )
    back = KioskHealth(
        last_seq=4,
        last_contact=100.0,
        devices={"printer": DeviceHealth("up", "", since=95.0, seq=4)},
    )
    assert health_line(K3, back, 101.0, Language.EN) == f"{K3} · heard 1 s ago · printer up"


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
    from kiosk.attendant.words import feed_line  # noqa: PLC0415

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


_LABELS = {
    ("survey", "visit"): ("一分钟购物体验调查", "One-minute survey about your visit"),
    ("campaign", "phone-200"): ("购机立减¥200", "¥200 off a new phone"),
    ("draw", "daily-draw"): ("会员每日幸运抽奖", "Members' daily lucky draw"),
    ("prize", "daily-draw/grand"): ("购机立减¥200", "¥200 off a new phone"),
}


def _labelled(language: Language) -> Names:
    def label(_kiosk: str, kind: str, id_: str) -> str | None:
        names = _LABELS.get((kind, id_))
        return None if names is None else names[0 if language is Language.ZH_CN else 1]

    return Names(kiosk=lambda kiosk: "3 号终端", label=label)


def test_the_feed_names_surveys_campaigns_draws_and_prizes_once_the_catalog_is_known() -> None:
    from datetime import UTC, datetime  # noqa: PLC0415

    from kiosk.attendant.model import FeedEntry  # noqa: PLC0415
    from kiosk.attendant.words import feed_line  # noqa: PLC0415

    at = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
    answer = FeedEntry(
        K3,
        1,
        at,
        "survey_answer",
        0.0,
        details=(("survey", "visit"), ("question", "q1"), ("score", "1")),
    )
    won = FeedEntry(
        K3, 2, at, "prize_won", 0.0, details=(("draw", "daily-draw"), ("prize", "grand"))
    )
    issued = FeedEntry(K3, 3, at, "coupon_issued", 0.0, details=(("campaign", "phone-200"),))
    zh, en = _labelled(Language.ZH_CN), _labelled(Language.EN)
    assert feed_line(answer, Language.ZH_CN, zh).endswith("问卷回答 · 一分钟购物体验调查 · 1 分")
    assert feed_line(answer, Language.EN, en).endswith(
        "Survey answer · One-minute survey about your visit · score 1"
    )
    assert feed_line(won, Language.ZH_CN, zh).endswith("抽奖中奖 · 会员每日幸运抽奖 · 购机立减¥200")
    assert feed_line(won, Language.EN, en).endswith(
        "Prize won · Members' daily lucky draw · ¥200 off a new phone"
    )
    assert feed_line(issued, Language.ZH_CN, zh).endswith("发放优惠券 · 购机立减¥200")
    assert feed_line(issued, Language.EN, en).endswith("Coupon issued · ¥200 off a new phone")
    # Before the kiosk's catalog is known: the ids, as the kiosk sent them.
    assert feed_line(answer, Language.ZH_CN).endswith("问卷回答 · visit · 1 分")
    assert feed_line(won, Language.EN).endswith("Prize won · daily-draw · grand")
    assert feed_line(issued, Language.ZH_CN).endswith("发放优惠券 · phone-200")


def test_a_low_score_alert_names_its_survey_once_the_catalog_is_known() -> None:
    from kiosk.attendant.model import Alert, AlertKind  # noqa: PLC0415
    from kiosk.attendant.words import alert_line  # noqa: PLC0415

    low = Alert(f"{K3}:7", K3, AlertKind.LOW_SCORE, 0.0, "visit")
    zh, en = _labelled(Language.ZH_CN), _labelled(Language.EN)
    assert alert_line(low, Language.ZH_CN, zh) == "3 号终端 · 低分评价 · 一分钟购物体验调查"
    assert alert_line(low, Language.EN, en) == (
        "3 号终端 · Low survey score · One-minute survey about your visit"
    )
    assert alert_line(low, Language.ZH_CN) == f"{K3} · 低分评价 · visit"
    # An alarm's reason is ours to word, whatever the catalog names.
    alarm = Alert(f"{K3}:8", K3, AlertKind.ALARM, 0.0, "CABLE")
    assert alert_line(alarm, Language.ZH_CN, zh) == "3 号终端 · 防盗报警 · 防盗线被剪断"
