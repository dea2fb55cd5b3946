"""`kiosk-hq analytics rollup`: roll every event not yet rolled into the analytics tables.

    analytics rollup [--json]

Every HQ worker rolls forward on its own every 30 s (hq.fleet_health.sweeper); this
runs a round at once: after a restore, a bulk import, or to bring a fresh
rollup up to date with the events HQ already held (it rolls in transactions of
50,000 events). Safe beside running workers: each event is counted once.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime
from typing import Any, TextIO

from hq.analytics import rollup
from hq.db import Database


def add_command(commands: argparse._SubParsersAction[Any]) -> None:
    """Register `analytics` on `kiosk-hq`'s command list."""
    command = commands.add_parser("analytics", help="the console's analytics rollups")
    actions = command.add_subparsers(dest="analytics_action", required=True, metavar="ACTION")
    rolling = actions.add_parser("rollup", help="roll new events into the analytics tables")
    rolling.add_argument("--json", action="store_true", help="machine-readable output")


def run(
    database: Database, args: argparse.Namespace, now: datetime, out: TextIO = sys.stdout
) -> int:
    started = time.monotonic()
    done = rollup.roll(database, now)
    seconds = time.monotonic() - started
    if args.json:
        json.dump(
            {"events": done.events, "redemptions": done.redemptions, "through": done.through,
             "skipped": done.skipped, "seconds": round(seconds, 3)},
            out,
        )  # fmt: skip
        out.write("\n")
    elif done.skipped and not done.events:
        out.write("another HQ worker is rolling up now: nothing done here\n")
    else:
        out.write(
            f"rolled {done.events:,} events and {done.redemptions:,} coupon redemptions "
            f"in {seconds:.1f} s (events through id {done.through})\n"
        )
    return 0
