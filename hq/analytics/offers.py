"""Member offers' results per offer (and its coupon campaign) and store, over a time range.

The one query behind `kiosk-hq offers stats`, the console's offers page and its
JSON twin. Read from the CRM tables as they stand (not the rollups: a chain's
offers make thousands of rows a day, not millions), each figure in [begin, end):

- shown: `offer_shown` events (offer_events, kind "shown"), when shown;
- taken: codes issued for the offer (coupons_issued.offer), when issued;
- text requested: texts asked for (hq/sms's `sms_requests`), when asked;
  sent: those of them the SMS provider accepted (status "sent"), by now: a text
  still queued, failed, over the daily cap or to a member with no number is not;
- printed: `offer_printed` events, when printed;
- redeemed: of the codes taken, those with a redemption (any, by now);
- take rate: taken / shown; redemption rate: redeemed / taken.

Rows are per offer, campaign and store: an offer whose campaign changed between
releases has a row for each. A member's erasure leaves their rows counted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, case, exists, func, select, union

from hq.db import coupon_redemptions, coupons_issued, offer_events, sms_requests
from hq.sms.rules import Status

SENT: Final[Status] = "sent"  # sms_requests.status once the provider accepted the text


@dataclass(frozen=True, slots=True)
class OfferResult:
    offer: str
    campaign: str | None  # None: a message-only offer
    store_id: str | None  # None: every store (`by_offer`)
    shown: int = 0
    taken: int = 0
    text_requested: int = 0
    sent: int = 0
    printed: int = 0
    redeemed: int = 0

    @property
    def take_rate(self) -> float | None:
        return None if not self.shown else self.taken / self.shown

    @property
    def redemption_rate(self) -> float | None:
        return None if not self.taken else self.redeemed / self.taken

    def as_json(self) -> dict[str, Any]:
        return {
            **{field.name: getattr(self, field.name) for field in fields(self)},
            "take_rate": self.take_rate,
            "redemption_rate": self.redemption_rate,
        }


Key = tuple[str, str | None, str]


def results(
    connection: Connection,
    *,
    begin: datetime,
    end: datetime,
    stores: Sequence[str] | None = None,
    offer: str | None = None,
) -> list[OfferResult]:
    """Per offer, campaign and store with anything in [begin, end); `stores` None: all."""
    if stores is not None and not stores:
        return []
    counts: dict[Key, dict[str, int]] = defaultdict(dict)

    def where(table: Any, at: Any) -> list[Any]:
        found = [at >= begin, at < end]
        if stores is not None:
            found.append(table.c.store_id.in_(sorted(stores)))
        if offer is not None:
            found.append(table.c.offer == offer)
        return found

    events = offer_events.c
    for name, campaign, store, kind, n in connection.execute(
        select(events.offer, events.campaign, events.store_id, events.kind, func.count())
        .where(*where(offer_events, events.occurred_at))
        .group_by(events.offer, events.campaign, events.store_id, events.kind)
    ):
        counts[(name, campaign, store)]["shown" if kind == "shown" else "printed"] = int(n)

    issued = coupons_issued.c
    redeemed = exists().where(coupon_redemptions.c.code == issued.code)
    for name, campaign, store, taken, used in connection.execute(
        select(
            issued.offer,
            issued.campaign,
            issued.store_id,
            func.count(),
            func.sum(case((redeemed, 1), else_=0)),
        )
        .where(issued.offer.is_not(None), *where(coupons_issued, issued.issued_at))
        .group_by(issued.offer, issued.campaign, issued.store_id)
    ):
        counts[(name, campaign, store)].update(taken=int(taken), redeemed=int(used or 0))

    texts = sms_requests.c
    for name, campaign, store, asked, sent in connection.execute(
        select(
            texts.offer,
            texts.campaign,
            texts.store_id,
            func.count(),
            func.sum(case((texts.status == SENT, 1), else_=0)),
        )
        .where(*where(sms_requests, texts.requested_at))
        .group_by(texts.offer, texts.campaign, texts.store_id)
    ):
        counts[(name, campaign, store)].update(text_requested=int(asked), sent=int(sent or 0))
    return [
        OfferResult(
            name,
            campaign,
            store,
            shown=found.get("shown", 0),
            taken=found.get("taken", 0),
            text_requested=found.get("text_requested", 0),
            sent=found.get("sent", 0),
            printed=found.get("printed", 0),
            redeemed=found.get("redeemed", 0),
        )
        for (name, campaign, store), found in sorted(counts.items(), key=_order)
    ]


def _order(item: tuple[Key, Any]) -> tuple[str, str, str]:
    (name, campaign, store), _ = item
    return (name, campaign or "", store)


def by_offer(found: Iterable[OfferResult]) -> list[OfferResult]:
    """`found` summed over stores: one row per offer and campaign, most shown first."""
    totals: dict[tuple[str, str | None], OfferResult] = {}
    for row in found:
        key = (row.offer, row.campaign)
        total = totals.get(key)
        totals[key] = (
            replace(row, store_id=None)
            if total is None
            else replace(
                total,
                shown=total.shown + row.shown,
                taken=total.taken + row.taken,
                text_requested=total.text_requested + row.text_requested,
                sent=total.sent + row.sent,
                printed=total.printed + row.printed,
                redeemed=total.redeemed + row.redeemed,
            )
        )
    return sorted(totals.values(), key=lambda row: (-row.shown, -row.taken, row.offer))


def offered(
    connection: Connection, *, begin: datetime, end: datetime, stores: Sequence[str] | None
) -> list[str]:
    """The offers shown or taken in [begin, end) in `stores` (None: all)."""
    if stores is not None and not stores:
        return []
    parts = []
    for table, at in ((offer_events, offer_events.c.occurred_at),
                      (coupons_issued, coupons_issued.c.issued_at)):  # fmt: skip
        part = select(table.c.offer).where(at >= begin, at < end, table.c.offer.is_not(None))
        if stores is not None:
            part = part.where(table.c.store_id.in_(sorted(stores)))
        parts.append(part)
    return sorted(connection.execute(union(*parts)).scalars())
