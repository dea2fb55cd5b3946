"""`kiosk-hq plays`: proof of play per campaign in the terminal (hq.plays).

    plays [--from DAY] [--to DAY] [--campaign ID | --no-campaign] [--store STORE_ID ...]
          [--per day|hour] [--timezone ZONE] [--json | --csv]

Days are the stores' (the console's zone, KIOSK_HQ_CONSOLE_TIMEZONE); the default
range is the last 7 days up to today. Per campaign: shows, seconds on screen,
shows a lift followed and their share; then per store and per day (or hour).
`--csv` writes every kiosk's hourly rows, as the console's download does.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hq import plays
from hq.db import Database
from hq.errors import HqError

DEFAULT_DAYS = 7


Table = Callable[[Sequence[str], Sequence[Sequence[str]], TextIO], None]


def add_command(commands: argparse._SubParsersAction[Any], day: Callable[[str], date]) -> None:
    """Register `plays` on `kiosk-hq`'s command list (`day` reads a YYYY-MM-DD)."""
    command = commands.add_parser("plays", help="proof of play per campaign")
    command.add_argument("--from", dest="first", type=day, help="first day, YYYY-MM-DD")
    command.add_argument("--to", dest="last", type=day, help="last day (default: today)")
    which = command.add_mutually_exclusive_group()
    which.add_argument("--campaign", help="only this campaign")
    which.add_argument(
        "--no-campaign", action="store_true", help="only entries in no campaign (house content)"
    )
    command.add_argument(
        "--store", action="append", dest="stores", metavar="STORE_ID", help="only these stores"
    )
    command.add_argument("--per", choices=("day", "hour"), default="day")
    command.add_argument(
        "--timezone", help="the stores' zone (default: the console's, KIOSK_HQ_CONSOLE_TIMEZONE)"
    )
    output = command.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="machine-readable output")
    output.add_argument("--csv", action="store_true", help="every kiosk's hourly rows, as CSV")


def run(
    database: Database,
    args: argparse.Namespace,
    now: datetime,
    table: Table,
    out: TextIO = sys.stdout,
) -> int:
    """`table(header, rows, out)` prints a table as kiosk-hq's other commands do."""
    zone = zone_named(args.timezone or console_zone())
    last = args.last or now.astimezone(zone).date()
    first = args.first or last - timedelta(days=DEFAULT_DAYS - 1)
    campaign = plays.NO_CAMPAIGN if args.no_campaign else args.campaign
    try:
        if args.csv:
            out.write(
                plays.csv_rows(
                    database,
                    first=first,
                    last=last,
                    zone=zone,
                    stores=args.stores,
                    campaign=campaign,
                )
            )
            return 0
        found = plays.report(
            database,
            first=first,
            last=last,
            zone=zone,
            per=args.per,
            stores=args.stores,
            campaign=campaign,
        )
    except plays.BadRange as problem:
        raise HqError(f"--from/--to: {problem}") from None
    if args.json:
        print(json.dumps(found.as_json(), indent=2, ensure_ascii=False), file=out)
    else:
        _print(found, table, out)
    return 0


def _print(found: plays.PlayReport, table: Table, out: TextIO) -> None:
    print(f"proof of play {found.first} to {found.last} ({found.zone})", file=out)
    if not found.campaigns:
        print("nothing shown in that time", file=out)
        return
    header = ("CAMPAIGN", "SHOWS", "SECONDS", "LIFTED", "LIFT RATE")
    table(header, [(_name(c.campaign), *_figures(c.total)) for c in found.campaigns], out)
    for campaign in found.campaigns:
        print(f"\n{_name(campaign.campaign)} per store", file=out)
        rows = [(store, *_figures(p)) for store, p in campaign.by_store]
        table(("STORE", *header[1:]), rows, out)
        print(f"\n{_name(campaign.campaign)} per {found.per}", file=out)
        stamp = "%Y-%m-%d %H:00" if found.per == "hour" else "%Y-%m-%d"
        rows = [(start.strftime(stamp), *_figures(p)) for start, p in campaign.by_time]
        table((found.per.upper(), *header[1:]), rows, out)


def _figures(counted: plays.Plays) -> tuple[str, str, str, str]:
    rate = counted.lift_rate
    return (
        str(counted.shows),
        f"{counted.seconds:.1f}",
        str(counted.lifted),
        "-" if rate is None else f"{rate:.1%}",
    )


def _name(campaign: str | None) -> str:
    return campaign if campaign is not None else "(no campaign)"


def console_zone() -> str:
    """The stores' zone for days: the console's (also `kiosk-hq offers stats`')."""
    # Imported here: the console's module loads the web framework, which the
    # command needs for nothing else (a second of start-up).
    from hq.console.app import DEFAULT_TIMEZONE, ENV_TIMEZONE  # noqa: PLC0415

    return os.environ.get(ENV_TIMEZONE) or DEFAULT_TIMEZONE


def zone_named(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise HqError(f"unknown time zone {name!r}") from None
