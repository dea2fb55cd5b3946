"""Member offers at HQ, for tests: the offer events' payloads, hq/sms's queue table,
and a chain's month of offers as rows (`generate_offers`, `load_offers`) for the
console's offers page, its browser test and its screenshot.

`sms_requests` is the `offers-sms` branch's table as the shared contract documents
it (/work/plans/contract.md: id, event_id UNIQUE, member_id, offer, campaign,
store_id, kiosk_id, requested_at, status, attempts, sent_at): the offers' results
read it, and until that branch is merged the tests make it here.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, select

from hq.crm.coupon_codes import CouponCode, issue
from hq.db import (
    Database,
    UtcDateTime,
    coupon_redemptions,
    coupons_issued,
    member_ids,
    offer_events,
)

SMS_STATUSES: Final = ("queued", "sending", "sent", "failed", "capped", "no_number", "withdrawn")

_metadata = MetaData()
sms_requests: Final = Table(
    "sms_requests",
    _metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("member_id", String(36), nullable=True),
    Column("offer", String(40), nullable=False),
    Column("campaign", String(40), nullable=False),
    Column("store_id", String(40), nullable=False),
    Column("kiosk_id", String(64), nullable=False),
    Column("requested_at", UtcDateTime(), nullable=False),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("sent_at", UtcDateTime(), nullable=True),
)


def create_sms_requests(database: Database) -> None:
    """Give `database` hq/sms's queue (empty)."""
    _metadata.create_all(database.engine)


def drop_sms_requests(database: Database) -> None:
    """Take it away again: PostgreSQL's test database is emptied, not made anew, for
    the next test (tests/helpers/hq.py's MigratedDatabases)."""
    _metadata.drop_all(database.engine)


def text_request(
    store_id: str,
    kiosk_id: str,
    offer: str,
    campaign: str,
    member_id: str,
    requested_at: datetime,
    status: str = "sent",
) -> dict[str, Any]:
    """An `sms_requests` row: a member asked for their offer's code by text."""
    return {
        "event_id": str(uuid.uuid4()),
        "member_id": member_id,
        "offer": offer,
        "campaign": campaign,
        "store_id": store_id,
        "kiosk_id": kiosk_id,
        "requested_at": requested_at,
        "status": status,
        "attempts": 1 if status in {"sent", "failed"} else 0,
        "sent_at": requested_at + timedelta(seconds=3) if status == "sent" else None,
    }


def offer_printed_payload(
    code: CouponCode, offer: str, campaign: str, member_id: str, session: str = "s1"
) -> dict[str, Any]:
    return {
        "session": session,
        "offer": offer,
        "member_id": member_id,
        "code": code.text,
        "campaign": campaign,
    }


# ---------------------------------------------------------------- a chain's month of offers

OFFERS: Final = {
    # offer: (its coupon campaign or None for a message, share shown that take it)
    "welcome-back-50": ("phone-50", 0.42),
    "birthday-gift": ("bday-100", 0.61),
    "gold-trade-in": ("trade-in-autumn", 0.28),
    "x60-first-look": (None, 0.0),
}


@dataclass
class OfferData:
    """Rows as HQ's projections write them (offer_events, coupons_issued,
    coupon_redemptions, sms_requests), and what they add up to."""

    events: list[dict[str, Any]] = field(default_factory=list)
    issued: list[dict[str, Any]] = field(default_factory=list)
    redemptions: list[dict[str, Any]] = field(default_factory=list)
    texts: list[dict[str, Any]] = field(default_factory=list)
    # (offer, store, figure) -> count; figure as OfferResult names them
    counts: Counter[tuple[str, str, str]] = field(default_factory=Counter)


def generate_offers(
    kiosks: dict[str, str], *, start: datetime, days: int, shown_a_day: int = 6, seed: int = 4
) -> OfferData:
    """`days` from `start` of offers shown at each store's kiosk (`kiosks`: store ->
    kiosk), some taken, texted, printed and redeemed; stores differ in how busy."""
    rng = random.Random(seed)
    data = OfferData()
    key = bytes(range(32))
    serial = 0
    for store_id, kiosk_id in sorted(kiosks.items()):
        busy = rng.uniform(0.5, 1.5)
        for day in range(days):
            for _ in range(round(shown_a_day * busy * rng.uniform(0.6, 1.4))):
                offer = rng.choice(list(OFFERS))
                campaign, take = OFFERS[offer]
                at = start + timedelta(days=day, hours=rng.uniform(2, 13))
                member = str(uuid.uuid4())
                session = f"{kiosk_id}-{uuid.uuid4().hex[:8]}"
                common = {"member_id": member, "store_id": store_id, "kiosk_id": kiosk_id,
                          "session": session, "offer": offer, "campaign": campaign}  # fmt: skip
                data.events.append(
                    {**common, "event_id": str(uuid.uuid4()), "kind": "shown", "code": None,
                     "occurred_at": at}
                )  # fmt: skip
                data.counts[(offer, store_id, "shown")] += 1
                if campaign is None or rng.random() >= take:
                    continue
                serial += 1
                code = issue(key, campaign_no=5, kiosk_no=1, serial=serial,
                             expires_on=(at + timedelta(days=30)).date())  # fmt: skip
                taken_at = at + timedelta(seconds=rng.uniform(5, 40))
                data.issued.append(
                    {**common, "code": code.text, "kiosk_no": 1, "serial": serial,
                     "campaign_no": 5, "expires_on": code.expires_on, "reason": "offer",
                     "event_id": str(uuid.uuid4()), "issued_at": taken_at,
                     "received_at": taken_at}
                )  # fmt: skip
                data.counts[(offer, store_id, "taken")] += 1
                if rng.random() < 0.35:
                    status = rng.choices(("sent", "failed", "capped", "queued"), (16, 2, 1, 1))[0]
                    data.texts.append(
                        text_request(store_id, kiosk_id, offer, campaign, member, taken_at, status)
                    )
                    data.counts[(offer, store_id, "text_requested")] += 1
                    data.counts[(offer, store_id, "sent")] += status == "sent"
                if rng.random() < 0.3:
                    data.events.append(
                        {**common, "event_id": str(uuid.uuid4()), "kind": "printed",
                         "code": code.text, "occurred_at": taken_at + timedelta(seconds=8)}
                    )  # fmt: skip
                    data.counts[(offer, store_id, "printed")] += 1
                if rng.random() < 0.45:
                    redeemed = taken_at + timedelta(hours=rng.uniform(0.2, 30))
                    data.redemptions.append(
                        {"code": code.text, "kiosk_no": 1, "serial": serial, "campaign_no": 5,
                         "store_id": store_id, "redeemed_by": "till-1", "redeemed_at": redeemed,
                         "source": "hq", "kiosk_id": None, "event_id": None,
                         "recorded_at": redeemed}
                    )  # fmt: skip
                    data.counts[(offer, store_id, "redeemed")] += 1
    return data


def load_offers(database: Database, data: OfferData) -> None:
    """The rows into `database`, and hq/sms's queue with them (`create_sms_requests`)."""
    create_sms_requests(database)
    with database.write() as connection:
        for table, rows in (
            (offer_events, data.events),
            (coupons_issued, data.issued),
            (coupon_redemptions, data.redemptions),
            (sms_requests, data.texts),
        ):
            if rows:
                database.insert_rows(connection, table, rows)


def add_offer_moments(database: Database, customer_id: str, now: datetime) -> str:
    """A customer's offer shown, taken (texted and printed) yesterday, at their sign-up
    store; the code taken."""
    with database.write() as connection:
        member, store_id, kiosk_id = connection.execute(
            select(member_ids.c.member_id, member_ids.c.store_id, member_ids.c.kiosk_id)
            .where(member_ids.c.customer_id == customer_id)
            .limit(1)
        ).one()
    at = now - timedelta(days=1)
    data = OfferData()
    code = issue(bytes(range(32)), campaign_no=5, kiosk_no=1, serial=9001,
                 expires_on=(at + timedelta(days=30)).date())  # fmt: skip
    common = {"member_id": member, "store_id": store_id, "kiosk_id": kiosk_id,
              "session": "s-offer", "offer": "welcome-back-50", "campaign": "phone-50"}  # fmt: skip
    data.events += [
        {**common, "event_id": str(uuid.uuid4()), "kind": "shown", "code": None,
         "occurred_at": at},
        {**common, "event_id": str(uuid.uuid4()), "kind": "printed", "code": code.text,
         "occurred_at": at + timedelta(seconds=40)},
    ]  # fmt: skip
    data.issued.append(
        {**common, "code": code.text, "kiosk_no": 1, "serial": 9001, "campaign_no": 5,
         "expires_on": code.expires_on, "reason": "offer", "event_id": str(uuid.uuid4()),
         "issued_at": at + timedelta(seconds=15), "received_at": at + timedelta(seconds=16)}
    )  # fmt: skip
    data.texts.append(
        text_request(store_id, kiosk_id, "welcome-back-50", "phone-50", member,
                     at + timedelta(seconds=25))
    )  # fmt: skip
    load_offers(database, data)
    return code.text
