"""The demo's SMS provider: nothing leaves HQ; the log says a text was "sent".

The line names HQ's request id only: never the number, the code or the text.
"""

from __future__ import annotations

import logging
from typing import Final

from hq.sms.provider import Accepted, SmsMessage, SmsResult

_log = logging.getLogger("hq.sms")

NAME: Final = "log"


class LogOnly:
    name = NAME

    def send(self, to_e164: str, message: SmsMessage) -> SmsResult:
        del to_e164  # the point: it goes nowhere, not even into the log
        _log.info(
            "SMS request %s: text 'sent' in %s (log-only provider: nothing left HQ)",
            message.reference,
            message.language,
        )
        return Accepted(f"log-{message.reference}")

    def close(self) -> None:
        pass
