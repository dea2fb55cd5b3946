"""HQ's side of the CRM connectors, in its database.

- The queue (`crm_queue`): customers whose record must go (again) to a connector's
  CRM. `enqueue` fills it from cursors over what HQ records: new `consents` rows
  (kiosks' decisions, sign-ups on the phone page, withdrawals at HQ or from a CRM)
  and sign-up events (a sign-up's name or email), and both records of a merge of
  duplicates (hq.crm.merges) made or undone since the last round. Rows stay until the CRM accepted
  or refused the record: each change is sent at least once.
- Cursors may pass a row a slower transaction has not committed yet (PostgreSQL
  hands out ids before commit), so each round looks again at the last
  RESCAN_ROWS ids: what was seen before is queued again and skipped as unchanged.
- What each CRM holds (`crm_records`): the record's hash (unchanged: not sent),
  the consent flags sent, the CRM's own id. A row whose customer is gone (an
  erasure deleted it) is a deletion to make at the CRM; done, the row goes too.
- Interactions go in arrival order (`interactions.id`) up to the horizon, the
  newest id seen the round before: by then every transaction below it committed.
- Dead letters (`crm_dead_letters`): what a CRM refused, with its reason.
- The lease on `crm_sync_state`: one HQ worker at a time runs a connector's round.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Connection, and_, delete, func, or_, select, update

from hq.analytics.crm.connector import CrmEvent, Refusal
from hq.analytics.crm.records import CustomerRecord, CustomerState, Decision
from hq.db import (
    Database,
    consents,
    crm_dead_letters,
    crm_queue,
    crm_records,
    crm_sync_state,
    customer_merges,
    customers,
    events,
    interactions,
    member_ids,
)

RESCAN_ROWS: Final = 500
# Ingest commits within a second; 500 ids is far more than arrive meanwhile on a
# chain's HQ, and rescanning them costs one read of the customers they name.

MERGE_MARGIN: Final = timedelta(hours=1)
# Merges are found by time, from the last round's end: an hour back covers a merge
# made while that round ran, and re-queues only the last hour's few merges.

LEASE: Final = timedelta(minutes=10)
# Longer than a round takes (renewed every batch); a worker that died holding it
# lets another take over after this long.


@dataclass(frozen=True, slots=True)
class SyncState:
    connector: str
    consents_cursor: int
    signups_cursor: int
    events_cursor: int
    events_horizon: int
    pull_cursor: str | None
    last_round_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    rate_limit: str | None
    customers_sent: int
    customers_deleted: int
    events_sent: int
    opt_outs: int
    changes_applied: int = 0
    phone_conflicts: int = 0
    queued: int = 0
    dead_letters: int = 0
    on_crm: int = 0


@dataclass(frozen=True, slots=True)
class Sent:
    sha256: str
    consents: str
    external_id: str | None


def ensure_state(database: Database, connector: str) -> None:
    with database.write() as connection:
        connection.execute(
            database.insert(crm_sync_state).values(connector=connector).on_conflict_do_nothing()
        )


def read_state(connection: Connection, connector: str) -> SyncState | None:
    row = connection.execute(
        select(crm_sync_state).where(crm_sync_state.c.connector == connector)
    ).one_or_none()
    if row is None:
        return None
    return SyncState(
        connector=row.connector,
        consents_cursor=row.consents_cursor,
        signups_cursor=row.signups_cursor,
        events_cursor=row.events_cursor,
        events_horizon=row.events_horizon,
        pull_cursor=row.pull_cursor,
        last_round_at=row.last_round_at,
        last_success_at=row.last_success_at,
        last_error=row.last_error,
        rate_limit=row.rate_limit,
        customers_sent=row.customers_sent,
        customers_deleted=row.customers_deleted,
        events_sent=row.events_sent,
        opt_outs=row.opt_outs,
        changes_applied=row.changes_applied,
        phone_conflicts=row.phone_conflicts,
        queued=_count(connection, crm_queue, connector),
        dead_letters=_count(connection, crm_dead_letters, connector),
        on_crm=_count(connection, crm_records, connector),
    )


def _count(connection: Connection, table: Any, connector: str) -> int:
    return int(
        connection.execute(
            select(func.count()).select_from(table).where(table.c.connector == connector)
        ).scalar_one()
    )


def states(database: Database) -> list[SyncState]:
    with database.read() as connection:
        names = connection.execute(
            select(crm_sync_state.c.connector).order_by(crm_sync_state.c.connector)
        ).scalars()
        return [found for name in list(names) if (found := read_state(connection, name))]


# ---------------------------------------------------------------- the lease


def take_lease(database: Database, connector: str, holder: str, *, now: datetime) -> bool:
    """Hold (or renew) the connector's lease for LEASE; False if another holds it."""
    ensure_state(database, connector)
    with database.write() as connection:
        taken = connection.execute(
            update(crm_sync_state)
            .where(
                crm_sync_state.c.connector == connector,
                or_(
                    crm_sync_state.c.lease_until.is_(None),
                    crm_sync_state.c.lease_until < now,
                    crm_sync_state.c.lease_holder == holder,
                ),
            )
            .values(lease_holder=holder, lease_until=now + LEASE)
        )
        return taken.rowcount == 1


def release_lease(database: Database, connector: str, holder: str) -> None:
    with database.write() as connection:
        connection.execute(
            update(crm_sync_state)
            .where(crm_sync_state.c.connector == connector, crm_sync_state.c.lease_holder == holder)
            .values(lease_holder=None, lease_until=None)
        )


# ---------------------------------------------------------------- the queue


def enqueue(database: Database, connector: str, *, now: datetime) -> int:
    """Queue the customers HQ changed since the cursors; how many rows were queued."""
    with database.write() as connection:
        state = read_state(connection, connector)
        assert state is not None, "ensure_state first"
        newest_consent = connection.execute(select(func.max(consents.c.id))).scalar() or 0
        newest_signup = (
            connection.execute(
                select(func.max(events.c.id)).where(events.c.kind == "member_signup")
            ).scalar()
            or 0
        )
        by_consent = (
            select(member_ids.c.customer_id)
            .join(consents, consents.c.member_id == member_ids.c.member_id)
            .where(
                consents.c.id > max(0, state.consents_cursor - RESCAN_ROWS),
                consents.c.id <= newest_consent,
            )
        )
        by_signup = (
            select(member_ids.c.customer_id)
            .join(events, events.c.payload["member_id"].as_string() == member_ids.c.member_id)
            .where(
                events.c.kind == "member_signup",
                events.c.id > max(0, state.signups_cursor - RESCAN_ROWS),
                events.c.id <= newest_signup,
            )
        )
        found = set(connection.execute(by_consent).scalars()) | set(
            connection.execute(by_signup).scalars()
        )
        found |= _merged_since(connection, state.last_round_at)
        _queue(database, connection, connector, found, now)
        connection.execute(
            update(crm_sync_state)
            .where(crm_sync_state.c.connector == connector)
            .values(consents_cursor=newest_consent, signups_cursor=newest_signup)
        )
    return len(found)


def _merged_since(connection: Connection, since: datetime | None) -> set[str]:
    """Both records of merges made or undone since `since` (less MERGE_MARGIN): the
    one kept changes, the one merged away leaves the CRM (it has no member ids left),
    and an undo brings it back."""
    statement = select(customer_merges.c.survivor_id, customer_merges.c.merged_id)
    if since is not None:
        after = since - MERGE_MARGIN
        statement = statement.where(
            or_(customer_merges.c.merged_at > after, customer_merges.c.undone_at > after)
        )
    return {customer for row in connection.execute(statement) for customer in row}


def _queue(
    database: Database, connection: Connection, connector: str, ids: Iterable[str], now: datetime
) -> None:
    rows = [{"connector": connector, "customer_id": cid, "queued_at": now} for cid in sorted(ids)]
    for start in range(0, len(rows), 1000):
        database.insert_rows(
            connection,
            crm_queue,
            rows[start : start + 1000],
            on_conflict=lambda insert: insert.on_conflict_do_nothing(),
        )


def refresh_statistics(database: Database) -> None:
    """PostgreSQL: ANALYZE the queue and the records. A new connector's first round
    fills both faster than autovacuum notices, and a planner that still thinks them
    empty scans them whole for every page (a round of 20,000 members took 4x as long)."""
    if not database.is_sqlite:
        with database.write() as connection:
            connection.exec_driver_sql("ANALYZE crm_queue, crm_records")


def queued(
    database: Database, connector: str, limit: int, *, skip: Sequence[str] = ()
) -> dict[str, Sent | None]:
    """Queued customer ids, up to `limit`, except those in `skip`, each with what the
    CRM was last sent of them. In the primary key's order (no sort of the whole
    queue): a round drains the queue, so the order decides only which request a
    record goes in. One join: a page's records are found by their primary key even
    when the table's statistics still say it is empty (a new connector's first round)."""
    with database.read() as connection:
        statement = (
            select(
                crm_queue.c.customer_id,
                crm_records.c.sent_sha256,
                crm_records.c.sent_consents,
                crm_records.c.external_id,
            )
            .outerjoin(
                crm_records,
                and_(
                    crm_records.c.connector == crm_queue.c.connector,
                    crm_records.c.customer_id == crm_queue.c.customer_id,
                ),
            )
            .where(crm_queue.c.connector == connector)
            .order_by(crm_queue.c.customer_id)
            .limit(limit)
        )
        if skip:
            statement = statement.where(crm_queue.c.customer_id.not_in(list(skip)))
        return {
            row.customer_id: None
            if row.sent_sha256 is None
            else Sent(row.sent_sha256, row.sent_consents, row.external_id)
            for row in connection.execute(statement)
        }


def customer_states(database: Database, ids: Sequence[str]) -> dict[str, CustomerState]:
    """What HQ holds of these customers (an erased or unknown id is absent)."""
    if not ids:
        return {}
    with database.read() as connection:
        rows = connection.execute(select(customers).where(customers.c.customer_id.in_(ids))).all()
        members: dict[str, list[str]] = defaultdict(list)
        for member, customer in connection.execute(
            select(member_ids.c.member_id, member_ids.c.customer_id)
            .where(member_ids.c.customer_id.in_(ids))
            .order_by(member_ids.c.signed_up_at, member_ids.c.member_id)
        ):
            members[customer].append(member)
        owner = {member: customer for customer, ms in members.items() for member in ms}
        decisions: dict[str, list[Decision]] = defaultdict(list)
        if owner:
            for row in connection.execute(
                select(
                    consents.c.member_id,
                    consents.c.purpose,
                    consents.c.channel,
                    consents.c.given,
                    consents.c.occurred_at,
                )
                .where(consents.c.member_id.in_(sorted(owner)))
                .order_by(consents.c.occurred_at, consents.c.id)  # ties: arrival order
            ):
                decisions[owner[row.member_id]].append(
                    Decision(row.purpose, row.channel, bool(row.given), row.occurred_at)
                )
    return {
        row.customer_id: CustomerState(
            customer_id=row.customer_id,
            phone_e164=row.phone_e164,
            email=row.email,
            name=row.name,
            language=row.language,
            created_at=row.created_at,
            first_store_id=row.first_store_id,
            decisions=tuple(decisions[row.customer_id]),
            member_id=members[row.customer_id][0],
        )
        for row in rows
        if members.get(row.customer_id)
    }


def acknowledge(
    database: Database,
    connector: str,
    *,
    accepted: Mapping[str, tuple[CustomerRecord, str | None]],
    refused: Sequence[Refusal] = (),
    done: Iterable[str] = (),
    now: datetime,
) -> None:
    """Record what the CRM now holds (`accepted`: record and the CRM's id), dead-letter
    `refused`, and take all of them and `done` (nothing to send) off the queue."""
    with database.write() as connection:
        if accepted:
            rows = [
                {
                    "connector": connector,
                    "customer_id": cid,
                    "external_id": external_id,
                    "sent_sha256": record.sha256(),
                    "sent_consents": record.consent_text(),
                    "sent_fields": record.fields_text(),
                    "sent_at": now,
                }
                for cid, (record, external_id) in sorted(accepted.items())
            ]
            database.insert_rows(
                connection,
                crm_records,
                rows,
                on_conflict=lambda insert: insert.on_conflict_do_update(
                    index_elements=[crm_records.c.connector, crm_records.c.customer_id],
                    set_={
                        "external_id": func.coalesce(
                            insert.excluded.external_id, crm_records.c.external_id
                        ),
                        "sent_sha256": insert.excluded.sent_sha256,
                        "sent_consents": insert.excluded.sent_consents,
                        "sent_fields": insert.excluded.sent_fields,
                        "sent_at": insert.excluded.sent_at,
                    },
                ),
            )
        dead_letter(connection, connector, "customer", refused, now)
        gone = sorted({*accepted, *(r.subject for r in refused), *done})
        if gone:
            connection.execute(
                delete(crm_queue).where(
                    crm_queue.c.connector == connector, crm_queue.c.customer_id.in_(gone)
                )
            )
        if accepted:
            _add(connection, connector, customers_sent=len(accepted))


def dead_letter(
    connection: Connection, connector: str, kind: str, refused: Sequence[Refusal], now: datetime
) -> None:
    if refused:
        connection.execute(
            crm_dead_letters.insert(),
            [
                {
                    "connector": connector,
                    "kind": kind,
                    "subject": refusal.subject,
                    "reason": refusal.reason[:500],
                    "refused_at": now,
                }
                for refusal in refused
            ],
        )


def record_dead_letters(
    database: Database, connector: str, kind: str, refused: Sequence[Refusal], now: datetime
) -> None:
    with database.write() as connection:
        dead_letter(connection, connector, kind, refused, now)


def dead_letters(database: Database, connector: str, limit: int = 20) -> list[dict[str, Any]]:
    with database.read() as connection:
        return [
            {
                "kind": row.kind,
                "subject": row.subject,
                "reason": row.reason,
                "refused_at": row.refused_at.isoformat(),
            }
            for row in connection.execute(
                select(crm_dead_letters)
                .where(crm_dead_letters.c.connector == connector)
                .order_by(crm_dead_letters.c.id.desc())
                .limit(limit)
            )
        ]


# ---------------------------------------------------------------- deletions


def erased(database: Database, connector: str, limit: int) -> list[tuple[str, str | None]]:
    """(customer id, CRM id) of records the CRM holds whose customer HQ no longer has."""
    with database.read() as connection:
        return [
            (row.customer_id, row.external_id)
            for row in connection.execute(
                select(crm_records.c.customer_id, crm_records.c.external_id)
                .outerjoin(customers, customers.c.customer_id == crm_records.c.customer_id)
                .where(crm_records.c.connector == connector, customers.c.customer_id.is_(None))
                .order_by(crm_records.c.customer_id)
                .limit(limit)
            )
        ]


def forget(database: Database, connector: str, ids: Sequence[str]) -> None:
    """The CRM deleted these customers: HQ forgets it held them, and their dead letters."""
    if not ids:
        return
    with database.write() as connection:
        for table, column in (
            (crm_records, crm_records.c.customer_id),
            (crm_queue, crm_queue.c.customer_id),
            (crm_dead_letters, crm_dead_letters.c.subject),
        ):
            connection.execute(
                delete(table).where(table.c.connector == connector, column.in_(list(ids)))
            )
        _add(connection, connector, customers_deleted=len(ids))


# ---------------------------------------------------------------- interactions


def interactions_after(
    database: Database, connector: str, *, after: int, upto: int, limit: int
) -> tuple[list[tuple[int, CrmEvent]], int]:
    """Up to `limit` interactions with ids in (after, upto] of customers the CRM holds,
    each with its id; and the last id looked at (`after` if none)."""
    with database.read() as connection:
        ids = list(
            connection.execute(
                select(interactions.c.id)
                .where(interactions.c.id > after, interactions.c.id <= upto)
                .order_by(interactions.c.id)
                .limit(limit)
            ).scalars()
        )
        if not ids:
            return [], after
        rows = connection.execute(
            select(
                interactions.c.id,
                interactions.c.event_id,
                interactions.c.kind,
                interactions.c.sku,
                interactions.c.slot,
                interactions.c.store_id,
                interactions.c.occurred_at,
                member_ids.c.customer_id,
                crm_records.c.external_id,
            )
            .join(member_ids, member_ids.c.member_id == interactions.c.member_id)
            .join(
                crm_records,
                and_(
                    crm_records.c.customer_id == member_ids.c.customer_id,
                    crm_records.c.connector == connector,
                ),
            )
            .where(interactions.c.id.in_(ids))
            .order_by(interactions.c.id)
        ).all()
    found = [
        (
            row.id,
            CrmEvent(
                event_id=row.event_id,
                customer_id=row.customer_id,
                external_id=row.external_id,
                kind=row.kind,
                sku=row.sku,
                slot=row.slot,
                store_id=row.store_id,
                occurred_at=row.occurred_at,
            ),
        )
        for row in rows
    ]
    return found, ids[-1]


def newest_interaction(database: Database) -> int:
    with database.read() as connection:
        return int(connection.execute(select(func.max(interactions.c.id))).scalar() or 0)


# ---------------------------------------------------------------- the state row


def set_state(database: Database, connector: str, **values: Any) -> None:
    with database.write() as connection:
        connection.execute(
            update(crm_sync_state).where(crm_sync_state.c.connector == connector).values(**values)
        )


def add_counts(database: Database, connector: str, **counts: int) -> None:
    with database.write() as connection:
        _add(connection, connector, **counts)


def _add(connection: Connection, connector: str, **counts: int) -> None:
    connection.execute(
        update(crm_sync_state)
        .where(crm_sync_state.c.connector == connector)
        .values({name: crm_sync_state.c[name] + count for name, count in counts.items()})
    )
