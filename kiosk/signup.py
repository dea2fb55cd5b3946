"""Sign-up at the kiosk: what the shopper typed, checked and turned into records (pure).

The form's text lives in the sign-up screen's fields while the shopper types;
it reaches this module once, on "submit", as a `SignupForm`. Its repr names no
value, so it can never end up in a log line or the trace by accident.

Each consent purpose is its own record with the notice's version and the
SHA-256 of the exact text shown (in the shopper's language), ticked or not:
HQ can prove what a member agreed to, and what they declined.
"""

from __future__ import annotations

import enum
import hashlib
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Final

from content.model import ConsentNotice, ConsentPurpose, Language

DEFAULT_REGION: Final = "CN"
MIN_AGE: Final = 14  # China's PIPL: under 14 needs a guardian's consent
NAME_MAX: Final = 40
EMAIL_MAX: Final = 254

# Deliberately loose: HQ normalises; the kiosk only catches what is plainly a typo.
_EMAIL: Final = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$")

JsonValue = str | int | float | bool | None | list["JsonValue"] | dict[str, "JsonValue"]


class FormField(enum.StrEnum):
    PHONE = "phone"
    NAME = "name"
    EMAIL = "email"
    CONSENT = "consent"


class Problem(enum.StrEnum):
    """What is wrong with a field; the value is the i18n key of the explanation."""

    PHONE_MISSING = "signup.error.phone_missing"
    PHONE_INVALID = "signup.error.phone_invalid"
    PHONE_NOT_MOBILE = "signup.error.phone_not_mobile"
    NAME_MISSING = "signup.error.name_missing"
    NAME_TOO_LONG = "signup.error.name_too_long"
    EMAIL_INVALID = "signup.error.email_invalid"
    MEMBERSHIP_REQUIRED = "signup.error.membership_required"


_FIELD_OF: Final = {
    Problem.PHONE_MISSING: FormField.PHONE,
    Problem.PHONE_INVALID: FormField.PHONE,
    Problem.PHONE_NOT_MOBILE: FormField.PHONE,
    Problem.NAME_MISSING: FormField.NAME,
    Problem.NAME_TOO_LONG: FormField.NAME,
    Problem.EMAIL_INVALID: FormField.EMAIL,
    Problem.MEMBERSHIP_REQUIRED: FormField.CONSENT,
}


def field_of(problem: Problem) -> FormField:
    return _FIELD_OF[problem]


@dataclass(frozen=True, slots=True)
class SignupForm:
    """Everything typed and ticked on the form. No field shows in a repr."""

    phone: str = field(repr=False)
    name: str = field(repr=False)
    email: str = field(default="", repr=False)
    consents: frozenset[ConsentPurpose] = field(default=frozenset(), repr=False)
    greet_by_name: bool = field(default=False, repr=False)


@dataclass(frozen=True, slots=True)
class CheckedSignup:
    """A form that passed: the number in E.164, text tidied."""

    phone_e164: str = field(repr=False)
    name: str = field(repr=False)
    email: str | None = field(repr=False)
    consents: frozenset[ConsentPurpose] = field(repr=False)
    greet_by_name: bool = field(repr=False)


def check(form: SignupForm, *, region: str = DEFAULT_REGION) -> CheckedSignup | tuple[Problem, ...]:
    """The tidied sign-up, or every problem found (at most one per field)."""
    problems: list[Problem] = []
    phone = _check_phone(form.phone, region)
    if isinstance(phone, Problem):
        problems.append(phone)
    name = " ".join(form.name.split())
    if not name:
        problems.append(Problem.NAME_MISSING)
    elif len(name) > NAME_MAX:
        problems.append(Problem.NAME_TOO_LONG)
    email = form.email.strip()
    if email and (len(email) > EMAIL_MAX or not _EMAIL.match(email)):
        problems.append(Problem.EMAIL_INVALID)
    if ConsentPurpose.MEMBERSHIP not in form.consents:
        problems.append(Problem.MEMBERSHIP_REQUIRED)
    if problems or isinstance(phone, Problem):
        return tuple(problems)
    return CheckedSignup(
        phone_e164=phone,
        name=name,
        email=email or None,
        consents=form.consents,
        # Greeting by name is part of being recognised: without that consent, no greeting.
        greet_by_name=form.greet_by_name and ConsentPurpose.RECOGNITION in form.consents,
    )


def _check_phone(text: str, region: str) -> str | Problem:
    # phonenumbers and its metadata (~2 MB) load with the first sign-up, not at start.
    import phonenumbers  # noqa: PLC0415

    digits = "".join(ch for ch in text if not ch.isspace() and ch != "-")
    if not digits:
        return Problem.PHONE_MISSING
    try:
        number = phonenumbers.parse(digits, region)
    except phonenumbers.NumberParseException:
        return Problem.PHONE_INVALID
    if not phonenumbers.is_valid_number(number):
        return Problem.PHONE_INVALID
    kind = phonenumbers.number_type(number)
    if kind not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        return Problem.PHONE_NOT_MOBILE  # membership messages are texts
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def notice_sha256(notice: ConsentNotice, language: Language) -> str:
    """The hash of the notice text exactly as the shopper saw it."""
    return hashlib.sha256(notice.text.get(language).encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class SignupRecord:
    kind: str
    payload: dict[str, JsonValue] = field(repr=False)


def signup_records(
    signup: CheckedSignup,
    *,
    member_id: str,
    region: str,
    language: Language,
    notices: Sequence[ConsentNotice],
) -> list[SignupRecord]:
    """The member's record, then one consent record per purpose (given or declined)."""
    records = [
        SignupRecord(
            "member_signup",
            {
                "member_id": member_id,
                "phone": signup.phone_e164,
                "region": region,
                "name": signup.name,
                "email": signup.email,
                "language": language.value,
                "greet_by_name": signup.greet_by_name,
            },
        )
    ]
    for notice in notices:
        records.append(
            SignupRecord(
                "consent",
                {
                    "member_id": member_id,
                    "purpose": notice.purpose.value,
                    "channel": None,
                    "notice_version": notice.version,
                    "notice_sha256": notice_sha256(notice, language),
                    "given": notice.purpose in signup.consents,
                },
            )
        )
    return records


def can_sign_up(notices: Collection[ConsentNotice]) -> bool:
    """Without the membership notice there is nothing the shopper could agree to."""
    return any(n.purpose is ConsentPurpose.MEMBERSHIP for n in notices)
