"""Member offers at HQ, for tests: the offer events' payloads, and a chain's month of
offers as rows (`generate_offers`, `load_offers`) for the console's offers page, its
browser test and its screenshot.

The month's texts are rows of hq/sms's queue (hq.db.sms_requests) as the sender
leaves them: `text_request` fills every column the queue and the sender would.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import select

from hq.crm.coupon_codes import CouponCode, issue
from hq.db import (
    Database,
    coupon_redemptions,
    coupons_issued,
    member_ids,
    offer_events,
    sms_requests,
)
from hq.sms.rules import Status


def text_request(
    common: dict[str, Any], code: CouponCode, requested_at: datetime, status: Status = "sent"
) -> dict[str, Any]:
    """An `sms_requests` row: a member asked for `code` by text at `requested_at`, and
    the sender left it `status` (`common`: member_id, store_id, kiosk_id, session,
    offer, campaign)."""
    tried = status in {"sent", "failed"}
    sent_at = requested_at + timedelta(seconds=3) if status == "sent" else None
    return {
        **common,
        "event_id": str(uuid.uuid4()),
        "language": "zh-CN",
        "code": code.text,
        "expires_on": code.expires_on,
        "requested_at": requested_at,
        "received_at": requested_at + timedelta(seconds=1),
        "status": status,
        "attempts": 1 if tried else 0,
        "next_try_at": requested_at + timedelta(seconds=1),
        "sent_at": sent_at,
        "last_error": "provider refused: invalid number" if status == "failed" else None,
        "provider": "log" if tried else None,
        "provider_message_id": f"log-{uuid.uuid4().hex[:12]}" if sent_at else None,
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
TEXT_ENDS: Final[tuple[Status, ...]] = ("sent", "failed", "capped", "no_number")


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
                    status = rng.choices(TEXT_ENDS, (16, 2, 1, 1))[0]
                    data.texts.append(text_request(common, code, taken_at, status))
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
    """The rows into `database`."""
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
    data.texts.append(text_request(common, code, at + timedelta(seconds=25)))
    load_offers(database, data)
    return code.text
