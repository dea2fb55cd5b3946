"""`kiosk-hq console-staff ...`: HQ staff accounts for the web console, from a shell.

    console-staff add --email E --name N --role chain_admin|content_editor|store_manager
                      [--store STORE_ID ...] [--password-stdin]
    console-staff list [--json]
    console-staff disable EMAIL

`add` reads the password from the first line of stdin with --password-stdin
(for scripts: never on the command line, where `ps` and the shell history see
it), else asks for it twice on the terminal. Disabling ends the account's open
sessions at once. Each change is in the audit log, by `cli:<user>`.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from datetime import datetime
from typing import Any

from hq.console.staff import (
    MIN_PASSWORD_LENGTH,
    ROLE_LABELS,
    PasswordHasher,
    Role,
    StaffError,
    add_staff,
    disable_staff,
    list_staff,
)
from hq.db import Database


def add_commands(commands: argparse._SubParsersAction[Any]) -> None:
    """Register `console-staff` on `kiosk-hq`'s command list."""
    parent = commands.add_parser("console-staff", help="HQ staff accounts for the web console")
    staff = parent.add_subparsers(dest="staff_command", required=True, parser_class=type(parent))
    add = staff.add_parser("add", help="add a staff account")
    add.add_argument("--email", required=True, help="the sign-in name")
    add.add_argument("--name", required=True, help="shown in the console and the audit log")
    add.add_argument("--role", required=True, choices=[role.value for role in Role])
    add.add_argument(
        "--store",
        action="append",
        default=[],
        dest="stores",
        metavar="STORE_ID",
        help="a store a store manager looks after (repeat for several)",
    )
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin's first line"
    )
    listing = staff.add_parser("list", help="list staff accounts")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    disable = staff.add_parser("disable", help="disable an account (its sessions end at once)")
    disable.add_argument("email")


def run(database: Database, args: argparse.Namespace, now: datetime) -> int:
    by = f"cli:{_user()}"
    match args.staff_command:
        case "add":
            password = _password(from_stdin=args.password_stdin)
            added = add_staff(
                database,
                PasswordHasher(),
                email=args.email,
                name=args.name,
                role=Role(args.role),
                stores_managed=args.stores,
                password=password,
                now=now,
                by=by,
            )
            print(f"staff {added.staff_id} added: {ROLE_LABELS[added.role].lower()}")
        case "list":
            _list(database, as_json=args.json, now=now)
        case "disable":
            disabled = disable_staff(database, args.email, now=now, by=by)
            print(f"staff {disabled.staff_id} disabled; their sessions have ended")
    return 0


def _password(*, from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    if not sys.stdin.isatty():
        raise StaffError("no terminal to ask for the password: use --password-stdin")
    first = getpass.getpass(f"Password (at least {MIN_PASSWORD_LENGTH} characters): ")
    if getpass.getpass("Again: ") != first:
        raise StaffError("the two passwords differ")
    return first


def _list(database: Database, *, as_json: bool, now: datetime) -> None:
    listed = list_staff(database)
    if as_json:
        print(
            json.dumps(
                [
                    {
                        "staff_id": entry.staff.staff_id,
                        "email": entry.staff.email,
                        "name": entry.staff.name,
                        "role": entry.staff.role.value,
                        "stores": sorted(entry.staff.stores),
                        "disabled": entry.staff.disabled,
                        "created_at": entry.created_at.isoformat(),
                        "last_sign_in_at": entry.last_sign_in_at.isoformat()
                        if entry.last_sign_in_at
                        else None,
                        "locked": entry.locked_until is not None and entry.locked_until > now,
                    }
                    for entry in listed
                ],
                indent=2,
                ensure_ascii=False,
            )
        )
        return
    if not listed:
        print("no staff accounts: add one with `kiosk-hq console-staff add`")
        return
    rows = [
        (
            str(entry.staff.staff_id),
            entry.staff.email,
            entry.staff.name,
            entry.staff.role.value,
            ",".join(sorted(entry.staff.stores)) or "-",
            "disabled"
            if entry.staff.disabled
            else ("locked" if entry.locked_until and entry.locked_until > now else "active"),
            entry.last_sign_in_at.strftime("%Y-%m-%d %H:%M") if entry.last_sign_in_at else "-",
        )
        for entry in listed
    ]
    header = ("ID", "EMAIL", "NAME", "ROLE", "STORES", "STATE", "LAST SIGN-IN")
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=False)]
    for row in (header, *rows):
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


def _user() -> str:
    try:
        return os.getlogin()
    except OSError:
        return os.environ.get("USER") or str(os.getuid())
