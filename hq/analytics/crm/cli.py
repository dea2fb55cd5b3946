"""`kiosk-hq crm`: run a CRM round now, and see how each connector stands.

    crm sync [--connector hubspot|salesforce] [--json]   one round each: opt-outs back, changes out
    crm status [--json]                                   cursors, queue, dead letters, last round

Connectors come from the environment (hq.analytics.crm.config). `sync` takes the
same lease as HQ's own job: beside a running HQ it waits for nothing, and says so
if HQ's round holds the lease. Exit code 1 if a round failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

from hq.analytics.crm import store
from hq.analytics.crm.config import CONNECTORS, ENV_CONNECTORS, CrmConfig
from hq.analytics.crm.job import build_connectors, holder_id
from hq.analytics.crm.sync import run_round
from hq.crm.residue import Residue
from hq.db import Database
from hq.errors import SettingsError

Table = Callable[[Sequence[str], Sequence[Sequence[str]], TextIO], None]


def add_command(commands: argparse._SubParsersAction[Any]) -> None:
    parent = commands.add_parser("crm", help="external CRM connectors (HubSpot, Salesforce)")
    crm = parent.add_subparsers(dest="crm_command", required=True, parser_class=type(parent))
    sync = crm.add_parser("sync", help="one round now: opt-outs back, changes out")
    sync.add_argument("--connector", choices=CONNECTORS, help="only this one")
    sync.add_argument("--json", action="store_true", help="machine-readable output")
    status = crm.add_parser("status", help="each connector's cursors, queue and last round")
    status.add_argument("--json", action="store_true", help="machine-readable output")


def run(
    database: Database,
    config: CrmConfig | None,
    args: argparse.Namespace,
    table: Table,
    out: TextIO = sys.stdout,
) -> int:
    if args.crm_command == "status":
        _status(database, as_json=args.json, table=table, out=out)
        return 0
    if config is None:
        raise SettingsError(f"no CRM connector is configured: set {ENV_CONNECTORS}")
    connectors = build_connectors(config, only=args.connector)
    if not connectors:
        raise SettingsError(f"{args.connector} is not configured ({ENV_CONNECTORS})")
    residue = Residue(database)
    reports = []
    try:
        for connector in connectors:
            try:
                reports.append(
                    run_round(
                        database,
                        connector,
                        clock=lambda: datetime.now(UTC),
                        holder=holder_id(),
                        residue=residue,
                    )
                )
            finally:
                connector.close()
    finally:
        residue.close()
    if args.json:
        json.dump([report.as_json() for report in reports], out, indent=2)
        out.write("\n")
    for report in reports:
        if not report.ran:
            print(f"{report.connector}: another HQ worker is running a round; try later", file=out)
        elif not args.json and not report.error:
            print(
                f"{report.connector}: {report.opt_outs_applied} opt-outs applied "
                f"({report.feed_entries_removed} feed entries removed), "
                f"{report.changes_applied} contact changes applied, "
                f"{report.phone_conflicts} phone changes not applied, "
                f"{report.customers_sent} customers sent, {report.customers_unchanged} unchanged, "
                f"{report.customers_deleted} deleted, {report.events_sent} events sent, "
                f"{report.refused} refused",
                file=out,
            )
        if report.error:
            print(f"kiosk-hq: {report.error}", file=sys.stderr)  # it names the CRM
    return 1 if any(report.error for report in reports) else 0


def _status(database: Database, *, as_json: bool, table: Table, out: TextIO) -> None:
    found = store.states(database)
    if as_json:
        json.dump(
            [
                {
                    **{name: _json_value(getattr(state, name)) for name in state.__slots__},
                    "recent_dead_letters": store.dead_letters(database, state.connector, 10),
                }
                for state in found
            ],
            out,
            indent=2,
        )
        out.write("\n")
        return
    if not found:
        print("no CRM connector has run yet", file=out)
        return
    table(
        (
            "CONNECTOR",
            "LAST ROUND",
            "LAST SUCCESS",
            "ON CRM",
            "QUEUED",
            "DEAD",
            "OPT-OUTS",
            "CHANGES",
            "PHONE CONFLICTS",
            "ERROR",
        ),
        [
            (
                s.connector,
                _when(s.last_round_at),
                _when(s.last_success_at),
                str(s.on_crm),
                str(s.queued),
                str(s.dead_letters),
                str(s.opt_outs),
                str(s.changes_applied),
                str(s.phone_conflicts),
                s.last_error or "-",
            )
            for s in found
        ],
        out,
    )


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
