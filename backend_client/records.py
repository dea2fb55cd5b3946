"""A fact the kiosk hands to its outbox, as plain data.

The kiosk's screen process builds records and sends them to the relay child, which
alone writes the outbox file (backend_client/outbox.py, backend_client/data_link.py).
This module imports no database library, so the screen process never loads one.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    """A fact the kiosk hands to the outbox. `payload` must be JSON-serialisable."""

    event_id: uuid.UUID
    kind: str
    schema_version: int
    payload: Mapping[str, Any]
    occurred_at: datetime

    def __post_init__(self) -> None:
        if not self.kind:
            raise ValueError("an outbox record needs a kind")
        if self.schema_version < 1:
            raise ValueError(f"schema_version must be >= 1, got {self.schema_version}")
        if self.occurred_at.utcoffset() is None:
            raise ValueError("occurred_at must be timezone-aware")

    @classmethod
    def new(
        cls,
        kind: str,
        payload: Mapping[str, Any],
        *,
        occurred_at: datetime,
        schema_version: int = 1,
    ) -> OutboxRecord:
        """A record with a fresh random event id."""
        return cls(uuid.uuid4(), kind, schema_version, payload, occurred_at)
