"""The audit log: every change HQ staff make to content, with who, what and when.

Written in the same transaction as the change it records, so a change and its
line are kept or lost together. `actor` is a staff id or account name ("cli:<user>",
"admin-api", a console account), never a customer's data; `detail` is a small
JSON object (release numbers, targets, counts).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import Connection, insert, select

from hq.db import ACTOR_LENGTH, Database, audit_log

MAX_TARGET_LENGTH: Final = 200


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    actor: str
    action: str
    target: str
    detail: Mapping[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "detail": dict(self.detail),
        }


def record(
    connection: Connection,
    actor: str,
    action: str,
    target: str,
    detail: Mapping[str, Any] | None = None,
    *,
    at: datetime | None = None,
) -> None:
    """Add one line to the audit log, inside the caller's transaction (`at`: now)."""
    connection.execute(
        insert(audit_log).values(
            at=at or datetime.now(UTC),
            actor=actor[:ACTOR_LENGTH],
            action=action,
            target=target[:MAX_TARGET_LENGTH],
            detail=dict(detail or {}),
        )
    )


def recent(database: Database, *, limit: int = 200) -> list[AuditEntry]:
    """The newest lines first."""
    with database.read() as connection:
        rows = connection.execute(
            select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
        ).all()
    return [
        AuditEntry(
            at=row.at, actor=row.actor, action=row.action, target=row.target, detail=row.detail
        )
        for row in rows
    ]


def record_each(
    connection: Connection,
    actor: str,
    action: str,
    details: Mapping[str, Mapping[str, Any]],
    *,
    at: datetime,
) -> None:
    """One line per target (target -> detail), in one statement: a bulk change."""
    if details:
        connection.execute(
            insert(audit_log),
            [
                {
                    "at": at,
                    "actor": actor[:ACTOR_LENGTH],
                    "action": action,
                    "target": target[:MAX_TARGET_LENGTH],
                    "detail": dict(detail),
                }
                for target, detail in details.items()
            ],
        )
