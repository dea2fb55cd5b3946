"""The kiosk's window of recent channel messages: an SQLite file in its data dir.

The channel server (serve.py, the kiosk's child) is its only writer: it appends the
messages the kiosk hands it over its stdin (`take`, see intake.py) and what staff's
commands decide, and serves `after(n)` to attendants that resume. A server killed
with -9 loses nothing written; the kiosk resends what it did not hear was written,
and the `intake` table (each kiosk process's newest id, updated in the appending
transaction) keeps a resent message from being appended twice.

seq is SQLite's AUTOINCREMENT rowid: assigned in the appending transaction
(synchronous=FULL, so durable once append returns) and never reused, even after
pruning or a crash. The window keeps every message younger than 24 h and at least
the newest 100,000, whichever is more.

Two more tables hold what commands from attendants decided (see commands.py), each
written in the same transaction as the message that tells it, and never pruned:
`redemptions` (a coupon code's hash, once) and `planogram_edits` (planogram.py).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    select,
    update,
)

from backend_client.channel import files
from backend_client.channel.intake import Incoming
from backend_client.channel.messages import ChannelMessage, data_of, utc_iso
from backend_client.private_files import private_dir, private_sqlite
from backend_client.sqlite_files import sqlite_engines

WINDOW_FILE: Final = files.WINDOW_FILE  # named here too: its first home
MAX_DATA_BYTES: Final = files.MAX_DATA_BYTES
KEEP_AGE: Final = timedelta(hours=24)
KEEP_COUNT: Final = 100_000
_PRUNE_EVERY: Final = 1_000  # appends between prunes: a prune is one indexed DELETE

_metadata = MetaData()
_messages = Table(
    "channel_messages",
    _metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("at", String, nullable=False),
    Column("at_epoch", Float, nullable=False, index=True),
    Column("kind", String, nullable=False),
    Column("alert", Boolean, nullable=False),
    Column("data", Text, nullable=False),
    # AUTOINCREMENT (not a plain rowid): SQLite never hands out a seq again, even the
    # newest one after it was pruned.
    sqlite_autoincrement=True,
)


_redemptions = Table(
    "redemptions",
    _metadata,
    Column("code_hash", String, primary_key=True),
    Column("at", String, nullable=False),
    Column("by", String, nullable=False),
    Column("seq", Integer, nullable=False),  # the coupon_redeemed message that told it
)
# The newest message id of each kiosk process that sent lines (intake.py): updated in the
# transaction that appends, so a resent message is never appended twice.
_intake = Table(
    "intake",
    _metadata,
    Column("sender", String, primary_key=True),
    Column("last_id", Integer, nullable=False),
)
planogram_edits = Table(
    "planogram_edits",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),  # the order edits were made
    Column("slot", Integer, nullable=False),
    Column("sku", String, nullable=False),
    Column("before", String, nullable=False),
    Column("by", String, nullable=False),
    Column("at", String, nullable=False),
    Column("release", String, nullable=False),  # the content release it was made on
    Column("seq", Integer, nullable=False),  # the planogram message that told it
)


@dataclass(frozen=True, slots=True)
class Redeemed:
    """A code already redeemed through this kiosk: when and by whom."""

    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class Taken:
    """What `take` did with a batch of lines: the sender's newest id in the window now,
    how many messages it appended and the kinds of those it refused."""

    last: int
    appended: int
    refused: tuple[str, ...]


class WindowError(Exception):
    """A message cannot go into the window (too big or not whitelisted)."""


class Window:
    """The window file at `path`, for one kiosk of one store. One instance per thread."""

    def __init__(
        self,
        path: Path,
        *,
        store: str,
        kiosk: str,
        busy_timeout: float = 5.0,
        keep: tuple[timedelta, int] = (KEEP_AGE, KEEP_COUNT),
    ) -> None:
        private_dir(path.parent)
        private_sqlite(path)
        self.store, self.kiosk = store, kiosk
        self._appends = 0
        self._keep_age, self._keep_count = keep
        busy_ms = int(busy_timeout * 1000)

        def configure(dbapi_connection: Any) -> None:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute(f"PRAGMA busy_timeout = {busy_ms:d}")
                cursor.execute("PRAGMA journal_mode = WAL")  # the server reads while we write
                cursor.execute("PRAGMA synchronous = FULL")
            finally:
                cursor.close()

        self._engine, self._writes = sqlite_engines(path, configure)
        with self._writes.begin() as connection:
            _metadata.create_all(connection)

    def close(self) -> None:
        self._engine.dispose()

    def append(self, kind: str, data: Any, *, at: datetime, alert: bool = False) -> ChannelMessage:
        """Store one message and return it with its seq (durable when this returns)."""
        kind, encoded = self._checked(kind, data)
        stamp = utc_iso(at)
        with self._writes.begin() as connection:
            seq = self._insert(connection, kind, encoded, at, alert)
        return self._appended(seq, stamp, kind, alert=alert, encoded=encoded, at=at)

    def redeem(self, code_hash: str, by: str, *, at: datetime) -> ChannelMessage | Redeemed:
        """Record a coupon code's redemption and append `coupon_redeemed`, in one transaction;
        or, when the code was redeemed through this kiosk before, when and by whom."""
        kind, encoded = self._checked("coupon_redeemed", {"code_hash": code_hash, "by": by})
        stamp = utc_iso(at)
        with self._writes.begin() as connection:  # BEGIN IMMEDIATE: one redeemer at a time
            earlier = connection.execute(
                select(_redemptions.c.at, _redemptions.c.by).where(
                    _redemptions.c.code_hash == code_hash
                )
            ).first()
            if earlier is not None:
                return Redeemed(datetime.fromisoformat(earlier[0]), earlier[1])
            seq = self._insert(connection, kind, encoded, at, False)
            connection.execute(
                insert(_redemptions).values(code_hash=code_hash, at=stamp, by=by, seq=seq)
            )
        return self._appended(seq, stamp, kind, alert=False, encoded=encoded, at=at)

    def record_slot_edit(
        self, *, slot: int, sku: str, before: str, by: str, release: str, at: datetime
    ) -> ChannelMessage:
        """Record a planogram edit and append `planogram`, in one transaction."""
        kind, encoded = self._checked(
            "planogram", {"slot": slot, "before": before, "after": sku, "by": by}
        )
        stamp = utc_iso(at)
        with self._writes.begin() as connection:
            seq = self._insert(connection, kind, encoded, at, False)
            connection.execute(
                insert(planogram_edits).values(
                    slot=slot, sku=sku, before=before, by=by, at=stamp, release=release, seq=seq
                )
            )
        return self._appended(seq, stamp, kind, alert=False, encoded=encoded, at=at)

    def take(self, sender: str, lines: Sequence[Incoming]) -> Taken:
        """Append, in one transaction, the lines of kiosk process `sender` that come next (see
        intake.py): each newer than the sender's last id whose `prev` is already written. A
        line the window refuses counts as written (resending it would not help)."""
        refused: list[str] = []
        appended = 0
        with self._writes.begin() as connection:
            known = connection.execute(
                select(_intake.c.last_id).where(_intake.c.sender == sender)
            ).scalar()
            last = int(known or 0)
            for item in lines:
                if item.id <= last or item.prev > last:
                    continue  # written before, or behind a line that has not come
                try:
                    kind, encoded = self._checked(item.kind, item.data)
                except WindowError:
                    refused.append(item.kind)
                else:
                    self._insert(connection, kind, encoded, item.at, item.alert)
                    appended += 1
                last = item.id
            if known is None:  # a new kiosk process: the ids of earlier ones are done with
                connection.execute(delete(_intake))
                connection.execute(insert(_intake).values(sender=sender, last_id=last))
            elif last != known:
                connection.execute(
                    update(_intake).where(_intake.c.sender == sender).values(last_id=last)
                )
        before, self._appends = self._appends, self._appends + appended
        if appended and before // _PRUNE_EVERY != self._appends // _PRUNE_EVERY:
            self.prune(now=lines[-1].at)
        return Taken(last, appended, tuple(refused))

    @staticmethod
    def _checked(kind: str, data: Any) -> tuple[str, str]:
        try:
            checked = data_of(kind, data)
        except Exception:  # KeyError or ValidationError: the text may hold the data
            raise WindowError(f"not a {kind!r} message's data") from None
        encoded = checked.model_dump_json()
        if len(encoded) > MAX_DATA_BYTES:
            raise WindowError(f"{kind} data of {len(encoded)} bytes (limit {MAX_DATA_BYTES})")
        return kind, encoded

    @staticmethod
    def _insert(connection: Connection, kind: str, encoded: str, at: datetime, alert: bool) -> int:
        seq = connection.execute(
            insert(_messages).values(
                at=utc_iso(at), at_epoch=at.timestamp(), kind=kind, alert=alert, data=encoded
            )
        ).inserted_primary_key
        assert seq is not None  # one row inserted
        return int(seq[0])

    def _appended(
        self, seq: int, stamp: str, kind: str, *, alert: bool, encoded: str, at: datetime
    ) -> ChannelMessage:
        self._appends += 1
        if self._appends % _PRUNE_EVERY == 0:
            self.prune(now=at)
        return self._message(seq, stamp, kind, alert, encoded)

    def after(self, seq: int, limit: int = 500) -> list[ChannelMessage]:
        """Messages with a seq above `seq`, oldest first, at most `limit`."""
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(_messages.c.seq, _messages.c.at, _messages.c.kind, _messages.c.alert,
                       _messages.c.data)
                .where(_messages.c.seq > seq)
                .order_by(_messages.c.seq)
                .limit(limit)
            ).all()  # fmt: skip
        return [self._message(row[0], row[1], row[2], row[3], row[4]) for row in rows]

    def last_seq(self) -> int:
        with self._engine.connect() as connection:
            return int(connection.execute(select(func.max(_messages.c.seq))).scalar() or 0)

    def prune(self, *, now: datetime) -> int:
        """Forget messages older than the kept age beyond the newest kept count; how many went."""
        with self._writes.begin() as connection:
            newest = connection.execute(select(func.max(_messages.c.seq))).scalar() or 0
            gone = connection.execute(
                delete(_messages).where(
                    _messages.c.seq <= newest - self._keep_count,
                    _messages.c.at_epoch < (now - self._keep_age).timestamp(),
                )
            ).rowcount
        return int(gone)

    def _message(self, seq: int, at: str, kind: str, alert: bool, data: str) -> ChannelMessage:
        return ChannelMessage.model_validate(
            {"v": 1, "store": self.store, "kiosk": self.kiosk, "seq": seq, "at": at,
             "kind": kind, "alert": bool(alert), "data": json.loads(data)}
        )  # fmt: skip


def open_window(data_dir: Path, *, store: str, kiosk: str) -> Window:
    return Window(data_dir / WINDOW_FILE, store=store, kiosk=kiosk)
