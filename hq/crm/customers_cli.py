"""`kiosk-hq customers ...`: duplicates, merging and undoing, addresses (hq.crm.merges).

    customers duplicates [--json]                 likely duplicate pairs, the surest first
    customers merge KEEP OTHER [--by WHO]         merge record OTHER into record KEEP
    customers unmerge MERGE_ID [--by WHO]         undo a merge
    customers merges [--json]                     the merge history, newest first
    customers dismiss A B [--by WHO]              records A and B are not the same person
    customers undismiss A B [--by WHO]            take that back: the finder may pair them again
    customers dismissals [--json]                 dismissed pairs, newest first
    customers address CUSTOMER_ID (--set TEXT | --clear) [--by WHO]
    customers segment (--customer ID | --phone NUMBER) [--tier T | --clear-tier]
                      [--tag T ... | --clear-tags] [--birth-month M | --clear-birth-month]
                      [--clear] [--by WHO]        what member offers are decided on
    customers import-segments FILE.csv [--by WHO]  customer_id|phone,tier,tags,birth_month

Records are named by customer id (the admin API's and the console's); the output
names records by id and masked phone only. Each merge and undo goes to the audit
log with `--by` (default cli:<user>), and so does each dismissal and its undo, and
each record whose segment (hq.crm.segments) changed: the fields, not their values.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import select

from hq.crm import dedupe, dismissals, merges, records, segments
from hq.db import Database, customers

Table = Callable[[Sequence[str], Sequence[Sequence[str]], TextIO], None]


def add_commands(customers_commands: argparse._SubParsersAction[Any], actor: str) -> None:
    """Register the dedupe commands under `kiosk-hq customers`; `actor`: the default --by."""
    found = customers_commands.add_parser("duplicates", help="likely duplicate records")
    found.add_argument("--json", action="store_true", help="machine-readable output")
    merge = customers_commands.add_parser("merge", help="merge record OTHER into record KEEP")
    merge.add_argument("keep", help="the customer id that stays")
    merge.add_argument("other", help="the customer id merged into it")
    merge.add_argument("--by", default=actor, help="who merges (for the audit log)")
    unmerge = customers_commands.add_parser("unmerge", help="undo a merge")
    unmerge.add_argument("merge_id", type=int)
    unmerge.add_argument("--by", default=actor, help="who undoes it (for the audit log)")
    history = customers_commands.add_parser("merges", help="the merge history")
    history.add_argument("--json", action="store_true", help="machine-readable output")
    for name, help_text in (
        ("dismiss", "records A and B are not the same person"),
        ("undismiss", "undo a dismissal: the finder may pair A and B again"),
    ):
        pair = customers_commands.add_parser(name, help=help_text)
        pair.add_argument("a", help="a customer id")
        pair.add_argument("b", help="the other customer id")
        pair.add_argument("--by", default=actor, help="who says so (for the audit log)")
    dismissed = customers_commands.add_parser("dismissals", help="dismissed pairs")
    dismissed.add_argument("--json", action="store_true", help="machine-readable output")
    address = customers_commands.add_parser("address", help="set or clear a record's address")
    address.add_argument("customer_id")
    which = address.add_mutually_exclusive_group(required=True)
    which.add_argument("--set", dest="address", help="the postal address")
    which.add_argument("--clear", action="store_true", help="remove the address")
    address.add_argument("--by", default=actor, help="who sets it (for the audit log)")
    _add_segment_commands(customers_commands, actor)


def _add_segment_commands(customers_commands: argparse._SubParsersAction[Any], actor: str) -> None:
    segment = customers_commands.add_parser(
        "segment",
        help="set or clear a record's loyalty tier, tags and birth month (member offers)",
        description="Kiosks get them in the member feed only for members with marketing "
        "consent; a change reaches them at their next feed sync.",
    )
    who = segment.add_mutually_exclusive_group(required=True)
    who.add_argument("--customer", help="the customer id")
    who.add_argument("--phone", help="the phone number (+86..., or a Chinese national number)")
    tier = segment.add_mutually_exclusive_group()
    tier.add_argument("--tier", help='the loyalty tier, a slug ("gold")')
    tier.add_argument("--clear-tier", action="store_true", help="no tier")
    tags = segment.add_mutually_exclusive_group()
    tags.add_argument(
        "--tag", action="append", dest="tags", help='a tag ("vip"); again for more; replaces all'
    )
    tags.add_argument("--clear-tags", action="store_true", help="no tags")
    month = segment.add_mutually_exclusive_group()
    month.add_argument("--birth-month", help="1-12 (HQ keeps no birth date)")
    month.add_argument("--clear-birth-month", action="store_true", help="no birth month")
    segment.add_argument("--clear", action="store_true", help="clear tier, tags and birth month")
    segment.add_argument("--by", default=actor, help="who sets it (for the audit log)")
    imported = customers_commands.add_parser(
        "import-segments",
        help="set tiers, tags and birth months from a CSV file (all rows, or none)",
        description="Columns: customer_id or phone (one per row), and any of tier, tags "
        "(separated by spaces or semicolons), birth_month. A blank cell clears that "
        "field; a column left out leaves it as it is.",
    )
    imported.add_argument("file", type=Path)
    imported.add_argument("--by", default=actor, help="who imports it (for the audit log)")


COMMANDS = frozenset(
    {
        "duplicates",
        "merge",
        "unmerge",
        "merges",
        "dismiss",
        "undismiss",
        "dismissals",
        "address",
        "segment",
        "import-segments",
    }
)


def run(
    database: Database,
    args: argparse.Namespace,
    now: datetime,
    table: Table,
    out: TextIO | None = None,
) -> int:
    out = out or sys.stdout
    match args.customers_command:
        case "duplicates":
            pairs = merges.duplicates(database)
            if args.json:
                print(json.dumps([pair.as_json() for pair in pairs], indent=2), file=out)
                return 0
            phones = _masked_phones(database, {c for p in pairs for c in (p.first, p.second)})
            table(
                ("keep", "phone", "other", "phone", "reasons", "score"),
                [
                    (
                        p.first,
                        phones[p.first],
                        p.second,
                        phones[p.second],
                        ",".join(p.reasons),
                        f"{p.score:.2f}",
                    )
                    for p in pairs
                ],
                out,
            )
            print(f"{len(pairs)} likely duplicate pair(s)", file=sys.stderr)
        case "merge":
            done = merges.merge(database, args.keep, args.other, by=args.by, now=now)
            print(
                f"merge {done.merge_id}: {done.merged_id} merged into {done.survivor_id}; "
                f"{done.member_ids_moved} member id(s) moved, {done.consents_added} consent(s) "
                "withdrawn by the stricter rule",
                file=out,
            )
        case "unmerge":
            done = merges.undo(database, args.merge_id, by=args.by, now=now)
            print(f"merge {done.merge_id} undone: both records are as they were", file=out)
        case "merges":
            history = merges.history(database)
            if args.json:
                print(json.dumps([m.as_json() for m in history], indent=2), file=out)
                return 0
            table(
                ("merge", "kept", "merged", "by", "at", "undone"),
                [
                    (
                        str(m.merge_id),
                        m.survivor_id,
                        m.merged_id,
                        m.merged_by,
                        m.merged_at.strftime("%Y-%m-%d %H:%M"),
                        "-"
                        if m.undone_at is None
                        else f"{m.undone_at:%Y-%m-%d %H:%M} {m.undone_by}",
                    )
                    for m in history
                ],
                out,
            )
        case "dismiss":
            said = dismissals.dismiss(database, args.a, args.b, by=args.by, now=now)
            print(
                f"{said.first} and {said.second}: not the same person "
                f"(reasons then: {','.join(said.reasons) or 'none'})",
                file=out,
            )
        case "undismiss":
            taken = dismissals.undismiss(database, args.a, args.b, by=args.by, now=now)
            print(f"{taken.first} and {taken.second}: dismissal undone", file=out)
        case "dismissals":
            found = dismissals.listing(database)
            if args.json:
                print(json.dumps([d.as_json() for d in found], indent=2), file=out)
                return 0
            table(
                ("first", "second", "reasons then", "by", "at"),
                [
                    (
                        d.first,
                        d.second,
                        ",".join(d.reasons) or "-",
                        d.dismissed_by,
                        d.dismissed_at.strftime("%Y-%m-%d %H:%M"),
                    )
                    for d in found
                ],
                out,
            )
        case "address":
            kept = records.set_address(
                database,
                args.customer_id,
                None if args.clear else args.address,
                by=args.by,
                now=now,
            )
            print(f"customer {args.customer_id}: address {'set' if kept else 'cleared'}", file=out)
        case "segment" | "import-segments":
            _segments(database, args, now, out)
    return 0


def _segments(database: Database, args: argparse.Namespace, now: datetime, out: TextIO) -> None:
    if args.customers_command == "import-segments":
        rows = segments.read_import(args.file.read_bytes(), str(args.file))
        report = segments.apply_import(database, rows, source=str(args.file), by=args.by, now=now)
        print(
            f"{report.rows} row(s) from {args.file}: {report.customers_changed} customer(s) "
            f"changed, {_entries(report.feed_entries_changed)} changed",
            file=out,
        )
        return
    done = segments.set_segment(
        database,
        _segment_changes(args),
        customer_id=args.customer,
        phone=args.phone,
        by=args.by,
        now=now,
    )
    merged = args.customer is not None and args.customer != done.customer_id
    print(
        f"customer {done.customer_id}"
        + (f" (record {args.customer} was merged into it)" if merged else "")
        + ": "
        + (", ".join(done.fields_changed) + " changed" if done.fields_changed else "as it was")
        + f"; {_entries(done.feed_entries_changed)} changed",
        file=out,
    )


def _entries(count: int) -> str:
    return f"{count} member feed entr{'y' if count == 1 else 'ies'}"


def _segment_changes(args: argparse.Namespace) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if args.clear:
        changes = dict.fromkeys(segments.FIELDS)
    if args.tier is not None or args.clear_tier:
        changes["tier"] = args.tier
    if args.tags is not None or args.clear_tags:
        changes["tags"] = tuple(args.tags or ())
    if args.birth_month is not None or args.clear_birth_month:
        changes["birth_month"] = args.birth_month
    return changes


def _masked_phones(database: Database, ids: set[str]) -> dict[str, str]:
    with database.read() as connection:
        return {
            customer: dedupe.mask_phone(phone)
            for customer, phone in connection.execute(
                select(customers.c.customer_id, customers.c.phone_e164).where(
                    customers.c.customer_id.in_(sorted(ids))
                )
            )
        }
