"""What an accepted event tells the CRM, as frozen values (no pydantic, no rows).

Ingest turns validated payloads into these; `projections` writes them. Fields
are already normalised: E.164 phone numbers, lower-case emails and hashes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Origin:
    """Which event a fact comes from, and where and when it happened."""

    event_id: str
    store_id: str
    kiosk_id: str
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class Signup:
    origin: Origin
    member_id: str
    phone_e164: str
    email: str | None
    name: str | None
    language: str
    greet_by_name: bool = False


@dataclass(frozen=True, slots=True)
class ConsentDecision:
    origin: Origin
    member_id: str
    purpose: str
    channel: str | None
    notice_version: str
    notice_sha256: str
    given: bool


@dataclass(frozen=True, slots=True)
class Interaction:
    """A member's lift, drop, comparison or recommendation tap."""

    origin: Origin
    member_id: str
    kind: str
    session: str
    sku: str | None
    slot: int | None
    details: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class AlarmRaised:
    origin: Origin
    slot: int
    sku: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class TagBound:
    """A kiosk bound a fob or tag (by its keyed hash, lower case) to a member."""

    origin: Origin
    member_id: str
    tag_hash: str
    tag_kind: str | None


Fact = Signup | ConsentDecision | Interaction | AlarmRaised | TagBound
