"""Outbox records of every kind HQ knows, with payloads that follow docs/hq-api.md."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from backend_client.outbox import OutboxRecord

START = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
PURPOSES = ("membership", "marketing", "recognition", "personalisation")


def record(i: int, rng: random.Random, members: list[str]) -> OutboxRecord:
    """The i-th event of a plausible shopping day: mostly lifts and drops, some members."""
    at = START + timedelta(seconds=i * 7)
    session = f"boot1-{i // 20}"
    slot = 1 + i % 16
    sku = f"SKU-{slot:04d}"
    roll = rng.random()
    kind: str
    payload: dict[str, Any]
    if roll < 0.03 or (roll < 0.08 and members):
        if roll < 0.03:
            member = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            members.append(member)
            kind = "member_signup"
            payload = {
                "member_id": member,
                "phone": f"139 {rng.randrange(10**4):04d} {rng.randrange(10**4):04d}",
                "region": "CN",
                "name": rng.choice(["王芳", "Li Wei", None]),
                "email": rng.choice([f"Shopper{i}@Example.com", None]),
                "language": rng.choice(["zh-CN", "en"]),
            }
        else:
            kind = "consent"
            purpose = rng.choice(PURPOSES)
            payload = {
                "member_id": rng.choice(members),
                "purpose": purpose,
                "channel": rng.choice(["sms", "email"]) if purpose == "marketing" else None,
                "notice_version": "2026-11",
                "notice_sha256": f"{rng.getrandbits(256):064x}",
                "given": rng.random() < 0.8,
            }
    elif roll < 0.5:
        kind, payload = "lift", {"session": session, "slot": slot, "sku": sku}
    elif roll < 0.9:
        payload = {"session": session, "slot": slot, "sku": sku, "dwell_ms": rng.randrange(60_000)}
        kind = "drop"
    elif roll < 0.95:
        kind, payload = "comparison", {"session": session, "skus": [sku, "SKU-0001"]}
    elif roll < 0.99:
        kind = "recommendation_tap"
        payload = {"session": session, "sku": sku, "shelf": "related", "from": "product:SKU-0002"}
        payload["slot"] = slot
    else:
        kind, payload = "alarm", {"slot": slot, "sku": sku, "reason": "CABLE"}
    if members and kind in {"lift", "drop"} and rng.random() < 0.1:
        payload["member_id"] = rng.choice(members)
    event_id = uuid.UUID(int=rng.getrandbits(128), version=4)
    return OutboxRecord(event_id, kind, 1, payload, at)


def records(count: int, seed: int = 1) -> list[OutboxRecord]:
    rng = random.Random(seed)
    members: list[str] = []
    return [record(i, rng, members) for i in range(count)]
