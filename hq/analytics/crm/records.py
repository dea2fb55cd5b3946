"""What HQ forwards of a customer, what comes back, and how long to wait: pure functions.

A customer is forwarded only while their newest `membership` decision is given;
otherwise (withdrawn, never given, erased) their record is deleted at the CRM.
Of a member, the CRM gets:

- always: HQ's customer id (the CRM's external id: pseudonymous, a random uuid),
  language, member since, first store, and four consent flags (marketing by
  email, marketing by SMS, recognition, personalisation) so the CRM knows whom
  it may contact;
- the email address only with marketing-by-email consent, the phone number only
  with marketing-by-SMS consent, the name only with either; without it the field
  is sent empty, which clears what the CRM held;
- interactions (lifts, drops, comparisons, recommendation taps: kind, SKU, slot,
  store, time) only with personalisation consent.

An opt-out the CRM reports becomes a withdrawal at HQ only where HQ's own newest
decision is "given" and older than the CRM's change: a member who consented
again at a kiosk after opting out at the CRM keeps their newer choice.

An email, name or language the CRM holds is taken only when the CRM changed it
(it differs from what HQ last sent, by hash), it is newer than HQ's own change and
valid as a kiosk sign-up's would be; a changed phone number is reported, never taken.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

MEMBERSHIP: Final = "membership"

Flag = tuple[str, str | None]  # (purpose, channel)

FLAGS: Final[tuple[Flag, ...]] = (
    ("marketing", "email"),
    ("marketing", "sms"),
    ("recognition", None),
    ("personalisation", None),
)
"""The consent flags every CRM record carries, in this order."""

FLAG_NAMES: Final[Mapping[Flag, str]] = {
    ("marketing", "email"): "marketing_email",
    ("marketing", "sms"): "marketing_sms",
    ("recognition", None): "recognition",
    ("personalisation", None): "personalisation",
}


@dataclass(frozen=True, slots=True)
class Decision:
    purpose: str
    channel: str | None
    given: bool
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class CustomerState:
    """What HQ holds of one customer, as the connectors need it."""

    customer_id: str
    phone_e164: str
    email: str | None
    name: str | None
    language: str | None
    created_at: datetime
    first_store_id: str
    decisions: tuple[Decision, ...]  # every decision of all their member ids, any order
    member_id: str  # one of theirs: withdrawals name a member id


@dataclass(frozen=True, slots=True)
class CustomerRecord:
    """One customer as a CRM gets it (the connector maps it to its own fields)."""

    customer_id: str
    email: str | None
    phone: str | None
    name: str | None
    language: str | None
    member_since: str  # YYYY-MM-DD
    first_store_id: str
    consents: tuple[tuple[str, bool], ...]  # (flag name, given), in FLAGS order

    def sha256(self) -> str:
        # The fields in order (not dataclasses.asdict, which copies deeply: 10x slower).
        text = json.dumps([getattr(self, name) for name in self.__slots__], separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def fields_text(self) -> str:
        """What crm_records keeps of the contact fields sent: a short hash of each
        (never the value), as JSON. A CRM value that differs is the CRM's change."""
        return json.dumps(
            {name: field_hash(getattr(self, name)) for name in CONTACT_FIELDS},
            separators=(",", ":"),
            sort_keys=True,
        )

    def consent_text(self) -> str:
        """The flags as crm_records keeps them: "marketing_email=1,marketing_sms=0,..."."""
        return ",".join(f"{name}={int(given)}" for name, given in self.consents)


def current(decisions: Iterable[Decision], purpose: str, channel: str | None) -> Decision | None:
    """The newest decision for `purpose` on `channel`: a decision without a channel
    covers every channel (a withdrawal at HQ writes one of each)."""
    found: Decision | None = None
    for decision in decisions:
        if decision.purpose != purpose or decision.channel not in (channel, None):
            continue
        if found is None or decision.occurred_at >= found.occurred_at:
            found = decision
    return found


def given(decisions: Iterable[Decision], purpose: str, channel: str | None = None) -> bool:
    newest = current(decisions, purpose, channel)
    return newest is not None and newest.given


def customer_record(state: CustomerState) -> CustomerRecord | None:
    """What the CRM may hold of this customer; None: nothing (delete it there)."""
    decisions = state.decisions
    if not given(decisions, MEMBERSHIP):
        return None
    flags = tuple((FLAG_NAMES[flag], given(decisions, *flag)) for flag in FLAGS)
    by_email = given(decisions, "marketing", "email")
    by_sms = given(decisions, "marketing", "sms")
    return CustomerRecord(
        customer_id=state.customer_id,
        email=state.email if by_email else None,
        phone=state.phone_e164 if by_sms else None,
        name=state.name if by_email or by_sms else None,
        language=state.language,
        member_since=state.created_at.date().isoformat(),
        first_store_id=state.first_store_id,
        consents=flags,
    )


def changed_flags(record: CustomerRecord, sent: str | None) -> frozenset[str]:
    """The consent flags to send: all for a record the CRM never got, else only those
    HQ changed since (`sent`: CustomerRecord.consent_text as last sent)."""
    if sent is None:
        return frozenset(name for name, _ in record.consents)
    before = dict(part.split("=", 1) for part in sent.split(",") if "=" in part)
    return frozenset(name for name, value in record.consents if before.get(name) != str(int(value)))


def may_forward_events(state: CustomerState) -> bool:
    """Interactions go to the CRM only with membership and personalisation consent."""
    return given(state.decisions, MEMBERSHIP) and given(state.decisions, "personalisation")


# ---------------------------------------------------------------- the CRM's opt-outs


@dataclass(frozen=True, slots=True)
class OptOut:
    """The CRM says this customer opted out of these flags, as of `at`."""

    customer_id: str
    flags: frozenset[Flag]
    at: datetime


def withdrawals_due(opt_out: OptOut, decisions: Iterable[Decision]) -> list[Flag]:
    """Which of the opt-out's flags become withdrawals at HQ: those HQ holds as given,
    decided before the CRM's change (in FLAGS order)."""
    held = list(decisions)
    due: list[Flag] = []
    for flag in FLAGS:
        if flag not in opt_out.flags:
            continue
        newest = current(held, *flag)
        if newest is not None and newest.given and newest.occurred_at < opt_out.at:
            due.append(flag)
    return due


# ---------------------------------------------------------------- the CRM's other changes

CONTACT_FIELDS: Final = ("email", "name", "language", "phone")
"""The CustomerRecord fields a CRM team may change; phone is only ever reported."""

EMAIL_FORM: Final = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$")
LANGUAGE_FORM: Final = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
MAX_LENGTH: Final[Mapping[str, int]] = {"email": 254, "name": 100, "language": 35}
# As a kiosk sign-up's (hq/wire.py MemberSignupPayload: name Text100, email Text254,
# language Text35), plus the e-mail's and the language tag's form.


def field_hash(value: str | None) -> str:
    """16 hex digits of a value's sha256 ("" for no value): enough to tell a change."""
    return "" if not value else hashlib.sha256(value.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class ContactChange:
    """The contact fields a CRM holds for a customer, as of `at` (absent: not read)."""

    customer_id: str
    values: Mapping[str, str | None]
    at: datetime


@dataclass(frozen=True, slots=True)
class ChangeDecision:
    apply: Mapping[str, str]  # field -> the CRM's value, to take
    refused: tuple[str, ...]  # reasons (field names, never values)
    phone_conflict: bool  # the CRM changed the phone: reported, never applied
    seen: Mapping[str, str]  # field -> field_hash of each value decided on, to keep
    # as what the CRM holds: the same value read again is neither applied, refused
    # nor counted again


def invalid(name: str, value: str) -> str | None:
    """Why a CRM's value for `name` is not one HQ takes; None: it is fine."""
    if len(value) > MAX_LENGTH[name]:
        return f"too long({name})"
    if "\x00" in value or any(ord(c) < 32 or 0xD800 <= ord(c) <= 0xDFFF for c in value):
        return f"invalid characters({name})"
    if name == "email" and not EMAIL_FORM.match(value):
        return "invalid email(email)"
    if name == "language" and not LANGUAGE_FORM.match(value):
        return "invalid language(language)"
    return None


def contact_changes(
    change: ContactChange,
    sent: Mapping[str, str] | None,
    held: Mapping[str, str | None],
    hq_changed_at: datetime | None,
) -> ChangeDecision:
    """Which of the CRM's values HQ takes. Only values the CRM changed: they differ
    from what HQ last sent (`sent`: CustomerRecord.fields_text, parsed; None: HQ
    cannot tell, so nothing), differ from what HQ holds (`held`), are newer than
    HQ's own last change of the customer's fields, and are not empty (clearing a
    field at the CRM erases nothing at HQ)."""
    if sent is None or (hq_changed_at is not None and change.at <= hq_changed_at):
        return ChangeDecision({}, (), phone_conflict=False, seen={})
    apply: dict[str, str] = {}
    seen: dict[str, str] = {}
    refused: list[str] = []
    conflict = False
    for name in CONTACT_FIELDS:
        value = change.values.get(name)
        if value is None or not value.strip() or name not in sent:
            continue
        value = value.strip()
        if field_hash(value) == sent[name] or value == held.get(name):
            continue  # what HQ sent, or already holds
        seen[name] = field_hash(value)
        if name == "phone":
            conflict = True
        elif reason := invalid(name, value):
            refused.append(reason)
        else:
            apply[name] = value
    return ChangeDecision(apply, tuple(refused), phone_conflict=conflict, seen=seen)


# ---------------------------------------------------------------- waiting


BACKOFF_BASE_S: Final = 1.0
BACKOFF_CAP_S: Final = 60.0
# A CRM that is down for a minute is not helped by being asked every second; a
# round gives up after a few attempts and the next round tries again.


def backoff_delay(
    attempt: int,
    retry_after: float | None,
    jitter: float,
    *,
    base: float = BACKOFF_BASE_S,
    cap: float = BACKOFF_CAP_S,
) -> float:
    """Seconds to wait before attempt `attempt + 1` (attempt counts from 1).

    The server's Retry-After when it gave one (never less); else exponential with
    "equal jitter": half of base * 2^(attempt-1), capped, plus `jitter` (0..1) of
    the other half, so workers that failed together do not retry together."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), cap * 5)
    ceiling = min(cap, base * float(2 ** (attempt - 1)))
    return ceiling / 2 + ceiling / 2 * jitter


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """A Retry-After header's seconds: delta-seconds or an HTTP date; None if absent
    or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime  # noqa: PLC0415 (rare: dates)

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if now is None or when.tzinfo is None:
        return None
    return max(0.0, float((when - now).total_seconds()))
