"""HTTP to a CRM: retries with exponential backoff and jitter, Retry-After honoured,
pauses a CRM asks for between requests. Sleep, clock and jitter are passed in.

Nothing here logs a URL's query, a body or a header: they may hold personal data or
the CRM's token.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

import requests

from hq.analytics.crm.connector import CrmAnswerUnreadable, CrmUnavailable
from hq.analytics.crm.records import backoff_delay, retry_after_seconds

_log = logging.getLogger("hq.crm_connectors")

MAX_ATTEMPTS: Final = 5
# With the backoff's 1, 2, 4, 8 s (and any Retry-After) a round waits about 15 s
# before giving up; the next round, minutes later, tries again.
TIMEOUT_S: Final = 30.0

Decide = Callable[[requests.Response], bool]
Pace = Callable[[requests.Response], float]


def _never(_response: requests.Response) -> float:
    return 0.0


def _default_retry(response: requests.Response) -> bool:
    return response.status_code == 429 or response.status_code >= 500


class Transport:
    """One CRM's HTTP session. `retryable` says which answers to try again; `pace`
    how long to wait before the next request after an answer (rate-limit windows)."""

    def __init__(
        self,
        name: str,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], object] = time.sleep,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
        jitter: Callable[[], float] = random.random,
        retryable: Decide = _default_retry,
        pace: Pace = _never,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.name = name
        self.session = session or requests.Session()
        self._sleep = sleep
        self._wall = wall
        self._jitter = jitter
        self._retryable = retryable
        self._pace = pace
        self._max_attempts = max_attempts
        self._pause = 0.0

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """The first answer that is not retryable; CrmUnavailable after the last attempt."""
        failure = ""
        for attempt in range(1, self._max_attempts + 1):
            if self._pause > 0:
                self._sleep(self._pause)
                self._pause = 0.0
            try:
                response = self.session.request(
                    method,
                    url,
                    headers=dict(headers or {}),
                    json=json,
                    params=params,
                    data=data,
                    timeout=TIMEOUT_S,
                )
            except (requests.ConnectionError, requests.Timeout) as error:
                failure = type(error).__name__
                retry_after = None
            else:
                self._pause = self._pace(response)
                if not self._retryable(response):
                    return response
                failure = f"HTTP {response.status_code}"
                retry_after = retry_after_seconds(response.headers.get("Retry-After"), self._wall())
                response.close()
            if attempt == self._max_attempts:
                break
            # A spent rate-limit window outlasts a shorter backoff: wait for the longer.
            delay = max(backoff_delay(attempt, retry_after, self._jitter()), self._pause)
            self._pause = 0.0
            _log.debug("%s: %s, trying again in %.1f s", self.name, failure, delay)
            self._sleep(delay)
        raise CrmUnavailable(f"{self.name} answered {failure} {self._max_attempts} times")

    def close(self) -> None:
        self.session.close()


def json_object(response: requests.Response, crm: str) -> dict[str, Any]:
    """The answer's JSON object; CrmAnswerUnreadable, naming `crm`, for anything else."""
    try:
        body = response.json()
    except ValueError:
        raise CrmAnswerUnreadable(f"{crm}'s answer is not JSON") from None
    if not isinstance(body, dict):
        raise CrmAnswerUnreadable(f"{crm}'s answer is not a JSON object")
    return body
