"""A till's sales export as purchases the model learns from (`kiosk-hq model import-sales`).

The file: CSV, UTF-8 (a byte order mark is fine), a header row with these
columns in any order (others are ignored), one line per SKU of a receipt:

    receipt,sold_at,store_id,sku,quantity
    R-000123,2026-11-30T14:05:00+08:00,sh-001,PX9-128-BLK,1

- receipt: the till's receipt number, 1-64 printable characters; the lines of one
  receipt (in one store) are one visit, as a kiosk session is;
- sold_at: ISO 8601 date and time with its UTC offset;
- store_id: HQ's store id (a store HQ knows);
- sku: as in the catalog (letters, digits, '.', '_', '-');
- quantity: a whole number, 1 to 1000.

Every row is checked before anything is stored: one wrong row and nothing is
imported, with each wrong row's line number, column and what is wrong (at most
MAX_PROBLEMS of them). A line imported before (same store, receipt and SKU) is
skipped, so importing an overlapping export again counts nothing twice. No
customer data: a receipt number and what was on it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final

from sqlalchemy import select

from content.model import SKU_PATTERN
from hq.db import Database, sales_lines, stores
from hq.errors import HqError

COLUMNS: Final = ("receipt", "sold_at", "store_id", "sku", "quantity")
MAX_PROBLEMS: Final = 20  # enough to see the pattern of what is wrong
MAX_QUANTITY: Final = 1000
_RECEIPT: Final = re.compile(r"^[\x21-\x7e][\x20-\x7e]{0,63}$")
_SKU: Final = re.compile(SKU_PATTERN)
_BATCH: Final = 5000


class SalesRefused(HqError):
    """Nothing was imported; `problems` says which rows are wrong and why."""

    def __init__(self, message: str, problems: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.problems: tuple[str, ...] = tuple(problems)


@dataclass(frozen=True, slots=True)
class SaleLine:
    receipt: str
    sold_at: datetime
    store_id: str
    sku: str
    quantity: int


@dataclass(frozen=True, slots=True)
class Imported:
    lines: int  # new lines stored
    skipped: int  # lines imported before
    receipts: int


def parse(text: str, known_stores: set[str]) -> list[SaleLine]:
    """The export's lines, or SalesRefused naming every wrong row (line numbers as an
    editor shows them: the header is line 1)."""
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    header = reader.fieldnames or []
    missing = [column for column in COLUMNS if column not in header]
    if missing:
        raise SalesRefused(f"the header lacks column(s): {', '.join(missing)}")
    lines: list[SaleLine] = []
    problems: list[str] = []
    for row in reader:
        line = reader.line_num
        found = _line(row, known_stores)
        if isinstance(found, SaleLine):
            lines.append(found)
        else:
            problems += [f"line {line}: {problem}" for problem in found]
    if problems:
        shown = problems[:MAX_PROBLEMS]
        if len(problems) > MAX_PROBLEMS:
            shown.append(f"... and {len(problems) - MAX_PROBLEMS} more")
        raise SalesRefused(f"{len(problems)} problem(s) in the sales export", shown)
    if not lines:
        raise SalesRefused("the sales export has no lines")
    return lines


def _line(row: dict[str, str | None], known_stores: set[str]) -> SaleLine | list[str]:
    values = {column: (row.get(column) or "").strip() for column in COLUMNS}
    problems = []
    if not _RECEIPT.match(values["receipt"]):
        problems.append("receipt: must be 1-64 printable ASCII characters")
    sold_at = _moment(values["sold_at"])
    if sold_at is None:
        problems.append("sold_at: must be an ISO 8601 date and time with its UTC offset")
    if values["store_id"] not in known_stores:
        problems.append("store_id: not a store HQ knows (kiosk-hq store list)")
    if not _SKU.match(values["sku"]):
        problems.append("sku: must be 1-64 letters, digits, '.', '_' or '-'")
    quantity = (
        int(values["quantity"])
        if values["quantity"].isascii() and values["quantity"].isdigit()
        else 0
    )
    if not 1 <= quantity <= MAX_QUANTITY:
        problems.append(f"quantity: must be a whole number from 1 to {MAX_QUANTITY}")
    if problems or sold_at is None:
        return problems
    return SaleLine(values["receipt"], sold_at, values["store_id"], values["sku"], quantity)


def _moment(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if "T" in text and moment.utcoffset() is not None else None


def import_sales(database: Database, text: str, *, now: datetime) -> Imported:
    """Check the whole export, then store its new lines in one transaction."""
    with database.read() as connection:
        known = set(connection.execute(select(stores.c.store_id)).scalars())
    lines = parse(text, known)
    # The same SKU twice on one receipt is one line of the export's quantity.
    merged: dict[tuple[str, str, str], SaleLine] = {}
    for line in lines:
        key = (line.store_id, line.receipt, line.sku)
        before = merged.get(key)
        merged[key] = (
            line
            if before is None
            else replace(
                line,
                sold_at=min(before.sold_at, line.sold_at),
                quantity=before.quantity + line.quantity,
            )
        )
    rows = [
        {
            "store_id": line.store_id,
            "receipt": line.receipt,
            "sku": line.sku,
            "sold_at": line.sold_at,
            "quantity": min(line.quantity, MAX_QUANTITY),
            "imported_at": now,
        }
        for line in merged.values()
    ]
    stored = 0
    with database.write() as connection:
        for begin in range(0, len(rows), _BATCH):
            batch = rows[begin : begin + _BATCH]
            stored += len(
                database.insert_rows(
                    connection,
                    sales_lines,
                    batch,
                    on_conflict=lambda statement: statement.on_conflict_do_nothing(),
                    returning=[sales_lines.c.id],
                )
            )
    return Imported(stored, len(rows) - stored, len({(s, r) for s, r, _ in merged}))
