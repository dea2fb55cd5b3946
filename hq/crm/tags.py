"""Members' fobs and tags: canonical tag values and the keyed tag hash. Pure, no I/O.

A tag's identity is `<kind>:<value>` with one canonical value per kind (the
contract in docs/hq-api.md, the same text the kiosk's drivers produce):

- rfid: the 32-bit card number as ten decimal digits ("0012345678");
- ibeacon: "<uuid, lower case with dashes>:<major>:<minor>" (decimal, 0-65535);
- eddystone: "<namespace, 20 hex>:<instance, 12 hex>" (lower case);
- mfr: "<company id, 4 hex>:<payload hex>" (lower case).

The raw value follows a person around: HQ never stores or logs it. Both sides
keep only the tag hash, the lower-case hex HMAC-SHA256 of the canonical text
under the chain's tag key. Errors here name the rule, never the value.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from typing import Final, Literal

TagKind = Literal["rfid", "ibeacon", "eddystone", "mfr"]
TAG_KINDS: Final[tuple[TagKind, ...]] = ("rfid", "ibeacon", "eddystone", "mfr")

TAG_KEY_BYTES: Final = 32

RFID_DIGITS: Final = 10
RFID_MAX: Final = 2**32 - 1
MAX_MFR_PAYLOAD_HEX: Final = 62  # a BLE advertisement carries at most 31 bytes of it

_DIGITS: Final = re.compile(r"[0-9]{1,10}")
_HEX: Final = re.compile(r"[0-9a-f]+")  # fullmatch: `$` would let a newline in


class InvalidTag(ValueError):
    """The value is not a tag of its kind; the message names the rule broken, not the value."""


def canonical_value(kind: str, value: str) -> str:
    """`value` of a tag of `kind` in its canonical form.

    What staff type is accepted a little more loosely than the canonical text: an
    rfid number with fewer digits (zero-padded to ten), hex and uuids in any case,
    surrounding blanks.
    """
    text = value.strip()
    match kind:
        case "rfid":
            return _rfid(text)
        case "ibeacon":
            return _ibeacon(text)
        case "eddystone":
            return _eddystone(text)
        case "mfr":
            return _manufacturer(text)
    raise InvalidTag(f"unknown tag kind; one of {', '.join(TAG_KINDS)}")


def _rfid(text: str) -> str:
    if not _DIGITS.fullmatch(text) or int(text) > RFID_MAX:
        raise InvalidTag("an rfid card number is up to ten decimal digits, at most 4294967295")
    return text.zfill(RFID_DIGITS)


def _ibeacon(text: str) -> str:
    parts = text.split(":")
    rule = "an ibeacon is <uuid>:<major>:<minor>, major and minor 0 to 65535"
    if len(parts) != 3:
        raise InvalidTag(rule)
    proximity, major, minor = parts
    try:
        parsed = uuid.UUID(proximity)
    except ValueError:
        raise InvalidTag(rule) from None
    if len(proximity) != 36:  # uuid.UUID also takes braces, urn: and no dashes
        raise InvalidTag(rule)
    numbers = []
    for part in (major, minor):
        if not part.isascii() or not part.isdigit() or int(part) > 0xFFFF:
            raise InvalidTag(rule)
        numbers.append(int(part))
    return f"{parsed}:{numbers[0]}:{numbers[1]}"


def _eddystone(text: str) -> str:
    parts = text.lower().split(":")
    if (
        len(parts) != 2
        or len(parts[0]) != 20
        or len(parts[1]) != 12
        or not all(_HEX.fullmatch(part) for part in parts)
    ):
        raise InvalidTag("an eddystone tag is <namespace, 20 hex>:<instance, 12 hex>")
    return ":".join(parts)


def _manufacturer(text: str) -> str:
    parts = text.lower().split(":")
    if (
        len(parts) != 2
        or len(parts[0]) != 4
        or not 2 <= len(parts[1]) <= MAX_MFR_PAYLOAD_HEX
        or len(parts[1]) % 2
        or not all(_HEX.fullmatch(part) for part in parts)
    ):
        raise InvalidTag("an mfr tag is <company id, 4 hex>:<payload, whole bytes of hex>")
    return ":".join(parts)


def canonical(kind: str, value: str) -> str:
    """The text that is hashed: `<kind>:<canonical value>`."""
    return f"{kind}:{canonical_value(kind, value)}"


def tag_hash(key: bytes, canonical_text: str) -> str:
    """Lower-case hex HMAC-SHA256 of `canonical_text` (as `canonical` gives it) under `key`."""
    return hmac.new(key, canonical_text.encode("utf-8"), hashlib.sha256).hexdigest()
