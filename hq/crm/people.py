"""Normalising what shoppers type: phone numbers to E.164, emails to lower case.

Pure functions. Their errors name the rule that was broken, never the value:
messages end up in rejection reasons and logs.
"""

from __future__ import annotations

import re
from typing import Final

import phonenumbers

DEFAULT_REGION: Final = "CN"
# The chain's home market: a national number typed without a country code is Chinese.

_EMAIL: Final = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class InvalidPhone(ValueError):
    """The text is not a valid phone number (for its region)."""


class InvalidEmail(ValueError):
    """The text is not shaped like an email address."""


def e164(phone: str, region: str = DEFAULT_REGION) -> str:
    """`phone` (any format phonenumbers reads) as E.164, e.g. +8613912345678."""
    try:
        parsed = phonenumbers.parse(phone, region.upper())
    except phonenumbers.NumberParseException:
        raise InvalidPhone("not a phone number") from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhone("not a valid phone number for its region")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(email: str | None) -> str | None:
    """The address lower-cased; None for no address (None or blank)."""
    if email is None or not email.strip():
        return None
    email = email.strip()
    if not _EMAIL.match(email):
        raise InvalidEmail("not an email address")
    return email.lower()


def tidy_name(name: str | None) -> str | None:
    """How to greet the shopper, trimmed; None if they gave nothing."""
    if name is None:
        return None
    name = " ".join(name.split())
    return name or None
