"""The worker step that texts what members asked for: claim, look up, send, record.

Every HQ worker's sweeper runs `SmsSender.send_once` each round (30 s,
hq.fleet_health.sweeper), and so does `kiosk-hq sms send`. A round claims due
requests a few at a time (hq.sms.queue: several workers never claim one row
twice), decides each (hq.sms.rules: erased or withdrawn, expired, no number,
capped), paces sends with a token bucket (`KIOSK_HQ_SMS_RATE` per worker), and
records each outcome in its own transaction as soon as the provider answered.
A round ends when nothing is due, after `ROUND_BUDGET_S`, or at stop(); what it
claimed and did not try goes back to the queue.

Logs name request ids, statuses and providers' error codes: never a number, a
code, a name or the text.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from datetime import time as day_time
from typing import Any, Final

from sqlalchemy.exc import SQLAlchemyError

from hq.analytics.crm.job import holder_id
from hq.db import Database
from hq.sms import queue, recipients, rules
from hq.sms.config import SmsConfig, build_provider
from hq.sms.message import render
from hq.sms.pacing import TokenBucket
from hq.sms.provider import RetryLater, SmsProvider
from hq.sms.queue import Claimed
from hq.sms.rules import Outcome, Send

_log = logging.getLogger("hq.sms")

CLAIM_AT_ONCE: Final = 10
# Claimed per transaction: enough to keep a provider busy between claims, few enough
# that a worker that stops mid-round gives little back.
ROUND_BUDGET_S: Final = 20.0
# The sweeper's round is 30 s and also sweeps alerts: a backlog drains over rounds.

Clock = Callable[[], datetime]


@dataclass
class RoundReport:
    outcomes: Counter[str] = field(default_factory=Counter)  # status -> requests
    error: str | None = None  # the database failed (nothing is lost: rows stay queued)

    @property
    def tried(self) -> int:
        return sum(self.outcomes.values())

    def as_json(self) -> dict[str, Any]:
        return {"outcomes": dict(sorted(self.outcomes.items())), "error": self.error}


class SmsSender:
    """One worker's sender: its provider (one HTTP session), pace and lease holder id."""

    def __init__(
        self,
        database: Database,
        config: SmsConfig,
        *,
        provider: SmsProvider | None = None,
        clock: Clock = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
        round_budget_s: float = ROUND_BUDGET_S,
    ) -> None:
        self._database = database
        self._config = config
        self._provider = provider or build_provider(config)
        self._clock = clock
        self._monotonic = monotonic
        self._jitter = jitter
        self._budget = round_budget_s
        self._bucket = TokenBucket(config.rate, now=monotonic())
        self._holder = holder_id()
        self._stopping = threading.Event()
        self._failing = False

    @property
    def provider(self) -> str:
        return self._provider.name

    def stop(self) -> None:
        """End the round under way at its next request (its claims go back)."""
        self._stopping.set()

    def close(self) -> None:
        self.stop()
        self._provider.close()

    def send_once(self) -> RoundReport:
        """One round; a database failure is reported once, and the next round retries."""
        report = RoundReport()
        try:
            self._round(report)
        except SQLAlchemyError as error:
            report.error = f"database: {type(error).__name__}"
            if not self._failing:
                _log.warning("sending texts failed: %s", report.error)
            self._failing = True
            return report
        if self._failing:
            _log.info("sending texts works again")
            self._failing = False
        if report.tried:
            _log.info(
                "texts: %s",
                ", ".join(f"{count} {status}" for status, count in sorted(report.outcomes.items())),
            )
        return report

    def _round(self, report: RoundReport) -> None:
        ends = self._monotonic() + self._budget
        while not self._stopping.is_set() and self._monotonic() < ends:
            claimed = queue.claim(
                self._database, self._holder, now=self._clock(), limit=CLAIM_AT_ONCE
            )
            if not claimed:
                return
            for index, request in enumerate(claimed):
                if self._stopping.is_set() or self._monotonic() >= ends:
                    queue.release(self._database, self._holder, [r.id for r in claimed[index:]])
                    return
                outcome = self._deliver(request)
                if outcome is None:  # stopped while waiting for its turn
                    queue.release(self._database, self._holder, [r.id for r in claimed[index:]])
                    return
                if not queue.settle(
                    self._database, self._holder, request.id, outcome, provider=self.provider
                ):
                    _log.warning("SMS request %d: another worker took it over", request.id)
                report.outcomes[outcome.status] += 1

    def _deliver(self, request: Claimed) -> Outcome | None:
        """The request's outcome; None if the sender stopped before sending it."""
        now = self._clock()
        zone = self._config.zone
        today = now.astimezone(zone).date()
        with self._database.read() as connection:
            recipient = recipients.look_up(
                connection,
                request.member_id,
                day_start=datetime.combine(today, day_time(), zone).astimezone(UTC),
            )
        decision = rules.decide(
            recipient,
            expires_on=request.expires_on,
            today=today,
            daily_cap=self._config.daily_cap,
        )
        if not isinstance(decision, Send):
            _log.info("SMS request %d: %s (%s)", request.id, decision.status, decision.last_error)
            return decision
        wait = self._bucket.take(self._monotonic())
        if wait > 0 and self._stopping.wait(wait):
            return None
        message = render(
            str(request.id),
            request.language,
            request.code,
            request.expires_on,
            sign_name=self._config.sign_name,
        )
        result = self._provider.send(decision.phone_e164, message)
        if isinstance(result, RetryLater) and result.after_s:
            self._bucket.hold(self._monotonic() + result.after_s)
        outcome = rules.after(
            result,
            attempts=request.attempts + 1,
            max_attempts=self._config.max_attempts,
            now=self._clock(),
            jitter=self._jitter(),
        )
        if outcome.status != "sent":
            _log.info(
                "SMS request %d: %s via %s (%s)",
                request.id,
                outcome.status,
                self.provider,
                outcome.last_error,
            )
        return outcome
