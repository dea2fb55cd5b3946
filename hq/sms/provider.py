"""The one small interface every SMS provider implements, and what it answers.

A provider makes one attempt per `send` and says how it went: `Accepted` (the
provider took the message), `RetryLater` (a timeout, a 5xx, a rate limit: try again,
after `after_s` if the provider said), or `Refused` (it never will: an invalid
number, a blocked recipient, a rejected template). Retrying is the queue's business
(hq.sms.sender), not the provider's: a worker never sits in a provider's backoff.

Reasons are a provider's error code or an HTTP status, never its message text:
providers quote the number in theirs ("The 'To' number +86... is not valid").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final, Protocol

import requests

REASON_LENGTH: Final = 200  # sms_requests.last_error


@dataclass(frozen=True, slots=True)
class SmsMessage:
    """What to text. `reference` is HQ's id of the request (sms_requests.id), which
    providers that take one echo in their delivery receipts; never personal."""

    reference: str
    language: str  # "zh-CN" or "en"
    text: str = field(repr=False)  # the whole message, sign included (free-text providers)
    code: str = field(repr=False)  # the coupon code (template providers fill it in)
    expires_on: date


@dataclass(frozen=True, slots=True)
class Accepted:
    message_id: str  # the provider's id of the message


@dataclass(frozen=True, slots=True)
class RetryLater:
    reason: str
    after_s: float | None = None  # the provider's Retry-After, when it gave one


@dataclass(frozen=True, slots=True)
class Refused:
    reason: str


SmsResult = Accepted | RetryLater | Refused


class SmsProvider(Protocol):
    name: str  # sms_requests.provider

    def send(self, to_e164: str, message: SmsMessage) -> SmsResult:
        """One attempt to text `message` to `to_e164` (+8613900001234)."""
        ...

    def close(self) -> None: ...


def reason(text: str) -> str:
    """A reason cut to what sms_requests keeps."""
    return text[:REASON_LENGTH]


def answer_json(response: requests.Response) -> dict[str, Any]:
    """The provider's answer as a JSON object; empty if it is not one."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
