"""Finding likely duplicate customer records, merging two into one, undoing it.

A merge of `other` into `keep`, in one transaction:

- every member id of `other` moves to `keep` (`member_ids.customer_id`). Consents,
  interactions, tag bindings, survey answers and coupons are kept by member id, so
  the timelines join and nothing else is rewritten;
- consents follow the stricter rule (dedupe.stricter_consents): where a source
  record's latest decision is a refusal but the joined history's newest is a yes,
  a withdrawal row is added (`source` "merge", `recorded_by` who merged, at `now`);
- `keep`'s missing e-mail, name, language, address, loyalty tier, tags and birth
  month (hq.crm.segments) are filled from `other`'s; nothing of `keep`'s is
  overwritten;
- `other` stays, marked `merged_into` keep: not deleted, so it can come back;
- a `customer_merges` row holds both records as they were, the member ids moved
  and the consent rows added (the snapshot), and the audit log says who merged;
- the member feed is refreshed for every member id of the person: a kiosk
  recognises any of their fobs as the one merged person (name, last viewed, tier,
  and a withdrawal merged in: of recognition, it removes all their tags from every
  kiosk; of marketing, it stops offers to them and their tier, tags and birth month
  leave the feed).

Undo puts back exactly what the merge changed: the member ids moved, the consent
rows added (deleted), `other` as it was, and `keep`'s filled fields (those staff
have not changed since). It clears the snapshot (no second copy of a person's data
is kept) and refreshes the feed again. A merge whose surviving record was itself
merged since is undone after that later merge. What came after the merge stays
where it went: a member's new lifts stay theirs (by member id), and a new sign-up
with `other`'s number went to `keep` (projections follow `merged_into`) and stays.

Erasing a merged person (hq.crm.erasure) erases every record merged into theirs
and the merge rows (their snapshots are personal data). Logs and errors name
customer ids and merge numbers, never a phone number, name or e-mail.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import ColumnElement, Connection, Row, Select, delete, insert, or_, select, update

from hq import audit
from hq.crm import dedupe, recognition
from hq.crm.dedupe import CandidatePair, CandidateRow, Decision
from hq.db import (
    Database,
    UtcDateTime,
    consents,
    customer_dismissals,
    customer_merges,
    customers,
    events,
    member_ids,
    tag_bindings,
)
from hq.errors import HqError

_log = logging.getLogger("hq.merges")

FILLED_FROM_OTHER: Final = (
    "email",
    "name",
    "language",
    "tier",
    "tags",
    "birth_month",
    "address",
    "address_key",
)
"""`keep`'s fields a merge fills from `other` when `keep` has none."""

MERGE_SOURCE: Final = "merge"  # consents.source of a withdrawal a merge adds


class UnknownCustomer(HqError, LookupError):
    def __init__(self) -> None:
        super().__init__("no such customer")


class UnknownMerge(HqError, LookupError):
    def __init__(self) -> None:
        super().__init__("no such merge")


class MergeRefused(HqError, ValueError):
    """The records cannot be merged, or the merge cannot be undone (the message says why)."""


@dataclass(frozen=True, slots=True)
class MergeRecord:
    merge_id: int
    survivor_id: str
    merged_id: str
    reasons: tuple[str, ...]
    merged_by: str
    merged_at: datetime
    undone_by: str | None
    undone_at: datetime | None
    member_ids_moved: int  # 0 once undone (the snapshot is gone)
    consents_added: int

    @property
    def undone(self) -> bool:
        return self.undone_at is not None

    def as_json(self) -> dict[str, Any]:
        return {
            "merge_id": self.merge_id,
            "survivor_id": self.survivor_id,
            "merged_id": self.merged_id,
            "reasons": list(self.reasons),
            "merged_by": self.merged_by,
            "merged_at": self.merged_at.isoformat(),
            "undone_by": self.undone_by,
            "undone_at": None if self.undone_at is None else self.undone_at.isoformat(),
            "member_ids_moved": self.member_ids_moved,
            "consents_added": self.consents_added,
        }


# ---------------------------------------------------------------- finding


def load_candidates(
    connection: Connection, customer_ids: Sequence[str] | None = None
) -> list[CandidateRow]:
    """Every live record (or those of `customer_ids`) with the tags ever bound to its
    member ids (bindings now, and kiosks' `tag_bound` events: a fob bound again to a
    later sign-up has moved)."""
    tags: dict[str, set[str]] = defaultdict(set)
    bound = select(member_ids.c.customer_id, tag_bindings.c.tag_hash).join(
        member_ids, member_ids.c.member_id == tag_bindings.c.member_id
    )
    for customer, tag_hash in connection.execute(
        _only(bound, member_ids.c.customer_id, customer_ids)
    ):
        tags[customer].add(tag_hash)
    member = events.c.payload["member_id"].as_string()
    told = (
        select(member_ids.c.customer_id, events.c.payload["tag_hash"].as_string())
        .join(member_ids, member_ids.c.member_id == member)
        .where(events.c.kind == "tag_bound")
    )
    for customer, tag_hash in connection.execute(
        _only(told, member_ids.c.customer_id, customer_ids)
    ):
        if tag_hash:
            tags[customer].add(str(tag_hash).lower())
    live = select(
        customers.c.customer_id,
        customers.c.phone_e164,
        customers.c.email,
        customers.c.name,
        customers.c.address,
        customers.c.created_at,
    ).where(customers.c.merged_into.is_(None))
    return [
        CandidateRow(
            customer_id=row.customer_id,
            phone=row.phone_e164,
            email=row.email,
            name=row.name,
            address=row.address,
            created_at=row.created_at,
            tag_hashes=frozenset(tags.get(row.customer_id, ())),
        )
        for row in connection.execute(_only(live, customers.c.customer_id, customer_ids))
    ]


def _only(
    statement: Select[Any], column: ColumnElement[str], customer_ids: Sequence[str] | None
) -> Select[Any]:
    return statement if customer_ids is None else statement.where(column.in_(customer_ids))


def duplicates(database: Database) -> list[CandidatePair]:
    """Likely duplicate pairs among the live records, the surest first, without those
    a reviewer dismissed (unless they meet a new rule since: dedupe.undismissed)."""
    with database.snapshot() as connection:
        rows = load_candidates(connection)
        dismissed = {
            (row.first_id, row.second_id): row.reasons
            for row in connection.execute(select(customer_dismissals))
        }
    return dedupe.undismissed(dedupe.find_duplicates(rows), dismissed)


# ---------------------------------------------------------------- merging


def merge(
    database: Database,
    keep: str,
    other: str,
    *,
    by: str,
    now: datetime,
    reasons: Sequence[str] = (),
) -> MergeRecord:
    """Merge the record `other` into `keep` (see the module's docstring)."""
    if keep == other:
        raise MergeRefused("a record cannot be merged with itself")
    with database.write() as connection:
        found = {
            row.customer_id: row
            for row in connection.execute(
                select(customers)
                .where(customers.c.customer_id.in_(sorted({keep, other})))
                .order_by(customers.c.customer_id)
                .with_for_update()
            )
        }
        if keep not in found or other not in found:
            raise UnknownCustomer()
        if found[keep].merged_into is not None or found[other].merged_into is not None:
            raise MergeRefused("only live records can be merged: this one was merged already")
        kept_members = _members_of(connection, keep)
        moved = _members_of(connection, other)
        added = _stricter_consents(connection, kept_members, moved, by=by, now=now)
        filled = {
            name: getattr(found[other], name)
            for name in FILLED_FROM_OTHER
            if getattr(found[keep], name) is None and getattr(found[other], name) is not None
        }
        connection.execute(
            update(member_ids).where(member_ids.c.customer_id == other).values(customer_id=keep)
        )
        connection.execute(
            update(customers).where(customers.c.customer_id == other).values(merged_into=keep)
        )
        if filled:
            connection.execute(
                update(customers).where(customers.c.customer_id == keep).values(**filled)
            )
        snapshot = {
            "survivor": _row_json(found[keep]),
            "merged": _row_json(found[other]),
            "member_ids": moved,
            "filled": filled,
            "consents_added": added,
        }
        merge_id = connection.execute(
            insert(customer_merges)
            .values(
                survivor_id=keep,
                merged_id=other,
                reasons=list(reasons),
                merged_by=by,
                merged_at=now,
                snapshot=snapshot,
            )
            .returning(customer_merges.c.merge_id)
        ).scalar_one()
        audit.record(
            connection,
            by,
            "customers.merge",
            f"merge:{merge_id}",
            {
                "survivor": keep,
                "merged": other,
                "member_ids_moved": len(moved),
                "consents_added": len(added),
                "reasons": list(reasons),
            },
            at=now,
        )
        recognition.refresh(database, connection, [*kept_members, *moved], now=now)
        record = _read(connection, int(merge_id))
    _log.info(
        "merge %d: %d member ids moved, %d withdrawals added", merge_id, len(moved), len(added)
    )
    return record


def _members_of(connection: Connection, customer_id: str) -> list[str]:
    return list(
        connection.execute(
            select(member_ids.c.member_id)
            .where(member_ids.c.customer_id == customer_id)
            .order_by(member_ids.c.signed_up_at, member_ids.c.member_id)
        ).scalars()
    )


def _decisions(connection: Connection, members: Sequence[str]) -> list[Decision]:
    if not members:
        return []
    return [
        Decision(
            purpose=row.purpose,
            channel=row.channel,
            given=bool(row.given),
            occurred_at=row.occurred_at,
            row_id=int(row.id),
            notice_version=row.notice_version,
            notice_sha256=row.notice_sha256,
        )
        for row in connection.execute(select(consents).where(consents.c.member_id.in_(members)))
    ]


def _stricter_consents(
    connection: Connection, kept: Sequence[str], moved: Sequence[str], *, by: str, now: datetime
) -> list[str]:
    """Add the withdrawals the stricter rule needs; their event ids."""
    needed = dedupe.stricter_consents([_decisions(connection, kept), _decisions(connection, moved)])
    if not needed:
        return []
    member = (kept or moved)[0]  # the person's oldest member id on the surviving record
    rows: list[dict[str, Any]] = [
        {
            "event_id": str(uuid.uuid4()),
            "member_id": member,
            "purpose": refusal.purpose,
            "channel": refusal.channel,
            "notice_version": refusal.notice_version,
            "notice_sha256": refusal.notice_sha256,
            "given": False,
            "source": MERGE_SOURCE,
            "recorded_by": by,
            "store_id": None,
            "kiosk_id": None,
            "occurred_at": now,
        }
        for refusal in needed
    ]
    connection.execute(insert(consents), rows)
    return [str(row["event_id"]) for row in rows]


def undo(database: Database, merge_id: int, *, by: str, now: datetime) -> MergeRecord:
    """Undo merge `merge_id`: both records as they were before it (see the docstring)."""
    with database.write() as connection:
        row = connection.execute(
            select(customer_merges).where(customer_merges.c.merge_id == merge_id).with_for_update()
        ).one_or_none()
        if row is None:
            raise UnknownMerge()
        if row.undone_at is not None or row.snapshot is None:
            raise MergeRefused(f"merge {merge_id} was undone already")
        keep, other = row.survivor_id, row.merged_id
        since = connection.execute(
            select(customer_merges.c.merge_id).where(
                customer_merges.c.merged_id == keep, customer_merges.c.undone_at.is_(None)
            )
        ).scalar_one_or_none()
        if since is not None:
            raise MergeRefused(
                f"the surviving record was merged again since (merge {since}): undo that first"
            )
        snapshot = row.snapshot
        moved = list(snapshot["member_ids"])
        if moved:
            connection.execute(
                update(member_ids)
                .where(member_ids.c.member_id.in_(moved), member_ids.c.customer_id == keep)
                .values(customer_id=other)
            )
        if added := list(snapshot["consents_added"]):
            connection.execute(delete(consents).where(consents.c.event_id.in_(added)))
        before = _row_values(snapshot["merged"])
        connection.execute(
            update(customers)
            .where(customers.c.customer_id == other)
            .values({name: value for name, value in before.items() if name != "customer_id"})
        )
        survivor = _row_values(snapshot["survivor"])
        for name, value in dict(snapshot["filled"]).items():
            # Only what staff have not changed since.
            connection.execute(
                update(customers)
                .where(customers.c.customer_id == keep, customers.c[name] == value)
                .values({name: survivor[name]})
            )
        connection.execute(
            update(customer_merges)
            .where(customer_merges.c.merge_id == merge_id)
            .values(undone_by=by, undone_at=now, snapshot=None)
        )
        audit.record(
            connection,
            by,
            "customers.unmerge",
            f"merge:{merge_id}",
            {"survivor": keep, "merged": other, "member_ids_moved": len(moved)},
            at=now,
        )
        recognition.refresh(database, connection, [*_members_of(connection, keep), *moved], now=now)
        record = _read(connection, merge_id)
    _log.info("merge %d undone: %d member ids moved back", merge_id, len(moved))
    return record


def _row_json(row: Row[Any]) -> dict[str, Any]:
    return {
        column.name: value.isoformat() if isinstance(value, datetime) else value
        for column, value in zip(customers.c, row, strict=True)
    }


def _row_values(saved: dict[str, Any]) -> dict[str, Any]:
    return {
        column.name: datetime.fromisoformat(saved[column.name])
        if isinstance(column.type, UtcDateTime) and saved[column.name] is not None
        else saved[column.name]
        for column in customers.c
    }


# ---------------------------------------------------------------- history


def history(
    database: Database, *, limit: int = 200, customer_id: str | None = None
) -> list[MergeRecord]:
    """Merges, newest first (of one customer, either side, if `customer_id`)."""
    statement = select(customer_merges).order_by(customer_merges.c.merge_id.desc()).limit(limit)
    if customer_id is not None:
        statement = statement.where(
            or_(
                customer_merges.c.survivor_id == customer_id,
                customer_merges.c.merged_id == customer_id,
            )
        )
    with database.read() as connection:
        return [_record(row) for row in connection.execute(statement)]


def _read(connection: Connection, merge_id: int) -> MergeRecord:
    return _record(
        connection.execute(
            select(customer_merges).where(customer_merges.c.merge_id == merge_id)
        ).one()
    )


def _record(row: Row[Any]) -> MergeRecord:
    snapshot = row.snapshot or {}
    return MergeRecord(
        merge_id=int(row.merge_id),
        survivor_id=row.survivor_id,
        merged_id=row.merged_id,
        reasons=tuple(row.reasons or ()),
        merged_by=row.merged_by,
        merged_at=row.merged_at,
        undone_by=row.undone_by,
        undone_at=row.undone_at,
        member_ids_moved=len(snapshot.get("member_ids", ())),
        consents_added=len(snapshot.get("consents_added", ())),
    )


def merged_records(connection: Connection, customer_ids: Iterable[str]) -> set[str]:
    """Every record merged into these, and into those, and so on (for erasure)."""
    found: set[str] = set()
    frontier = set(customer_ids)
    while frontier:
        merged = set(
            connection.execute(
                select(customers.c.customer_id).where(customers.c.merged_into.in_(sorted(frontier)))
            ).scalars()
        )
        frontier = merged - found
        found |= merged
    return found


def forget_merges(connection: Connection, customer_ids: Iterable[str]) -> int:
    """Delete the merge rows of these records (erasure: their snapshots are personal)."""
    wanted = sorted(set(customer_ids))
    if not wanted:
        return 0
    return int(
        connection.execute(
            delete(customer_merges).where(
                or_(
                    customer_merges.c.survivor_id.in_(wanted),
                    customer_merges.c.merged_id.in_(wanted),
                )
            )
        ).rowcount
    )


# ---------------------------------------------------------------- what a merge would do


@dataclass(frozen=True, slots=True)
class MergePreview:
    """What merging `other` into `keep` would do, for the confirmation page."""

    member_ids_moved: int
    withdrawals: tuple[tuple[str, str | None], ...]  # (purpose, channel) the merge withdraws
    filled: tuple[str, ...]  # keep's empty fields other's values fill
    refused: str | None  # why it cannot be done; None: it can


def preview(database: Database, keep: str, other: str) -> MergePreview:
    """UnknownCustomer if either record does not exist."""
    with database.snapshot() as connection:
        found = {
            row.customer_id: row
            for row in connection.execute(
                select(customers).where(customers.c.customer_id.in_(sorted({keep, other})))
            )
        }
        if keep not in found or other not in found:
            raise UnknownCustomer()
        kept, moved = _members_of(connection, keep), _members_of(connection, other)
        needed = dedupe.stricter_consents(
            [_decisions(connection, kept), _decisions(connection, moved)]
        )
    refused = None
    if keep == other:
        refused = "a record cannot be merged with itself"
    elif found[keep].merged_into is not None or found[other].merged_into is not None:
        refused = "one of these records was merged already"
    return MergePreview(
        member_ids_moved=len(moved),
        withdrawals=tuple((d.purpose, d.channel) for d in needed),
        filled=tuple(
            name
            for name in FILLED_FROM_OTHER
            if name != "address_key"
            and getattr(found[keep], name) is None
            and getattr(found[other], name) is not None
        ),
        refused=refused,
    )
