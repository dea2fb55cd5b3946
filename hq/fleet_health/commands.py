"""Remote commands from HQ staff to one kiosk: issue, deliver, finish (docs/hq-api.md).

Staff (the console's kiosk page, `kiosk-hq fleet command`) issue a command; HQ signs
it at once with its content key (hq/content/signing.py) over
`COMMAND_CONTEXT + canonical JSON of {id, kiosk_id, kind, issued_at, expires_at}`
and keeps the envelope. The prefix keeps the two uses of the key apart: a manifest
is JSON from its first byte, a command never is, so neither signature passes as
the other. The kiosk's next heartbeat takes the pending, unexpired commands in its
answer (each handed out once: `delivered_at`); the kiosk verifies, executes at most
once (backend_client/commands.py) and posts the result, which finishes the command.
A command without a result by `expires_at` is expired.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

from sqlalchemy import Connection, bindparam, delete, func, select, update

from hq import audit
from hq.content.signing import ContentKeys, envelope
from hq.db import Database, kiosk_commands, kiosks
from hq.errors import HqError
from hq.wire import utc_text

KINDS: Final = ("restart", "fetch-content", "screenshot", "upload-logs", "identify")
COMMAND_CONTEXT: Final = b"kiosk-command-v1\n"
LIFETIME: Final = timedelta(minutes=15)
# Long enough for a kiosk silent a few beats to get it, short enough that a restart
# asked for this morning does not happen this afternoon.
FILE_TYPES: Final = {"screenshot": "image/png", "upload-logs": "text/plain; charset=utf-8"}
MAX_FILE_BYTES: Final = 6 * 1024 * 1024  # a 1080x1920 screenshot is 0.1-3 MB as PNG
PENDING_PACE_S: Final = 15
# Right after delivering commands HQ asks for the next heartbeat sooner: staff at the
# kiosk's page are likely to send another (a screenshot after an identify).
RECENT: Final = 20
KEEP: Final = timedelta(days=30)
# A screenshot or an hour of logs is for the trouble of the day; a month covers the
# ticket it went into. Older commands go with their files (`prune`, every hour).

Status = Literal["done", "failed", "refused"]


class CommandError(HqError):
    """A command that cannot be issued: unknown or revoked kiosk, unknown kind."""


@dataclass(frozen=True, slots=True)
class KioskCommand:
    id: str
    kiosk_id: str
    store_id: str
    kind: str
    issued_by: str
    issued_at: datetime
    expires_at: datetime
    delivered_at: datetime | None
    status: str | None
    detail: str
    finished_at: datetime | None
    file_type: str | None
    file_size: int | None

    def state(self, now: datetime) -> str:
        """pending (not yet handed out), delivered, done, failed, refused or expired."""
        if self.status is not None:
            return self.status
        if now >= self.expires_at:
            return "expired"
        return "pending" if self.delivered_at is None else "delivered"

    def as_json(self, now: datetime) -> dict[str, Any]:
        return {
            "id": self.id,
            "kiosk_id": self.kiosk_id,
            "store_id": self.store_id,
            "kind": self.kind,
            "issued_by": self.issued_by,
            "issued_at": utc_text(self.issued_at),
            "expires_at": utc_text(self.expires_at),
            "delivered_at": utc_text(self.delivered_at),
            "state": self.state(now),
            "detail": self.detail,
            "finished_at": utc_text(self.finished_at),
            "file_type": self.file_type,
            "file_size": self.file_size,
        }


def command_payload(
    command_id: str, kiosk_id: str, kind: str, issued_at: datetime, expires_at: datetime
) -> bytes:
    """The signed bytes (the kiosk checks the same: backend_client/commands.py)."""
    document = {
        "id": command_id,
        "kiosk_id": kiosk_id,
        "kind": kind,
        "issued_at": utc_text(issued_at),
        "expires_at": utc_text(expires_at),
    }
    return COMMAND_CONTEXT + json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=True
    ).encode("ascii")


def issue(
    database: Database,
    keys: ContentKeys,
    *,
    kiosk_id: str,
    kind: str,
    actor: str,
    now: datetime,
    stores: Collection[str] | None = None,
) -> KioskCommand:
    """A new signed command for `kiosk_id`, audited. `stores`: the stores the actor may
    act on (None: all); a kiosk outside them is unknown to this actor."""
    if kind not in KINDS:
        raise CommandError(f"unknown command {kind!r}: one of {', '.join(KINDS)}")
    issued_at = now.astimezone(UTC).replace(microsecond=0)
    expires_at = issued_at + LIFETIME
    command_id = str(uuid.uuid4())
    payload = command_payload(command_id, kiosk_id, kind, issued_at, expires_at)
    signature, chain = keys.sign(payload)
    with database.write() as connection:
        kiosk = connection.execute(
            select(kiosks.c.store_id, kiosks.c.revoked_at, kiosks.c.role).where(
                kiosks.c.kiosk_id == kiosk_id
            )
        ).first()
        if kiosk is None or (stores is not None and kiosk.store_id not in stores):
            raise CommandError(f"no kiosk {kiosk_id!r}")
        if kiosk.revoked_at is not None or kiosk.role != "kiosk":
            raise CommandError(f"kiosk {kiosk_id!r} is revoked or not a shopper kiosk")
        row = {
            "id": command_id,
            "kiosk_id": kiosk_id,
            "store_id": kiosk.store_id,
            "kind": kind,
            "issued_by": actor,
            "issued_at": issued_at,
            "expires_at": expires_at,
            "envelope": json.dumps(envelope(payload, signature, chain), separators=(",", ":")),
        }
        connection.execute(kiosk_commands.insert().values(**row))
        audit.record(
            connection,
            actor,
            "kiosk.command",
            kiosk_id,
            {"command": command_id, "kind": kind},
            at=now,
        )
    return KioskCommand(
        command_id, kiosk_id, kiosk.store_id, kind, actor, issued_at, expires_at,
        None, None, "", None, None, None,
    )  # fmt: skip


def deliver(database: Database, kiosk_id: str, now: datetime) -> list[dict[str, Any]]:
    """`deliver_on` in a transaction of its own."""
    with database.write() as connection:
        return deliver_on(connection, kiosk_id, now)


def deliver_on(connection: Connection, kiosk_id: str, now: datetime) -> list[dict[str, Any]]:
    """The kiosk's pending, unexpired commands as signed envelopes, oldest first, each
    marked delivered as it is handed out: once, whichever HQ worker answers (a second
    heartbeat's UPDATE waits for the first's row locks, then finds them delivered).
    One statement, in the heartbeat's own transaction: nearly every beat finds none."""
    rows = connection.execute(_TAKE_PENDING, {"kiosk": kiosk_id, "at": now}).all()
    return [json.loads(row.envelope) for row in sorted(rows, key=lambda r: (r.issued_at, r.id))]


_TAKE_PENDING: Final = (
    update(kiosk_commands)
    .where(
        # Not named after columns: an UPDATE keeps those names for its SET clause.
        kiosk_commands.c.kiosk_id == bindparam("kiosk"),
        kiosk_commands.c.delivered_at.is_(None),
        kiosk_commands.c.status.is_(None),
        kiosk_commands.c.expires_at > bindparam("at"),
    )
    .values(delivered_at=bindparam("at"))
    .returning(kiosk_commands.c.id, kiosk_commands.c.envelope, kiosk_commands.c.issued_at)
)


def record_result(
    database: Database,
    *,
    kiosk_id: str,
    command_id: str,
    status: Status,
    detail: str,
    file: bytes | None,
    now: datetime,
) -> Literal["stored", "unknown", "finished"]:
    """The kiosk's result for its own command: "unknown" for no such command of this
    kiosk (or never delivered), "finished" if it has a result already (the first stays)."""
    with database.write() as connection:
        row = connection.execute(
            select(kiosk_commands.c.kind, kiosk_commands.c.status, kiosk_commands.c.delivered_at)
            .where(kiosk_commands.c.id == command_id, kiosk_commands.c.kiosk_id == kiosk_id)
            .with_for_update()
        ).first()
        if row is None or row.delivered_at is None:
            return "unknown"
        if row.status is not None:
            return "finished"
        kept = file if status == "done" and row.kind in FILE_TYPES else None
        connection.execute(
            update(kiosk_commands)
            .where(kiosk_commands.c.id == command_id)
            .values(
                status=status,
                detail=detail[:200],
                finished_at=now,
                file=kept,
                file_type=None if kept is None else FILE_TYPES[row.kind],
            )
        )
    return "stored"


_COMMANDS: Final = select(  # each column a field of KioskCommand
    kiosk_commands.c.id,
    kiosk_commands.c.kiosk_id,
    kiosk_commands.c.store_id,
    kiosk_commands.c.kind,
    kiosk_commands.c.issued_by,
    kiosk_commands.c.issued_at,
    kiosk_commands.c.expires_at,
    kiosk_commands.c.delivered_at,
    kiosk_commands.c.status,
    kiosk_commands.c.detail,
    kiosk_commands.c.finished_at,
    kiosk_commands.c.file_type,
    func.length(kiosk_commands.c.file).label("file_size"),
)


def prune(database: Database, now: datetime) -> int:
    """Forget the commands issued over `KEEP` before `now`, with their files; how many."""
    with database.write() as connection:
        gone = connection.execute(
            delete(kiosk_commands).where(kiosk_commands.c.issued_at < now - KEEP)
        )
    return gone.rowcount or 0


def recent_commands(
    connection: Connection, kiosk_id: str, *, limit: int = RECENT
) -> list[KioskCommand]:
    """The kiosk's latest commands, newest first."""
    rows = connection.execute(
        _COMMANDS.where(kiosk_commands.c.kiosk_id == kiosk_id)
        .order_by(kiosk_commands.c.issued_at.desc(), kiosk_commands.c.id.desc())
        .limit(limit)
    ).all()
    return [KioskCommand(**row._mapping) for row in rows]


def find_command(connection: Connection, command_id: str) -> KioskCommand | None:
    row = connection.execute(_COMMANDS.where(kiosk_commands.c.id == command_id)).first()
    return None if row is None else KioskCommand(**row._mapping)


def command_file(connection: Connection, command_id: str) -> tuple[str, str, str, bytes] | None:
    """(kiosk, store, media type, bytes) of a finished screenshot or log upload."""
    row = connection.execute(
        select(
            kiosk_commands.c.kiosk_id,
            kiosk_commands.c.store_id,
            kiosk_commands.c.file_type,
            kiosk_commands.c.file,
        ).where(kiosk_commands.c.id == command_id, kiosk_commands.c.file.is_not(None))
    ).first()
    if row is None:
        return None
    return row.kiosk_id, row.store_id, row.file_type, bytes(row.file)


__all__: Sequence[str] = (
    "COMMAND_CONTEXT",
    "KINDS",
    "CommandError",
    "KioskCommand",
    "command_file",
    "command_payload",
    "deliver",
    "deliver_on",
    "find_command",
    "issue",
    "prune",
    "recent_commands",
    "record_result",
)
