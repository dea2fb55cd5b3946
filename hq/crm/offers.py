"""Member offers at HQ: what kiosks report of them, and each member's offer moments.

Kiosks report an offer shown on a member's welcome (`offer_shown`), a taken offer
(`coupon_issued` with reason "offer" and the `offer`: a `coupons_issued` row, through
hq.crm.coupons), a text asked for (`offer_text_requested`: hq/sms's queue,
`sms_requests`, owns it) and a printed coupon (`offer_printed`). Shown and printed
go to `offer_events`, one row per event. Merges need nothing here (rows are kept by
member id, as interactions are); erasure keeps the rows without the member id
(hq.crm.erasure), so an offer's results stay counted.

`moments` is a member's offers for their timeline, newest first: shown, taken (with
the code), asked for by text, printed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, String, literal, select

from hq.crm.facts import OfferFact, OfferPrinted, OfferShown
from hq.db import COUPON_CODE_LENGTH, Database, coupons_issued, offer_events, sms_requests


def project(database: Database, connection: Connection, facts: Sequence[OfferFact]) -> None:
    """Offers shown and printed into `offer_events`; an event stored twice keeps its row."""
    database.insert_rows(
        connection,
        offer_events,
        [_row(fact) for fact in facts],
        on_conflict=lambda insert: insert.on_conflict_do_nothing(),
    )


def _row(fact: OfferFact) -> dict[str, Any]:
    origin = fact.origin
    return {
        "event_id": origin.event_id,
        "kind": "shown" if isinstance(fact, OfferShown) else "printed",
        "offer": fact.offer,
        "campaign": fact.campaign,
        "member_id": fact.member_id,
        "code": fact.code if isinstance(fact, OfferPrinted) else None,
        "store_id": origin.store_id,
        "kiosk_id": origin.kiosk_id,
        "session": fact.session,
        "occurred_at": origin.occurred_at,
    }


@dataclass(frozen=True, slots=True)
class OfferMoment:
    """One thing that happened to a member's offer, for their timeline."""

    kind: str  # "offer_shown", "offer_taken", "offer_texted" or "offer_printed"
    occurred_at: datetime
    member_id: str
    store_id: str
    kiosk_id: str
    session: str
    offer: str
    campaign: str | None
    code: str | None  # formatted; taken and printed only


def moments(connection: Connection, members: Sequence[str], *, limit: int) -> list[OfferMoment]:
    """The `limit` newest offer moments of `members`, newest first."""
    if not members:
        return []
    wanted = sorted(members)
    events = offer_events.c
    coupons = coupons_issued.c
    texts = sms_requests.c
    parts = [
        select(
            events.kind, events.occurred_at, events.member_id, events.store_id,
            events.kiosk_id, events.session, events.offer, events.campaign, events.code,
        ).where(events.member_id.in_(wanted)),
        select(
            literal("taken").label("kind"), coupons.issued_at, coupons.member_id,
            coupons.store_id, coupons.kiosk_id, coupons.session, coupons.offer,
            coupons.campaign, coupons.code,
        ).where(coupons.member_id.in_(wanted), coupons.offer.is_not(None)),
        select(
            literal("texted").label("kind"), texts.requested_at, texts.member_id,
            texts.store_id, texts.kiosk_id, texts.session, texts.offer, texts.campaign,
            literal(None, String(COUPON_CODE_LENGTH)).label("code"),
        ).where(texts.member_id.in_(wanted)),
    ]  # fmt: skip
    found: list[OfferMoment] = []
    for part in parts:
        # Each part is cut at `limit` in the database, the merge of them here.
        ordered = part.order_by(part.selected_columns[1].desc()).limit(limit)
        found.extend(
            OfferMoment(f"offer_{row[0]}", *row[1:]) for row in connection.execute(ordered)
        )
    found.sort(key=lambda moment: moment.occurred_at, reverse=True)
    return found[:limit]
