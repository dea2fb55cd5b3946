"""Texting a queue of members' requests: throughput, and HQ's own time per request.

    .venv/bin/python bench/sms_send.py [--requests 2000] [--sqlite] [--provider log|twilio]

On a fresh PostgreSQL database (or SQLite with --sqlite), `--requests` members sign
up through HQ's ingest, each then asking for an offer's code by text
(`offer_text_requested`): that many `sms_requests` queued. One sender (what each HQ
worker's sweeper runs) then drains the queue, unpaced (the rate limit set far above
what it reaches), through the log-only provider or Twilio's API stand-in on
loopback (tests/helpers/crm_server.py, answering every message with the recorded
201).

Printed: texts a second over the whole drain, and HQ's own time per request,
median and p99: from the provider's answer to one request to the next request
handed to the provider (recording the outcome, claiming, looking the member up,
writing the text), i.e. everything but the provider's call.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from harness import CACHE, percentile  # noqa: E402
from helpers.crm_server import SMS_DATA, CrmServer, Received, recorded  # noqa: E402
from helpers.hq import consent_payload, event_json, fresh_postgres_database, signup_payload  # noqa: E402

from hq import ingest  # noqa: E402
from hq.crm.coupon_codes import issue  # noqa: E402
from hq.db import Database  # noqa: E402
from hq.enrollment import KioskIdentity, issue_code, redeem_code  # noqa: E402
from hq.fleet import add_store  # noqa: E402
from hq.migrations import migrate  # noqa: E402
from hq.settings import sqlite_url  # noqa: E402
from hq.sms.config import SmsConfig, build_provider  # noqa: E402
from hq.sms.provider import SmsMessage, SmsProvider, SmsResult  # noqa: E402
from hq.sms.sender import SmsSender  # noqa: E402
from hq.sms.twilio import TwilioConfig  # noqa: E402
from hq.wire import EventBatch  # noqa: E402

NOW = datetime.now(UTC).replace(microsecond=0)
BATCH = 500
ACCOUNT = "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"


class Timed:
    """The provider, with when each call began and ended (perf_counter)."""

    def __init__(self, provider: SmsProvider) -> None:
        self.name = provider.name
        self._provider = provider
        self.calls: list[tuple[float, float]] = []

    def send(self, to_e164: str, message: SmsMessage) -> SmsResult:
        began = time.perf_counter()
        result = self._provider.send(to_e164, message)
        self.calls.append((began, time.perf_counter()))
        return result

    def close(self) -> None:
        self._provider.close()


def seed(database: Database, requests: int) -> None:
    add_store(database, "bench-store", None, now=NOW, exist_ok=True)
    enrolled = redeem_code(database, issue_code(database, "bench-store", now=NOW), None, now=NOW)
    kiosk = KioskIdentity(enrolled.kiosk_id, enrolled.store_id)
    events: list[tuple[str, dict[str, Any]]] = []
    for serial in range(1, requests + 1):
        member = str(uuid.uuid4())
        code = issue(
            enrolled.coupon_key,
            campaign_no=7,
            kiosk_no=enrolled.kiosk_no,
            serial=serial,
            expires_on=date.today() + timedelta(days=30),
        )
        events += [
            ("member_signup", signup_payload(member, f"139{serial:08d}")),
            ("consent", consent_payload(member, "marketing", given=True, channel="sms")),
            (
                "offer_text_requested",
                {
                    "session": f"s{serial}",
                    "offer": "winter-welcome",
                    "member_id": member,
                    "code": code.text,
                    "campaign": "phone-50",
                    "expires_on": code.expires_on.isoformat(),
                    "language": "zh-CN",
                },
            ),
        ]
    for start in range(0, len(events), BATCH):
        batch = [
            event_json(kiosk.store_id, kiosk.kiosk_id, start + i + 1, kind, payload)
            for i, (kind, payload) in enumerate(events[start : start + BATCH])
        ]
        plan = ingest.decide(kiosk, EventBatch.model_validate({"events": batch}))
        assert isinstance(plan, ingest.Plan)
        ingest.store(database, kiosk, plan, received_at=NOW)


@contextmanager
def database_url(use_sqlite: bool) -> Iterator[str]:
    if use_sqlite:
        CACHE.mkdir(parents=True, exist_ok=True)
        path = CACHE / f"sms-bench-{uuid.uuid4().hex[:8]}.sqlite3"
        try:
            yield sqlite_url(path)
        finally:
            for leftover in CACHE.glob(f"{path.name}*"):
                leftover.unlink()
    else:
        with fresh_postgres_database() as url:
            yield url


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--provider", choices=("log", "twilio"), default="log")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    with database_url(args.sqlite) as url, CrmServer() as twilio_api:
        migrate(url)
        database = Database(url)
        try:
            seeded = time.perf_counter()
            seed(database, args.requests)
            print(f"seeded {args.requests} requests in {time.perf_counter() - seeded:.1f} s")

            def created(request: Received) -> Any:
                return recorded(
                    "twilio",
                    "message_created",
                    data=SMS_DATA,
                    body=request.body["Body"],
                    to=request.body["To"],
                )

            messages = f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
            twilio_api.script("POST", messages, created)
            config = SmsConfig(
                provider=args.provider,
                sign_name="星光百货",
                rate=1e9,  # unpaced: what HQ itself can do
                daily_cap=10,
                twilio=TwilioConfig(ACCOUNT, "bench-token", "+14155552345", twilio_api.url),
            )
            provider = Timed(build_provider(config))
            sender = SmsSender(database, config, provider=provider, round_budget_s=3600)
            began = time.perf_counter()
            report = sender.send_once()
            took = time.perf_counter() - began
            sender.close()
        finally:
            database.dispose()

    sent = report.outcomes.get("sent", 0)
    assert sent == args.requests, report.outcomes
    gaps_ms = [
        (nxt[0] - prev[1]) * 1000
        for prev, nxt in zip(provider.calls, provider.calls[1:], strict=False)
    ]
    calls_ms = [(end - start) * 1000 for start, end in provider.calls]
    backend = "SQLite" if args.sqlite else "PostgreSQL"
    print(
        f"{backend}, {args.provider} provider: {sent} texts in {took:.2f} s = "
        f"{sent / took:.0f} texts/s (one sender, unpaced)"
    )
    print(
        f"HQ's time per request (outcome recorded, claim, member looked up, text written): "
        f"median {statistics.median(gaps_ms):.2f} ms, p99 {percentile(gaps_ms, 99):.2f} ms"
    )
    print(
        f"provider call: median {statistics.median(calls_ms):.2f} ms, "
        f"p99 {percentile(calls_ms, 99):.2f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
