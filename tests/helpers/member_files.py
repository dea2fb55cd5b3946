"""Member directory files as older kiosk software left them, for the upgrade tests."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def as_version(path: Path, version: int, *, segment: str | None = None) -> None:
    """Make the (closed) directory file at `path` look as schema `version` (1-3) made
    it; `segment`: what its `segment` column held for every member (an older HQ
    sent it to everyone, consent or not)."""
    with sqlite3.connect(path) as connection:
        # Version 4 added marketing, tags and birth_month, and renamed segment to tier.
        for column in ("marketing", "tags", "birth_month"):
            connection.execute(f"ALTER TABLE members DROP COLUMN {column}")
        connection.execute("ALTER TABLE members RENAME COLUMN tier TO segment")
        connection.execute("UPDATE members SET segment = ?", (segment,))
        if version <= 2:  # 3 added personalised
            connection.execute("ALTER TABLE members DROP COLUMN personalised")
        if version <= 1:  # 2 added last_seen
            connection.execute("ALTER TABLE members DROP COLUMN last_seen")
        connection.execute(
            "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(version),)
        )
