"""What the sync relay reports: its state, for the trace and the attendant view.

Apart from the relay itself, so the kiosk's GUI process reads the relay
process's reports without loading the relay's HTTP stack.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class SyncState(StrEnum):
    IDLE = "idle"  # nothing pending
    SYNCING = "syncing"  # sending, and the last try went through
    BACKING_OFF = "backing_off"  # HQ unreachable or busy (or the outbox file is): waiting
    UNAUTHORISED = "unauthorised"  # HQ does not accept this kiosk's token: needs a person


@dataclass(frozen=True, slots=True)
class SyncStatus:
    """The relay's state for the trace and the attendant view."""

    state: SyncState
    pending: int  # records in the outbox
    dead_letters: int  # records given up on, kept for staff
    last_success: datetime | None  # when HQ last acknowledged a batch (UTC)
    retry_in: float | None  # seconds until the next try, while backing off
    sent_total: int  # records HQ acknowledged since the relay started


@dataclass(frozen=True, slots=True)
class ContentStatus:
    """The content updater's state (in the relay process), for the kiosk's switch and
    its maintenance screen: what is ready, what is coming, what went wrong last."""

    staged: tuple[str, ...]  # releases ready to switch to (e.g. "hq-12"), lowest first
    downloading: tuple[int, int, int] | None  # (release number, bytes done, bytes total)
    last_failure: tuple[int | None, str] | None  # (release number, reason) of the last refusal
