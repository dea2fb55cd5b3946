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
