"""`kiosk-hq customers ...`: duplicates, merging and undoing, addresses (hq.crm.merges).

    customers duplicates [--json]                 likely duplicate pairs, the surest first
    customers merge KEEP OTHER [--by WHO]         merge record OTHER into record KEEP
    customers unmerge MERGE_ID [--by WHO]         undo a merge
    customers merges [--json]                     the merge history, newest first
    customers dismiss A B [--by WHO]              records A and B are not the same person
    customers undismiss A B [--by WHO]            take that back: the finder may pair them again
    customers dismissals [--json]                 dismissed pairs, newest first
    customers address CUSTOMER_ID (--set TEXT | --clear) [--by WHO]

Records are named by customer id (the admin API's and the console's); the output
names records by id and masked phone only. Each merge and undo goes to the audit
log with `--by` (default cli:<user>), and so does each dismissal and its undo.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TextIO

from sqlalchemy import select

from hq.crm import dedupe, dismissals, merges, records
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


COMMANDS = frozenset(
    {"duplicates", "merge", "unmerge", "merges", "dismiss", "undismiss", "dismissals", "address"}
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
    return 0


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
