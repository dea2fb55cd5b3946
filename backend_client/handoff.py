"""The kiosk's "continue on your phone" link: a one-time sign-up link HQ can check alone.

The kiosk shows the link as a QR code; the shopper opens it on their own phone
and signs up on a page HQ serves. The kiosk is often offline, so it cannot tell
HQ about the link: the token in it proves itself. It carries the kiosk's number,
a random nonce and an expiry, and a MAC under the kiosk's handoff key, which is
derived from the kiosk's coupon key (so HQ, which can derive every kiosk's
coupon key, can check it; another kiosk cannot forge it).

Token, 200 bits big-endian, as 40 characters of RFC 4648 base32 (A-Z, 2-7,
no padding) in the path `{hq_url}/join/{token}`:

    version 4 (=1) | kiosk number 20 | expiry 32 (minutes since 2024-01-01 UTC;
    the link works until that minute starts) | nonce 64 |
    MAC 80 = the first 80 bits of HMAC-SHA256(handoff key, the first 15 bytes)

    handoff key = HMAC-SHA256(kiosk coupon key, b"handoff")

docs/hq-api.md has the format and its test vectors; HQ checks it in
hq/crm/handoff.py (its own implementation). Pure apart from `secrets`.
"""

from __future__ import annotations

import base64
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

EPOCH: Final = datetime(2024, 1, 1, tzinfo=UTC)
VERSION: Final = 1

LIFETIME: Final = timedelta(minutes=10)
# Long enough to take out a phone, scan, and start typing; HQ gives a shopper who
# opened the form in time a while longer to finish it (docs/hq-api.md).

KIOSK_BITS: Final = 20
EXPIRY_BITS: Final = 32
NONCE_BYTES: Final = 8
MAC_BYTES: Final = 10
TOKEN_BYTES: Final = 25  # 4 + 20 + 32 bits = 7 bytes, nonce 8, MAC 10
TOKEN_CHARS: Final = 40  # 25 bytes are exactly 40 base32 characters: no padding
MAX_KIOSK_NO: Final = 2**KIOSK_BITS - 1
MAX_EXPIRY_MINUTE: Final = 2**EXPIRY_BITS - 1

_HANDOFF_LABEL: Final = b"handoff"


@dataclass(frozen=True, slots=True)
class HandoffLink:
    """A one-time sign-up link for the shopper's phone. Not personal data."""

    url: str
    expires_at: datetime  # the link stops working at this moment (UTC, whole minute)


def handoff_key(coupon_key: bytes) -> bytes:
    """The key handoff tokens are signed with, from the kiosk's coupon key."""
    return hmac.digest(coupon_key, _HANDOFF_LABEL, "sha256")


def handoff_link(hq_url: str, *, kiosk_no: int, coupon_key: bytes, now: datetime) -> HandoffLink:
    """A fresh link that expires LIFETIME after `now` (rounded up to a whole minute).

    `hq_url` is where shoppers' phones reach HQ (no trailing slash needed);
    `kiosk_no` and `coupon_key` are what enrolment gave this kiosk.
    """
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    expiry_minute = math.ceil((now + LIFETIME - EPOCH) / timedelta(minutes=1))
    token = encode_token(
        handoff_key(coupon_key),
        kiosk_no=kiosk_no,
        expiry_minute=expiry_minute,
        nonce=secrets.token_bytes(NONCE_BYTES),
    )
    return HandoffLink(
        url=f"{hq_url.rstrip('/')}/join/{token}",
        expires_at=expiry_time(expiry_minute),
    )


def encode_token(key: bytes, *, kiosk_no: int, expiry_minute: int, nonce: bytes) -> str:
    """The token for these fields under `key` (a handoff key). Deterministic: the
    nonce is given, which is what the test vectors need."""
    if isinstance(kiosk_no, bool) or not 0 <= kiosk_no <= MAX_KIOSK_NO:
        raise ValueError(f"kiosk_no must be an integer from 0 to {MAX_KIOSK_NO}")
    if isinstance(expiry_minute, bool) or not 0 <= expiry_minute <= MAX_EXPIRY_MINUTE:
        raise ValueError(f"expiry_minute must be an integer from 0 to {MAX_EXPIRY_MINUTE}")
    if len(nonce) != NONCE_BYTES:
        raise ValueError(f"the nonce must be {NONCE_BYTES} bytes")
    head = (VERSION << (KIOSK_BITS + EXPIRY_BITS)) | (kiosk_no << EXPIRY_BITS) | expiry_minute
    body = head.to_bytes(7, "big") + nonce
    mac = hmac.digest(key, body, "sha256")[:MAC_BYTES]
    return base64.b32encode(body + mac).decode("ascii")


def expiry_time(expiry_minute: int) -> datetime:
    return EPOCH + timedelta(minutes=expiry_minute)


__all__ = [
    "EPOCH",
    "LIFETIME",
    "HandoffLink",
    "encode_token",
    "expiry_time",
    "handoff_key",
    "handoff_link",
]
