"""The CRM's changes to a contact's fields (email, name, language) applied at HQ.

records.contact_changes decides (pure); this does the reads and the writes, one
transaction per contact: the customer row, an audit line by the connector, the
member feed's greeting when the name changed, what HQ now knows the CRM holds
(`crm_records.sent_fields`, so the next pull and push see no change: no ping-pong),
the other connectors' queues (they get the new value), dead letters for refused
values (reasons name fields, never values) and the counts `crm status` shows.
Erased and merged-away customers are never updated.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final

from sqlalchemy import func, select, update

from hq import audit
from hq.analytics.crm import store
from hq.analytics.crm.connector import Refusal
from hq.analytics.crm.records import (
    ContactChange,
    CustomerState,
    contact_changes,
    customer_record,
)
from hq.crm import recognition
from hq.db import Database, crm_queue, crm_records, customers, member_ids

ACTION: Final = "customers.crm_change"
DEAD_LETTER_KIND: Final = "change"
_COLUMNS: Final = {"email": "email", "name": "name", "language": "language"}
PAGE: Final = 500  # contacts read from HQ's database at a time


@dataclass
class Applied:
    customers: int = 0  # customers with at least one field applied
    refused: int = 0
    phone_conflicts: int = 0


def apply_contact_changes(
    database: Database, connector: str, contacts: Sequence[ContactChange], *, now: datetime
) -> Applied:
    """Apply what the CRM changed of these contacts; what was applied, refused, counted."""
    result = Applied()
    for start in range(0, len(contacts), PAGE):
        page = contacts[start : start + PAGE]
        for change in _candidates(database, connector, page):
            _apply_one(database, connector, change, now, result)
    counts = {
        "changes_applied": result.customers,
        "phone_conflicts": result.phone_conflicts,
    }
    if any(counts.values()):
        store.add_counts(database, connector, **counts)
    return result


def _candidates(
    database: Database, connector: str, page: Sequence[ContactChange]
) -> list[ContactChange]:
    """The contacts with something to decide on, read in two queries: most contacts a
    round reads hold nothing new (HQ's own push changed them), and need no write."""
    ids = sorted({change.customer_id for change in page})
    people = store.customer_states(database, ids)
    with database.read() as connection:
        sent = dict(
            connection.execute(
                select(crm_records.c.customer_id, crm_records.c.sent_fields).where(
                    crm_records.c.connector == connector, crm_records.c.customer_id.in_(ids)
                )
            ).all()
        )
    found = []
    for change in page:
        person = people.get(change.customer_id)
        fields = sent.get(change.customer_id)
        if person is None or fields is None:
            continue
        decision = contact_changes(change, _parsed(fields), _held(person), None)
        if decision.seen:  # the time check is made in the write, with the rest
            found.append(change)
    return found


def _held(person: CustomerState) -> dict[str, str | None]:
    return {
        "email": person.email,
        "name": person.name,
        "language": person.language,
        "phone": person.phone_e164,
    }


def _apply_one(
    database: Database, connector: str, change: ContactChange, now: datetime, result: Applied
) -> None:
    states = store.customer_states(database, [change.customer_id])
    person = states.get(change.customer_id)  # erased, or merged away: no member ids left
    if person is None:
        return
    with database.write() as connection:
        row = connection.execute(
            select(customers.c.merged_into).where(customers.c.customer_id == change.customer_id)
        ).one_or_none()
        held = connection.execute(
            select(crm_records.c.sent_sha256, crm_records.c.sent_fields).where(
                crm_records.c.connector == connector,
                crm_records.c.customer_id == change.customer_id,
            )
        ).one_or_none()
        if row is None or row.merged_into is not None or held is None:
            return
        members = list(
            connection.execute(
                select(member_ids.c.member_id).where(member_ids.c.customer_id == change.customer_id)
            ).scalars()
        )
        hq_changed_at = connection.execute(
            select(func.max(member_ids.c.signed_up_at)).where(
                member_ids.c.customer_id == change.customer_id
            )
        ).scalar()
        sent: dict[str, str] | None = (
            None if held.sent_fields is None else _parsed(held.sent_fields)
        )
        decision = contact_changes(change, sent, _held(person), hq_changed_at)
        if decision.refused:
            reason = "crm value refused: " + " ".join(decision.refused)
            store.dead_letter(
                connection, connector, DEAD_LETTER_KIND, [Refusal(change.customer_id, reason)], now
            )
            result.refused += 1
        if decision.phone_conflict:
            result.phone_conflicts += 1
        if sent is None or not decision.seen:
            return
        # The CRM holds these values now. If nothing else was waiting to go, the
        # record as it now is counts as sent; else it goes, with values the CRM has.
        values: dict[str, Any] = {
            "sent_fields": json.dumps(
                sent | dict(decision.seen), separators=(",", ":"), sort_keys=True
            )
        }
        before = customer_record(person)
        new = decision.apply
        after = customer_record(
            replace(
                person,
                email=new.get("email", person.email),
                name=new.get("name", person.name),
                language=new.get("language", person.language),
            )
        )
        if before is not None and after is not None and before.sha256() == held.sent_sha256:
            values["sent_sha256"] = after.sha256()
        connection.execute(
            update(crm_records)
            .where(
                crm_records.c.connector == connector,
                crm_records.c.customer_id == change.customer_id,
            )
            .values(values)
        )
        if not decision.apply:
            return
        connection.execute(
            update(customers)
            .where(customers.c.customer_id == change.customer_id)
            .values({_COLUMNS[name]: value for name, value in decision.apply.items()})
        )
        audit.record(
            connection,
            connector,
            ACTION,
            f"customer:{change.customer_id}",
            {"fields": sorted(decision.apply)},
            at=now,
        )
        if "name" in decision.apply:  # a greeting by name shows the new one
            recognition.refresh(database, connection, members, now=now)
        others = connection.execute(
            select(crm_records.c.connector).where(
                crm_records.c.customer_id == change.customer_id,
                crm_records.c.connector != connector,
            )
        ).scalars()
        rows = [
            {"connector": other, "customer_id": change.customer_id, "queued_at": now}
            for other in others
        ]
        if rows:
            database.insert_rows(
                connection,
                crm_queue,
                rows,
                on_conflict=lambda insert: insert.on_conflict_do_nothing(),
            )
    result.customers += 1


def _parsed(text: str) -> dict[str, str] | None:
    try:
        found = json.loads(text)
    except ValueError:
        return None
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else None
