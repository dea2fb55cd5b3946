"""What the member directory file holds, shared by its writer and its readers.

The relay child writes the file (`backend_client.members.MemberDirectory`, on
SQLAlchemy); the kiosk's GUI process only reads it (`backend_client.member_reader`,
stdlib sqlite3). Both take from here the file's name, its schema version, the
`Member` a lookup answers with and the keyed tag hash, so the reading side loads
neither SQLAlchemy nor cryptography.

Tag hashes, names and member ids are personal data: `Member`'s repr hides the name,
and what offers are decided on (marketing consent, tier, tags, birth month).
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

MEMBERS_FILE_VERSION: Final = 4
# 2 added `last_seen`, 3 `personalised`, 4 `marketing`, `tags`, `birth_month` and
# `segment` renamed `tier` (emptied: an older HQ sent it without marketing consent).
# An older file gains the columns and asks HQ for the whole feed again (from version
# 0), which fills them in; until then lookups answer as before (no personalisation,
# no offers).

# Keys of the `meta` table.
SCHEMA_VERSION: Final = "schema_version"
VERSION: Final = "version"
TAG_KEY: Final = "tag_key"
LOADING_VERSION: Final = "loading_version"
LOADING_KEY: Final = "loading_key"

LOOKUPS: Final[Mapping[int, str]] = {
    # The lookup by tag hash in a file of each schema version this software reads.
    # Version 1 had no last_seen: read as "unknown", until the writer upgrades the file.
    # Before version 4 no file knew marketing consent: no tier (its `segment` came
    # without consent), no tags, no birth month.
    1: "SELECT member_id, greeting_name, last_viewed, NULL, NULL, 0, 0, '[]', NULL"
    " FROM members WHERE tag_hash = ?",
    2: "SELECT member_id, greeting_name, last_viewed, NULL, last_seen, 0, 0, '[]', NULL"
    " FROM members WHERE tag_hash = ?",
    3: "SELECT member_id, greeting_name, last_viewed, NULL, last_seen, personalised, 0, '[]',"
    " NULL FROM members WHERE tag_hash = ?",
    4: "SELECT member_id, greeting_name, last_viewed, tier, last_seen, personalised,"
    " marketing, tags, birth_month FROM members WHERE tag_hash = ?",
}

_NO_TAGS: Final = "[]"


@dataclass(frozen=True, slots=True)
class Member:
    """A member the kiosk recognised. `greeting_name` None: do not greet them by name.

    `marketing`: their marketing consent is on record at HQ, so the kiosk may make
    them member offers; only then does it know their tier, tags and birth month."""

    member_id: str
    greeting_name: str | None = field(repr=False)
    last_viewed: tuple[str, ...]  # SKUs they lifted last, newest first
    tier: str | None = field(default=None, repr=False)  # loyalty tier ("gold")
    last_seen: datetime | None = None  # their newest lift, to the hour; None: unknown
    personalised: bool = False  # consented to personalised recommendations
    marketing: bool = field(default=False, repr=False)
    tags: tuple[str, ...] = field(default=(), repr=False)  # loyalty tags ("vip"), sorted
    birth_month: int | None = field(default=None, repr=False)  # 1-12


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


LookupRow = tuple[str, str | None, str, str | None, str | None, int, int, str, int | None]


def member_from_row(row: LookupRow) -> Member:
    """A row of a `LOOKUPS` statement as a Member."""
    (
        member_id,
        greeting_name,
        last_viewed,
        tier,
        last_seen,
        personalised,
        marketing,
        tags,
        birth_month,
    ) = row
    seen = None if last_seen is None else datetime.fromisoformat(last_seen)
    viewed = tuple(json.loads(last_viewed))
    return Member(
        member_id,
        greeting_name,
        viewed,
        tier,
        seen,
        bool(personalised),
        bool(marketing),
        () if tags == _NO_TAGS else tuple(json.loads(tags)),
        birth_month,
    )
