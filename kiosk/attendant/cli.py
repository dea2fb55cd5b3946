"""`kiosk-attendant`: the store staff's app, and its subcommands (no Qt for those).

    kiosk-attendant [--data-dir D] [--kiosk ID=URL ...] [--no-discover] [--lang zh|en]
                    [--windowed]
    kiosk-attendant enroll --hq URL --code CODE [--data-dir D]
    kiosk-attendant staff add --name NAME [--role manager|attendant] [--pin-stdin]
                    [--data-dir D]
    kiosk-attendant staff list [--data-dir D]

`staff add` creates a store manager on a device nobody set up yet (the app also
offers that on its first screen); the PIN is asked for, never given on the command line.
"""

from __future__ import annotations

import argparse
import getpass
import os
import secrets
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from kiosk.attendant.staff import PinHasher, Role, StaffMember, StaffSource, valid_pin
from kiosk.attendant.store import StaffError, open_store

DEFAULT_DATA_DIR: Final = (
    Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "kiosk-attendant"
)


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["enroll"]:
        from backend_client import enroll  # noqa: PLC0415 (no Qt, no screen needed)

        rest = argv[1:]
        if "--data-dir" not in rest and not any(a.startswith("--data-dir=") for a in rest):
            rest += ["--data-dir", str(DEFAULT_DATA_DIR)]
        return enroll.main(rest)
    if argv[:1] == ["staff"]:
        return staff_command(argv[1:])
    from kiosk.attendant.app import run  # noqa: PLC0415 (Qt only for the app itself)

    return run(argv)


def staff_command(argv: Sequence[str]) -> int:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser = argparse.ArgumentParser(prog="kiosk-attendant staff")
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add", parents=[common], help="add a member of staff (PIN asked for)")
    add.add_argument("--name", required=True)
    add.add_argument("--role", choices=[role.value for role in Role], default=Role.ATTENDANT.value)
    add.add_argument("--pin-stdin", action="store_true", help="read the PIN from stdin")
    sub.add_parser("list", parents=[common], help="the staff on this device")
    args = parser.parse_args(argv)
    store = open_store(args.data_dir)
    try:
        if args.command == "list":
            for member in store.staff():
                print(f"{member.id}\t{member.role.value}\t{member.display_name}")
            return 0
        pin = sys.stdin.readline().strip() if args.pin_stdin else getpass.getpass("PIN: ")
        if not valid_pin(pin):
            print("kiosk-attendant staff: a PIN is 4 to 8 digits", file=sys.stderr)
            return 1
        member = StaffMember(
            new_staff_id(), args.name, Role(args.role), PinHasher().hash(pin), StaffSource.LOCAL
        )
        try:
            store.add_staff(member, by=None, at=datetime.now(UTC))
        except StaffError as error:
            print(f"kiosk-attendant staff: refused ({error})", file=sys.stderr)
            return 1
        print(f"added {member.id} ({member.role.value})")
        return 0
    finally:
        store.close()


def new_staff_id() -> str:
    """A staff id for the channel and HQ: short, random, no name in it."""
    return f"st-{secrets.token_hex(5)}"


if __name__ == "__main__":
    sys.exit(main())
