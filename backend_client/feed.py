"""The member feed's pages as the kiosk receives them (docs/hq-api.md, "Member feed").

Plain values, apart from the HTTP client, so the kiosk's GUI process can read
the member directory without loading `requests`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One member a kiosk may recognise, by the hash of one of their tags.

    The tag hash, the name and what offers are decided on are personal data: none
    of them is in the repr. HQ sends tier, tags and birth month only with marketing
    consent; without it they are None, () and None."""

    tag_hash: str = field(repr=False)
    member_id: str
    greeting_name: str | None = field(repr=False)  # None: do not greet them by name
    last_viewed: tuple[str, ...]  # SKUs, newest first
    tier: str | None = field(default=None, repr=False)  # loyalty tier ("gold")
    last_seen: datetime | None = None  # their newest lift, to the hour (UTC); None: none
    personalised: bool = False  # consented to personalised recommendations
    marketing: bool = field(default=False, repr=False)  # consented to offers (marketing)
    tags: tuple[str, ...] = field(default=(), repr=False)  # loyalty tags ("vip"), sorted
    birth_month: int | None = field(default=None, repr=False)  # 1-12


@dataclass(frozen=True, slots=True)
class FeedPage:
    """One page of the member feed: the changes after the `since` it was asked for.

    `reset`: drop everything held and rebuild from this page and the ones after it.
    `more`: ask again from `version` for the rest. `tag_key` hashes tags
    (`backend_client.members.tag_hash`)."""

    version: int
    more: bool
    reset: bool
    tag_key: bytes = field(repr=False)
    upserts: tuple[FeedEntry, ...] = field(repr=False)
    removed: tuple[str, ...] = field(repr=False)  # tag hashes
