"""Twilio Programmable Messaging: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`.

HTTP basic auth (Account SID, auth token), a form body: `To`, `Body`, and `From`
(a Twilio number) or `MessagingServiceSid` (an "MG..." id, for a sender pool).
201 with the message's `sid` is accepted. 429 (Twilio's 20429) and 5xx are tried
again, after the `Retry-After` Twilio gives; any other 4xx is a refusal named by
Twilio's error code (21211 an invalid `To`, 21614 not a mobile number, 21610 a
recipient who replied STOP, 21408 a country not enabled, 20003 bad credentials).
Twilio's `message` is never kept: it quotes the number.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

import requests

from hq.analytics.crm.records import retry_after_seconds
from hq.sms.provider import (
    Accepted,
    Refused,
    RetryLater,
    SmsMessage,
    SmsResult,
    answer_json,
    reason,
)

NAME: Final = "twilio"
DEFAULT_URL: Final = "https://api.twilio.com"
TIMEOUT_S: Final = (5.0, 10.0)  # connect, read: a worker's round must not stall
SERVICE_PREFIX: Final = "MG"  # a Messaging Service's SID, rather than a number


@dataclass(frozen=True, slots=True)
class TwilioConfig:
    account_sid: str
    auth_token: str = field(repr=False)
    sender: str  # a number (+1...) or a Messaging Service SID (MG...)
    base_url: str = DEFAULT_URL


class TwilioSms:
    name = NAME

    def __init__(
        self,
        config: TwilioConfig,
        *,
        session: requests.Session | None = None,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
        timeout: tuple[float, float] = TIMEOUT_S,
    ) -> None:
        self._config = config
        self._timeout = timeout
        self._session = session or requests.Session()
        self._wall = wall

    def send(self, to_e164: str, message: SmsMessage) -> SmsResult:
        config = self._config
        sender = (
            "MessagingServiceSid" if config.sender.startswith(SERVICE_PREFIX) else "From",
            config.sender,
        )
        url = (
            f"{config.base_url.rstrip('/')}/2010-04-01/Accounts/{config.account_sid}/Messages.json"
        )
        try:
            response = self._session.post(
                url,
                data=dict([("To", to_e164), sender, ("Body", message.text)]),
                auth=(config.account_sid, config.auth_token),
                timeout=self._timeout,
            )
        except requests.Timeout:
            return RetryLater("twilio: timed out")
        except requests.ConnectionError:
            return RetryLater("twilio: could not connect")
        with response:
            return self._outcome(response)

    def _outcome(self, response: requests.Response) -> SmsResult:
        status = response.status_code
        body = answer_json(response)
        if status in {200, 201} and isinstance(body.get("sid"), str):
            return Accepted(body["sid"][:64])
        code = body.get("code")
        named = f"twilio: {code}" if isinstance(code, int) else f"twilio: HTTP {status}"
        if status == 429 or status >= 500:
            after = retry_after_seconds(response.headers.get("Retry-After"), self._wall())
            return RetryLater(reason(named), after)
        if 400 <= status < 500:
            return Refused(reason(named))
        # 2xx without a message, 3xx: not Twilio's answer; it may have taken the message.
        return RetryLater(f"twilio: HTTP {status} without an answer")

    def close(self) -> None:
        self._session.close()
