"""`kiosk-hq sms`: text what is due now, and see how the queue stands.

    sms send [--json]      one round: due requests claimed, sent, recorded
    sms status [--json]    requests per status, the oldest still waiting

The provider comes from the environment (hq.sms.config; default log-only). `send`
claims rows as HQ's own workers do: beside a running HQ, each request is still
texted once. Exit code 1 if the database failed. Nothing printed is personal.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

from hq.db import Database
from hq.sms import queue
from hq.sms.config import SmsConfig
from hq.sms.rules import STATUSES
from hq.sms.sender import SmsSender

Table = Callable[[Sequence[str], Sequence[Sequence[str]], TextIO], None]


def add_command(commands: argparse._SubParsersAction[Any]) -> None:
    parent = commands.add_parser("sms", help="text messages members asked for (coupon codes)")
    sms = parent.add_subparsers(dest="sms_command", required=True, parser_class=type(parent))
    send = sms.add_parser("send", help="one round now: due requests texted")
    send.add_argument("--json", action="store_true", help="machine-readable output")
    status = sms.add_parser("status", help="requests per status, the oldest waiting")
    status.add_argument("--json", action="store_true", help="machine-readable output")


def run(
    database: Database,
    config: SmsConfig,
    args: argparse.Namespace,
    now: datetime,
    table: Table,
    *,
    out: TextIO | None = None,
) -> int:
    out = out or sys.stdout  # looked up now: a caller (a test) may have replaced it
    if args.sms_command == "status":
        _status(database, now, as_json=args.json, table=table, out=out)
        return 0
    sender = SmsSender(database, config)
    try:
        report = sender.send_once()
    finally:
        sender.close()
    if args.json:
        json.dump({"provider": sender.provider, **report.as_json()}, out, indent=2)
        out.write("\n")
    elif report.tried:
        done = ", ".join(f"{count} {status}" for status, count in sorted(report.outcomes.items()))
        print(f"{sender.provider}: {done}", file=out)
    else:
        print(f"{sender.provider}: nothing was due", file=out)
    if report.error:
        print(f"kiosk-hq: sending texts failed: {report.error}", file=sys.stderr)
        return 1
    return 0


def _status(database: Database, now: datetime, *, as_json: bool, table: Table, out: TextIO) -> None:
    found = queue.standing(database)
    age = (
        None
        if found.oldest_queued_at is None
        else max(0.0, (now - found.oldest_queued_at).total_seconds())
    )
    if as_json:
        json.dump(
            {
                "counts": found.counts,
                "oldest_queued_at": None
                if found.oldest_queued_at is None
                else found.oldest_queued_at.astimezone(UTC).isoformat(),
                "oldest_queued_age_s": None if age is None else round(age, 1),
            },
            out,
            indent=2,
        )
        out.write("\n")
        return
    table(("STATUS", "REQUESTS"), [(status, str(found.counts[status])) for status in STATUSES], out)
    waiting = "none" if age is None else f"{_duration(age)} ago"
    print(f"oldest request still waiting: {waiting}", file=out)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
