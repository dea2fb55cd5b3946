"""What the sender does with a claimed request, and what an answer makes of it (pure).

- `decide`: before sending. An erased member, or one who withdrew marketing
  consent since asking, is `withdrawn`; a code past its last day is `failed`; no
  number on record is `no_number`; a member already texted `daily_cap` times this
  local day is `capped`; else send.
- `after`: the provider's answer. Accepted is `sent`; refused is `failed`; "try
  later" is queued again with backoff (30 s doubling, capped at 30 minutes, with
  jitter; never sooner than the provider's Retry-After) until `max_attempts`, then
  `failed`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final, Literal

from hq.analytics.crm.records import backoff_delay
from hq.sms.provider import Accepted, Refused, RetryLater, SmsResult, reason

Status = Literal["queued", "sending", "sent", "failed", "capped", "no_number", "withdrawn"]
STATUSES: Final[tuple[Status, ...]] = (
    "queued",
    "sending",
    "sent",
    "failed",
    "capped",
    "no_number",
    "withdrawn",
)

BACKOFF_BASE_S: Final = 30.0
BACKOFF_CAP_S: Final = 1800.0
# A phone that was off for a while, or a provider's outage of minutes, is ridden out;
# a shopper who waits longer than that has left the store.


@dataclass(frozen=True, slots=True)
class Recipient:
    """What HQ knows of the member when it is about to text them."""

    phone_e164: str | None  # None: no number on record
    erased: bool = False
    marketing_withdrawn: bool = False
    sent_today: int = 0  # texts the person was sent this local day


@dataclass(frozen=True, slots=True)
class Send:
    phone_e164: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a request ends this round (`status` "queued": tried again at `next_try_at`)."""

    status: Status
    last_error: str | None = None
    next_try_at: datetime | None = None
    sent_at: datetime | None = None
    provider_message_id: str | None = None
    attempted: bool = False  # a provider was asked


def decide(
    recipient: Recipient, *, expires_on: date, today: date, daily_cap: int
) -> Send | Outcome:
    if recipient.erased:
        return Outcome("withdrawn", "member erased")
    if recipient.marketing_withdrawn:
        return Outcome("withdrawn", "marketing consent withdrawn")
    if today > expires_on:
        return Outcome("failed", "the code expired before it could be sent")
    if recipient.phone_e164 is None:
        return Outcome("no_number", "no phone number on record")
    if recipient.sent_today >= daily_cap:
        return Outcome("capped", f"daily cap of {daily_cap} texts reached")
    return Send(recipient.phone_e164)


def after(
    result: SmsResult, *, attempts: int, max_attempts: int, now: datetime, jitter: float
) -> Outcome:
    """`attempts`: the provider was asked this many times, this one included."""
    match result:
        case Accepted():
            return Outcome(
                "sent", sent_at=now, provider_message_id=result.message_id, attempted=True
            )
        case Refused():
            return Outcome("failed", reason(result.reason), attempted=True)
        case RetryLater():
            if attempts >= max_attempts:
                gave_up = f"{result.reason} (gave up after {attempts} attempts)"
                return Outcome("failed", reason(gave_up), attempted=True)
            delay = backoff_delay(
                attempts, result.after_s, jitter, base=BACKOFF_BASE_S, cap=BACKOFF_CAP_S
            )
            return Outcome(
                "queued",
                reason(result.reason),
                next_try_at=now + timedelta(seconds=delay),
                attempted=True,
            )
