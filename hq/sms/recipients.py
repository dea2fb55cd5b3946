"""Who a text goes to: the member's number on record, looked up when it is sent.

The member id names a sign-up (`member_ids`); its customer holds the number. A
customer merged into another (hq.crm.merges) stands for the one it was merged into:
the chain of `merged_into` is followed to the live record. The person's other member
ids (one person who signed up at two stores) share the daily cap, and their
newest marketing decision (on SMS, or on every channel) decides whether they
withdrew. An erased member (hq.crm.erasure) has no number and is not texted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import Connection, func, or_, select

from hq.crm import erasure
from hq.db import consents, customers, member_ids, sms_requests
from hq.sms.rules import Recipient

MAX_MERGES: Final = 50  # a merge chain longer than this is a loop: stop following it
MARKETING: Final = "marketing"


def look_up(connection: Connection, member_id: str | None, *, day_start: datetime) -> Recipient:
    """The recipient behind `member_id`; `day_start` is when the member's local day began."""
    if member_id is None or erasure.erased_among(connection, {member_id}):
        return Recipient(None, erased=True)
    customer_id = connection.execute(
        select(member_ids.c.customer_id).where(member_ids.c.member_id == member_id)
    ).scalar_one_or_none()
    phone = None
    members = [member_id]
    if customer_id is not None:
        customer_id, phone = _live(connection, customer_id)
        members = sorted(
            {
                member_id,
                *connection.execute(
                    select(member_ids.c.member_id).where(member_ids.c.customer_id == customer_id)
                ).scalars(),
            }
        )
    newest = connection.execute(
        select(consents.c.given)
        .where(
            consents.c.member_id.in_(members),
            consents.c.purpose == MARKETING,
            or_(consents.c.channel.is_(None), consents.c.channel == "sms"),
        )
        .order_by(consents.c.occurred_at.desc(), consents.c.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    sent_today = connection.execute(
        select(func.count()).where(
            sms_requests.c.member_id.in_(members),
            sms_requests.c.status == "sent",
            sms_requests.c.sent_at >= day_start,
        )
    ).scalar_one()
    return Recipient(phone, marketing_withdrawn=newest is False, sent_today=int(sent_today))


def _live(connection: Connection, customer_id: str) -> tuple[str, str | None]:
    """The live record `customer_id` stands for, and its number (None: gone)."""
    for _ in range(MAX_MERGES):
        row = connection.execute(
            select(customers.c.merged_into, customers.c.phone_e164).where(
                customers.c.customer_id == customer_id
            )
        ).one_or_none()
        if row is None:
            return customer_id, None
        if row.merged_into is None:
            return customer_id, row.phone_e164
        customer_id = row.merged_into
    return customer_id, None
