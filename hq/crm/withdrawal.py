"""Consent withdrawals recorded by HQ staff: a member who calls the hotline.

Kiosks record decisions as `consent` events; a member who phones HQ to withdraw
is served here. A withdrawal of a purpose is one `consents` row per channel the
person ever decided that purpose for (and one without a channel), each
`given` false, `source` "hq", `recorded_by` the staff member, at `now`: the
person's newest decision from then on, on every member id of theirs. A
withdrawal of recognition takes their tags out of the member feed in the same
transaction: every kiosk drops them at its next feed sync (within the kiosks'
feed interval, 60 s). A withdrawal of personalisation or marketing changes their
feed entries in the same way: kiosks stop recommending from their history, or
stop making them offers and drop their tier, tags and birth month.

Each row keeps the notice version and hash of the decision it withdraws (empty
if the person never decided that purpose): what they had agreed to.

An opt-out made at an external CRM takes the same path (hq.analytics.crm): `source`
"crm", `recorded_by` the connector, and only the channel opted out of (an email
unsubscribe is not an SMS one).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, select

from hq.crm import recognition
from hq.crm.export import PURPOSES
from hq.db import REDEEMED_BY_LENGTH, Database, consents, member_feed, member_ids
from hq.errors import HqError

_log = logging.getLogger("hq.withdrawal")

WITHDRAWN_FROM: Final = (member_feed.name,)
"""Tables a withdrawal overwrites personal data in (recognition: the feed entries)."""

MAX_BY_LENGTH: Final = REDEEMED_BY_LENGTH


class UnknownPurpose(HqError, ValueError):
    def __init__(self) -> None:
        super().__init__(f"no such consent purpose: use one of {', '.join(PURPOSES)}")


class BadRecorder(HqError, ValueError):
    def __init__(self) -> None:
        super().__init__(f"who recorded it must be 1 to {MAX_BY_LENGTH} characters")


@dataclass(frozen=True, slots=True)
class Withdrawal:
    member_id: str
    purpose: str
    channels: tuple[str | None, ...]  # one consents row each
    recorded_by: str
    recorded_at: datetime
    feed_entries_removed: int

    def as_json(self) -> dict[str, Any]:
        return {
            "member_id": self.member_id,
            "purpose": self.purpose,
            "channels": list(self.channels),
            "recorded_by": self.recorded_by,
            "recorded_at": self.recorded_at.isoformat(),
            "feed_entries_removed": self.feed_entries_removed,
        }


def withdraw(
    database: Database,
    member_id: str,
    purpose: str,
    *,
    by: str,
    now: datetime,
    source: str = "hq",
    only_channel: str | None = None,
) -> Withdrawal:
    """Record that the person behind `member_id` withdrew `purpose` (only on
    `only_channel` if one is given; else on every channel).

    UnknownPurpose, BadRecorder, or recognition.UnknownMember if HQ has neither a
    sign-up nor a consent of this member id (an erased member is unknown)."""
    if purpose not in PURPOSES:
        raise UnknownPurpose()
    if not 1 <= len(by) <= MAX_BY_LENGTH:
        raise BadRecorder()
    with database.write() as connection:
        members = _person(connection, member_id)
        if not members:
            raise recognition.UnknownMember()
        newest = _newest_notices(connection, members, purpose)
        channels = tuple(sorted(newest, key=lambda channel: channel or ""))
        if only_channel is not None:
            channels = (only_channel,)
            newest.setdefault(only_channel, newest[None])
        connection.execute(
            consents.insert(),
            [
                {
                    "event_id": str(uuid.uuid4()),
                    "member_id": member_id,
                    "purpose": purpose,
                    "channel": channel,
                    "notice_version": newest[channel][0],
                    "notice_sha256": newest[channel][1],
                    "given": False,
                    "source": source,
                    "recorded_by": by,
                    "store_id": None,
                    "kiosk_id": None,
                    "occurred_at": now,
                }
                for channel in channels
            ],
        )
        removed = 0
        if purpose == recognition.RECOGNITION:
            removed = recognition.refresh(database, connection, [member_id], now=now)
        elif purpose in recognition.FEED_PURPOSES:
            # Personalisation: kiosks stop using their history. Marketing: kiosks make
            # them no offers, and their tier, tags and birth month leave the feed.
            recognition.refresh(database, connection, [member_id], now=now)
    _log.info("a %s consent was withdrawn, recorded at %s", purpose, source.upper())
    return Withdrawal(member_id, purpose, channels, by, now, removed)


def _person(connection: Connection, member_id: str) -> list[str]:
    """The member ids of the person behind `member_id`; empty if HQ knows none."""
    customer = connection.execute(
        select(member_ids.c.customer_id).where(member_ids.c.member_id == member_id)
    ).scalar_one_or_none()
    if customer is not None:
        return list(
            connection.execute(
                select(member_ids.c.member_id).where(member_ids.c.customer_id == customer)
            ).scalars()
        )
    decided = connection.execute(
        select(consents.c.id).where(consents.c.member_id == member_id).limit(1)
    ).first()
    return [member_id] if decided else []


def _newest_notices(
    connection: Connection, members: list[str], purpose: str
) -> dict[str | None, tuple[str, str]]:
    """Per channel the person decided `purpose` for (and None): the notice version
    and hash of their newest decision; ("", "") where they made none."""
    found: dict[str | None, tuple[str, str]] = {None: ("", "")}
    for channel, version, sha256 in connection.execute(
        select(consents.c.channel, consents.c.notice_version, consents.c.notice_sha256)
        .where(consents.c.member_id.in_(members), consents.c.purpose == purpose)
        .order_by(consents.c.occurred_at, consents.c.id)  # oldest first: the newest wins
    ):
        found[channel] = (version, sha256)
    return found
