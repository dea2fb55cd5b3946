"""What the member directory file holds, shared by its writer and its readers.

The relay child writes the file (`backend_client.members.MemberDirectory`, on
SQLAlchemy); the kiosk's GUI process only reads it (`backend_client.member_reader`,
stdlib sqlite3). Both take from here the file's name, its schema version, the
`Member` a lookup answers with and the keyed tag hash, so the reading side loads
neither SQLAlchemy nor cryptography.

Tag hashes, names and member ids are personal data: `Member`'s repr hides the name.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from devices.events import TagId

__all__ = [
    "LOADING_KEY",
    "LOADING_VERSION",
    "LOOKUPS",
    "MEMBERS_FILE",
    "MEMBERS_FILE_VERSION",
    "SCHEMA_VERSION",
    "TAG_KEY",
    "VERSION",
    "Member",
    "member_from_row",
    "tag_hash",
    "tag_hash_key",
]

MEMBERS_FILE: Final = "members.sqlite3"
"""Where the kiosk's data directory keeps the member directory."""

MEMBERS_FILE_VERSION: Final = 3
# 2 added `last_seen`, 3 `personalised`. An older file gains the columns and asks HQ for
# the whole feed again (from version 0), which fills them in; until then lookups answer
# as before (no personalisation).

# Keys of the `meta` table.
SCHEMA_VERSION: Final = "schema_version"
VERSION: Final = "version"
TAG_KEY: Final = "tag_key"
LOADING_VERSION: Final = "loading_version"
LOADING_KEY: Final = "loading_key"

LOOKUPS: Final[Mapping[int, str]] = {
    # The lookup by tag hash in a file of each schema version this software reads.
    # Version 1 had no last_seen: read as "unknown", until the writer upgrades the file.
    1: "SELECT member_id, greeting_name, last_viewed, segment, NULL, 0"
    " FROM members WHERE tag_hash = ?",
    2: "SELECT member_id, greeting_name, last_viewed, segment, last_seen, 0"
    " FROM members WHERE tag_hash = ?",
    3: "SELECT member_id, greeting_name, last_viewed, segment, last_seen, personalised"
    " FROM members WHERE tag_hash = ?",
}


@dataclass(frozen=True, slots=True)
class Member:
    """A member the kiosk recognised. `greeting_name` None: do not greet them by name."""

    member_id: str
    greeting_name: str | None = field(repr=False)
    last_viewed: tuple[str, ...]  # SKUs they lifted last, newest first
    segment: str | None
    last_seen: datetime | None = None  # their newest lift, to the hour; None: unknown
    personalised: bool = False  # consented to personalised recommendations


def tag_hash(key: bytes, tag: TagId) -> str:
    """The tag's hash under the chain's tag key: lower-case hex HMAC-SHA256 of its
    canonical text (the contract in docs/hq-api.md)."""
    return hmac.new(key, tag.canonical.encode("utf-8"), hashlib.sha256).hexdigest()


def tag_hash_key(hashed: str) -> bytes | None:
    """The `members` table's key for a tag hash in hex; None if it is not one."""
    try:
        key = bytes.fromhex(hashed)
    except ValueError:
        return None
    return key if len(key) == 32 else None


def member_from_row(row: tuple[str, str | None, str, str | None, str | None, int]) -> Member:
    """A row of `lookup_sql`'s statement as a Member."""
    member_id, greeting_name, last_viewed, segment, last_seen, personalised = row
    seen = None if last_seen is None else datetime.fromisoformat(last_seen)
    viewed = tuple(json.loads(last_viewed))
    return Member(member_id, greeting_name, viewed, segment, seen, bool(personalised))
