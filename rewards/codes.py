"""Coupon codes: issuing and checking them, the kiosk's side of docs/hq-api.md.

A code is 120 bits, big-endian, shown as 24 Crockford base32 characters in six
groups of four (`7K2M-Q9TX-...`):

    version 4 (=1) | campaign number 12 | kiosk number 20 | serial 24 |
    expiry day 16 (days since EPOCH; good through that local day) |
    MAC 44 = the first 44 bits of HMAC-SHA256(kiosk key, the first 76 bits as
             10 bytes, left-aligned)

Anyone holding the kiosk's key can check a code offline: a single changed
character breaks the MAC (or the version), so a mistyped code is refused
rather than read as another one. Keys: chain coupon secret (HQ only) -> store
key -> kiosk key (`store_key`, `kiosk_key`); a kiosk only ever holds its own.

Pure functions, no I/O. Errors say what a person can do about them and never
quote the text they were given. HQ has its own implementation of the same
format (hq/crm/coupon_codes.py); the doc's test vectors keep the two in step.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final, Literal

EPOCH: Final = date(2024, 1, 1)
VERSION: Final = 1

ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
CODE_CHARS: Final = 24
GROUP: Final = 4

CAMPAIGN_BITS: Final = 12
KIOSK_BITS: Final = 20
SERIAL_BITS: Final = 24
DAY_BITS: Final = 16
MAC_BITS: Final = 44
_HEAD_BITS: Final = 4 + CAMPAIGN_BITS + KIOSK_BITS + SERIAL_BITS + DAY_BITS  # 76

MAX_CAMPAIGN_NO: Final = 2**CAMPAIGN_BITS - 1
MAX_KIOSK_NO: Final = 2**KIOSK_BITS - 1
MAX_SERIAL: Final = 2**SERIAL_BITS - 1
LAST_DAY: Final = EPOCH + timedelta(days=2**DAY_BITS - 1)

_VALUE_OF: Final = {char: value for value, char in enumerate(ALPHABET)}
_READS_AS: Final = str.maketrans({"I": "1", "L": "1", "O": "0"})

CodeProblem = Literal["malformed", "forged", "expired", "unknown_kiosk"]


@dataclass(frozen=True, slots=True)
class CouponCode:
    """A code that checked out (or was just issued). Codes are not personal data."""

    campaign_no: int
    kiosk_no: int
    serial: int
    expires_on: date  # good through this local day
    text: str  # the formatted 29-character code with hyphens


class CodeError(ValueError):
    """A code that cannot be honoured; `reason` says why, the message what to do."""

    def __init__(self, reason: CodeProblem, message: str) -> None:
        super().__init__(message)
        self.reason: CodeProblem = reason


# ---------------------------------------------------------------- keys


def _hmac_sha256(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA256 with `cryptography` (OpenSSL), the kiosk's one crypto library; the
    test vectors in docs/hq-api.md pin the bytes. Imported here: the kiosk's screen
    process reads codes (rewards/answers.py) but never signs one, and never loads it."""
    from cryptography.hazmat.primitives.hashes import SHA256  # noqa: PLC0415
    from cryptography.hazmat.primitives.hmac import HMAC  # noqa: PLC0415

    mac = HMAC(key, SHA256())
    mac.update(message)
    return mac.finalize()


def store_key(secret: bytes, store_id: str) -> bytes:
    """A store's key, from the chain's coupon secret (which only HQ holds)."""
    return _hmac_sha256(secret, b"coupon-store:" + store_id.encode("utf-8"))


def kiosk_key(store_key: bytes, kiosk_no: int) -> bytes:
    """A kiosk's key, from its store's key: what the kiosk issues and checks codes with."""
    _check_range("kiosk_no", kiosk_no, MAX_KIOSK_NO)
    return _hmac_sha256(store_key, b"coupon-kiosk:" + kiosk_no.to_bytes(4, "big"))


# ---------------------------------------------------------------- issuing


def issue_code(
    key: bytes, *, campaign_no: int, kiosk_no: int, serial: int, expires_on: date
) -> CouponCode:
    """The code for these fields under `key` (this kiosk's key). ValueError if a field
    does not fit the format."""
    _check_range("campaign_no", campaign_no, MAX_CAMPAIGN_NO)
    _check_range("kiosk_no", kiosk_no, MAX_KIOSK_NO)
    _check_range("serial", serial, MAX_SERIAL)
    if not EPOCH <= expires_on <= LAST_DAY:
        raise ValueError(f"expires_on must be from {EPOCH} to {LAST_DAY}")
    head = VERSION
    for value, bits in (
        (campaign_no, CAMPAIGN_BITS),
        (kiosk_no, KIOSK_BITS),
        (serial, SERIAL_BITS),
        ((expires_on - EPOCH).days, DAY_BITS),
    ):
        head = (head << bits) | value
    value = (head << MAC_BITS) | _mac(key, head)
    return CouponCode(campaign_no, kiosk_no, serial, expires_on, _format(value))


def _check_range(name: str, value: int, highest: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= highest:
        raise ValueError(f"{name} must be an integer from 0 to {highest}")


def _mac(key: bytes, head: int) -> int:
    message = (head << (80 - _HEAD_BITS)).to_bytes(10, "big")
    digest = _hmac_sha256(key, message)
    return int.from_bytes(digest[:6], "big") >> (48 - MAC_BITS)


def _format(value: int) -> str:
    chars = "".join(ALPHABET[(value >> (5 * i)) & 31] for i in range(CODE_CHARS - 1, -1, -1))
    return "-".join(chars[i : i + GROUP] for i in range(0, CODE_CHARS, GROUP))


# ---------------------------------------------------------------- checking


def _compact(text: str) -> str:
    """The code's characters as typed: no spaces or hyphens, upper case, I L O as digits."""
    return "".join(text.split()).replace("-", "").upper().translate(_READS_AS)


def parse_code(text: str, key_for: Callable[[int], bytes | None], *, today: date) -> CouponCode:
    """The code in `text`, checked: typed by a person, so case, hyphens and spaces do
    not matter and I, L read as 1, O as 0.

    `key_for(kiosk_no)` gives the key of the kiosk that issued it (None: unknown).
    `today` is the local date where the code is redeemed. CodeError otherwise:
    malformed, unknown_kiosk, forged (a MAC mismatch: mistyped or made up),
    expired, in that order of checking.
    """
    compact = _compact(text)
    if len(compact) != CODE_CHARS:
        raise CodeError(
            "malformed",
            f"a coupon code has {CODE_CHARS} letters and digits, this has {len(compact)}: "
            "check that it was typed in full",
        )
    value = 0
    for char in compact:
        digit = _VALUE_OF.get(char)
        if digit is None:
            raise CodeError(
                "malformed",
                "this is not a coupon code: it holds a character codes never contain "
                "(only digits and letters other than U); check it was typed correctly",
            )
        value = (value << 5) | digit
    head, mac = value >> MAC_BITS, value & (2**MAC_BITS - 1)
    day = head & (2**DAY_BITS - 1)
    serial = (head >> DAY_BITS) & MAX_SERIAL
    kiosk_no = (head >> (DAY_BITS + SERIAL_BITS)) & MAX_KIOSK_NO
    campaign_no = (head >> (DAY_BITS + SERIAL_BITS + KIOSK_BITS)) & MAX_CAMPAIGN_NO
    if head >> (_HEAD_BITS - 4) != VERSION:
        raise CodeError(
            "malformed",
            "this is not a coupon code this system can read: check it was typed correctly",
        )
    key = key_for(kiosk_no)
    if key is None:
        raise CodeError(
            "unknown_kiosk",
            "this coupon code comes from a kiosk that cannot be checked here: "
            "check it was typed correctly, or ask head office",
        )
    expected = _mac(key, head).to_bytes(6, "big")
    if not hmac.compare_digest(expected, mac.to_bytes(6, "big")):
        raise CodeError(
            "forged",
            "this coupon code is not valid: it was mistyped or not issued by us; "
            "check it and type it again",
        )
    expires_on = EPOCH + timedelta(days=day)
    if today > expires_on:
        raise CodeError("expired", f"this coupon code expired at the end of {expires_on}")
    return CouponCode(campaign_no, kiosk_no, serial, expires_on, _format(value))


def canonical_text(text: str) -> str | None:
    """`text` as a code's formatted 29 characters, or None if it cannot be a code;
    nothing is checked beyond its shape (for looking a code up)."""
    compact = _compact(text)
    if len(compact) != CODE_CHARS or any(char not in _VALUE_OF for char in compact):
        return None
    return "-".join(compact[i : i + GROUP] for i in range(0, CODE_CHARS, GROUP))


__all__ = [
    "EPOCH",
    "CodeError",
    "CodeProblem",
    "CouponCode",
    "canonical_text",
    "issue_code",
    "kiosk_key",
    "parse_code",
    "store_key",
]
