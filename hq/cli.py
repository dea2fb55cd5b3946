"""`kiosk-hq`: run HQ and manage it from a shell.

    kiosk-hq [--data-dir DIR] [--database-url URL] COMMAND ...

    serve [--host 127.0.0.1] [--port 8765] [--no-migrate]
          [--ssl-certfile CERT.pem --ssl-keyfile KEY.pem | --insecure-behind-proxy]
    migrate
    store add STORE_ID [--name NAME] [--exist-ok] [--kiosks N] [--region R] [--tag T ...]
    store set STORE_ID [--region R | --no-region] [--tag T ...] [--untag T ...]
              [--lat DEG --lon DEG]                 where it stands, for the store map
    store import FILE.csv   store_id,name,region,latitude,longitude (hq/store_places.py)
    store list [--json] | store seats STORE_ID N      (`stores` works as well as `store`)
    store rotate-channel-key STORE_ID
    store enrol-attendant STORE_ID [--valid-hours 24] prints only the code (a staff device)
    kiosk enroll-code STORE_ID [--valid-hours 24]     prints only the code
    kiosk list
    kiosk revoke KIOSK_ID
    stats [--json]
    customers export --csv [--output FILE]
    customers duplicates [--json] | customers merges [--json]
    customers merge KEEP OTHER [--by WHO] | customers unmerge MERGE_ID [--by WHO]
    customers dismiss A B [--by WHO] | customers undismiss A B [--by WHO]
    customers dismissals [--json]
    customers address CUSTOMER_ID (--set TEXT | --clear) [--by WHO]
    customers segment (--customer ID | --phone N) [--tier T] [--tag T ...] [--birth-month M]
                      [--clear-tier | --clear-tags | --clear-birth-month | --clear]
    customers import-segments FILE.csv [--by WHO]
                                                      (hq/crm/customers_cli.py)
    members bind MEMBER_ID --kind rfid [--value N]    without --value: read from stdin
    members unbind MEMBER_ID TAG_HASH
    members erase MEMBER_ID
    members withdraw MEMBER_ID --purpose PURPOSE [--by NAME]
    members feed-stats [--json]
    members compact-feed [--older-than-days 30]
    coupons verify CODE [--date YYYY-MM-DD]
    coupons redeem CODE --store STORE_ID [--by NAME] [--date YYYY-MM-DD]
    coupons doubles [--json]
    content publish DIR --to TARGET [--at TIME] [--expires TIME] [--name NAME] [--by WHO]
    content list [--json] | content rollout RELEASE [--json]
    content revoke RELEASE [--by WHO] | content rotate-key [--by WHO]
    console-staff add --email E --name N --role R [--store S ...] [--password-stdin]
    console-staff list [--json] | console-staff disable EMAIL   (hq/console/cli.py)
    plays [--from DAY] [--to DAY] [--campaign ID] [--per day|hour] [--json | --csv]
                                                      (hq/plays_cli.py)
    analytics rollup [--json]         roll new events into the console's analytics now
    offers stats [--from DAY --to DAY] [--store ID] [--offer ID] [--format table|csv|json]
                                                      (hq/analytics/offers_cli.py)
    backup --to DIR [--keep-days 14] [--keep-at-least 3] | restore DUMP   (hq/backup.py)
    fleet [--trouble | --show all|trouble|silent|device|backlog] [--json]
    fleet command KIOSK restart|fetch-content|screenshot|upload-logs|identify [--by WHO]
    fleet commands KIOSK [--json] [--save-file COMMAND_ID PATH]
                                                      kiosks' health, open alerts
    crm sync [--connector hubspot|salesforce] [--json] | crm status [--json]
                                                      (hq/analytics/crm/cli.py)
    sms send [--json] | sms status [--json]           members' texts (hq/sms/cli.py)
    model train [--now TIME] [--half-life-days 30] | model evaluate [--no-als]
    model ship [--model ID] [--base RELEASE] [--to TARGET] | model import-sales FILE
                                                      (hq/analytics/model/cli.py)

Content (docs/content-releases.md): TARGET is all, region:R, tag:T or store:S;
TIME is ISO 8601 (2026-12-07T01:00+08:00; without an offset, this machine's local
time). A refused bundle prints every problem the kiosks' loader found, one a
line. Signing keys live in `--content-key-dir` (KIOSK_HQ_CONTENT_KEY_DIR, default
DATA/keys).

Commands other than `serve --no-migrate`, `backup` and `restore` bring the database to the newest
schema first. Errors are one line on stderr: exit code 2 for a wrong command
line, 1 for everything else. Output never contains the admin token.

Coupons: `--date` is the store's local date, which decides expiry (default: this
machine's). A code HQ refuses (not a code, mistyped or forged, expired, of an
unknown or revoked kiosk) is exit code 1 with the reason on stderr; a code
redeemed before is exit code 3, naming where and when it was first redeemed.
"""

from __future__ import annotations

import argparse
import gc
import getpass
import ipaddress
import json
import logging
import os
import socket
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final, NoReturn, TextIO

from sqlalchemy.exc import SQLAlchemyError

from hq import audit, backup, channel_keys, enrollment, fleet, plays_cli, stats, store_places
from hq.analytics import cli as analytics_cli
from hq.analytics import offers_cli
from hq.analytics.crm import cli as crm_cli
from hq.analytics.model import cli as model_cli
from hq.console import cli as console_cli
from hq.crm import coupons, customers_cli, recognition, tags
from hq.crm.coupon_codes import CouponCode
from hq.crm.erasure import ERASED_FROM, erase_member
from hq.crm.export import PURPOSES, write_customers_csv
from hq.crm.residue import Residue
from hq.crm.withdrawal import MAX_BY_LENGTH, WITHDRAWN_FROM, withdraw
from hq.db import Database, describe_url
from hq.errors import HqError, SettingsError
from hq.fleet_health import cli as fleet_health_cli
from hq.logs import configure_logging
from hq.migrations import migrate
from hq.settings import Settings, ensure_data_dir, resolve_admin_token
from hq.sms import cli as sms_cli

_log = logging.getLogger("hq.cli")

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 8765
MAX_VALID_HOURS: Final = 24 * 30
# A code that outlives a month is a standing invitation; issue a new one instead.

ALREADY_REDEEMED_EXIT: Final = 3
# Not 1: a till script must tell "already redeemed here or elsewhere" from "not valid".


class _Parser(argparse.ArgumentParser):
    """argparse that reports a wrong command line in one line, exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="kiosk-hq", description="The chain's HQ service: kiosk enrolment, events, CRM."
    )
    parser.add_argument("--data-dir", type=Path, help="HQ's data directory")
    parser.add_argument("--database-url", help="sqlite:///FILE or postgresql://...")
    parser.add_argument(
        "--content-key-dir", type=Path, help="HQ's content signing keys (default: DATA/keys)"
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    serve = commands.add_parser("serve", help="run the HTTP API")
    serve.add_argument("--host", default=DEFAULT_HOST)
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve.add_argument("--no-migrate", action="store_true", help="do not migrate the database")
    serve.add_argument("--ssl-certfile", type=Path, help="serve HTTPS with this certificate (PEM)")
    serve.add_argument("--ssl-keyfile", type=Path, help="... and this private key (PEM)")
    serve.add_argument(
        "--insecure-behind-proxy",
        action="store_true",
        help="serve plain HTTP on a non-loopback address: a TLS proxy in front is the way in",
    )

    commands.add_parser("migrate", help="bring the database to the newest schema")

    _add_store_commands(commands)

    kiosk = commands.add_parser("kiosk", help="manage kiosks").add_subparsers(
        dest="kiosk_command", required=True, parser_class=_Parser
    )
    code = kiosk.add_parser("enroll-code", help="issue a one-time enrolment code")
    code.add_argument("store_id")
    code.add_argument("--valid-hours", type=float, default=24.0)
    kiosk.add_parser("list", help="list kiosks")
    revoke = kiosk.add_parser("revoke", help="revoke a kiosk's token")
    revoke.add_argument("kiosk_id")

    stats_command = commands.add_parser("stats", help="what HQ holds per kiosk")
    stats_command.add_argument("--json", action="store_true", help="machine-readable output")

    customers = commands.add_parser("customers", help="customer records").add_subparsers(
        dest="customers_command", required=True, parser_class=_Parser
    )
    export = customers.add_parser("export", help="export customers")
    export.add_argument("--csv", action="store_true", required=True, help="as CSV (required)")
    export.add_argument("--output", type=Path, help="file to write (default: stdout)")
    customers_cli.add_commands(customers, _default_actor())

    _add_member_commands(commands)
    _add_coupon_commands(commands)
    _add_content_commands(commands)
    console_cli.add_commands(commands)
    plays_cli.add_command(commands, _day)
    analytics_cli.add_command(commands)
    offers_cli.add_command(commands, _day)
    backup.add_commands(commands)
    fleet_health_cli.add_command(commands)
    crm_cli.add_command(commands)
    sms_cli.add_command(commands)
    model_cli.add_command(commands, _moment, _default_actor(), _Parser)
    return parser


def _add_content_commands(commands: argparse._SubParsersAction[_Parser]) -> None:
    content = commands.add_parser(
        "content", help="publish signed content releases to the stores"
    ).add_subparsers(dest="content_command", required=True, parser_class=_Parser)
    publish = content.add_parser("publish", help="publish a bundle folder as a new release")
    publish.add_argument("folder", type=Path, help="the bundle (docs/bundle.md)")
    publish.add_argument(
        "--to", required=True, dest="target", help="all, region:R, tag:T or store:STORE_ID"
    )
    publish.add_argument("--at", type=_moment, help="activate at this time (default: at once)")
    publish.add_argument(
        "--expires", type=_moment, help="kiosks accept its manifest until then (default: rolling)"
    )
    publish.add_argument("--name", help="what staff call it (default: the bundle's release)")
    publish.add_argument("--by", default=_default_actor(), help="who publishes it")
    listing = content.add_parser("list", help="releases, newest first")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.add_argument("--limit", type=int, default=50)
    rollout = content.add_parser(
        "rollout", help="how many kiosks run which release, who failed and why"
    )
    rollout.add_argument("release", type=int)
    rollout.add_argument("--json", action="store_true", help="machine-readable output")
    revoke = content.add_parser(
        "revoke", help="revoke a release: its kiosks go back to the previous one"
    )
    revoke.add_argument("release", type=int)
    revoke.add_argument("--by", default=_default_actor(), help="who revokes it")
    rotate = content.add_parser(
        "rotate-key", help="a new content signing key, endorsed by the current one"
    )
    rotate.add_argument("--by", default=_default_actor(), help="who rotates it")


def _default_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"[:64]
    except (KeyError, OSError):  # no user name for this uid (a container)
        return "cli"


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            "must be a time like 2026-12-07T01:00+08:00 (ISO 8601)"
        ) from None
    return moment if moment.utcoffset() is not None else moment.astimezone()


def _add_store_commands(commands: argparse._SubParsersAction[_Parser]) -> None:
    store = commands.add_parser("store", aliases=["stores"], help="manage stores").add_subparsers(
        dest="store_command", required=True, parser_class=_Parser
    )
    store_add = store.add_parser("add", help="add a store")
    store_add.add_argument("store_id", help="lowercase slug, [a-z0-9-]{2,40}")
    store_add.add_argument("--name")
    store_add.add_argument("--exist-ok", action="store_true", help="succeed if it exists")
    store_add.add_argument(
        "--kiosks",
        type=_seat_count,
        help="how many kiosks share the store's daily coupon budgets and prize caps "
        "(default: none said, and each kiosk keeps to the whole of them)",
    )
    store_add.add_argument("--region", help="the store's region, for content targeting")
    store_add.add_argument(
        "--tag", action="append", default=[], help="a tag for content targeting (repeatable)"
    )
    store_set = store.add_parser("set", help="change a store's region and tags")
    store_set.add_argument("store_id")
    region = store_set.add_mutually_exclusive_group()
    region.add_argument("--region", help="the store's region")
    region.add_argument("--no-region", action="store_true", help="the store is in no region")
    store_set.add_argument("--tag", action="append", default=[], help="add a tag (repeatable)")
    store_set.add_argument("--untag", action="append", default=[], help="remove a tag (repeatable)")
    store_set.add_argument("--lat", type=float, help="latitude, decimal degrees (with --lon)")
    store_set.add_argument("--lon", type=float, help="longitude, decimal degrees (with --lat)")
    store_set.add_argument("--by", default=_default_actor(), help="who changes it")
    store_import = store.add_parser(
        "import",
        help="add or update stores from a CSV file: store_id,name,region,latitude,longitude",
    )
    store_import.add_argument("file", type=Path)
    store_import.add_argument("--by", default=_default_actor(), help="who imports it")
    store_list = store.add_parser("list", help="stores with their region, tags and place")
    store_list.add_argument("--json", action="store_true", help="machine-readable output")
    store_seats = store.add_parser(
        "seats", help="change how many kiosks share the budgets (none may be enrolled)"
    )
    store_seats.add_argument("store_id")
    store_seats.add_argument("kiosks", type=_seat_count)
    store_rotate = store.add_parser(
        "rotate-channel-key",
        help="give the store a new live-channel key (the old one works until the next rotation)",
    )
    store_rotate.add_argument("store_id")
    attendant = store.add_parser(
        "enrol-attendant",
        help="issue a one-time enrolment code for a store staff device (kiosk-attendant)",
    )
    attendant.add_argument("store_id")
    attendant.add_argument("--valid-hours", type=float, default=24.0)


def _add_member_commands(commands: argparse._SubParsersAction[_Parser]) -> None:
    members = commands.add_parser("members", help="members' tags and erasure").add_subparsers(
        dest="members_command", required=True, parser_class=_Parser
    )
    bind = members.add_parser("bind", help="bind a fob or tag to a member")
    bind.add_argument("member_id")
    bind.add_argument("--kind", required=True, choices=tags.TAG_KINDS)
    bind.add_argument(
        "--value", help="the tag's number or id (omit it to type it on stdin, out of the history)"
    )
    unbind = members.add_parser("unbind", help="unbind a member's tag")
    unbind.add_argument("member_id")
    unbind.add_argument("tag_hash")
    erase = members.add_parser("erase", help="erase a member's personal data")
    erase.add_argument("member_id")
    withdraw_command = members.add_parser(
        "withdraw", help="record a member's consent withdrawal (say, by phone)"
    )
    withdraw_command.add_argument("member_id")
    withdraw_command.add_argument("--purpose", required=True, choices=PURPOSES)
    withdraw_command.add_argument(
        "--by", default="kiosk-hq", help=f"who records it (staff id, <= {MAX_BY_LENGTH})"
    )
    feed_stats = members.add_parser("feed-stats", help="what the member feed holds")
    feed_stats.add_argument("--json", action="store_true", help="machine-readable output")
    compact = members.add_parser("compact-feed", help="delete old removals from the feed")
    compact.add_argument(
        "--older-than-days", type=float, default=recognition.TOMBSTONE_RETENTION.days
    )


def _add_coupon_commands(commands: argparse._SubParsersAction[_Parser]) -> None:
    coupon = commands.add_parser("coupons", help="check and redeem coupon codes").add_subparsers(
        dest="coupons_command", required=True, parser_class=_Parser
    )
    verify = coupon.add_parser("verify", help="is this code valid, and was it redeemed?")
    verify.add_argument("code")
    verify.add_argument("--date", type=_day, help="the store's local date (default: today here)")
    redeem = coupon.add_parser("redeem", help="redeem a code at a store, once across the chain")
    redeem.add_argument("code")
    redeem.add_argument("--store", required=True, help="the store redeeming it")
    redeem.add_argument("--by", default="kiosk-hq", help="who redeems it (staff id, <= 64)")
    redeem.add_argument("--date", type=_day, help="the store's local date (default: today here)")
    doubles = coupon.add_parser("doubles", help="codes redeemed more than once")
    doubles.add_argument("--json", action="store_true", help="machine-readable output")


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a date YYYY-MM-DD") from None


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # One record a line: what clients send reaches the log (hq/logs.py).
    configure_logging(logging.INFO if args.command == "serve" else logging.WARNING)
    try:
        settings = Settings.load(
            data_dir=args.data_dir,
            database_url=args.database_url,
            content_key_dir=args.content_key_dir,
        )
        return _run(args, settings)
    except HqError as error:
        return _fail(str(error))
    except SQLAlchemyError as error:
        # hide_parameters on the engine: the text quotes no personal data.
        return _fail(f"database error: {_first_line(error)}")
    except OSError as error:
        return _fail(str(error))
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # a bug: still one line, with enough to report it
        _log.debug("unexpected error", exc_info=True)
        return _fail(f"unexpected error: {type(error).__name__}: {_first_line(error)}")


def _run(args: argparse.Namespace, settings: Settings) -> int:  # noqa: PLR0911, PLR0912 (one case a command)
    if args.command == "serve":
        if (args.ssl_certfile is None) != (args.ssl_keyfile is None):
            raise SettingsError("--ssl-certfile and --ssl-keyfile go together")
        if args.ssl_certfile is None and not args.insecure_behind_proxy:
            _refuse_plain_http_off_loopback(args.host)
        return _serve(
            settings,
            args.host,
            args.port,
            migrate_first=not args.no_migrate,
            tls=(args.ssl_certfile, args.ssl_keyfile) if args.ssl_certfile else None,
        )
    if args.command in backup.COMMANDS:  # neither may migrate first
        return backup.run(args, settings, datetime.now(UTC))
    ensure_data_dir(settings)
    database = Database(settings.database_url)
    try:
        migrate(database)
        now = datetime.now(UTC)
        match args.command:
            case "migrate":
                print(f"database {describe_url(database.url)} is at the newest schema")
            case "store" | "stores":
                _store(database, args, now)
            case "kiosk":
                _kiosk(database, args, now)
            case "stats":
                _stats(database, as_json=args.json)
            case "customers" if args.customers_command in customers_cli.COMMANDS:
                return customers_cli.run(database, args, now, _table)
            case "customers":
                _export(database, args.output)
            case "members":
                residue = Residue(database)
                try:
                    _members(database, residue, args, now)
                finally:
                    residue.close()  # PostgreSQL: the VACUUM after an erasure, now
            case "coupons":
                return _coupons(database, args, now)
            case "content":
                return _content(database, settings, args, now)
            case "console-staff":
                return console_cli.run(database, args, now)
            case "plays":
                return plays_cli.run(database, args, now, _table)
            case "model":
                return model_cli.run(database, settings, args, now, _table)
            case "analytics":
                return analytics_cli.run(database, args, now)
            case "offers":
                return offers_cli.run(database, args, now, _table)
            case "fleet" if args.fleet_action:  # remote commands
                return fleet_health_cli.run_commands(
                    database, settings.content_key_dir, args, now, _default_actor()
                )
            case "fleet":
                return fleet_health_cli.run(database, args, now, _table)
            case "crm":
                return crm_cli.run(database, settings.crm, args, _table)
            case "sms":
                return sms_cli.run(database, settings.sms, args, now, _table)
    finally:
        database.dispose()
    return 0


def _seat_count(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        count = 0
    if not 1 <= count <= fleet.MAX_KIOSK_SEATS:
        raise argparse.ArgumentTypeError(
            f"must be a whole number from 1 to {fleet.MAX_KIOSK_SEATS}"
        )
    return count


def _store(database: Database, args: argparse.Namespace, now: datetime) -> None:
    if args.store_command == "rotate-channel-key":
        key_id = channel_keys.rotate(database, args.store_id)
        print(f"store {args.store_id}: channel key version {key_id}")
        return
    if args.store_command == "enrol-attendant":
        print(_enrolment_code(database, args.store_id, args.valid_hours, now, role="attendant"))
        return
    if args.store_command == "seats":
        fleet.set_kiosk_seats(database, args.store_id, args.kiosks)
        print(f"store {args.store_id}: {args.kiosks} kiosk seat(s)")
        return
    if args.store_command == "import":
        rows = store_places.read_import(args.file.read_bytes(), str(args.file))
        done = store_places.apply_import(database, rows, by=args.by, now=now)
        print(f"{len(done.added)} store(s) added, {len(done.updated)} updated from {args.file}")
        return
    if args.store_command == "set":
        _store_set(database, args, now)
        return
    if args.store_command == "list":
        _print_stores(database, as_json=args.json)
        return
    added = fleet.add_store(
        database,
        args.store_id,
        args.name,
        now=now,
        exist_ok=args.exist_ok,
        kiosk_seats=args.kiosks,
        region=args.region,
        tags=args.tag,
        by=_default_actor(),
    )
    print(f"store {args.store_id} {'added' if added else 'exists already'}")


def _store_set(database: Database, args: argparse.Namespace, now: datetime) -> None:
    """`store set`: region and tags (content targeting), coordinates (the store map)."""
    if (args.lat is None) != (args.lon is None):
        raise SettingsError("--lat and --lon go together")
    if args.lat is not None and not (args.no_region or args.tag or args.untag):
        place = store_places.set_place(
            database,
            args.store_id,
            latitude=args.lat,
            longitude=args.lon,
            region=args.region,
            by=args.by,
            now=now,
        )
        print(
            f"store {args.store_id}: at {place.latitude}, {place.longitude}, "
            f"region {place.region or '-'}"
        )
        return
    if args.lat is not None:
        store_places.check_coordinates(args.lat, args.lon)  # before any change
    labels = fleet.set_store_labels(
        database,
        args.store_id,
        region=args.region,
        clear_region=args.no_region,
        add_tags=args.tag,
        remove_tags=args.untag,
        by=args.by,
        now=now,
    )
    if args.lat is not None:
        store_places.set_place(
            database, args.store_id, latitude=args.lat, longitude=args.lon, by=args.by, now=now
        )
    print(
        f"store {args.store_id}: region {labels.region or '-'}, "
        f"tags {', '.join(sorted(labels.tags)) or '-'}"
        + (f", at {args.lat}, {args.lon}" if args.lat is not None else "")
    )


def _print_stores(database: Database, *, as_json: bool) -> None:
    with database.read() as connection:
        labels = fleet.all_labels(connection)
        where = {place.store_id: place for place in store_places.places(connection)}
    ordered = sorted(labels.values(), key=lambda s: s.store_id)
    if as_json:
        print(
            json.dumps(
                [
                    {
                        "store_id": s.store_id,
                        "region": s.region,
                        "tags": sorted(s.tags),
                        "latitude": where[s.store_id].latitude,
                        "longitude": where[s.store_id].longitude,
                    }
                    for s in ordered
                ],
                indent=2,
            )
        )
        return
    rows = [
        (
            store.store_id,
            store.region or "-",
            ", ".join(sorted(store.tags)) or "-",
            _degrees(where[store.store_id].latitude),
            _degrees(where[store.store_id].longitude),
        )
        for store in ordered
    ]
    _table(("STORE", "REGION", "TAGS", "LAT", "LON"), rows)


def _degrees(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _content(
    database: Database, settings: Settings, args: argparse.Namespace, now: datetime
) -> int:
    # Publishing validates and stores content, nothing the other commands need at start.
    from hq.content import releases  # noqa: PLC0415
    from hq.content.assets import DirectoryAssetStore  # noqa: PLC0415
    from hq.content.signing import ContentKeys  # noqa: PLC0415

    keys = ContentKeys(settings.content_key_dir)
    match args.content_command:
        case "publish":
            published = releases.publish_folder(
                database,
                DirectoryAssetStore(settings.assets_dir),
                keys,
                args.folder,
                target=args.target,
                not_before=args.at,
                expires=args.expires,
                name=args.name,
                by=args.by,
                now=now,
            )
            release = published.release
            print(
                f"release {release.release_id} published to {release.target}: "
                f"{release.files} files, {release.size:,} bytes"
                + (f", active from {_when(release.not_before)} UTC" if release.not_before else "")
            )
            for warning in published.warnings:
                print(f"kiosk-hq: warning: {warning}", file=sys.stderr)
        case "list":
            _print_releases(releases.list_releases(database, limit=args.limit), args.json, now)
        case "rollout":
            _print_rollout(releases.rollout(database, args.release, now=now), args.json)
        case "revoke":
            done = releases.revoke(database, args.release, by=args.by, now=now)
            print(
                f"release {done.revoked.release_id} revoked; release "
                f"{done.replacement.release_id} sends its kiosks back to what they ran before"
            )
            if done.kiosks_without_earlier:
                print(
                    f"kiosk-hq: warning: {done.kiosks_without_earlier} kiosk(s) have no earlier "
                    "release and keep what they show until a new one is published",
                    file=sys.stderr,
                )
        case "rotate-key":
            link = keys.rotate()
            with database.write() as connection:
                audit.record(
                    connection,
                    args.by,
                    "content.rotate_key",
                    f"key {link.key_id}",
                    {"endorsed_by": link.endorsed_by},
                    at=now,
                )
            print(
                f"content key {link.key_id} made, endorsed by {link.endorsed_by}; "
                "manifests are signed with it from now on"
            )
    return 0


def _print_releases(found: Sequence[Any], as_json: bool, now: datetime) -> None:
    if as_json:
        print(json.dumps([release.as_json() for release in found], indent=2, ensure_ascii=False))
        return
    if not found:
        print("no content release published yet")
        return
    rows = []
    for release in found:
        if release.revoked_at is not None:
            state = f"revoked {_when(release.revoked_at)}"
        elif release.reverts is not None:
            state = f"reverts {release.reverts}"
        elif release.scheduled(now):
            state = f"from {_when(release.not_before)}"
        else:
            state = "live"
        rows.append(
            (
                str(release.release_id),
                release.name,
                str(release.target),
                _when(release.created_at),
                release.created_by,
                str(release.files),
                f"{release.size:,}",
                state,
            )
        )
    _table(("RELEASE", "NAME", "TARGET", "CREATED", "BY", "FILES", "BYTES", "STATE"), rows)


def _print_rollout(found: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps(found.as_json(), indent=2, ensure_ascii=False))
        return
    print(
        f"release {found.release_id} to {found.target}"
        + (" (revoked)" if found.revoked else "")
        + f": {len(found.kiosks)} kiosk(s)"
    )
    print(", ".join(f"{state} {count}" for state, count in found.states.items()))
    if found.active_releases:
        print(
            "running: "
            + ", ".join(
                f"{'nothing from HQ' if name == 'none' else 'release ' + name} on {count}"
                for name, count in found.active_releases.items()
            )
        )
    if found.failure_reasons:
        print(
            "failures: "
            + ", ".join(f"{reason} {count}" for reason, count in found.failure_reasons.items())
        )
    rows = []
    for kiosk in found.kiosks:
        progress = "" if kiosk.progress is None else f"{kiosk.progress:.0%}"
        last = kiosk.failures[0] if kiosk.failures else None
        rows.append(
            (
                kiosk.kiosk_id,
                kiosk.store_id,
                kiosk.state,
                "-" if kiosk.active is None else str(kiosk.active),
                progress or "-",
                "-" if last is None else f"{last.reason}: {last.detail}",
            )
        )
    if rows:
        print()
        _table(("KIOSK", "STORE", "STATE", "ACTIVE", "PROGRESS", "LAST FAILURE"), rows)


def _kiosk(database: Database, args: argparse.Namespace, now: datetime) -> None:
    match args.kiosk_command:
        case "enroll-code":
            print(_enrolment_code(database, args.store_id, args.valid_hours, now, role="kiosk"))
        case "list":
            _print_kiosks(fleet.list_kiosks(database))
        case "revoke":
            revoked_at = enrollment.revoke(database, args.kiosk_id, now=now)
            print(f"kiosk {args.kiosk_id} revoked at {revoked_at.isoformat()}")


def _enrolment_code(
    database: Database, store_id: str, valid_hours: float, now: datetime, *, role: enrollment.Role
) -> str:
    if not 0 < valid_hours <= MAX_VALID_HOURS:
        raise SettingsError(f"--valid-hours must be above 0 and at most {MAX_VALID_HOURS}")
    return enrollment.issue_code(
        database, store_id, now=now, valid_for=timedelta(hours=valid_hours), role=role
    )


def _print_kiosks(kiosks: Sequence[fleet.KioskInfo]) -> None:
    if not kiosks:
        print("no kiosks enrolled")
        return
    rows = [
        (
            kiosk.kiosk_id,
            kiosk.role,
            kiosk.store_id,
            kiosk.name or "",
            _when(kiosk.enrolled_at),
            _when(kiosk.last_seen_at),
            str(kiosk.contiguous_seq),
            "revoked" if kiosk.revoked_at else "active",
        )
        for kiosk in kiosks
    ]
    _table(("KIOSK", "ROLE", "STORE", "NAME", "ENROLLED", "LAST SEEN", "CONTIGUOUS", "STATE"), rows)


def _stats(database: Database, *, as_json: bool) -> None:
    collected = stats.collect(database)
    if as_json:
        print(json.dumps(collected.as_json(), indent=2, ensure_ascii=False))
        return
    rows = [
        (
            kiosk.kiosk_id,
            kiosk.store_id,
            str(sum(kiosk.events.values())),
            str(kiosk.highest_seq),
            str(kiosk.contiguous_seq),
            ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in kiosk.gaps) or "-",
            str(kiosk.rejected),
        )
        for kiosk in collected.kiosks
    ]
    _table(("KIOSK", "STORE", "EVENTS", "HIGHEST", "CONTIGUOUS", "GAPS", "REJECTED"), rows)
    print(f"\nrejected events: {collected.rejected_total}")
    for denial in collected.denied:
        print(
            f"refused batches from {denial.kiosk_id}: {denial.attempts}, "
            f"last at {_when(denial.last_at)}"
        )
    print(f"customers: {collected.customers}")


def _members(database: Database, residue: Residue, args: argparse.Namespace, now: datetime) -> None:
    match args.members_command:
        case "bind":
            value = args.value
            if value is None:
                value = sys.stdin.readline().strip()
            try:
                binding, new = recognition.bind_tag(
                    database, args.member_id, args.kind, value, now=now
                )
            except tags.InvalidTag as problem:
                raise SettingsError(f"--value: {problem}") from None
            print(f"tag {binding.tag_hash} {'bound' if new else 'was bound already'}")
        case "unbind" | "withdraw" | "erase":
            _member_removal(database, residue, args, now)
        case "feed-stats":
            found = recognition.feed_stats(database)
            figures = {
                "entries": found.entries,
                "tombstones": found.tombstones,
                "version": found.version,
                "compacted_through": found.compacted_through,
                "bindings": found.bindings,
            }
            if args.json:
                print(json.dumps(figures, indent=2))
            else:
                for name, figure in figures.items():
                    print(f"{name.replace('_', ' ')}: {figure}")
        case "compact-feed":
            if not args.older_than_days >= 0:
                raise SettingsError("--older-than-days must be 0 or more")
            deleted = recognition.compact(
                database, now=now, keep=timedelta(days=args.older_than_days)
            )
            print(f"{deleted} removals compacted")


def _member_removal(
    database: Database, residue: Residue, args: argparse.Namespace, now: datetime
) -> None:
    """Changes that take personal data away; each ends by clearing what the
    database's files keep of it (hq.crm.residue)."""
    match args.members_command:
        case "unbind":
            recognition.unbind_tag(database, args.member_id, args.tag_hash, now=now)
            residue.removed(recognition.UNBOUND_FROM)
            print(f"tag {args.tag_hash.lower()} unbound")
        case "withdraw":
            withdrawn = withdraw(database, args.member_id, args.purpose, by=args.by, now=now)
            residue.removed(WITHDRAWN_FROM)
            print(
                f"{withdrawn.purpose} consent withdrawn for {len(withdrawn.channels)} channel(s), "
                f"recorded by {withdrawn.recorded_by} at {withdrawn.recorded_at.isoformat()}; "
                f"{withdrawn.feed_entries_removed} feed entries removed "
                "(kiosks drop them at their next feed sync)"
            )
        case "erase":
            erased = erase_member(database, args.member_id, now=now)
            if erased is None:
                raise recognition.UnknownMember()
            residue.removed(ERASED_FROM)
            print(
                f"erased {len(erased.member_ids)} member ids: {erased.events_scrubbed} events "
                f"scrubbed, {erased.feed_entries_removed} feed entries removed"
            )


def _coupons(database: Database, args: argparse.Namespace, now: datetime) -> int:
    match args.coupons_command:
        case "verify":
            return _coupon_verify(database, args.code, args.date or now.astimezone().date())
        case "redeem":
            return _coupon_redeem(database, args, now)
        case "doubles":
            _coupon_doubles(database, as_json=args.json)
    return 0


def _coupon_verify(database: Database, code: str, today: date) -> int:
    found = coupons.verify(database, code, today=today)
    if isinstance(found, coupons.Refused):
        return _fail(f"coupon refused ({found.reason}): {found.message}")
    _print_code(found.code, found.issue)
    if not found.redemptions:
        print("not redeemed yet")
        return 0
    for redemption in found.redemptions:
        print(f"redeemed: {_redemption_line(redemption)}")
    return ALREADY_REDEEMED_EXIT


def _coupon_redeem(database: Database, args: argparse.Namespace, now: datetime) -> int:
    if not 1 <= len(args.by) <= 64:
        raise SettingsError("--by must be 1 to 64 characters")
    outcome = coupons.redeem(
        database,
        args.code,
        store_id=args.store,
        by=args.by,
        now=now,
        today=args.date or now.astimezone().date(),
    )
    match outcome:
        case coupons.Refused():
            return _fail(f"coupon refused ({outcome.reason}): {outcome.message}")
        case coupons.AlreadyRedeemed():
            print(f"kiosk-hq: {outcome.message}", file=sys.stderr)
            return ALREADY_REDEEMED_EXIT
    _print_code(outcome.code, outcome.issue)
    print(f"redeemed at store {outcome.store_id} by {outcome.by}")
    return 0


def _coupon_doubles(database: Database, *, as_json: bool) -> None:
    found = coupons.doubles(database)
    if as_json:
        print(json.dumps([coupons.double_json(double) for double in found], indent=2))
        return
    if not found:
        print("no coupon was redeemed twice")
    for double in found:
        code = double.code
        print(
            f"{code.text}  kiosk {code.kiosk_no} serial {code.serial} campaign "
            f"{code.campaign_no}: redeemed {len(double.redemptions)} times"
            + ("" if double.issue else " (HQ never received its issue)")
        )
        for redemption in double.redemptions:
            print(f"  {_redemption_line(redemption)}")


def _print_code(code: CouponCode, issue: coupons.Issue | None) -> None:
    print(
        f"coupon {code.text}: campaign {code.campaign_no}, kiosk {code.kiosk_no}, "
        f"serial {code.serial}, good through {code.expires_on}"
    )
    if issue is None:
        print("issued: HQ has not received its issue from the kiosk (yet)")
    else:
        print(
            f"issued: campaign {issue.campaign} at store {issue.store_id} "
            f"({issue.kiosk_id}) on {_when(issue.issued_at)} UTC"
        )


def _redemption_line(redemption: coupons.Redemption) -> str:
    where = "through HQ" if redemption.source == "hq" else f"reported by {redemption.kiosk_id}"
    return (
        f"{_when(redemption.redeemed_at)} UTC at store {redemption.store_id} "
        f"by {redemption.by} ({where})"
    )


def _export(database: Database, output: Path | None) -> None:
    if output is None:
        write_customers_csv(database, sys.stdout)
        return
    draft = output.with_name(f".{output.name}.partial")
    # Personal data: readable by its owner only, and complete or not there at all.
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as file:
            count = write_customers_csv(database, file)
        draft.replace(output)
    except BaseException:
        draft.unlink(missing_ok=True)
        raise
    print(f"{count} customers written to {output}", file=sys.stderr)


def _refuse_plain_http_off_loopback(host: str) -> None:
    """Tokens, phone numbers and names cross HQ's API: in clear text only on this
    machine's loopback (the demo, tests, a proxy on the same host)."""
    if _is_loopback(host):
        return
    raise SettingsError(
        f"refusing to serve plain HTTP on {host}, which is not a loopback address: kiosk "
        "tokens and customers' data would cross the network in clear. Give --ssl-certfile "
        "and --ssl-keyfile, or --insecure-behind-proxy if a TLS proxy in front of HQ is "
        "the only way to it"
    )


def _is_loopback(host: str) -> bool:
    """Whether every address `host` names is a loopback one (127.0.0.0/8, ::1)."""
    try:
        found = socket.getaddrinfo(host.strip("[]"), None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return False  # uvicorn could not bind it either; say why here
    return bool(found) and all(
        ipaddress.ip_address(str(address[4][0]).split("%")[0]).is_loopback for address in found
    )


def _serve(
    settings: Settings,
    host: str,
    port: int,
    *,
    migrate_first: bool,
    tls: tuple[Path, Path] | None,
) -> int:
    # Only `serve` needs the web stack: the other commands start in half the time.
    import uvicorn  # noqa: PLC0415

    from hq.app import create_app, server_config  # noqa: PLC0415

    ensure_data_dir(settings)
    if migrate_first:
        migrate(settings.database_url)
    resolve_admin_token(settings)
    if settings.admin_token is None:
        _log.info("admin token: in %s", settings.admin_token_path)
    else:
        _log.info("admin token: from the environment")
    _log.info("database: %s", describe_url(settings.database_url))
    app = create_app(settings)
    certfile, keyfile = tls or (None, None)
    server = uvicorn.Server(
        server_config(app, host=host, port=port, ssl_certfile=certfile, ssl_keyfile=keyfile)
    )
    # What start-up made lives as long as the process: keep it out of the garbage
    # collector's full passes, which otherwise showed up as latency spikes.
    gc.freeze()
    server.run()
    if not server.started:  # uvicorn logged why (the port is taken, say)
        return _fail(f"could not serve on {host}:{port}")
    return 0


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], out: TextIO = sys.stdout) -> None:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=False)]
    for row in (header, *rows):
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip(),
            file=out,
        )


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error)
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__


def _fail(message: str) -> int:
    print(f"kiosk-hq: {message}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
