"""Heartbeats and alerts in HQ's database, and the fleet as the console and CLI show it.

- `record_heartbeat`: the kiosk's last heartbeat replaced, a history row when due,
  and the kiosk's own alerts raised or cleared, in one transaction.
- `sweep`: the alerts of the kiosks silent at `now` brought in line with the rules
  (silence is the one only time can raise; every other alert is its kiosk's last
  heartbeat's doing), and revoked kiosks' alerts cleared. Safe to run in every HQ
  worker at once, and heartbeats never wait for it unless their own kiosk is being
  swept: on PostgreSQL the sweep takes the silent kiosks' heartbeat rows FOR UPDATE,
  in kiosk order. A heartbeat committed meanwhile makes PostgreSQL re-check the row,
  which is no longer silent, so it is skipped; a heartbeat arriving after waits on
  the row for the sweep's commit, then sees and clears the alert it raised. SQLite
  has one writer at a time anyway. Raising is an insert that the partial unique
  index makes a no-op when the alert is open already.
- `read_fleet_health`, `kiosk_detail`: what staff see; each kiosk's state is worked
  out from its last heartbeat and `now` (hq.fleet_health.alerts), so a page is right
  even before the next sweep.

History: a row when something a person would look for changed (versions, device
states, screen, a crash) and otherwise one per HISTORY_EVERY; rows older than
HISTORY_KEEP go when the kiosk's next history row is written. A chain of 5,000
kiosks holds at most about 5,000 x 7 x 144 = 5 million rows, plus changes.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    Connection,
    Insert,
    Row,
    bindparam,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from hq.crm.recognition import FEED_STATE_ID
from hq.db import (
    Database,
    fleet_alerts,
    heartbeat_history,
    kiosk_commands,
    kiosk_heartbeats,
    kiosks,
    recognition_state,
    stores,
)
from hq.enrollment import KioskIdentity, sha256_hex
from hq.fleet_health.alerts import (
    DEFAULT_THRESHOLDS,
    Beat,
    Condition,
    DeviceState,
    KioskState,
    OpenAlert,
    Thresholds,
    conditions,
    conditions_of,
    kiosk_state,
    reconcile,
)
from hq.fleet_health.wire import Heartbeat

HISTORY_EVERY: Final = timedelta(minutes=10)
HISTORY_KEEP: Final = timedelta(days=7)
RECENT_HISTORY: Final = 200  # rows on a kiosk's page: a day of steady running and changes
RECENT_ALERTS: Final = 50
_MATERIAL: Final = (
    "app_version",
    "content_release",
    "devices",
    "screen",
    "last_crash_at",
)  # a change in these is a history row of its own


@dataclass(frozen=True, slots=True)
class Sweep:
    raised: int
    cleared: int


def heartbeat_row(kiosk: KioskIdentity, beat: Heartbeat, received_at: datetime) -> dict[str, Any]:
    crash = beat.last_crash
    return {
        "store_id": kiosk.store_id,
        "received_at": received_at,
        "app_version": beat.app_version,
        "content_release": beat.content_release,
        "devices": [device.model_dump() for device in beat.devices],
        "sync_state": beat.outbox.state,
        "backlog": beat.outbox.backlog,
        "dead_letters": beat.outbox.dead_letters,
        "disk_free": None if beat.disk is None else beat.disk.free_bytes,
        "disk_total": None if beat.disk is None else beat.disk.total_bytes,
        "uptime_s": beat.uptime_s,
        "last_crash_at": None if crash is None else crash.at,
        "last_crash_kind": None if crash is None else crash.kind,
        "last_crash_what": None if crash is None else crash.what,
        "screen": beat.screen,
    }


def history_due(last: Mapping[Any, Any] | None, new: Mapping[str, Any]) -> bool:
    """Whether heartbeat `new` gets a history row after the kiosk's last one, `last`."""
    if last is None or new["received_at"] - last["received_at"] >= HISTORY_EVERY:
        return True
    return any(last[name] != new[name] for name in _MATERIAL)


@dataclass(frozen=True, slots=True)
class Known:
    """What a heartbeat's context read found of the kiosk's fleet rows: its last
    history row (the fields `history_due` compares) and how many alerts are open."""

    last_history: Mapping[str, Any] | None
    open_alerts: int


@dataclass(frozen=True, slots=True)
class BeatContext:
    """All a heartbeat reads before it writes, in one statement (`beat_context`)."""

    kiosk: KioskIdentity
    known: Known
    pending_commands: int  # undelivered, unexpired: deliver only when there are some
    feed_version: int  # the member feed's, for the answer's hint


def beat_context(connection: Connection, token: str, now: datetime) -> BeatContext | None:
    """The token's kiosk (None: unknown or revoked) with what its heartbeat needs to
    know, in one round trip: 83 heartbeats a second reach HQ from 5,000 kiosks, and
    each statement costs HQ's Python more than PostgreSQL's work on it."""
    row = connection.execute(
        _CONTEXT, {"token_sha256": sha256_hex(token), "now": now}
    ).one_or_none()
    if row is None:
        return None
    kiosk = KioskIdentity(
        kiosk_id=row.kiosk_id,
        store_id=row.store_id,
        role="attendant" if row.role == "attendant" else "kiosk",
    )
    last = None if row.history_at is None else {
        "received_at": row.history_at,
        **{name: getattr(row, name) for name in _MATERIAL},
    }  # fmt: skip
    return BeatContext(
        kiosk, Known(last, int(row.open_alerts)), int(row.pending), int(row.feed_version or 0)
    )


def record_heartbeat(
    database: Database,
    kiosk: KioskIdentity,
    beat: Heartbeat,
    *,
    now: datetime,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> None:
    with database.write() as connection:
        record_heartbeat_on(database, connection, kiosk, beat, now=now, thresholds=thresholds)


def record_heartbeat_on(
    database: Database,
    connection: Connection,
    kiosk: KioskIdentity,
    beat: Heartbeat,
    *,
    now: datetime,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    known: Known | None = None,
) -> None:
    """`record_heartbeat` in the caller's transaction (the API's, which checked the token);
    `known`: what the caller read already (`beat_context`), not read again."""
    row = heartbeat_row(kiosk, beat, now)
    connection.execute(_upsert(database.is_sqlite), {"kiosk_id": kiosk.kiosk_id, **row})
    last: Mapping[Any, Any] | None
    if known is not None:
        last = known.last_history
    else:
        found = connection.execute(_LAST_HISTORY, {"kiosk_id": kiosk.kiosk_id}).first()
        last = None if found is None else found._mapping
    if history_due(last, row):
        connection.execute(heartbeat_history.insert(), {"kiosk_id": kiosk.kiosk_id, **row})
        connection.execute(
            delete(heartbeat_history).where(
                heartbeat_history.c.kiosk_id == kiosk.kiosk_id,
                heartbeat_history.c.received_at < now - HISTORY_KEEP,
            )
        )
    open_alerts = (
        []
        if known is not None and known.open_alerts == 0  # the usual beat: nothing to read
        else [
            OpenAlert(*alert)
            for alert in connection.execute(_OPEN_ALERTS, {"kiosk_id": kiosk.kiosk_id})
        ]
    )
    wanted = conditions_of(_beat(kiosk.kiosk_id, row), now, thresholds)
    _apply(database, connection, open_alerts, wanted, now)


# A heartbeat's statements are built once (building one, and its cache key, costs
# more CPU than PostgreSQL spends running it): 5,000 kiosks send 83 a second.
@functools.cache
def _upsert(sqlite_dialect: bool) -> Insert:
    statement = (sqlite.insert if sqlite_dialect else postgresql.insert)(kiosk_heartbeats)
    return statement.on_conflict_do_update(
        index_elements=["kiosk_id"],
        set_={
            column.name: statement.excluded[column.name]
            for column in kiosk_heartbeats.c
            if column.name != "kiosk_id"
        },
    )


_LAST_HISTORY: Final = (
    select(heartbeat_history)
    .where(heartbeat_history.c.kiosk_id == bindparam("kiosk_id"))
    .order_by(heartbeat_history.c.received_at.desc(), heartbeat_history.c.id.desc())
    .limit(1)
)
_RECENT: Final = heartbeat_history.alias("recent")
_CONTEXT: Final = (
    select(
        kiosks.c.kiosk_id,
        kiosks.c.store_id,
        kiosks.c.role,
        heartbeat_history.c.received_at.label("history_at"),
        *(heartbeat_history.c[name] for name in _MATERIAL),
        select(func.count())
        .where(fleet_alerts.c.kiosk_id == kiosks.c.kiosk_id, fleet_alerts.c.cleared_at.is_(None))
        .scalar_subquery()
        .label("open_alerts"),
        select(func.count())
        .where(
            kiosk_commands.c.kiosk_id == kiosks.c.kiosk_id,
            kiosk_commands.c.delivered_at.is_(None),
            kiosk_commands.c.status.is_(None),
            kiosk_commands.c.expires_at > bindparam("now"),
        )
        .scalar_subquery()
        .label("pending"),
        select(recognition_state.c.feed_version)
        .where(recognition_state.c.id == FEED_STATE_ID)
        .scalar_subquery()
        .label("feed_version"),
    )
    .select_from(
        kiosks.outerjoin(
            heartbeat_history,
            heartbeat_history.c.id
            == select(_RECENT.c.id)
            .where(_RECENT.c.kiosk_id == kiosks.c.kiosk_id)
            .order_by(_RECENT.c.received_at.desc(), _RECENT.c.id.desc())
            .limit(1)
            .correlate(kiosks)
            .scalar_subquery(),
        )
    )
    .where(kiosks.c.token_sha256 == bindparam("token_sha256"), kiosks.c.revoked_at.is_(None))
)
_OPEN_ALERTS: Final = select(
    fleet_alerts.c.id, fleet_alerts.c.kiosk_id, fleet_alerts.c.kind, fleet_alerts.c.subject
).where(fleet_alerts.c.cleared_at.is_(None), fleet_alerts.c.kiosk_id == bindparam("kiosk_id"))


def sweep(
    database: Database, *, now: datetime, thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> Sweep:
    """The alerts of kiosks silent at `now` as the rules want them, and revoked kiosks'
    alerts cleared; what was raised and cleared."""
    with database.write() as connection:
        silent = connection.execute(
            select(kiosk_heartbeats)
            .join(kiosks, kiosks.c.kiosk_id == kiosk_heartbeats.c.kiosk_id)
            .where(
                kiosk_heartbeats.c.received_at < now - thresholds.silent_after,
                kiosks.c.revoked_at.is_(None),
            )
            .order_by(kiosk_heartbeats.c.kiosk_id)  # locks in one order: sweeps never deadlock
            .with_for_update(of=kiosk_heartbeats)
        )
        beats = [_beat(row.kiosk_id, row._mapping) for row in silent]
        revoked = select(kiosks.c.kiosk_id).where(kiosks.c.revoked_at.is_not(None))
        open_alerts = _open_alerts(
            connection,
            or_(
                fleet_alerts.c.kiosk_id.in_([beat.kiosk_id for beat in beats]),
                fleet_alerts.c.kiosk_id.in_(revoked.scalar_subquery()),
            ),
        )
        return _apply(database, connection, open_alerts, conditions(beats, now, thresholds), now)


def _apply(
    database: Database,
    connection: Connection,
    open_alerts: Sequence[OpenAlert],
    wanted: Sequence[Condition],
    now: datetime,
) -> Sweep:
    change = reconcile(open_alerts, wanted)
    raised = 0
    if change.raise_:
        # One statement for them all (a sweep after an outage raises thousands).
        statement = (
            database.insert(fleet_alerts)
            .on_conflict_do_nothing()  # open already: another worker raised it first
            .returning(fleet_alerts.c.id)
        )
        rows = [
            {
                "kiosk_id": condition.kiosk_id,
                "store_id": condition.store_id,
                "kind": condition.kind.value,
                "subject": condition.subject,
                "detail": condition.detail[:200],
                "raised_at": condition.since,
            }
            for condition in change.raise_
        ]
        raised = len(connection.execute(statement, rows).all())
    cleared = 0
    if change.clear:
        cleared = connection.execute(
            update(fleet_alerts)
            .where(
                fleet_alerts.c.id.in_([alert.alert_id for alert in change.clear]),
                fleet_alerts.c.cleared_at.is_(None),
            )
            .values(cleared_at=now)
        ).rowcount
    return Sweep(raised, cleared)


def _open_alerts(connection: Connection, of: ColumnElement[bool]) -> list[OpenAlert]:
    query = select(
        fleet_alerts.c.id, fleet_alerts.c.kiosk_id, fleet_alerts.c.kind, fleet_alerts.c.subject
    ).where(fleet_alerts.c.cleared_at.is_(None), of)
    return [
        OpenAlert(row.id, row.kiosk_id, row.kind, row.subject) for row in connection.execute(query)
    ]


def _beat(kiosk_id: str, row: Mapping[Any, Any]) -> Beat:
    return Beat(
        kiosk_id=kiosk_id,
        store_id=row["store_id"],
        received_at=row["received_at"],
        devices=_devices(row["devices"]),
        backlog=int(row["backlog"]),
        dead_letters=int(row["dead_letters"]),
        disk_free=None if row["disk_free"] is None else int(row["disk_free"]),
    )


def _devices(stored: object) -> tuple[DeviceState, ...]:
    if not isinstance(stored, list):
        return ()
    return tuple(
        DeviceState(
            str(item.get("name", "")), str(item.get("state", "")), str(item.get("detail", ""))
        )
        for item in stored
        if isinstance(item, dict)
    )


# ---------------------------------------------------------------- what staff see


@dataclass(frozen=True, slots=True)
class Alert:
    alert_id: int
    kiosk_id: str
    store_id: str
    kind: str
    subject: str
    detail: str
    raised_at: datetime
    cleared_at: datetime | None


@dataclass(frozen=True, slots=True)
class KioskHealth:
    """One kiosk on the fleet page: its last heartbeat, and what the rules make of it."""

    kiosk_id: str
    store_id: str
    store_name: str | None
    name: str | None
    state: KioskState
    problems: tuple[Condition, ...]  # the alerts its last heartbeat calls for now
    last_heartbeat: datetime | None
    age_s: float | None
    app_version: str | None
    content_release: str | None
    devices: tuple[DeviceState, ...]
    sync_state: str | None
    backlog: int | None
    dead_letters: int | None
    disk_free: int | None
    disk_total: int | None
    uptime_s: int | None
    last_crash_at: datetime | None
    last_crash_kind: str | None
    last_crash_what: str | None
    screen: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "kiosk_id": self.kiosk_id,
            "store_id": self.store_id,
            "store_name": self.store_name,
            "name": self.name,
            "state": self.state.value,
            "problems": [
                {"kind": p.kind.value, "subject": p.subject, "detail": p.detail, "since": p.since}
                for p in self.problems
            ],
            "last_heartbeat": self.last_heartbeat,
            "age_s": None if self.age_s is None else round(self.age_s),
            "app_version": self.app_version,
            "content_release": self.content_release,
            "devices": [
                {"name": d.name, "state": d.state, "detail": d.detail} for d in self.devices
            ],
            "outbox": {
                "state": self.sync_state,
                "backlog": self.backlog,
                "dead_letters": self.dead_letters,
            },
            "disk": {"free_bytes": self.disk_free, "total_bytes": self.disk_total},
            "uptime_s": self.uptime_s,
            "last_crash": None
            if self.last_crash_at is None
            else {
                "at": self.last_crash_at,
                "kind": self.last_crash_kind,
                "what": self.last_crash_what,
            },
            "screen": self.screen,
        }


def read_fleet_health(
    connection: Connection,
    now: datetime,
    *,
    store_ids: Collection[str] | None = None,
    kiosk_id: str | None = None,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> list[KioskHealth]:
    """Every active kiosk (of `store_ids`, if given), by store and kiosk id."""
    query = (
        select(
            kiosks.c.kiosk_id,
            kiosks.c.store_id,
            kiosks.c.name.label("kiosk_name"),
            stores.c.name.label("store_name"),
            *[
                column
                for column in kiosk_heartbeats.c
                if column.name not in {"kiosk_id", "store_id"}
            ],
        )
        .join(stores, stores.c.store_id == kiosks.c.store_id)
        .outerjoin(kiosk_heartbeats, kiosk_heartbeats.c.kiosk_id == kiosks.c.kiosk_id)
        .where(kiosks.c.revoked_at.is_(None), kiosks.c.role == "kiosk")
        .order_by(kiosks.c.store_id, kiosks.c.kiosk_id)
    )
    if store_ids is not None:
        query = query.where(kiosks.c.store_id.in_(list(store_ids)))
    if kiosk_id is not None:
        query = query.where(kiosks.c.kiosk_id == kiosk_id)
    return [_health(row, now, thresholds) for row in connection.execute(query)]


def _health(row: Row[Any], now: datetime, thresholds: Thresholds) -> KioskHealth:
    heard = row.received_at is not None
    beat = _beat(row.kiosk_id, row._mapping) if heard else None
    problems = () if beat is None else tuple(conditions_of(beat, now, thresholds))
    return KioskHealth(
        kiosk_id=row.kiosk_id,
        store_id=row.store_id,
        store_name=row.store_name,
        name=row.kiosk_name,
        state=kiosk_state(beat, problems),
        problems=problems,
        last_heartbeat=row.received_at,
        age_s=None if not heard else max(0.0, (now - row.received_at).total_seconds()),
        app_version=row.app_version,
        content_release=row.content_release,
        devices=() if beat is None else beat.devices,
        sync_state=row.sync_state,
        backlog=row.backlog,
        dead_letters=row.dead_letters,
        disk_free=row.disk_free,
        disk_total=row.disk_total,
        uptime_s=row.uptime_s,
        last_crash_at=row.last_crash_at,
        last_crash_kind=row.last_crash_kind,
        last_crash_what=row.last_crash_what,
        screen=row.screen,
    )


def alerts(
    connection: Connection,
    *,
    store_ids: Collection[str] | None = None,
    kiosk_id: str | None = None,
    open_only: bool = True,
    limit: int = 500,
) -> list[Alert]:
    """Alerts, newest first: the open ones (or all, for one kiosk's page)."""
    query = select(fleet_alerts).order_by(fleet_alerts.c.raised_at.desc(), fleet_alerts.c.id.desc())
    if open_only:
        query = query.where(fleet_alerts.c.cleared_at.is_(None))
    if store_ids is not None:
        query = query.where(fleet_alerts.c.store_id.in_(list(store_ids)))
    if kiosk_id is not None:
        query = query.where(fleet_alerts.c.kiosk_id == kiosk_id)
    return [
        Alert(
            row.id,
            row.kiosk_id,
            row.store_id,
            row.kind,
            row.subject,
            row.detail,
            row.raised_at,
            row.cleared_at,
        )
        for row in connection.execute(query.limit(limit))
    ]


def history(
    connection: Connection, kiosk_id: str, limit: int = RECENT_HISTORY
) -> list[dict[str, Any]]:
    """The kiosk's history rows, newest first."""
    rows = connection.execute(
        select(heartbeat_history)
        .where(heartbeat_history.c.kiosk_id == kiosk_id)
        .order_by(heartbeat_history.c.received_at.desc(), heartbeat_history.c.id.desc())
        .limit(limit)
    )
    return [
        {key: value for key, value in row._mapping.items() if key not in {"id", "kiosk_id"}}
        for row in rows
    ]
