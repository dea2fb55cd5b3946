"""Backups of HQ's PostgreSQL database, and restoring one (deploy/hq/README.md).

    kiosk-hq backup --to DIR [--keep-days 14] [--keep-at-least 3]
    kiosk-hq --database-url URL restore FILE

`backup` runs pg_dump in its custom format (compressed; pg_restore can pick
tables from it) into DIR/kiosk-hq-<UTC time>.dump, written under a draft name
and renamed when complete, so a dump that is there is whole. Dumps hold every
customer: DIR is 0700 and each file 0600, whatever the umask. Then dumps older
than --keep-days go, but never the newest --keep-at-least.

`restore` loads a dump into an EMPTY database (create one first: restoring over
a live database would mix two states) in one transaction, then migrates it to
this HQ's schema, so a dump from an older HQ comes back usable.

Neither migrates before it runs: a backup must not change the database it
copies. The database URL (HQ's own setting, hq/settings.py) goes to pg_dump as
libpq parameters; its password in the environment, never on a command line.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from sqlalchemy.engine import make_url

from hq.db import describe_url
from hq.errors import HqError
from hq.migrations import migrate
from hq.private_files import PRIVATE_FILE, private_dir
from hq.settings import Settings

COMMANDS: Final = frozenset({"backup", "restore"})
DUMP_PREFIX: Final = "kiosk-hq-"
DUMP_SUFFIX: Final = ".dump"
_STAMP: Final = "%Y%m%dT%H%M%SZ"
_DUMP_NAME: Final = re.compile(rf"{DUMP_PREFIX}(\d{{8}}T\d{{6}}Z){re.escape(DUMP_SUFFIX)}")
DEFAULT_KEEP_DAYS: Final = 14
# Two weeks of dailies: enough to go back past a bad week-end's mistake; a member
# erased today stays in older dumps until they age out (docs/privacy.md).
DEFAULT_KEEP_AT_LEAST: Final = 3
# Even if the timer stopped for weeks, the last few dumps are never pruned.
TIMEOUT_S: Final = 6 * 3600  # a dump or restore that takes longer is stuck


class BackupError(HqError):
    """A dump or restore that did not happen; the message says why (no personal data)."""


def add_commands(commands: argparse._SubParsersAction[Any]) -> None:
    """Register `backup` and `restore` on `kiosk-hq`'s command list."""
    backup = commands.add_parser("backup", help="dump the PostgreSQL database (pg_dump)")
    backup.add_argument("--to", type=Path, required=True, dest="directory", help="dump directory")
    backup.add_argument("--keep-days", type=int, default=DEFAULT_KEEP_DAYS)
    backup.add_argument("--keep-at-least", type=int, default=DEFAULT_KEEP_AT_LEAST)
    restore = commands.add_parser(
        "restore", help="load a dump into an empty database, then migrate it"
    )
    restore.add_argument("dump", type=Path, help="a file `kiosk-hq backup` wrote")


def run(args: argparse.Namespace, settings: Settings, now: datetime) -> int:
    if args.command == "backup":
        if args.keep_days < 1 or args.keep_at_least < 1:
            raise BackupError("--keep-days and --keep-at-least must be at least 1")
        made = dump(settings.database_url, args.directory, now=now)
        print(made)
        for gone in prune(
            args.directory, now=now, keep_days=args.keep_days, keep_at_least=args.keep_at_least
        ):
            print(f"removed {gone}")
    else:
        restore(args.dump, settings.database_url)
        print(f"restored {args.dump} into {describe_url(settings.database_url)}")
    return 0


def libpq_target(database_url: str) -> tuple[str, dict[str, str]]:
    """pg_dump's `--dbname` for HQ's database URL, and the environment with its password."""
    # psycopg here, not at the top: every `kiosk-hq` command imports this module.
    from psycopg.conninfo import make_conninfo  # noqa: PLC0415

    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise BackupError(
            f"backups are for PostgreSQL; {describe_url(database_url)} is not "
            "(copy an SQLite file with `sqlite3 hq.sqlite3 '.backup FILE'`)"
        )
    params: dict[str, str] = {
        key: str(value)
        for key, value in url.translate_connect_args(username="user", database="dbname").items()
    }
    for key, value in url.query.items():
        params[key] = value if isinstance(value, str) else value[-1]
    password = params.pop("password", None)
    env = {**os.environ, "PGPASSWORD": password} if password else dict(os.environ)
    return make_conninfo(**params), env


def dump_name(now: datetime) -> str:
    return f"{DUMP_PREFIX}{now.astimezone(UTC).strftime(_STAMP)}{DUMP_SUFFIX}"


def dump(database_url: str, directory: Path, *, now: datetime) -> Path:
    """A pg_dump (custom format) of the database, as DIR/kiosk-hq-<time>.dump (0600)."""
    conninfo, env = libpq_target(database_url)
    private_dir(directory)
    final = directory / dump_name(now)
    draft = directory / f".{final.name}.partial"
    # Made 0600 before pg_dump writes a byte into it (it keeps an existing file's mode).
    os.close(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, PRIVATE_FILE))
    try:
        _run_tool(
            "pg_dump",
            ["--format=custom", "--no-password", f"--file={draft}", f"--dbname={conninfo}"],
            env,
        )
        with draft.open("rb") as written:
            os.fsync(written.fileno())
        os.replace(draft, final)
    finally:
        draft.unlink(missing_ok=True)
    return final


def expired(
    names: Iterable[str], *, now: datetime, keep_days: int, keep_at_least: int
) -> list[str]:
    """Which dumps to delete: older than `keep_days`, past the newest `keep_at_least`.
    Names that are not dumps this module wrote are never chosen."""
    dated = sorted(
        (
            (datetime.strptime(found.group(1), _STAMP).replace(tzinfo=UTC), name)
            for name in names
            if (found := _DUMP_NAME.fullmatch(name))
        ),
        reverse=True,
    )
    oldest_kept = now - timedelta(days=keep_days)
    return [name for when, name in dated[keep_at_least:] if when < oldest_kept]


def prune(directory: Path, *, now: datetime, keep_days: int, keep_at_least: int) -> list[Path]:
    names = [entry.name for entry in directory.iterdir() if entry.is_file()]
    gone = [
        directory / name
        for name in expired(names, now=now, keep_days=keep_days, keep_at_least=keep_at_least)
    ]
    for path in gone:
        path.unlink(missing_ok=True)
    return gone


def restore(dump_file: Path, database_url: str) -> None:
    """Load `dump_file` into the (empty) database at `database_url`, then migrate it."""
    conninfo, env = libpq_target(database_url)
    if not dump_file.is_file():
        raise BackupError(f"no dump at {dump_file}")
    tables = _tables_in(conninfo, env)
    if tables:
        raise BackupError(
            f"{describe_url(database_url)} is not empty ({len(tables)} tables): restore "
            "into a new database (createdb), then point HQ at it"
        )
    _run_tool(
        "pg_restore",
        [
            "--exit-on-error",
            "--single-transaction",  # all of it or nothing
            # Objects belong to whoever restores (HQ's role), not to the dump's roles.
            "--no-owner",
            "--no-privileges",
            "--no-password",
            f"--dbname={conninfo}",
            str(dump_file),
        ],
        env,
    )
    migrate(database_url)


def _tables_in(conninfo: str, env: Mapping[str, str]) -> list[str]:
    import psycopg  # noqa: PLC0415 (see libpq_target)

    try:
        with psycopg.connect(conninfo, password=env.get("PGPASSWORD")) as connection:
            rows = connection.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            ).fetchall()
    except psycopg.Error as error:
        raise BackupError(f"cannot reach the database: {_first_line(str(error))}") from None
    return [str(row[0]) for row in rows]


def _run_tool(tool: str, args: list[str], env: Mapping[str, str]) -> None:
    program = shutil.which(tool)
    if program is None:
        raise BackupError(f"{tool} is not installed (Debian: apt-get install postgresql-client)")
    done = subprocess.run(  # noqa: S603 (a fixed program; arguments are HQ's own)
        [program, *args],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        raise BackupError(f"{tool} failed: {_first_line(done.stderr) or done.returncode}")


def _first_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else ""
