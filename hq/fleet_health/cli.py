"""`kiosk-hq fleet [--trouble | --show FILTER] [--json]`: the console's fleet page in a terminal.

Sweeps the alerts first (hq.fleet_health.store.sweep, idempotent), so the open
alerts listed are current even where no HQ server runs the sweep.

    kiosk-hq fleet command KIOSK restart|fetch-content|screenshot|upload-logs|identify
    kiosk-hq fleet commands KIOSK [--json] [--save-file ID PATH]

issue a remote command (signed with HQ's content key, audited: hq.fleet_health.commands)
and list a kiosk's commands with their state; `--save-file` writes a command's
screenshot or logs to PATH.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hq.content.signing import ContentKeys
from hq.db import Database
from hq.fleet_health.alerts import Filter, shown
from hq.fleet_health.commands import KINDS, CommandError, command_file, issue, recent_commands
from hq.fleet_health.store import KioskHealth, alerts, read_fleet_health, sweep
from hq.wire import utc_text

Table = Callable[[Sequence[str], Sequence[Sequence[str]]], None]


def add_command(commands: argparse._SubParsersAction[Any]) -> None:
    fleet = commands.add_parser("fleet", help="every kiosk's health and the open alerts")
    which = fleet.add_mutually_exclusive_group()
    which.add_argument("--trouble", action="store_true", help="only kiosks that are not OK")
    which.add_argument(
        "--show", choices=[item.value for item in Filter], default=None, help="filter kiosks"
    )
    fleet.add_argument("--json", action="store_true", help="machine-readable output")
    actions = fleet.add_subparsers(dest="fleet_action", metavar="{command,commands}")
    command = actions.add_parser("command", help="send a kiosk a remote command")
    command.add_argument("kiosk_id")
    command.add_argument("kind", choices=KINDS)
    command.add_argument("--by", help="who sends it, for the audit log (default: cli:USER)")
    listing = actions.add_parser("commands", help="a kiosk's remote commands and their state")
    listing.add_argument("kiosk_id")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.add_argument(
        "--save-file",
        nargs=2,
        metavar=("COMMAND_ID", "PATH"),
        help="write a command's screenshot (PNG) or logs (text) to PATH",
    )


def run_commands(
    database: Database, keys_dir: Path, args: argparse.Namespace, now: datetime, actor: str
) -> int:
    """`fleet command` and `fleet commands`; `actor`: who runs this, unless --by says."""
    if args.fleet_action == "command":
        try:
            issued = issue(
                database,
                ContentKeys(keys_dir),
                kiosk_id=args.kiosk_id,
                kind=args.kind,
                actor=args.by or actor,
                now=now,
            )
        except CommandError as error:
            print(f"kiosk-hq: {error}", file=sys.stderr)
            return 1
        print(f"{issued.kind} {issued.id} for {issued.kiosk_id}: sent with its next heartbeat")
        return 0
    with database.read() as connection:
        listed = recent_commands(connection, args.kiosk_id)
        found = None if args.save_file is None else command_file(connection, args.save_file[0])
    if args.save_file is not None:
        if found is None or found[0] != args.kiosk_id:
            print("kiosk-hq: that command has no file", file=sys.stderr)
            return 1
        Path(args.save_file[1]).write_bytes(found[3])
        print(f"{len(found[3])} bytes ({found[2]}) written to {args.save_file[1]}")
        return 0
    if args.json:
        print(json.dumps([c.as_json(now) for c in listed], indent=2, ensure_ascii=False))
        return 0
    for c in listed:
        when = c.issued_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        size = "" if c.file_size is None else f"  [{c.file_size} bytes {c.file_type}]"
        print(f"{when}  {c.id}  {c.kind:<13} {c.state(now):<9} {c.detail}{size}")
    if not listed:
        print(f"no commands for {args.kiosk_id}")
    return 0


def run(database: Database, args: argparse.Namespace, now: datetime, table: Table) -> int:
    wanted = Filter.TROUBLE if args.trouble else Filter(args.show or Filter.ALL.value)
    sweep(database, now=now)
    with database.snapshot() as connection:
        kiosks = [
            kiosk
            for kiosk in read_fleet_health(connection, now)
            if shown(kiosk.state, kiosk.problems, wanted)
        ]
        open_alerts = alerts(connection)
    if args.json:
        document = {
            "show": wanted.value,
            "kiosks": [kiosk.as_json() for kiosk in kiosks],
            "alerts": [
                {
                    "kiosk_id": alert.kiosk_id,
                    "store_id": alert.store_id,
                    "kind": alert.kind,
                    "subject": alert.subject,
                    "detail": alert.detail,
                    "raised_at": alert.raised_at,
                }
                for alert in open_alerts
            ],
        }
        print(json.dumps(document, indent=2, ensure_ascii=False, default=_iso))
        return 0
    header = ("STORE", "KIOSK", "STATE", "HEARD", "RELEASE", "DEVICES", "BACKLOG", "DISK", "UP")
    table(header, [_row(kiosk) for kiosk in kiosks])
    print(f"\n{len(kiosks)} kiosk(s) shown ({wanted.value}); open alerts: {len(open_alerts)}")
    for alert in open_alerts:
        raised = alert.raised_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        print(f"  {alert.kiosk_id}  {alert.kind}  {alert.detail}  (since {raised})")
    return 0


def _row(kiosk: KioskHealth) -> tuple[str, ...]:
    devices = ", ".join(f"{d.name} {d.state}" for d in kiosk.devices) or "-"
    if kiosk.screen == "off":
        devices += ", screen off"
    backlog = "-" if kiosk.backlog is None else str(kiosk.backlog)
    if kiosk.dead_letters:
        backlog += f" ({kiosk.dead_letters} dead)"
    return (
        kiosk.store_id,
        kiosk.kiosk_id,
        kiosk.state.value,
        "never" if kiosk.age_s is None else f"{_span(kiosk.age_s)} ago",
        kiosk.content_release or "-",
        devices,
        backlog,
        "-" if kiosk.disk_free is None else f"{kiosk.disk_free / (1 << 30):.1f} GB free",
        "-" if kiosk.uptime_s is None else _span(kiosk.uptime_s),
    )


def _span(seconds: float) -> str:
    if seconds < 120:
        return f"{int(seconds)} s"
    if seconds < 7200:
        return f"{int(seconds // 60)} min"
    if seconds < 172800:
        return f"{int(seconds // 3600)} h"
    return f"{int(seconds // 86400)} days"


def _iso(value: object) -> str:
    if isinstance(value, datetime):
        return utc_text(value)
    raise TypeError(f"{type(value).__name__} is not JSON")
