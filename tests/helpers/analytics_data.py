"""A chain's generated events for the analytics pages: deterministic from a seed.

    data = generate(stores=50, days=90, seed=19)
    load(database, data)                    # stores, events and coupon tables
    rollup.roll(database, now)

Shoppers' sessions at each store's kiosk: lifts and drops (with dwell), comparisons,
sometimes by a recognised member (who comes back to any store), sign-ups, surveys
(smiley and NPS with a follow-up "why" after a low score), coupons (issued, some
redeemed, a few twice) and prize draws. Events go into `events` as ingest stores
them (arrival order = time order), and the coupons into `coupons_issued` and
`coupon_redemptions` as ingest decides them: the tables the rollups read.
Used by tests/unit/hq/test_analytics_figures.py and bench/analytics_dashboard.py.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from content.sample import DAILY_DRAW
from hq.db import Database, coupon_redemptions, coupons_issued, events, stores

ZONE: Final = ZoneInfo("Asia/Shanghai")
START: Final = date(2026, 6, 1)
PRODUCTS: Final = tuple(f"PHONE-{n:02d}" for n in range(1, 13))
CAMPAIGNS: Final = ("autumn", "vip")
PURPOSES: Final = ("browse", "upgrade", "gift")
WHY: Final = ("price", "staff", "wait", "stock")
STORE_NAMES: Final = ("南京路", "淮海路", "徐家汇", "陆家嘴", "静安寺")


@dataclass(frozen=True, slots=True)
class Event:
    event_id: str
    kiosk_id: str
    store_id: str
    seq: int
    kind: str
    occurred_at: datetime
    payload: dict[str, Any]


@dataclass
class DataSet:
    stores: dict[str, str]  # id: name
    events: list[Event] = field(default_factory=list)
    issued: list[dict[str, Any]] = field(default_factory=list)
    redemptions: list[dict[str, Any]] = field(default_factory=list)
    first: date = START
    last: date = START


def _store_ids(count: int) -> dict[str, str]:
    return {f"s{n:04d}": f"{STORE_NAMES[n % len(STORE_NAMES)]}{n}号店" for n in range(1, count + 1)}


def generate(
    *,
    stores: int | dict[str, str] = 50,
    days: int = 90,
    seed: int = 19,
    sessions: int = 2,
    start: date = START,
) -> DataSet:
    """Up to `sessions` sessions per store and day (0 to that many, evenly); `stores`:
    how many (s0001...) or their ids and names."""
    rng = random.Random(seed)
    named = dict(stores) if isinstance(stores, dict) else _store_ids(stores)
    data = DataSet(named, first=start, last=start + timedelta(days=days - 1))
    members = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(max(20, len(named) * 4))]
    pending: list[tuple[datetime, str, str, dict[str, Any]]] = []  # at, store, kind, payload
    serial = 0
    for store_id in data.stores:
        kiosk = f"{store_id}-k1"
        for day in range(days):
            local_day = start + timedelta(days=day)
            for number in range(rng.randint(0, sessions)):
                at = datetime.combine(local_day, time(9), ZONE) + timedelta(
                    seconds=rng.randrange(12 * 3600)
                )
                session = f"{kiosk}-{local_day:%m%d}-{number}"
                for moment, kind, payload in _session(rng, session, at, members):
                    pending.append((moment, store_id, kind, payload))
                    if kind == "coupon_issued":
                        serial += 1
                        _coupon(rng, data, kiosk, store_id, moment, payload, serial)
    pending.sort(key=lambda item: (item[0], item[1]))
    seqs: dict[str, int] = {}
    for moment, store_id, kind, payload in pending:
        kiosk = f"{store_id}-k1"
        seqs[kiosk] = seqs.get(kiosk, 0) + 1
        event_id = payload.pop("_event_id", None) or str(uuid.UUID(int=rng.getrandbits(128)))
        data.events.append(
            Event(event_id, kiosk, store_id, seqs[kiosk], kind, moment.astimezone(UTC), payload)
        )
    return data


def _session(
    rng: random.Random, session: str, at: datetime, members: list[str]
) -> Iterator[tuple[datetime, str, dict[str, Any]]]:
    member = rng.choice(members) if rng.random() < 0.3 else None
    who = {"member_id": member} if member else {}
    lifted = []
    for _ in range(rng.randint(1, 4)):
        slot = rng.randint(1, len(PRODUCTS))
        sku = PRODUCTS[slot - 1]
        lifted.append(sku)
        yield at, "lift", {"session": session, "slot": slot, "sku": sku, **who}
        dwell = int(rng.expovariate(1 / 15_000)) + rng.randrange(1000)
        at += timedelta(milliseconds=dwell)
        if rng.random() < 0.85:  # the rest leave with the shopper
            payload = {"session": session, "slot": slot, "sku": sku, "dwell_ms": dwell, **who}
            yield at, "drop", payload
        at += timedelta(seconds=rng.randint(1, 20))
    if len(set(lifted)) > 1 and rng.random() < 0.4:
        yield at, "comparison", {"session": session, "skus": list(lifted[:2]), **who}
        at += timedelta(seconds=5)
    if member is None and rng.random() < 0.08:
        new_member = str(uuid.UUID(int=rng.getrandbits(128)))
        yield at, "member_signup", _signup(new_member)
        at += timedelta(seconds=30)
        if rng.random() < 0.5:
            yield at, "coupon_issued", _issue(session, "signup", new_member)
    if rng.random() < 0.35:
        yield from _survey(rng, session, at, member)
        at += timedelta(minutes=2)
        if rng.random() < 0.4:
            yield at, "coupon_issued", _issue(session, "survey", member)
    if member and rng.random() < 0.2:
        roll = rng.random()
        prize = "case" if roll < 0.2 else "grand" if roll < 0.22 else None
        payload = {"session": session, "draw": DAILY_DRAW, "member_id": member, "prize": prize}
        yield at, "prize_draw", payload


def _signup(member: str) -> dict[str, Any]:
    return {"member_id": member, "phone": "+8613800000000", "region": "CN", "language": "zh-CN"}


def _issue(session: str, reason: str, member: str | None) -> dict[str, Any]:
    payload = {"session": session, "reason": reason, "campaign": ""}
    if member:
        payload["member_id"] = member
    return payload


def _survey(
    rng: random.Random, session: str, at: datetime, member: str | None
) -> Iterator[tuple[datetime, str, dict[str, Any]]]:
    who = {"member_id": member} if member else {}

    def answer(question: str, kind: str, **more: Any) -> dict[str, Any]:
        return {"session": session, "survey": "visit", "question": question, "kind": kind,
                **more, **who}  # fmt: skip

    smile = rng.choices((1, 2, 3, 4), weights=(1, 2, 4, 5))[0]
    yield at, "survey_answer", answer("smile", "smiley", score=smile, low=smile <= 2)
    if smile <= 2:
        chosen = rng.sample(WHY, rng.randint(1, 2))
        yield at + timedelta(seconds=5), "survey_answer", answer("why", "multiple", choices=chosen)
    purpose = [rng.choice(PURPOSES)]
    yield at + timedelta(seconds=10), "survey_answer", answer("purpose", "single", choices=purpose)
    score = rng.choices(range(11), weights=(1, 1, 1, 1, 1, 2, 2, 4, 5, 5, 4))[0]
    yield at + timedelta(seconds=15), "survey_answer", answer("recommend", "nps", score=score,
                                                              low=score <= 6)  # fmt: skip
    if rng.random() < 0.2:
        yield at + timedelta(seconds=20), "survey_answer", answer("words", "text", text="好")


def _coupon(
    rng: random.Random,
    data: DataSet,
    kiosk: str,
    store_id: str,
    at: datetime,
    payload: dict[str, Any],
    serial: int,
) -> None:
    """Fill in an issued coupon's payload, its coupons_issued row and its redemptions."""
    campaign = rng.choice(CAMPAIGNS)
    code = f"T{serial:08d}"
    event_id = str(uuid.UUID(int=rng.getrandbits(128)))
    payload.update(
        {
            "_event_id": event_id,
            "code": code,
            "campaign": campaign,
            "campaign_no": CAMPAIGNS.index(campaign) + 1,
            "serial": serial,
            "expires_on": (at + timedelta(days=30)).date().isoformat(),
        }
    )
    number = list(data.stores).index(store_id) + 1
    data.issued.append(
        {
            "code": code,
            "kiosk_no": number,
            "serial": serial,
            "campaign_no": CAMPAIGNS.index(campaign) + 1,
            "campaign": campaign,
            "expires_on": (at + timedelta(days=30)).date(),
            "reason": payload["reason"],
            "member_id": payload.get("member_id"),
            "session": payload["session"],
            "store_id": store_id,
            "kiosk_id": kiosk,
            "event_id": event_id,
            "issued_at": at.astimezone(UTC),
            "received_at": at.astimezone(UTC),
        }
    )
    if rng.random() < 0.5:
        times = 2 if rng.random() < 0.05 else 1
        redeemed = at + timedelta(hours=rng.randint(1, 24 * 10))
        for _ in range(times):
            data.redemptions.append(
                {
                    "code": code,
                    "kiosk_no": number,
                    "serial": serial,
                    "campaign_no": CAMPAIGNS.index(campaign) + 1,
                    "store_id": rng.choice(list(data.stores)),
                    "redeemed_by": "till-1",
                    "redeemed_at": redeemed.astimezone(UTC),
                    "source": "hq",
                    "kiosk_id": None,
                    "event_id": None,
                    "recorded_at": redeemed.astimezone(UTC),
                }
            )
            redeemed += timedelta(hours=3)


def event_rows(data: DataSet, start: int = 0, stop: int | None = None) -> list[dict[str, Any]]:
    return [
        {
            "event_id": e.event_id,
            "kiosk_id": e.kiosk_id,
            "store_id": e.store_id,
            "seq": e.seq,
            "kind": e.kind,
            "schema_version": 1,
            "occurred_at": e.occurred_at,
            "received_at": e.occurred_at + timedelta(seconds=2),
            "payload": e.payload,
        }
        for e in data.events[start:stop]
    ]


def load_stores(database: Database, data: DataSet) -> None:
    now = datetime.combine(data.first, time(), UTC)
    with database.write() as connection:
        connection.execute(
            insert(stores),
            [
                {"store_id": s, "name": name, "created_at": now, "kiosks_enrolled": 1}
                for s, name in data.stores.items()
            ],
        )


def load_events(database: Database, data: DataSet, start: int = 0, stop: int | None = None) -> None:
    """Events [start:stop] as ingest stores them, in batches."""
    rows = event_rows(data, start, stop)
    for first in range(0, len(rows), 5000):
        with database.write() as connection:
            database.insert_rows(connection, events, rows[first : first + 5000])


def load_coupons(database: Database, data: DataSet) -> None:
    with database.write() as connection:
        database.insert_rows(connection, coupons_issued, data.issued)
        if data.redemptions:
            database.insert_rows(connection, coupon_redemptions, data.redemptions)


def load(database: Database, data: DataSet) -> None:
    load_stores(database, data)
    load_events(database, data)
    load_coupons(database, data)
