"""The `sms_requests` queue: filled by ingest, claimed and settled by the sender.

- `project_requests` (ingest's transaction): one row per `offer_text_requested`
  fact, ON CONFLICT (event_id) DO NOTHING: a batch the relay sends again after a
  lost answer queues nothing twice.
- `claim`: due rows (queued and due, or `sending` under a lease that ran out: a
  worker that died mid-send) become `sending` under this worker's lease, in one
  transaction. On PostgreSQL the rows are read FOR UPDATE SKIP LOCKED, so workers
  claiming at once take different rows; SQLite has one writer at a time.
- `settle`: the outcome, only while this worker still holds the lease.
- `release`: claimed rows not tried this round go back to the queue as they were.
- `standing`: counts per status and the oldest queued request, for
  `kiosk-hq sms status` (no personal data).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

from sqlalchemy import Connection, and_, func, or_, select, update

from hq.crm.facts import OfferTextRequested
from hq.db import Database, sms_requests
from hq.sms.rules import STATUSES, Outcome

LEASE: Final = timedelta(minutes=5)
# Far longer than one send (a provider's timeouts are 15 s): a lease that runs out
# means its worker died, and the row is claimed again (docs/sms.md: at least once).


@dataclass(frozen=True, slots=True)
class Claimed:
    """A request a worker is about to send. `code` is the coupon code: never logged."""

    id: int
    member_id: str | None
    language: str
    code: str
    expires_on: date
    attempts: int

    def __repr__(self) -> str:
        return f"Claimed(id={self.id}, attempts={self.attempts})"


@dataclass(frozen=True, slots=True)
class Standing:
    counts: dict[str, int]  # every status, 0 where none
    oldest_queued_at: datetime | None  # when the oldest request still queued was made


def project_requests(
    database: Database,
    connection: Connection,
    requested: Sequence[OfferTextRequested],
    *,
    received_at: datetime,
) -> None:
    database.insert_rows(
        connection,
        sms_requests,
        [
            {
                "event_id": fact.origin.event_id,
                "member_id": fact.member_id,
                "offer": fact.offer,
                "campaign": fact.campaign,
                "store_id": fact.origin.store_id,
                "kiosk_id": fact.origin.kiosk_id,
                "session": fact.session,
                "language": fact.language,
                "code": fact.code,
                "expires_on": fact.expires_on,
                "requested_at": fact.origin.occurred_at,
                "received_at": received_at,
                "status": "queued",
                "attempts": 0,
                "next_try_at": received_at,
            }
            for fact in requested
        ],
        on_conflict=lambda insert: insert.on_conflict_do_nothing(),
    )


def claim(database: Database, holder: str, *, now: datetime, limit: int) -> list[Claimed]:
    """Up to `limit` due requests, oldest first, now `sending` under `holder`'s lease."""
    due = (
        select(
            sms_requests.c.id,
            sms_requests.c.member_id,
            sms_requests.c.language,
            sms_requests.c.code,
            sms_requests.c.expires_on,
            sms_requests.c.attempts,
        )
        .where(
            or_(
                and_(sms_requests.c.status == "queued", sms_requests.c.next_try_at <= now),
                and_(sms_requests.c.status == "sending", sms_requests.c.lease_until < now),
            )
        )
        .order_by(sms_requests.c.id)
        .limit(limit)
    )
    if not database.is_sqlite:
        due = due.with_for_update(skip_locked=True)
    with database.write() as connection:
        rows = connection.execute(due).all()
        if rows:
            connection.execute(
                update(sms_requests)
                .where(sms_requests.c.id.in_([row.id for row in rows]))
                .values(status="sending", lease_holder=holder, lease_until=now + LEASE)
            )
    return [
        Claimed(row.id, row.member_id, row.language, row.code, row.expires_on, row.attempts)
        for row in rows
    ]


def settle(
    database: Database, holder: str, request_id: int, outcome: Outcome, *, provider: str
) -> bool:
    """Record `outcome`; False if `holder` lost the lease meanwhile (nothing written)."""
    values: dict[str, object] = {
        "status": outcome.status,
        "last_error": outcome.last_error,
        "lease_holder": None,
        "lease_until": None,
    }
    if outcome.attempted:
        values["attempts"] = sms_requests.c.attempts + 1
        values["provider"] = provider
    if outcome.next_try_at is not None:
        values["next_try_at"] = outcome.next_try_at
    if outcome.status == "sent":
        values["sent_at"] = outcome.sent_at
        values["provider_message_id"] = outcome.provider_message_id
    with database.write() as connection:
        done = connection.execute(
            update(sms_requests)
            .where(sms_requests.c.id == request_id, sms_requests.c.lease_holder == holder)
            .values(values)
        )
    return done.rowcount == 1


def release(database: Database, holder: str, request_ids: Sequence[int]) -> None:
    """Claimed requests not tried this round: queued again, due at once."""
    if not request_ids:
        return
    with database.write() as connection:
        connection.execute(
            update(sms_requests)
            .where(
                sms_requests.c.id.in_(list(request_ids)),
                sms_requests.c.lease_holder == holder,
                sms_requests.c.status == "sending",
            )
            .values(status="queued", lease_holder=None, lease_until=None)
        )


def standing(database: Database) -> Standing:
    with database.snapshot() as connection:
        counts: dict[str, int] = dict.fromkeys(STATUSES, 0)
        for status, count in connection.execute(
            select(sms_requests.c.status, func.count()).group_by(sms_requests.c.status)
        ):
            counts[status] = int(count)
        oldest = connection.execute(
            select(func.min(sms_requests.c.requested_at)).where(
                sms_requests.c.status.in_(("queued", "sending"))
            )
        ).scalar_one_or_none()
    return Standing(counts, oldest)
