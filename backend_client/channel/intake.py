"""How the kiosk hands channel messages to its server child: lines on the child's stdin.

The server child is the window file's only writer (the kiosk's GUI process loads no
SQLite library for it). The kiosk writes one line per message:

    <sender> <id> <prev> {"kind": ..., "at": ..., "alert": ..., "data": {...}}

`sender` is a random token per kiosk process; `id` counts 1, 2, 3... for that sender;
`prev` is the id of the message that must be in the window before this one (0: none;
not always id - 1, since the kiosk may drop a stale heartbeat or, over its bound, an
old message that was never sent). The child keeps each sender's newest id in the
window, in the transaction that appends, and writes a message only when its id is
newer and its `prev` is already written: a resent message is skipped, one behind a
lost line waits for the resend. So whatever the kiosk resends, to this child or to a
new one after a kill -9, reaches the window once, in order.

The child answers on stdout: READY once it reads its stdin (the kiosk then sends
everything not yet acknowledged) and `channel wrote <id>` after each transaction
(the sender's newest id in the window; the kiosk forgets everything up to it).

Plain Python and the message models only: both processes import this.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from pydantic import BaseModel

from backend_client.channel.messages import utc_iso

READY: Final = b"channel intake ready"
WROTE: Final = b"channel wrote "
MAX_LINE_BYTES: Final = 24_576
"""A message's data is at most files.MAX_DATA_BYTES characters; the rest of a line is
tens of bytes. Bounded so that the kiosk's unacknowledged lines fit the pipe."""


class IntakeError(ValueError):
    """A line that is not a message line (its text is not quoted: it may be personal)."""


@dataclass(frozen=True, slots=True)
class Incoming:
    """One message line as the child reads it."""

    sender: str
    id: int
    prev: int
    kind: str
    at: datetime
    alert: bool
    data: Any  # checked against the kind's model when the window appends it


def body(kind: str, data: Any, at: datetime, alert: bool) -> bytes:
    """The JSON part of a message line (the kiosk makes it once, when it publishes)."""
    plain = data.model_dump(mode="json") if isinstance(data, BaseModel) else data
    document = {"kind": kind, "at": utc_iso(at), "alert": alert, "data": plain}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def line(sender: str, id_: int, prev: int, body_: bytes) -> bytes:
    return b"%s %d %d %s\n" % (sender.encode("ascii"), id_, prev, body_)


def parse(raw: bytes) -> Incoming:
    """One line (without its newline) as the kiosk wrote it; IntakeError if it is not one."""
    try:
        sender, id_, prev, rest = raw.split(b" ", 3)
        document = json.loads(rest)
        return Incoming(
            sender.decode("ascii"),
            int(id_),
            int(prev),
            str(document["kind"]),
            datetime.fromisoformat(document["at"]),
            bool(document["alert"]),
            document["data"],
        )
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise IntakeError("not a channel message line") from None


def wrote(last: int) -> bytes:
    return WROTE + b"%d" % last


def written(reply: bytes) -> int | None:
    """The id in a `channel wrote <id>` line, or None for another line."""
    if not reply.startswith(WROTE):
        return None
    try:
        return int(reply[len(WROTE) :])
    except ValueError:
        return None
