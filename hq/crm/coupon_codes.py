"""Coupon codes at HQ: the format of docs/hq-api.md ("Coupon codes") and its keys.

HQ's own implementation, sharing nothing with the kiosk's (`rewards/codes.py`)
but the document and its test vectors. A code is 120 bits, big-endian:

    version 4 (=1) | campaign number 12 | kiosk number 20 | serial 24 |
    expiry day 16 (days since EPOCH; good through that local day) |
    MAC 44 = the first 44 bits of HMAC-SHA256(kiosk key, the first 76 bits as
             10 bytes, left-aligned)

120 bits are 15 bytes, which base32 writes in exactly 24 characters without
padding: the standard encoder with Crockford's alphabet swapped in. Shown in six
groups of four joined by "-".

Keys: the chain's coupon secret (32 random bytes that only HQ holds, made on
first use: `hq.crm.coupons`) -> store key -> kiosk key. A kiosk holds only its
own key (given at enrolment); a store's till may hold the store key.

Pure: no I/O. Messages never quote the text they were given.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final, Literal

from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.hmac import HMAC

EPOCH: Final = date(2024, 1, 1)
VERSION: Final = 1
SECRET_BYTES: Final = 32

CODE_LENGTH: Final = 29  # 24 characters and 5 hyphens
MAX_CAMPAIGN_NO: Final = 2**12 - 1
MAX_KIOSK_NO: Final = 2**20 - 1
MAX_SERIAL: Final = 2**24 - 1
MAX_DAY: Final = 2**16 - 1

_CROCKFORD: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RFC4648: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_TO_CROCKFORD: Final = str.maketrans(_RFC4648, _CROCKFORD)
_FROM_CROCKFORD: Final = str.maketrans(_CROCKFORD, _RFC4648)
_TYPED: Final = str.maketrans({"I": "1", "L": "1", "O": "0", "-": None, " ": None})

Refusal = Literal["malformed", "forged", "expired", "unknown_kiosk"]


@dataclass(frozen=True, slots=True)
class CouponCode:
    """A code's fields and its formatted text. Codes are not personal data."""

    campaign_no: int
    kiosk_no: int
    serial: int
    expires_on: date
    text: str


class CodeRefused(ValueError):
    """A code HQ does not honour: `reason` for machines, the message for people."""

    def __init__(self, reason: Refusal, message: str) -> None:
        super().__init__(message)
        self.reason: Refusal = reason


@dataclass(frozen=True, slots=True)
class _Decoded:
    code: CouponCode
    head: bytes  # the first 76 bits, left-aligned in 10 bytes
    mac: bytes  # the last 44 bits, right-aligned in 6 bytes


# ---------------------------------------------------------------- keys


def _hmac_sha256(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA256 with `cryptography` (OpenSSL), the kiosk's one crypto library; the
    test vectors in docs/hq-api.md pin the bytes."""
    mac = HMAC(key, SHA256())
    mac.update(message)
    return mac.finalize()


def store_key(secret: bytes, store_id: str) -> bytes:
    return _hmac_sha256(secret, b"coupon-store:" + store_id.encode("utf-8"))


def kiosk_key(store_key: bytes, kiosk_no: int) -> bytes:
    if not 0 <= kiosk_no <= MAX_KIOSK_NO:
        raise ValueError(f"kiosk_no must be from 0 to {MAX_KIOSK_NO}")
    return _hmac_sha256(store_key, b"coupon-kiosk:" + kiosk_no.to_bytes(4, "big"))


def kiosk_key_from_secret(secret: bytes, store_id: str, kiosk_no: int) -> bytes:
    return kiosk_key(store_key(secret, store_id), kiosk_no)


# ---------------------------------------------------------------- encoding


def issue(
    key: bytes, *, campaign_no: int, kiosk_no: int, serial: int, expires_on: date
) -> CouponCode:
    """The code for these fields under the kiosk key `key` (ValueError if one does not fit)."""
    day = (expires_on - EPOCH).days
    for name, value, highest in (
        ("campaign_no", campaign_no, MAX_CAMPAIGN_NO),
        ("kiosk_no", kiosk_no, MAX_KIOSK_NO),
        ("serial", serial, MAX_SERIAL),
        ("expires_on (days since 2024-01-01)", day, MAX_DAY),
    ):
        if not 0 <= value <= highest:
            raise ValueError(f"{name} must be from 0 to {highest}")
    fields = (((VERSION << 12 | campaign_no) << 20 | kiosk_no) << 24 | serial) << 16 | day
    head = (fields << 4).to_bytes(10, "big")
    mac = _mac(key, head)
    whole = (fields << 44 | int.from_bytes(mac, "big")).to_bytes(15, "big")
    return CouponCode(campaign_no, kiosk_no, serial, expires_on, _text(whole))


def _mac(key: bytes, head: bytes) -> bytes:
    digest = _hmac_sha256(key, head)
    return (int.from_bytes(digest[:6], "big") >> 4).to_bytes(6, "big")


def _text(whole: bytes) -> str:
    compact = base64.b32encode(whole).decode("ascii").translate(_TO_CROCKFORD)
    return "-".join(compact[i : i + 4] for i in range(0, 24, 4))


# ---------------------------------------------------------------- decoding


def decode(text: str) -> CouponCode:
    """The fields of the code typed in `text`, without checking its MAC (CodeRefused
    "malformed" if it cannot be a code). Case, hyphens and spaces do not matter; I and
    L read as 1, O as 0."""
    return _decode(text).code


def _decode(text: str) -> _Decoded:
    compact = "".join(text.split()).upper().translate(_TYPED)
    if len(compact) != 24:
        raise CodeRefused(
            "malformed",
            f"a coupon code has 24 letters and digits, this has {len(compact)}: "
            "check that it was typed in full",
        )
    if not set(compact) <= set(_CROCKFORD):
        raise CodeRefused(
            "malformed",
            "not a coupon code: it holds a character codes never contain "
            "(codes are digits and letters other than U); check it was typed correctly",
        )
    whole = int.from_bytes(base64.b32decode(compact.translate(_FROM_CROCKFORD)), "big")
    fields = whole >> 44
    if fields >> 72 != VERSION:
        raise CodeRefused(
            "malformed", "not a coupon code this system can read: check it was typed correctly"
        )
    code = CouponCode(
        campaign_no=(fields >> 60) & MAX_CAMPAIGN_NO,
        kiosk_no=(fields >> 40) & MAX_KIOSK_NO,
        serial=(fields >> 16) & MAX_SERIAL,
        expires_on=EPOCH + timedelta(days=fields & MAX_DAY),
        text="-".join(compact[i : i + 4] for i in range(0, 24, 4)),
    )
    return _Decoded(
        code, (fields << 4).to_bytes(10, "big"), (whole & (2**44 - 1)).to_bytes(6, "big")
    )


def verify(
    text: str, key_for: Callable[[int], bytes | None], *, today: date | None = None
) -> CouponCode:
    """The code in `text` if it is genuine (and, given `today`, not expired).

    `key_for(kiosk_no)` is the issuing kiosk's key, None for no such kiosk.
    CodeRefused: malformed, unknown_kiosk, forged (the MAC does not match: mistyped
    or made up), expired; checked in that order.
    """
    decoded = _decode(text)
    key = key_for(decoded.code.kiosk_no)
    if key is None:
        raise CodeRefused(
            "unknown_kiosk",
            "this coupon code names a kiosk HQ never enrolled: "
            "it was mistyped or not issued by us; check it and type it again",
        )
    if not hmac.compare_digest(_mac(key, decoded.head), decoded.mac):
        raise CodeRefused(
            "forged",
            "this coupon code is not valid: it was mistyped or not issued by us; "
            "check it and type it again",
        )
    if today is not None and today > decoded.code.expires_on:
        raise CodeRefused(
            "expired", f"this coupon code expired at the end of {decoded.code.expires_on}"
        )
    return decoded.code
