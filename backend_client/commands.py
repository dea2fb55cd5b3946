"""HQ's remote commands as the relay child takes them: verified, and each executed once.

A command arrives in the heartbeat's answer as an envelope signed by HQ's content key
(the same key chain the kiosk pinned for manifests: backend_client/release_manifest.py)
over `COMMAND_CONTEXT + canonical JSON of {id, kiosk_id, kind, issued_at, expires_at}`
(docs/hq-api.md). The prefix keeps manifests and commands apart: a manifest's payload
is JSON from its first byte, so a manifest signature never passes as a command, nor
a command's as a manifest.

`verify_command` is pure (bytes, pinned key, own id and `now` in; a `Command` or a
`CommandRefused` out). `CommandLedger` is the file of the ids executed, written
before a command runs, so a command runs at most once even across a restart; ids
are forgotten once their command has expired (a replay after that is refused as
expired).
"""

from __future__ import annotations

import base64
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from backend_client.private_files import private_dir
from backend_client.release_manifest import Refused, verify_envelope

_log = logging.getLogger("backend_client.commands")

COMMAND_CONTEXT: Final = b"kiosk-command-v1\n"
KINDS: Final = frozenset({"restart", "fetch-content", "screenshot", "upload-logs", "identify"})
CLOCK_SKEW: Final = timedelta(minutes=5)
# A kiosk's clock may be this far from HQ's (NTP not yet synced after a cold boot)
# and still take a command: expiry is judged this much late, issue this much early.
MAX_LIFETIME: Final = timedelta(hours=1)  # HQ's are 15 min; a longer one is not HQ's
LEDGER_FILE: Final = "commands-done.json"
_MAX_ID: Final = 36


class CommandRefused(Exception):
    """A command the kiosk does not execute. `command_id`: the id it claimed, when the
    envelope's signature held (only then is it worth reporting to HQ)."""

    def __init__(self, reason: str, command_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.command_id = command_id


@dataclass(frozen=True, slots=True)
class Command:
    id: str
    kiosk_id: str
    kind: str
    issued_at: datetime
    expires_at: datetime


def verify_command(
    document: Mapping[str, Any] | object, pinned: bytes, kiosk_id: str, now: datetime
) -> Command:
    """The command in HQ's envelope `document`, if signed by HQ's key chain from `pinned`,
    for this kiosk and not expired at `now`. Raises CommandRefused otherwise."""
    try:
        body = json.dumps(document).encode()
        payload, _newest = verify_envelope(body, pinned)
    except (TypeError, ValueError, Refused):
        raise CommandRefused("not signed by HQ") from None
    if not payload.startswith(COMMAND_CONTEXT):
        raise CommandRefused("signed by HQ, but not a command")
    command = _parse(payload[len(COMMAND_CONTEXT) :])
    if command.kiosk_id != kiosk_id:
        raise CommandRefused("for another kiosk")  # not ours to report either
    if command.kind not in KINDS:
        raise CommandRefused("unknown kind", command.id)
    if now > command.expires_at + CLOCK_SKEW:
        raise CommandRefused("expired", command.id)
    if command.issued_at - CLOCK_SKEW > now or (
        command.expires_at - command.issued_at > MAX_LIFETIME
    ):
        raise CommandRefused("issued at an impossible time", command.id)
    return command


def _parse(text: bytes) -> Command:
    try:
        document = json.loads(text)
        command = Command(
            id=_field(document, "id"),
            kiosk_id=_field(document, "kiosk_id"),
            kind=_field(document, "kind"),
            issued_at=_moment(_field(document, "issued_at")),
            expires_at=_moment(_field(document, "expires_at")),
        )
    except (ValueError, TypeError, KeyError):
        raise CommandRefused("signed by HQ, but malformed") from None
    if len(command.id) > _MAX_ID or not command.id.replace("-", "").isalnum():
        raise CommandRefused("signed by HQ, but malformed")
    return command


def _field(document: Any, name: str) -> str:
    value = document[name]
    if not isinstance(value, str):
        raise TypeError(name)
    return value


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("a time without a zone")
    return moment.astimezone(UTC)


class CommandLedger:
    """The ids of the commands this kiosk has executed (or begun to), in `data_dir`.

    Used from one thread (the relay child's command runner)."""

    def __init__(self, data_dir: Path, now: datetime) -> None:
        self._path = data_dir / LEDGER_FILE
        # A damaged ledger must not let a replay through: every command issued before
        # it was found so may have run, and is refused (within 15 min none is left).
        self._damaged_before: datetime | None = None
        self._done: dict[str, datetime] = self._read(now)

    def seen(self, command_id: str) -> bool:
        return command_id in self._done

    def claim(self, command: Command, now: datetime) -> bool:
        """Note `command` as executed, on disk, before it runs; False if it was already
        (a replay). Expired ids are forgotten meanwhile."""
        if command.id in self._done:
            return False
        if self._damaged_before is not None and command.issued_at <= self._damaged_before:
            return False
        horizon = now - CLOCK_SKEW
        self._done = {
            key: until for key, until in self._done.items() if until + CLOCK_SKEW > horizon
        }
        self._done[command.id] = command.expires_at
        self._write()
        return True

    def _read(self, now: datetime) -> dict[str, datetime]:
        try:
            document = json.loads(self._path.read_bytes())
            return {str(key): _moment(str(until)) for key, until in document.items()}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, AttributeError, TypeError):
            _log.error("the executed-commands ledger is unreadable: older commands refused")
            self._damaged_before = now + CLOCK_SKEW
            return {}

    def _write(self) -> None:
        private_dir(self._path.parent)
        text = json.dumps({key: until.isoformat() for key, until in self._done.items()})
        partial = self._path.with_suffix(".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, text.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(partial, self._path)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


__all__ = [
    "CLOCK_SKEW",
    "COMMAND_CONTEXT",
    "Command",
    "CommandLedger",
    "CommandRefused",
    "b64",
    "verify_command",
]
