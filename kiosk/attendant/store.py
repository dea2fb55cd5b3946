"""attendant.sqlite: what the attendant app keeps between runs. No Qt.

- `staff`: the store's staff members on this device, with their Argon2id PIN hashes
  (created here by a store manager; a PIN itself is never stored).
- `action_log`: who did what and when (sign-ins, acknowledgements, redemptions,
  planogram edits, staff changes), never anything about a shopper.
- `resume`: the last channel seq shown per kiosk, so a restarted app catches up.
- `settings`: the manager's alert thresholds.

The file is 0600 in a 0700 directory (backend_client.private_files): it holds PIN
hashes. One instance per thread (the GUI thread in the app).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    desc,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.sqlite import insert as upsert

from backend_client.private_files import private_dir, private_sqlite
from backend_client.sqlite_files import sqlite_engines
from kiosk.attendant.model import AlertThresholds
from kiosk.attendant.staff import Action, ActionRecord, Role, StaffMember, StaffSource

log = logging.getLogger("kiosk.attendant.store")

STORE_FILE: Final = "attendant.sqlite"
ACTIONS_KEPT: Final = 100_000  # years of a store's taps; HQ keeps what matters beyond

_metadata = MetaData()
_staff = Table(
    "staff",
    _metadata,
    Column("id", String, primary_key=True),
    Column("display_name", String, nullable=False),
    Column("role", String, nullable=False),
    Column("pin_hash", String, nullable=False),
    Column("source", String, nullable=False),
    Column("added_at", String, nullable=False),
    Column("added_by", String),  # None: the first manager, set up on the device itself
)
_actions = Table(
    "action_log",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("staff_id", String, nullable=False),
    Column("action", String, nullable=False),
    Column("at", String, nullable=False),
    Column("subject", String),
    Column("after_s", Float),
    Column("detail", Text),
    sqlite_autoincrement=True,
)
_resume = Table(
    "resume",
    _metadata,
    Column("kiosk", String, primary_key=True),
    Column("last_seq", Integer, nullable=False),
)
_settings = Table(
    "settings",
    _metadata,
    Column("key", String, primary_key=True),
    Column("value", String, nullable=False),
)


class StaffError(ValueError):
    """A staff change that cannot be made (the message says why, for the manager)."""


class AttendantStore:
    def __init__(self, path: Path) -> None:
        private_dir(path.parent)
        private_sqlite(path)

        def configure(dbapi_connection: Any) -> None:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("PRAGMA busy_timeout = 5000")
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = FULL")
                cursor.execute("PRAGMA secure_delete = ON")  # a removed PIN hash is gone
            finally:
                cursor.close()

        self._engine, self._writes = sqlite_engines(path, configure)
        with self._writes.begin() as connection:
            _metadata.create_all(connection)

    def close(self) -> None:
        self._engine.dispose()

    # -- staff ----------------------------------------------------------------------

    def staff(self) -> tuple[StaffMember, ...]:
        with self._engine.connect() as connection:
            rows = connection.execute(select(_staff).order_by(_staff.c.added_at)).all()
        return tuple(
            StaffMember(
                row.id, row.display_name, Role(row.role), row.pin_hash, StaffSource(row.source)
            )
            for row in rows
        )

    def add_staff(self, member: StaffMember, *, by: str | None, at: datetime) -> None:
        with self._writes.begin() as connection:
            taken = connection.execute(
                select(_staff.c.id).where(_staff.c.display_name == member.display_name)
            ).first()
            if taken is not None:
                raise StaffError("name_taken")
            connection.execute(
                insert(_staff).values(
                    id=member.id,
                    display_name=member.display_name,
                    role=member.role.value,
                    pin_hash=member.pin_hash,
                    source=member.source.value,
                    added_at=at.astimezone(UTC).isoformat(),
                    added_by=by,
                )
            )

    def remove_staff(self, member_id: str) -> None:
        """Refused for the last store manager: nobody could manage the device after."""
        with self._writes.begin() as connection:
            role = connection.execute(
                select(_staff.c.role).where(_staff.c.id == member_id)
            ).scalar_one_or_none()
            if role is None:
                raise StaffError("unknown")
            if role == Role.MANAGER:
                managers = connection.execute(
                    select(_staff.c.id).where(_staff.c.role == Role.MANAGER.value)
                ).all()
                if len(managers) <= 1:
                    raise StaffError("last_manager")
            connection.execute(delete(_staff).where(_staff.c.id == member_id))

    def change_pin(self, member_id: str, pin_hash: str) -> None:
        with self._writes.begin() as connection:
            connection.execute(
                update(_staff).where(_staff.c.id == member_id).values(pin_hash=pin_hash)
            )

    # -- action log -----------------------------------------------------------------

    def record(self, record: ActionRecord) -> None:
        with self._writes.begin() as connection:
            connection.execute(
                insert(_actions).values(
                    staff_id=record.staff_id,
                    action=record.action.value,
                    at=record.at.astimezone(UTC).isoformat(),
                    subject=record.subject,
                    after_s=record.after_s,
                    detail=record.detail,
                )
            )
            newest = connection.execute(select(_actions.c.id).order_by(desc(_actions.c.id))).first()
            if newest is not None and newest.id % 1000 == 0:  # prune now and then, not per tap
                connection.execute(
                    delete(_actions).where(_actions.c.id <= newest.id - ACTIONS_KEPT)
                )

    def actions(self, limit: int = 100) -> tuple[ActionRecord, ...]:
        """The newest `limit` lines, newest first."""
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(_actions).order_by(desc(_actions.c.id)).limit(limit)
            ).all()
        return tuple(
            ActionRecord(
                row.staff_id,
                Action(row.action),
                datetime.fromisoformat(row.at),
                row.subject,
                row.after_s,
                row.detail,
            )
            for row in rows
        )

    # -- resume points and settings ----------------------------------------------------

    def resume_points(self) -> dict[str, int]:
        with self._engine.connect() as connection:
            return {row.kiosk: row.last_seq for row in connection.execute(select(_resume))}

    def save_resume_points(self, points: Mapping[str, int]) -> None:
        if not points:
            return
        with self._writes.begin() as connection:
            statement = upsert(_resume)
            connection.execute(
                statement.on_conflict_do_update(
                    index_elements=[_resume.c.kiosk],
                    set_={"last_seq": statement.excluded.last_seq},
                ),
                [{"kiosk": kiosk, "last_seq": seq} for kiosk, seq in points.items()],
            )

    def thresholds(self) -> AlertThresholds:
        with self._engine.connect() as connection:
            values = {row.key: row.value for row in connection.execute(select(_settings))}
        default = AlertThresholds()
        try:
            return AlertThresholds(
                silence_s=float(values.get("silence_s", default.silence_s)),
                device_down_s=float(values.get("device_down_s", default.device_down_s)),
                low_score=int(values.get("low_score", default.low_score)),
            )
        except ValueError:
            log.warning("stored alert thresholds unreadable: the defaults apply")
            return default

    def save_thresholds(self, thresholds: AlertThresholds) -> None:
        with self._writes.begin() as connection:
            statement = upsert(_settings)
            connection.execute(
                statement.on_conflict_do_update(
                    index_elements=[_settings.c.key], set_={"value": statement.excluded.value}
                ),
                [
                    {"key": "silence_s", "value": repr(thresholds.silence_s)},
                    {"key": "device_down_s", "value": repr(thresholds.device_down_s)},
                    {"key": "low_score", "value": str(thresholds.low_score)},
                ],
            )

    def pin_failures(self) -> tuple[int, datetime | None]:
        """Wrong PINs in a row on this device and the wall time of the last one: a
        restarted app keeps its lockout (quitting it must not be a way to guess on)."""
        with self._engine.connect() as connection:
            values = {row.key: row.value for row in connection.execute(select(_settings))}
        try:
            failures = int(values.get("pin_failures", "0"))
            last = values.get("pin_last_failure")
            return failures, None if not last else datetime.fromisoformat(last)
        except ValueError:
            return 0, None

    def save_pin_failures(self, failures: int, last: datetime | None) -> None:
        with self._writes.begin() as connection:
            statement = upsert(_settings)
            connection.execute(
                statement.on_conflict_do_update(
                    index_elements=[_settings.c.key], set_={"value": statement.excluded.value}
                ),
                [
                    {"key": "pin_failures", "value": str(failures)},
                    {"key": "pin_last_failure", "value": "" if last is None else last.isoformat()},
                ],
            )


def open_store(data_dir: Path) -> AttendantStore:
    return AttendantStore(data_dir / STORE_FILE)
