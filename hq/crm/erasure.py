"""Erasing a member: their personal data leaves HQ, and their tags leave every kiosk.

Erasing names one member id, and takes the whole person: the customer it
belongs to and all of that customer's member ids (one person who signed up at
two stores). In one transaction:

- `customers` (phone, email, name, address; and every record merged into
  theirs, hq.crm.merges), `member_ids`, `consents`, `interactions` and
  `tag_bindings` rows of those member ids are deleted, and so are the merges of
  those records (a merge's snapshot is a copy of both records) and the pairs
  of them a reviewer dismissed as two people (hq.crm.dismissals);
- survey answers and completions, issued coupons, prize draws and requested
  text messages (hq.sms) stay, without the member id (a coupon stays valid; an
  answer still counts; an offer shown or printed stays counted in the offer's
  results; a text not sent yet never is), and a text answer loses its text,
  which the person wrote;
- events that carry those member ids keep what is not about the person (a lift
  stays a lift of that phone, at that slot) and lose the member id; a sign-up or
  a tag binding keeps nothing. Their payload gets `"erased": true`;
- their feed entries become tombstones: kiosks drop them on their next delta;
- each member id's SHA-256 goes into `erased_members` (the id itself would be
  the person's trace left behind). Events from a kiosk that was
  offline and arrive later are stored the same way (`scrubbed`), and projected
  only as those rows without the person (`without_member`), so an erased member
  does not come back.

Consent history goes too: with nothing left to process, there is nothing the
consent would justify. The rows are gone at commit; what the database's files
still hold of them is cleared by `hq.crm.residue` (the caller passes it
ERASED_FROM). Finding the events scans the events of the member kinds
(there is no index on a payload's member id): slow on a very large HQ, and rare.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final

from sqlalchemy import bindparam, delete, select, update

from hq.crm import dismissals, merges, recognition
from hq.crm.facts import (
    CouponIssued,
    Fact,
    OfferPrinted,
    OfferShown,
    PrizeDrawn,
    SurveyAnswered,
    SurveyCompleted,
)
from hq.db import (
    Database,
    consents,
    coupons_issued,
    crm_records,
    customer_dismissals,
    customer_merges,
    customers,
    erased_members,
    events,
    interactions,
    member_feed,
    member_ids,
    offer_events,
    prize_draws,
    rollup_member_sessions,
    rollup_members,
    sms_requests,
    survey_answers,
    survey_completions,
    tag_bindings,
)

_log = logging.getLogger("hq.erasure")

MEMBER_KINDS: Final = frozenset(
    {
        "lift",
        "drop",
        "comparison",
        "recommendation_tap",
        "member_signup",
        "consent",
        "tag_bound",
        "survey_answer",
        "survey_completed",
        "coupon_issued",
        "prize_draw",
        "offer_shown",
        "offer_text_requested",
        "offer_printed",
    }
)
"""Event kinds whose payload may carry a member id."""

WHOLLY_PERSONAL: Final = frozenset({"member_signup", "tag_bound"})
"""Kinds whose payload is nothing but the person: erased whole."""

_WRITTEN_BY_THEM: Final = frozenset({"member_id", "text"})
# A survey's free text answer is the person's own words: it goes with the member id.

_KEPT_WITHOUT_MEMBER: Final = (
    survey_answers,
    survey_completions,
    coupons_issued,
    prize_draws,
    offer_events,
    sms_requests,  # a text not sent yet is then never sent (hq.sms: withdrawn)
)
"""Tables whose rows mean something without the person: they lose the member id."""

# rollup_members and rollup_member_sessions: the analytics' record of a member's visits
# (hq.analytics.rollup); the visits already counted stay counted, without the id.
_DELETED_FROM: Final = (
    tag_bindings,
    consents,
    interactions,
    member_ids,
    rollup_members,
    rollup_member_sessions,
)

ERASED_FROM: Final = tuple(
    table.name
    for table in (
        *_DELETED_FROM,
        customers,
        customer_merges,
        customer_dismissals,
        *_KEPT_WITHOUT_MEMBER,
        events,
        member_feed,
    )
)
"""Every table an erasure deletes or overwrites rows of."""


def member_hash(member_id: str) -> str:
    """How `erased_members` knows an erased member id: its SHA-256 (hex). A member id
    is a random uuid: its hash cannot be turned back into it."""
    return hashlib.sha256(member_id.lower().encode("ascii", "replace")).hexdigest()


def scrubbed(kind: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """`payload` of an erased member's event of `kind`, without the person."""
    if kind in WHOLLY_PERSONAL:
        return {"erased": True}
    return {**{k: v for k, v in payload.items() if k not in _WRITTEN_BY_THEM}, "erased": True}


def without_member(fact: Fact | None) -> Fact | None:
    """What of an erased member's fact is still projected: the rows that mean
    something without them, without them; nothing of the rest."""
    match fact:
        case SurveyAnswered():
            return replace(fact, member_id=None, text=None)
        case SurveyCompleted() | CouponIssued() | PrizeDrawn() | OfferShown() | OfferPrinted():
            return replace(fact, member_id=None)
    return None


@dataclass(frozen=True, slots=True)
class Erasure:
    member_ids: tuple[str, ...]  # the person's member ids, all erased
    erased_at: datetime
    already: bool  # the member id was erased before (what came since is erased now)
    events_scrubbed: int
    feed_entries_removed: int

    def as_json(self) -> dict[str, Any]:
        return {
            "member_ids": list(self.member_ids),
            "erased_at": self.erased_at.isoformat(),
            "already_erased": self.already,
            "events_scrubbed": self.events_scrubbed,
            "feed_entries_removed": self.feed_entries_removed,
        }


def erase_member(database: Database, member_id: str, *, now: datetime) -> Erasure | None:
    """Erase the person behind `member_id`; None if HQ knows nothing of that member id."""
    with database.write() as connection:
        earlier = connection.execute(
            select(erased_members.c.erased_at).where(
                erased_members.c.member_sha256 == member_hash(member_id)
            )
        ).scalar_one_or_none()
        customer_id = connection.execute(
            select(member_ids.c.customer_id).where(member_ids.c.member_id == member_id)
        ).scalar_one_or_none()
        members = {member_id}
        if customer_id is not None:
            members.update(
                connection.execute(
                    select(member_ids.c.member_id).where(member_ids.c.customer_id == customer_id)
                ).scalars()
            )
        wanted = sorted(members)
        if earlier is None and customer_id is None and not _known(connection, wanted):
            return None

        for table in _DELETED_FROM:
            connection.execute(delete(table).where(table.c.member_id.in_(wanted)))
        for table in _KEPT_WITHOUT_MEMBER:
            gone: dict[str, None] = {"member_id": None}
            if table is survey_answers:
                gone["text"] = None
            connection.execute(update(table).where(table.c.member_id.in_(wanted)).values(**gone))
        if customer_id is not None:
            # Records merged into theirs are theirs too, and the merges' snapshots.
            records = [customer_id, *sorted(merges.merged_records(connection, [customer_id]))]
            merges.forget_merges(connection, records)
            dismissals.forget(connection, records)
            connection.execute(delete(customers).where(customers.c.customer_id.in_(records)))
            # A CRM still holding them keeps only their customer id until it deletes
            # them: not the hashes of their contact fields (hq.analytics.crm.inbound).
            connection.execute(
                update(crm_records)
                .where(crm_records.c.customer_id.in_(records))
                .values(sent_fields=None)
            )
        events_scrubbed = _scrub_events(connection, wanted)
        database.insert_rows(
            connection,
            erased_members,
            [{"member_sha256": member_hash(member), "erased_at": now} for member in wanted],
            on_conflict=lambda insert: insert.on_conflict_do_nothing(),
        )
        removed = recognition.remove_entries(database, connection, members=wanted, now=now)
    _log.info(
        "a member was erased (%d member ids, %d events scrubbed, %d feed entries removed)",
        len(wanted),
        events_scrubbed,
        removed,
    )
    return Erasure(
        member_ids=tuple(wanted),
        erased_at=earlier or now,
        already=earlier is not None,
        events_scrubbed=events_scrubbed,
        feed_entries_removed=removed,
    )


def _known(connection: Any, members: list[str]) -> bool:
    for table in (consents, interactions, tag_bindings, *_KEPT_WITHOUT_MEMBER):
        if connection.execute(
            select(table.c.member_id).where(table.c.member_id.in_(members)).limit(1)
        ).first():
            return True
    return False


def _scrub_events(connection: Any, members: list[str]) -> int:
    found = connection.execute(
        select(events.c.id, events.c.kind, events.c.payload).where(
            events.c.kind.in_(sorted(MEMBER_KINDS)),
            events.c.payload["member_id"].as_string().in_(members),
        )
    ).all()
    if found:
        connection.execute(
            update(events)
            .where(events.c.id == bindparam("row_id"))
            .values(payload=bindparam("scrubbed_payload", type_=events.c.payload.type)),
            [
                {"row_id": row.id, "scrubbed_payload": scrubbed(row.kind, row.payload)}
                for row in found
            ],
        )
    return len(found)


def erased_among(connection: Any, members: set[str]) -> set[str]:
    """Which of `members` were erased."""
    if not members:
        return set()
    hashed = {member_hash(member): member for member in members}
    return {
        hashed[found]
        for found in connection.execute(
            select(erased_members.c.member_sha256).where(
                erased_members.c.member_sha256.in_(sorted(hashed))
            )
        ).scalars()
    }
