""" "Not the same person": pairs of customer records a reviewer dismissed, and undoing it.

A dismissal keeps the pair (in `dedupe.pair_key` order), the finder's rules the
pair met when it was dismissed, who and when (`customer_dismissals`), and goes to
the audit log (`customers.dismiss`, `customers.undismiss`) as merges do. The
finder then leaves the pair out until it meets a rule it did not meet then
(`dedupe.undismissed`): a fob bound to both later, the same e-mail typed in.
Dismissing it again then records the new rules too. Undoing deletes the row.

The reasons are the finder's rules for these two records alone (read when
dismissing, not taken from the form): a pair dismissed by id that no rule links
keeps none, and comes back with its first reason. Erasing either person deletes
the pair's row (hq.crm.erasure). Logs and errors name customer ids only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, insert, or_, select, update

from hq import audit
from hq.crm import dedupe
from hq.crm.merges import MergeRefused, UnknownCustomer, load_candidates
from hq.db import Database, customer_dismissals, customers
from hq.errors import HqError

_log = logging.getLogger("hq.dismissals")


class UnknownDismissal(HqError, LookupError):
    def __init__(self) -> None:
        super().__init__("this pair was not dismissed")


@dataclass(frozen=True, slots=True)
class Dismissal:
    first: str
    second: str
    reasons: tuple[str, ...]  # the finder's rules the pair met when dismissed
    dismissed_by: str
    dismissed_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "first": self.first,
            "second": self.second,
            "reasons": list(self.reasons),
            "dismissed_by": self.dismissed_by,
            "dismissed_at": self.dismissed_at.isoformat(),
        }


def dismiss(database: Database, a: str, b: str, *, by: str, now: datetime) -> Dismissal:
    """Record that records `a` and `b` are two people. UnknownCustomer if either does
    not exist; MergeRefused for one record twice or a record merged already."""
    if a == b:
        raise MergeRefused("a record is the same person as itself")
    first, second = dedupe.pair_key(a, b)
    with database.write() as connection:
        found = {
            row.customer_id: row.merged_into
            for row in connection.execute(
                select(customers.c.customer_id, customers.c.merged_into)
                .where(customers.c.customer_id.in_([first, second]))
                .order_by(customers.c.customer_id)
                .with_for_update()  # two reviewers dismissing one pair: one after the other
            )
        }
        if len(found) != 2:
            raise UnknownCustomer()
        if any(found.values()):
            raise MergeRefused("only live records can be dismissed: this one was merged already")
        pairs = dedupe.find_duplicates(load_candidates(connection, [first, second]))
        reasons = set(pairs[0].reasons) if pairs else set()
        earlier = connection.execute(
            select(customer_dismissals.c.reasons).where(
                customer_dismissals.c.first_id == first, customer_dismissals.c.second_id == second
            )
        ).scalar_one_or_none()
        values = {
            "reasons": [r for r in dedupe.WEIGHTS if r in reasons | set(earlier or ())],
            "dismissed_by": by,
            "dismissed_at": now,
        }
        if earlier is None:
            connection.execute(
                insert(customer_dismissals).values(first_id=first, second_id=second, **values)
            )
        else:
            connection.execute(
                update(customer_dismissals)
                .where(
                    customer_dismissals.c.first_id == first,
                    customer_dismissals.c.second_id == second,
                )
                .values(**values)
            )
        audit.record(
            connection,
            by,
            "customers.dismiss",
            f"customers:{first}:{second}",
            {"first": first, "second": second, "reasons": values["reasons"]},
            at=now,
        )
        done = _read(connection, first, second)
    _log.info("pair %s %s dismissed as two people", first, second)
    return done


def undismiss(database: Database, a: str, b: str, *, by: str, now: datetime) -> Dismissal:
    """Take the dismissal back: the finder shows the pair again. UnknownDismissal if
    the pair was not dismissed."""
    first, second = dedupe.pair_key(a, b)
    with database.write() as connection:
        done = _read(connection, first, second)
        connection.execute(
            delete(customer_dismissals).where(
                customer_dismissals.c.first_id == first, customer_dismissals.c.second_id == second
            )
        )
        audit.record(
            connection,
            by,
            "customers.undismiss",
            f"customers:{first}:{second}",
            {"first": first, "second": second, "reasons": list(done.reasons)},
            at=now,
        )
    _log.info("dismissal of pair %s %s undone", first, second)
    return done


def listing(database: Database, *, limit: int = 200) -> list[Dismissal]:
    """Dismissed pairs, the newest first."""
    with database.read() as connection:
        return [
            _dismissal(row)
            for row in connection.execute(
                select(customer_dismissals)
                .order_by(
                    customer_dismissals.c.dismissed_at.desc(),
                    customer_dismissals.c.first_id,
                    customer_dismissals.c.second_id,
                )
                .limit(limit)
            )
        ]


def forget(connection: Connection, customer_ids: Iterable[str]) -> int:
    """Delete the dismissals of these records (erasure)."""
    wanted = sorted(set(customer_ids))
    if not wanted:
        return 0
    return int(
        connection.execute(
            delete(customer_dismissals).where(
                or_(
                    customer_dismissals.c.first_id.in_(wanted),
                    customer_dismissals.c.second_id.in_(wanted),
                )
            )
        ).rowcount
    )


def _read(connection: Connection, first: str, second: str) -> Dismissal:
    row = connection.execute(
        select(customer_dismissals).where(
            customer_dismissals.c.first_id == first, customer_dismissals.c.second_id == second
        )
    ).one_or_none()
    if row is None:
        raise UnknownDismissal()
    return _dismissal(row)


def _dismissal(row: Row[Any]) -> Dismissal:
    return Dismissal(
        first=row.first_id,
        second=row.second_id,
        reasons=tuple(row.reasons or ()),
        dismissed_by=row.dismissed_by,
        dismissed_at=row.dismissed_at,
    )
