"""What store staff did on their attendant devices, as HQ keeps it per store.

Attendant devices report `alert_ack` (who acknowledged which kiosk's alert, and
how long after it was raised) and `planogram_edit` (who put which product in a
kiosk's slot) events; ingest stores each once (its event id is UNIQUE here as
in `events`) after checking that the kiosk named is one of the sender's store.
Rows carry staff ids, never names.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, select

from hq.crm.facts import AlertAcked, PlanogramEdited
from hq.db import Database, alert_acks, kiosks, planogram_edits, stores
from hq.errors import UnknownStore

MAX_LIMIT: Final = 5000


def kiosks_of_store(connection: Connection, store_id: str, named: Collection[str]) -> set[str]:
    """Which of the `named` ids are kiosks (not attendant devices) of `store_id`,
    revoked ones included: an ack for an alert of a kiosk taken out since still counts."""
    if not named:
        return set()
    return set(
        connection.execute(
            select(kiosks.c.kiosk_id).where(
                kiosks.c.store_id == store_id,
                kiosks.c.role == "kiosk",
                kiosks.c.kiosk_id.in_(sorted(named)),
            )
        ).scalars()
    )


def project_staff(
    database: Database,
    connection: Connection,
    acks: Sequence[AlertAcked],
    edits: Sequence[PlanogramEdited],
) -> None:
    """The facts' rows; an event already there adds nothing."""
    if acks:
        database.insert_rows(
            connection,
            alert_acks,
            [
                {
                    "event_id": fact.origin.event_id,
                    "store_id": fact.origin.store_id,
                    "attendant_id": fact.origin.kiosk_id,
                    "kiosk_id": fact.kiosk_id,
                    "alert_seq": fact.alert_seq,
                    "alert_kind": fact.alert_kind,
                    "acked_by": fact.by,
                    "after_s": fact.after_s,
                    "occurred_at": fact.origin.occurred_at,
                }
                for fact in acks
            ],
            on_conflict=lambda insert: insert.on_conflict_do_nothing(),
        )
    if edits:
        database.insert_rows(
            connection,
            planogram_edits,
            [
                {
                    "event_id": fact.origin.event_id,
                    "store_id": fact.origin.store_id,
                    "attendant_id": fact.origin.kiosk_id,
                    "kiosk_id": fact.kiosk_id,
                    "slot": fact.slot,
                    "sku_before": fact.before,
                    "sku_after": fact.after,
                    "edited_by": fact.by,
                    "occurred_at": fact.origin.occurred_at,
                }
                for fact in edits
            ],
            on_conflict=lambda insert: insert.on_conflict_do_nothing(),
        )


@dataclass(frozen=True, slots=True)
class AlertAck:
    attendant_id: str
    kiosk_id: str
    alert_seq: int
    alert_kind: str
    by: str
    after_s: float
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class PlanogramEdit:
    attendant_id: str
    kiosk_id: str
    slot: int
    before: str | None
    after: str
    by: str
    occurred_at: datetime


def acks_of(database: Database, store_id: str, *, limit: int = 1000) -> list[AlertAck]:
    """The store's acknowledged alerts, newest first."""
    with database.read() as connection:
        _known(connection, store_id)
        rows = connection.execute(
            select(
                alert_acks.c.attendant_id,
                alert_acks.c.kiosk_id,
                alert_acks.c.alert_seq,
                alert_acks.c.alert_kind,
                alert_acks.c.acked_by,
                alert_acks.c.after_s,
                alert_acks.c.occurred_at,
            )
            .where(alert_acks.c.store_id == store_id)
            .order_by(alert_acks.c.occurred_at.desc(), alert_acks.c.id.desc())
            .limit(limit)
        ).all()
    return [
        AlertAck(row[0], row[1], int(row[2]), row[3], row[4], float(row[5]), row[6]) for row in rows
    ]


def edits_of(database: Database, store_id: str, *, limit: int = 1000) -> list[PlanogramEdit]:
    """The store's planogram edits, newest first."""
    with database.read() as connection:
        _known(connection, store_id)
        rows = connection.execute(
            select(
                planogram_edits.c.attendant_id,
                planogram_edits.c.kiosk_id,
                planogram_edits.c.slot,
                planogram_edits.c.sku_before,
                planogram_edits.c.sku_after,
                planogram_edits.c.edited_by,
                planogram_edits.c.occurred_at,
            )
            .where(planogram_edits.c.store_id == store_id)
            .order_by(planogram_edits.c.occurred_at.desc(), planogram_edits.c.id.desc())
            .limit(limit)
        ).all()
    return [PlanogramEdit(row[0], row[1], int(row[2]), *row[3:]) for row in rows]


def _known(connection: Connection, store_id: str) -> None:
    found = connection.execute(
        select(stores.c.store_id).where(stores.c.store_id == store_id)
    ).first()
    if found is None:
        raise UnknownStore(store_id)


def action_json(action: AlertAck | PlanogramEdit) -> dict[str, Any]:
    found = asdict(action)
    found["occurred_at"] = action.occurred_at.isoformat()
    return found
