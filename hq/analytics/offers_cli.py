"""`kiosk-hq offers stats`: member offers' results in the terminal (hq.analytics.offers).

    offers stats [--from DAY] [--to DAY] [--store ID] [--offer ID]
                 [--timezone ZONE] [--format table|csv|json]

Days are the stores' (the console's zone, KIOSK_HQ_CONSOLE_TIMEZONE); the default
range is the last 30 days up to today, as on the console's offers page. One row
per offer, campaign and store: shown, taken, take rate, texts asked for and sent,
printed, redeemed, redemption rate; the table ends with each offer's total.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any, Final, TextIO

from hq.analytics import figures, offers
from hq.db import Database
from hq.errors import HqError
from hq.plays_cli import console_zone, zone_named

DEFAULT_DAYS: Final = 30
HEADER: Final = (
    "offer",
    "campaign",
    "store",
    "shown",
    "taken",
    "take_rate",
    "text_requested",
    "sent",
    "printed",
    "redeemed",
    "redemption_rate",
)

Table = Callable[[Sequence[str], Sequence[Sequence[str]], TextIO], None]


def add_command(commands: argparse._SubParsersAction[Any], day: Callable[[str], date]) -> None:
    """Register `offers` on `kiosk-hq`'s command list (`day` reads a YYYY-MM-DD)."""
    command = commands.add_parser("offers", help="member offers' results")
    actions = command.add_subparsers(dest="offers_action", required=True, metavar="ACTION")
    stats = actions.add_parser("stats", help="shown, taken, sent, printed, redeemed per store")
    stats.add_argument("--from", dest="first", type=day, help="first day, YYYY-MM-DD")
    stats.add_argument("--to", dest="last", type=day, help="last day (default: today)")
    stats.add_argument("--store", help="only this store")
    stats.add_argument("--offer", help="only this offer")
    stats.add_argument(
        "--timezone", help="the stores' zone (default: the console's, KIOSK_HQ_CONSOLE_TIMEZONE)"
    )
    stats.add_argument("--format", choices=("table", "csv", "json"), default="table")


def run(
    database: Database,
    args: argparse.Namespace,
    now: datetime,
    table: Table,
    out: TextIO | None = None,
) -> int:
    """`table(header, rows, out)` prints a table as kiosk-hq's other commands do."""
    out = out or sys.stdout  # looked up now: a test may have replaced it
    zone = zone_named(args.timezone or console_zone())
    last = args.last or now.astimezone(zone).date()
    first = args.first or last - timedelta(days=DEFAULT_DAYS - 1)
    try:
        asked = figures.Filters(first, last, zone, None if args.store is None else (args.store,))
    except figures.BadRange as problem:
        raise HqError(f"--from/--to: {problem}") from None
    with database.read() as connection:
        found = offers.results(
            connection, begin=asked.begin, end=asked.end, stores=asked.stores, offer=args.offer
        )
    match args.format:
        case "json":
            report = {
                "from": first.isoformat(),
                "to": last.isoformat(),
                "zone": str(zone),
                "offers": [row.as_json() for row in found],
                "totals": [row.as_json() for row in offers.by_offer(found)],
            }
            print(json.dumps(report, indent=2, ensure_ascii=False), file=out)
        case "csv":
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(HEADER)
            writer.writerows(_cells(row, rate=_fraction, missing="") for row in found)
        case _:
            print(f"member offers {first} to {last} ({zone})", file=out)
            if not found:
                print("no offer shown or taken in that time", file=out)
                return 0
            rows = [_cells(row, rate=_percent, missing="-") for row in found]
            rows += [_cells(row, rate=_percent, missing="-") for row in offers.by_offer(found)]
            table([name.replace("_", " ").upper() for name in HEADER], rows, out)
    return 0


def _cells(
    row: offers.OfferResult, *, rate: Callable[[float | None], str], missing: str
) -> list[str]:
    return [
        row.offer,
        row.campaign or missing,
        row.store_id or "(all)",
        str(row.shown),
        str(row.taken),
        rate(row.take_rate),
        str(row.text_requested),
        str(row.sent),
        str(row.printed),
        str(row.redeemed),
        rate(row.redemption_rate),
    ]


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _fraction(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"
