"""`kiosk-hq fleet [--trouble | --show FILTER] [--json]`: the console's fleet page in a terminal.

Sweeps the alerts first (hq.fleet_health.store.sweep, idempotent), so the open
alerts listed are current even where no HQ server runs the sweep.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from hq.db import Database
from hq.fleet_health.alerts import Filter, shown
from hq.fleet_health.store import KioskHealth, alerts, read_fleet_health, sweep

Table = Callable[[Sequence[str], Sequence[Sequence[str]]], None]


def add_command(commands: argparse._SubParsersAction[Any]) -> None:
    fleet = commands.add_parser("fleet", help="every kiosk's health and the open alerts")
    which = fleet.add_mutually_exclusive_group()
    which.add_argument("--trouble", action="store_true", help="only kiosks that are not OK")
    which.add_argument(
        "--show", choices=[item.value for item in Filter], default=None, help="filter kiosks"
    )
    fleet.add_argument("--json", action="store_true", help="machine-readable output")


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
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    raise TypeError(f"{type(value).__name__} is not JSON")
