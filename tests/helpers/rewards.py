"""A store in Shanghai, its kiosk's coupon key, and reward models for tests and the bench.

Builders take overrides by field name; the models are validated as a bundle's
would be. `read_ledger` and `outbox_records` look at a ledger's file from the
outside (plain sqlite3, and a fresh Outbox), as an auditor would.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from backend_client.crypto import PayloadCipher
from backend_client.outbox import Outbox, StoredRecord
from content.model import CouponCampaign, LocalizedText, Money, Prize, PrizeDraw
from content.offers import Offer
from rewards.codes import EPOCH, kiosk_key, parse_code, store_key

TZ = ZoneInfo("Asia/Shanghai")
KIOSK_NO = 7
KEY = kiosk_key(store_key(bytes(range(32)), "sh-nanjing-road"), KIOSK_NO)
CIPHER_KEY = bytes(range(100, 132))
CIPHER = PayloadCipher(CIPHER_KEY)
# Mid-September 2026, 14:00 in the store; the campaigns and the draw run all September.
NOW = datetime(2026, 9, 15, 14, 0, tzinfo=TZ)
STARTS_AT = "2026-09-01T00:00:00+08:00"
ENDS_AT = "2026-10-01T00:00:00+08:00"


def text(words: str) -> LocalizedText:
    return LocalizedText.model_validate({"zh-CN": words, "en": words})


def campaign_of(campaign_id: str, number: int, **changes: Any) -> CouponCampaign:
    fields: dict[str, Any] = {
        "id": campaign_id,
        "number": number,
        "title": text("¥50 off any phone"),
        "terms": text("One per member."),
        "value": Money(amount=Decimal(50)),
        "starts_at": STARTS_AT,
        "ends_at": ENDS_AT,
        "valid_days": 30,
        "daily_budget": 100,
        "per_member_limit": 1,
    }
    fields.update(changes)
    return CouponCampaign.model_validate(fields)


def offer_of(offer_id: str, campaign: str | None = None, **changes: Any) -> Offer:
    """A member offer running all September; by default a coupon of `campaign` once a
    day for every member with marketing consent (or a message, without a campaign)."""
    fields: dict[str, Any] = {
        "id": offer_id,
        "title": text("A treat for members"),
        "campaign": campaign,
        "starts_at": STARTS_AT,
        "ends_at": ENDS_AT,
    }
    if campaign is None:
        fields["message"] = text("Welcome back")
    fields.update(changes)
    return Offer.model_validate(fields)


def prize_of(prize_id: str, campaign: str, chance: str, daily_cap: int) -> Prize:
    return Prize(id=prize_id, campaign=campaign, chance=Decimal(chance), daily_cap=daily_cap)


def draw_of(draw_id: str, *prizes: Prize, **changes: Any) -> PrizeDraw:
    fields: dict[str, Any] = {
        "id": draw_id,
        "title": text("Spin to win"),
        "prizes": prizes,
        "draws_per_member_per_day": 1,
        "starts_at": STARTS_AT,
        "ends_at": ENDS_AT,
    }
    fields.update(changes)
    return PrizeDraw.model_validate(fields)


def prize_campaigns() -> tuple[CouponCampaign, ...]:
    """Campaigns for prizes: plenty of budget, and a member may win many times."""
    return (
        campaign_of("grand-prize", 20, daily_budget=10_000, per_member_limit=10_000),
        campaign_of("small-prize", 21, daily_budget=10_000, per_member_limit=10_000),
    )


def autumn_spin() -> PrizeDraw:
    return draw_of(
        "autumn-spin",
        prize_of("grand", "grand-prize", "0.01", 2),
        prize_of("small", "small-prize", "0.2", 20),
    )


@dataclass(frozen=True, slots=True)
class LedgerRows:
    coupons: list[dict[str, Any]]  # issued_coupon rows
    draws: list[dict[str, Any]]  # prize_draw_entry rows
    redemptions: list[dict[str, Any]]
    offer_takes: list[dict[str, Any]]


def read_ledger(path: Path) -> LedgerRows:
    connection = sqlite3.connect(path)
    connection.row_factory = sqlite3.Row
    try:
        coupons, draws, redemptions, takes = (
            [dict(row) for row in connection.execute(f"SELECT * FROM {table}")]  # noqa: S608
            for table in ("issued_coupon", "prize_draw_entry", "coupon_redemption", "offer_take")
        )
    finally:
        connection.close()
    return LedgerRows(coupons, draws, redemptions, takes)


def outbox_records(path: Path, kind: str | None = None) -> list[StoredRecord]:
    """Every pending record of `kind` (all kinds: None) in seq order, payloads decrypted."""
    with Outbox(path, cipher=CIPHER) as outbox:
        found = outbox.pending(limit=1_000_000)
    return [record for record in found if kind is None or record.kind == kind]


def audit_ledger(
    path: Path, prize_draw: PrizeDraw, campaigns: Iterable[CouponCampaign]
) -> Counter[tuple[str, str]]:
    """Check what a ledger's file holds against what it reported to HQ; return the
    wins per (local day, prize id).

    Caps and budgets hold on every day; every serial is used once; every win has its
    coupon and both records, and every record its row.
    """
    by_id = {campaign.id: campaign for campaign in campaigns}
    rows = read_ledger(path)
    records = outbox_records(path)
    draw_records = [r.payload for r in records if r.kind == "prize_draw"]
    coupon_records = [r for r in records if r.kind == "coupon_issued"]

    assert len(draw_records) == len(rows.draws), "a draw without its record, or the reverse"
    wins: Counter[tuple[str, str]] = Counter(
        (row["local_day"], row["prize"]) for row in rows.draws if row["prize"] is not None
    )
    reported_wins: Counter[tuple[str, str]] = Counter(
        (r.occurred_at.astimezone(TZ).date().isoformat(), r.payload["prize"])
        for r in records
        if r.kind == "prize_draw" and r.payload["prize"] is not None
    )
    assert wins == reported_wins
    caps = {prize.id: prize.daily_cap for prize in prize_draw.prizes}
    for (day, prize), count in wins.items():
        assert count <= caps[prize], f"{prize} won {count} times on {day}, cap {caps[prize]}"

    issued: Counter[tuple[str, str]] = Counter(
        (row["campaign"], row["local_day"]) for row in rows.coupons
    )
    for (campaign, day), count in issued.items():
        budget = by_id[campaign].daily_budget
        assert count <= budget, f"{campaign} issued {count} on {day}, budget {budget}"

    serials = [record.payload["serial"] for record in coupon_records]
    assert len(set(serials)) == len(serials), "a serial reported twice"
    assert sorted(serials) == sorted(row["serial"] for row in rows.coupons)

    win_serials = {row["serial"] for row in rows.draws if row["prize"] is not None}
    assert None not in win_serials
    assert all(row["serial"] is None for row in rows.draws if row["prize"] is None)
    drawn_codes = {r["code"] for r in draw_records if r["prize"] is not None}
    assert all(r["code"] is None for r in draw_records if r["prize"] is None)
    coupon_codes = {r.payload["code"] for r in coupon_records if r.payload["reason"] == "draw"}
    assert drawn_codes == coupon_codes
    keys = {KIOSK_NO: KEY}
    parsed = {parse_code(code, keys.get, today=EPOCH) for code in drawn_codes}
    assert {code.serial for code in parsed} == win_serials
    for record in coupon_records:
        code = parse_code(record.payload["code"], keys.get, today=EPOCH)
        assert code.serial == record.payload["serial"]
        assert code.campaign_no == by_id[record.payload["campaign"]].number
    return wins
