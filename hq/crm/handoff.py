"""Phone sign-up links at HQ: checking a kiosk's one-time token and signing up with it.

A kiosk that is often offline shows a QR code with `{hq_url}/join/{token}`; the
shopper signs up on their own phone, on a page HQ serves (`hq.api.join`). The
kiosk never tells HQ about the link, so the token proves itself (format in
docs/hq-api.md, "Sign-up on the shopper's phone"):

    version 4 (=1) | kiosk number 20 | expiry 32 (minutes since 2024-01-01 UTC) |
    nonce 64 | MAC 80 = HMAC-SHA256(handoff key, the first 15 bytes)[:10]

    handoff key = HMAC-SHA256(kiosk coupon key, b"handoff")

as 40 characters of RFC 4648 base32 (upper case, no padding). HQ derives every
kiosk's coupon key from the chain's coupon secret (`hq.crm.coupon_codes`).

A link works once: signing up inserts the token's (kiosk number, nonce) into
`handoff_uses`, whose primary key refuses a second insert, in the same
transaction as the sign-up's CRM records; two submissions racing with one link
cannot both sign up. Rows can go once their token has expired for good
(`forget_spent`).

The sign-up becomes CRM facts (a `Signup` and one `ConsentDecision` per
purpose) written by `hq.crm.projections.project`, as kiosk events are, with the
token's kiosk as their origin. Nothing here logs or quotes what the shopper typed.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

from sqlalchemy import Connection, delete, select

from hq.crm import recognition
from hq.crm.coupon_codes import kiosk_key_from_secret
from hq.crm.facts import ConsentDecision, Fact, Origin, Signup
from hq.crm.projections import project
from hq.db import Database, handoff_uses, kiosks
from hq.errors import HqError

_log = logging.getLogger("hq.crm.handoff")

EPOCH: Final = datetime(2024, 1, 1, tzinfo=UTC)
VERSION: Final = 1
TOKEN_CHARS: Final = 40  # 25 bytes: exactly 40 base32 characters, no padding
TOKEN_BYTES: Final = 25
_SIGNED_BYTES: Final = 15  # version, kiosk number, expiry (7 bytes) and nonce (8)
MAC_BYTES: Final = 10
KIOSK_BITS: Final = 20
EXPIRY_BITS: Final = 32
_BASE32: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")

CLOCK_SKEW: Final = timedelta(minutes=2)
# Kiosks keep time by NTP when online, but an offline week drifts: a link is not
# refused for a kiosk clock a little behind HQ's.

FORM_TIME: Final = timedelta(minutes=20)
# A shopper who opened the form before the link expired may still send it this
# long after: typing a name on a phone in a busy shop takes a while, and losing
# what was typed to a clock is worse than a slightly longer-lived link.

MAX_AHEAD: Final = timedelta(minutes=30)
# Kiosks make links that live 10 minutes. One that expires further ahead than
# this was made on a kiosk whose clock is wrong (or with a stolen key): refused.

Refusal = Literal["malformed", "unknown_kiosk", "forged", "expired", "future", "used"]

_MESSAGES: Final[dict[Refusal, str]] = {
    "malformed": "not a sign-up link: it was cut short or altered",
    "unknown_kiosk": "the link names a kiosk HQ does not know, or one that was revoked",
    "forged": "the link's signature does not match: it was altered or not made by our kiosk",
    "expired": "the link has expired",
    "future": "the link expires too far ahead: the kiosk that made it has a wrong clock",
    "used": "the link was used already",
}


class HandoffRefused(HqError):
    """A link that cannot be used; `reason` for code, the message for staff and logs.
    Neither quotes the token."""

    def __init__(self, reason: Refusal) -> None:
        super().__init__(_MESSAGES[reason])
        self.reason: Refusal = reason


@dataclass(frozen=True, slots=True)
class HandoffKiosk:
    """The enrolled kiosk a token names, with the key its tokens are signed with."""

    kiosk_no: int
    store_id: str
    kiosk_id: str
    handoff_key: bytes = field(repr=False)


KioskLookup = Callable[[int], HandoffKiosk | None]
"""The kiosk with this number, or None: no such kiosk, or it was revoked."""


@dataclass(frozen=True, slots=True)
class Handoff:
    """A token whose MAC checked out: which kiosk made it, and until when it works."""

    kiosk: HandoffKiosk
    nonce: str  # 16 hex digits; with kiosk_no, what makes the link single-use
    expires_at: datetime

    def refusal_at(self, now: datetime, *, submitting: bool = False) -> Refusal | None:
        """ "expired" or "future" if the link cannot be used at `now`, else None.

        Opening the form needs the link unexpired (give or take CLOCK_SKEW);
        sending it is allowed FORM_TIME longer.
        """
        if self.expires_at > now + MAX_AHEAD:
            return "future"
        grace = CLOCK_SKEW + (FORM_TIME if submitting else timedelta(0))
        if now >= self.expires_at + grace:
            return "expired"
        return None


@dataclass(frozen=True, slots=True)
class ConsentChoice:
    """One tick box as the shopper left it, with the notice shown beside it."""

    purpose: str
    notice_version: str
    notice_sha256: str  # of the notice text in the language shown
    given: bool


@dataclass(frozen=True, slots=True)
class PhoneSignup:
    """A checked sign-up from the phone page. No personal field shows in a repr."""

    phone_e164: str = field(repr=False)
    name: str | None = field(repr=False)
    email: str | None = field(repr=False)  # lower case
    language: str
    greet_by_name: bool
    consents: tuple[ConsentChoice, ...]


# ---------------------------------------------------------------- the table

# ---------------------------------------------------------------- keys and tokens


def handoff_key(coupon_key: bytes) -> bytes:
    """The key a kiosk signs its handoff tokens with, from its coupon key."""
    return hmac.digest(coupon_key, b"handoff", "sha256")


def enrolled_kiosks(database: Database, coupon_secret: Callable[[], bytes]) -> KioskLookup:
    """Kiosks by their number, from HQ's `kiosks` table; revoked ones are not found.

    `coupon_secret()` is the chain's coupon secret (the coupon keys' root); it is
    asked once and kept, as the secret never changes (every code would break).
    """
    kept: list[bytes] = []

    def lookup(kiosk_no: int) -> HandoffKiosk | None:
        with database.read() as connection:
            row = connection.execute(
                select(kiosks.c.kiosk_id, kiosks.c.store_id).where(
                    kiosks.c.kiosk_no == kiosk_no, kiosks.c.revoked_at.is_(None)
                )
            ).one_or_none()
        if row is None:
            return None
        if not kept:
            kept.append(coupon_secret())
        coupon_key = kiosk_key_from_secret(kept[0], row.store_id, kiosk_no)
        return HandoffKiosk(kiosk_no, row.store_id, row.kiosk_id, handoff_key(coupon_key))

    return lookup


def authenticate(token: str, kiosks: KioskLookup) -> Handoff:
    """The link's kiosk and expiry if the token is genuine; HandoffRefused "malformed",
    "unknown_kiosk" or "forged" if not. Its time and use are checked separately
    (`Handoff.refusal_at`, `was_used`)."""
    if len(token) != TOKEN_CHARS or not set(token) <= _BASE32:
        raise HandoffRefused("malformed")
    try:
        raw = base64.b32decode(token)
    except binascii.Error:  # cannot happen for 40 characters of the alphabet; be safe
        raise HandoffRefused("malformed") from None
    head = int.from_bytes(raw[:7], "big")
    if head >> (KIOSK_BITS + EXPIRY_BITS) != VERSION:
        raise HandoffRefused("malformed")
    kiosk_no = (head >> EXPIRY_BITS) & (2**KIOSK_BITS - 1)
    expiry_minute = head & (2**EXPIRY_BITS - 1)
    kiosk = kiosks(kiosk_no)
    if kiosk is None:
        raise HandoffRefused("unknown_kiosk")
    expected = hmac.digest(kiosk.handoff_key, raw[:_SIGNED_BYTES], "sha256")[:MAC_BYTES]
    if not hmac.compare_digest(expected, raw[_SIGNED_BYTES:]):
        raise HandoffRefused("forged")
    return Handoff(
        kiosk=kiosk,
        nonce=raw[7:_SIGNED_BYTES].hex(),
        expires_at=EPOCH + timedelta(minutes=expiry_minute),
    )


def check(token: str, kiosks: KioskLookup, *, now: datetime, submitting: bool = False) -> Handoff:
    """`authenticate` and then the time: HandoffRefused for any reason but "used"."""
    handoff = authenticate(token, kiosks)
    refusal = handoff.refusal_at(now, submitting=submitting)
    if refusal is not None:
        raise HandoffRefused(refusal)
    return handoff


# ---------------------------------------------------------------- using a link


def was_used(database: Database, handoff: Handoff) -> bool:
    with database.read() as connection:
        return (
            connection.execute(
                select(handoff_uses.c.used_at).where(
                    handoff_uses.c.kiosk_no == handoff.kiosk.kiosk_no,
                    handoff_uses.c.nonce == handoff.nonce,
                )
            ).first()
            is not None
        )


def sign_up(database: Database, handoff: Handoff, signup: PhoneSignup, *, now: datetime) -> str:
    """Use up the link and record the member and their consents, in one transaction;
    the new member id. HandoffRefused "used" (and nothing stored) if the link was
    used before, or is being used by another request at the same moment."""
    member_id = str(uuid.uuid4())
    facts = signup_facts(handoff, signup, member_id=member_id, now=now)
    with database.write() as connection:
        if not _claim(database, connection, handoff, now=now):
            raise HandoffRefused("used")
        project(database, connection, facts)
        # As ingest does: a consent to recognition can change the member feed.
        recognition.refresh(database, connection, recognition.members_touched(facts), now=now)
    _log.info(
        "phone sign-up through a link of kiosk %s: %d consents given of %d",
        handoff.kiosk.kiosk_id,
        sum(choice.given for choice in signup.consents),
        len(signup.consents),
    )
    return member_id


def signup_facts(
    handoff: Handoff, signup: PhoneSignup, *, member_id: str, now: datetime
) -> Sequence[Fact]:
    """The CRM facts of a phone sign-up, each with its own event id (consents keep
    one row per event id), all from the link's kiosk."""

    def origin() -> Origin:
        return Origin(str(uuid.uuid4()), handoff.kiosk.store_id, handoff.kiosk.kiosk_id, now)

    facts: list[Fact] = [
        Signup(
            origin=origin(),
            member_id=member_id,
            phone_e164=signup.phone_e164,
            email=signup.email,
            name=signup.name,
            language=signup.language,
            greet_by_name=signup.greet_by_name,
        )
    ]
    facts.extend(
        ConsentDecision(
            origin=origin(),
            member_id=member_id,
            purpose=choice.purpose,
            channel=None,
            notice_version=choice.notice_version,
            notice_sha256=choice.notice_sha256,
            given=choice.given,
        )
        for choice in signup.consents
    )
    return facts


def _claim(database: Database, connection: Connection, handoff: Handoff, *, now: datetime) -> bool:
    """Insert the link's row; False if it is there already. On PostgreSQL a second
    transaction inserting the same key waits for the first to end, then inserts
    nothing: exactly one of two racing sign-ups wins."""
    claimed = connection.execute(
        database.insert(handoff_uses)
        .values(
            kiosk_no=handoff.kiosk.kiosk_no,
            nonce=handoff.nonce,
            kiosk_id=handoff.kiosk.kiosk_id,
            expires_at=handoff.expires_at,
            used_at=now,
        )
        .on_conflict_do_nothing()
        .returning(handoff_uses.c.nonce)
    ).first()
    return claimed is not None


def forget_spent(database: Database, *, now: datetime) -> int:
    """Delete the rows of links that have expired for good (a used one is refused as
    expired from then on); how many. For a daily job, like the member feed's compaction."""
    with database.write() as connection:
        done = connection.execute(
            delete(handoff_uses).where(handoff_uses.c.expires_at <= now - (CLOCK_SKEW + FORM_TIME))
        )
    return int(done.rowcount or 0)


__all__ = [
    "CLOCK_SKEW",
    "EPOCH",
    "FORM_TIME",
    "MAX_AHEAD",
    "ConsentChoice",
    "Handoff",
    "HandoffKiosk",
    "HandoffRefused",
    "KioskLookup",
    "PhoneSignup",
    "Refusal",
    "authenticate",
    "check",
    "enrolled_kiosks",
    "forget_spent",
    "handoff_key",
    "handoff_uses",
    "sign_up",
    "signup_facts",
    "was_used",
]
