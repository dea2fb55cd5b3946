"""What member offers are decided on: a customer's loyalty tier, tags and birth month.

    kiosk-hq customers segment (--customer ID | --phone +86...) [--tier gold] [--tag vip ...]
                                [--birth-month 5] [--clear-tier] [--clear-tags] ...
    kiosk-hq customers import-segments FILE.csv     customer_id|phone,tier,tags,birth_month

HQ staff, or the chain's loyalty system through its export, set them; kiosks never
ask for them. They reach kiosks in the member feed (hq.crm.recognition) only for a
member whose newest marketing decision is "given", where offers.json's segment
rules (content/offers.py) read them. A tier and each tag are slugs as offers.json
writes them (SLUG_PATTERN); the birth month is 1-12: HQ keeps no birth date.

A record is named by customer id or phone number; one merged into another
(hq.crm.merges) stands for the record it was merged into, where the person's
facts now live. Every change re-publishes the person's feed entries in the same
transaction (kiosks have it at their next feed sync) and adds an audit line
naming the customer and the fields changed, never their values.

An import is read and checked whole first (`read_import`, pure): every problem is
reported with its file, line and field, and a file with any problem changes
nothing. Then `apply_import` names each row's record in the database, and refuses
the whole file if a record is unknown or named twice; else it applies the rows in
one transaction. The columns in the header are the fields set: a blank cell clears
that field, a column left out leaves it as it is.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, TypeVar

from sqlalchemy import Connection, bindparam, select, update

from content.model import SLUG_PATTERN
from hq import audit
from hq.crm import people, recognition
from hq.crm.merges import UnknownCustomer
from hq.db import UUID_LENGTH as CUSTOMER_ID_LENGTH
from hq.db import Database, customers, member_ids
from hq.errors import HqError
from hq.store_places import ImportRefused

_log = logging.getLogger("hq.segments")
_T = TypeVar("_T")

FIELDS: Final = ("tier", "tags", "birth_month")
"""What offers are decided on, as `customers` columns and import columns."""
KEYS: Final = ("customer_id", "phone")
"""How an import row names its record: one of them."""
COLUMNS: Final = (*KEYS, *FIELDS)

MAX_TAGS: Final = 20
# Tags a marketing team targets by ("vip", "student", "staff"); not a history.
MAX_IMPORT_ROWS: Final = 1_000_000
# A chain's members, checked in memory (a few hundred bytes a row); not a data dump.
CHUNK: Final = 500
# Records looked up, updated and re-published per statement: well inside SQLite's
# limit on bound parameters, and a refresh of the feed that stays small.
_MERGE_DEPTH: Final = 50  # merged into one merged into another...: more is a loop

_SLUG: Final = re.compile(SLUG_PATTERN)
_TAG_SEPARATORS: Final = re.compile(r"[\s,;]+")  # what spreadsheets and people put between


class BadSegment(HqError, ValueError):
    """A tier, tag or birth month HQ cannot use; the message says which and why."""


ACTION: Final = "customers.segment"  # the audit log's action


@dataclass(frozen=True, slots=True)
class Segment:
    """One customer's facts. Personal data: not in the repr."""

    tier: str | None = field(default=None, repr=False)
    tags: tuple[str, ...] = field(default=(), repr=False)  # sorted, distinct
    birth_month: int | None = field(default=None, repr=False)

    def as_json(self) -> dict[str, Any]:
        return {"tier": self.tier, "tags": list(self.tags), "birth_month": self.birth_month}


# ---------------------------------------------------------------- checking (pure)


def tier_problem(tier: str) -> str | None:
    """Why `tier` is no tier; None when it is one."""
    if not _SLUG.fullmatch(tier):
        return f"{tier[:40]!r} is not a lowercase slug [a-z0-9_-], 1 to 40 characters"
    return None


def tags_problem(tags: Sequence[str]) -> str | None:
    """Why `tags` are not a member's tags; None when they are."""
    for tag in tags:
        if not _SLUG.fullmatch(tag):
            return f"{tag[:40]!r} is not a lowercase slug [a-z0-9_-], 1 to 40 characters"
    if len(set(tags)) > MAX_TAGS:
        return f"{len(set(tags))} tags; a member has at most {MAX_TAGS}"
    return None


def birth_month_problem(text: str) -> str | None:
    """Why `text` is no birth month; None when it is one (a whole number 1-12)."""
    if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", text.strip()):
        return "a date: give only the month, 1-12 (HQ keeps no birth date)"
    if not re.fullmatch(r"\d{1,2}", text.strip()) or not 1 <= int(text) <= 12:
        return f"{text[:20]!r} is not a month number from 1 to 12"
    return None


def split_tags(text: str) -> tuple[str, ...]:
    """A cell's tags ("vip student", "vip;student", "vip, student"), in file order."""
    return tuple(tag for tag in _TAG_SEPARATORS.split(text.strip()) if tag)


def checked_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """`changes` (field -> new value; None or () clears it) as stored: tags sorted and
    distinct, no tags as NULL. BadSegment names the first field that is wrong."""
    unknown = sorted(set(changes) - set(FIELDS))
    if unknown:
        raise BadSegment(
            f"no such field: {', '.join(unknown)} (the fields are {', '.join(FIELDS)})"
        )
    if not changes:
        raise BadSegment("nothing to change: give a tier, tags or a birth month, or clear one")
    tidy: dict[str, Any] = {}
    for name, value in changes.items():
        problem = None
        if name == "tags":
            tags = tuple(value or ())
            problem = tags_problem(tags)
            tidy[name] = sorted(set(tags)) or None
        elif value is None:
            tidy[name] = None
        elif name == "tier":
            problem = tier_problem(str(value))
            tidy[name] = str(value)
        else:
            problem = birth_month_problem(str(value))
            tidy[name] = None if problem else int(str(value))
        if problem:
            raise BadSegment(f"{name.replace('_', ' ')}: {problem}")
    return tidy


# ---------------------------------------------------------------- setting one record


@dataclass(frozen=True, slots=True)
class SegmentSet:
    customer_id: str  # the record changed: a merged record's survivor
    named: str  # the record asked for (a customer id, or "phone")
    fields_changed: tuple[str, ...]
    feed_entries_changed: int


def set_segment(
    database: Database,
    changes: Mapping[str, Any],
    *,
    customer_id: str | None = None,
    phone: str | None = None,
    by: str,
    now: datetime,
) -> SegmentSet:
    """Set (None/() clears) some of a record's facts, named by customer id or phone.

    BadSegment for a value it cannot use, UnknownCustomer for a record HQ lacks."""
    tidy = checked_changes(changes)
    if (customer_id is None) == (phone is None):
        raise BadSegment("name the record by its customer id or its phone number")
    number = None
    if phone is not None:
        try:
            number = people.e164(phone)
        except people.InvalidPhone as error:
            raise BadSegment(f"phone: {error}") from None
    with database.write() as connection:
        if number is not None:
            found = _by_phone(connection, [number]).get(number)
        else:
            found = _live(connection, [str(customer_id)]).get(str(customer_id))
        if found is None:
            raise UnknownCustomer()
        changed, entries = _apply(connection, database, {found: tidy}, by=by, now=now, via="cli")
    fields = tuple(sorted(changed.get(found, ())))
    _log.info("a customer's segment was set: %s", ", ".join(fields) or "nothing changed")
    return SegmentSet(found, customer_id or "phone", fields, entries)


def segment_of(database: Database, customer_id: str) -> Segment:
    """A record's facts as kept (UnknownCustomer if there is no such record)."""
    with database.read() as connection:
        row = connection.execute(
            select(customers.c.tier, customers.c.tags, customers.c.birth_month).where(
                customers.c.customer_id == customer_id
            )
        ).one_or_none()
    if row is None:
        raise UnknownCustomer()
    return Segment(row.tier, tuple(row.tags or ()), row.birth_month)


# ---------------------------------------------------------------- import


@dataclass(frozen=True, slots=True)
class ImportRow:
    """One line of an import: its record, and the fields it sets (None/(): clear)."""

    line: int
    customer_id: str | None
    phone: str | None = field(repr=False)  # E.164
    changes: Mapping[str, Any] = field(repr=False)


def read_import(data: bytes, source: str) -> list[ImportRow]:
    """The rows of a CSV file (UTF-8, a spreadsheet's BOM allowed), checked whole.

    ImportRefused lists every problem as `SOURCE:LINE: FIELD: what is wrong`; a
    problem never quotes a phone number."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportRefused(
            source, [f"{source}: not UTF-8 text (byte {error.start}); save it as CSV UTF-8"]
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [cell.strip().lower() for cell in next(reader, [])]
    except csv.Error as error:
        raise ImportRefused(source, [f"{source}:1: header: {error}"]) from None
    problems = _header_problems(header, source)
    if problems:
        raise ImportRefused(source, problems)
    rows: list[ImportRow] = []
    seen: dict[tuple[str, str], int] = {}
    try:
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue  # a blank line, as spreadsheets leave at the end
            if len(rows) >= MAX_IMPORT_ROWS:
                problems.append(f"{source}:{line}: more than {MAX_IMPORT_ROWS} rows in one file")
                break
            row, found = _read_row(dict(zip(header, cells, strict=False)), line, len(cells), header)
            problems += [f"{source}:{line}: {problem}" for problem in found]
            if row is None:
                continue
            key = ("customer_id", row.customer_id) if row.customer_id else ("phone", str(row.phone))
            if key in seen:
                problems.append(f"{source}:{line}: {key[0]}: the same as on line {seen[key]}")
            seen.setdefault(key, line)
            rows.append(row)
    except csv.Error as error:  # a quote never closed, a NUL byte
        problems.append(f"{source}:{reader.line_num}: not CSV: {error}")
    if problems:
        raise ImportRefused(source, problems)
    return rows


def _header_problems(header: list[str], source: str) -> list[str]:
    problems = []
    unknown = [name for name in header if name not in COLUMNS]
    if unknown:
        problems.append(
            f"{source}:1: header: unknown column(s) {', '.join(unknown)} "
            f"(the columns are {', '.join(COLUMNS)})"
        )
    if not any(key in header for key in KEYS):
        problems.append(f"{source}:1: header: no customer_id or phone column to name the records")
    if not any(name in header for name in FIELDS):
        problems.append(f"{source}:1: header: none of the columns {', '.join(FIELDS)}")
    if len(set(header)) != len(header):
        problems.append(f"{source}:1: header: a column is named twice")
    return problems


def _read_row(
    cells: dict[str, str], line: int, width: int, header: list[str]
) -> tuple[ImportRow | None, list[str]]:
    problems = []
    if width != len(header):
        problems.append(f"{len(header)} cells expected, {width} found")
    customer_id, phone = _record_named(cells, problems)
    changes: dict[str, Any] = {}
    if "tier" in header:
        tier = cells.get("tier", "").strip() or None
        problem = None if tier is None else tier_problem(tier)
        if problem:
            problems.append(f"tier: {problem}")
        changes["tier"] = tier
    if "tags" in header:
        tags = split_tags(cells.get("tags", ""))
        problem = tags_problem(tags)
        if problem:
            problems.append(f"tags: {problem}")
        changes["tags"] = tuple(sorted(set(tags)))
    if "birth_month" in header:
        month = cells.get("birth_month", "").strip() or None
        problem = None if month is None else birth_month_problem(month)
        if problem:
            problems.append(f"birth_month: {problem}")
        changes["birth_month"] = None if month is None or problem else int(month)
    if problems:
        return None, problems
    return ImportRow(line, customer_id, phone, changes), []


def _record_named(cells: dict[str, str], problems: list[str]) -> tuple[str | None, str | None]:
    """The row's customer id or phone number (E.164); a problem added if neither."""
    customer_id = cells.get("customer_id", "").strip() or None
    phone = cells.get("phone", "").strip() or None
    if customer_id and phone:
        problems.append("customer_id, phone: give one of them, not both")
    elif not customer_id and not phone:
        problems.append("customer_id, phone: both empty: which record is it?")
    elif customer_id and len(customer_id) > CUSTOMER_ID_LENGTH:
        problems.append(f"customer_id: longer than a customer id ({CUSTOMER_ID_LENGTH})")
    elif phone:
        try:
            return None, people.e164(phone)
        except people.InvalidPhone as error:  # its message names the rule, not the number
            problems.append(f"phone: {error}")
        return None, None
    return customer_id, None


@dataclass(frozen=True, slots=True)
class Imported:
    rows: int
    customers_changed: int  # records whose facts differ now (the rest were already so)
    feed_entries_changed: int


def apply_import(
    database: Database, rows: Sequence[ImportRow], *, source: str, by: str, now: datetime
) -> Imported:
    """Apply checked rows in one transaction. ImportRefused, with nothing applied, if a
    row names a record HQ lacks, or two rows name one record (a phone and a customer
    id of one person, or two records since merged)."""
    with database.write() as connection:
        by_id: dict[str, str | None] = {}
        by_phone: dict[str, str | None] = {}
        for chunk in _chunks(rows):
            by_id |= _live(connection, [row.customer_id for row in chunk if row.customer_id])
            by_phone |= _by_phone(connection, [row.phone for row in chunk if row.phone])
        problems: list[str] = []
        wanted: dict[str, dict[str, Any]] = {}
        line_of: dict[str, int] = {}
        for row in rows:
            name = "customer_id" if row.customer_id else "phone"
            found = (
                by_id.get(str(row.customer_id)) if row.customer_id else by_phone.get(str(row.phone))
            )
            if found is None:
                problems.append(f"{source}:{row.line}: {name}: HQ has no such customer")
            elif found in line_of:
                problems.append(
                    f"{source}:{row.line}: {name}: the same customer as line {line_of[found]}"
                )
            else:
                line_of[found] = row.line
                wanted[found] = checked_changes(row.changes)  # as stored: no tags is NULL
        if problems:
            raise ImportRefused(source, problems)  # nothing was written yet
        changed, entries = _apply(connection, database, wanted, by=by, now=now, via="import")
    _log.info(
        "segments imported: %d rows, %d customers changed, %d feed entries",
        len(rows),
        len(changed),
        entries,
    )
    return Imported(len(rows), len(changed), entries)


# ---------------------------------------------------------------- in the database


def _apply(
    connection: Connection,
    database: Database,
    wanted: Mapping[str, Mapping[str, Any]],
    *,
    by: str,
    now: datetime,
    via: str,
) -> tuple[dict[str, list[str]], int]:
    """Write what differs, audit it, re-publish the feed: (fields changed per customer,
    feed entries changed)."""
    changed: dict[str, list[str]] = {}
    entries = 0
    for chunk in _chunks(sorted(wanted)):
        held = {
            row.customer_id: row
            for row in connection.execute(
                select(customers.c.customer_id, *(customers.c[name] for name in FIELDS))
                .where(customers.c.customer_id.in_(chunk))
                .with_for_update()
            )
        }
        updates = []
        for customer_id in chunk:
            new = dict(wanted[customer_id])
            now_held = held[customer_id]
            fields = sorted(
                name
                for name, value in new.items()
                if _stored(name, getattr(now_held, name)) != _stored(name, value)
            )
            if fields:
                changed[customer_id] = fields
                updates.append(
                    {
                        "target": customer_id,
                        **{name: getattr(now_held, name) for name in FIELDS},
                        **{name: new[name] for name in fields},
                    }
                )
        if not updates:
            continue
        connection.execute(
            update(customers)
            .where(customers.c.customer_id == bindparam("target"))
            .values({name: bindparam(name) for name in FIELDS}),
            updates,
        )
        audit.record_each(
            connection,
            by,
            ACTION,
            {
                f"customer:{u['target']}": {"fields": changed[u["target"]], "via": via}
                for u in updates
            },
            at=now,
        )
        members = connection.execute(
            select(member_ids.c.member_id).where(
                member_ids.c.customer_id.in_([u["target"] for u in updates])
            )
        ).scalars()
        entries += recognition.refresh(database, connection, list(members), now=now)
    return changed, entries


def _stored(name: str, value: Any) -> Any:
    """A value as compared: no tags and an empty list are the same."""
    if name == "tags":
        return tuple(sorted(value or ()))
    return value


def _live(connection: Connection, ids: Iterable[str]) -> dict[str, str | None]:
    """Customer id -> the live record it stands for (itself, or the record it was
    merged into, and so on); None: no such record."""
    found: dict[str, str | None] = {}
    wanted = sorted(set(ids))
    for chunk in _chunks(wanted):
        merged_into = dict(
            connection.execute(
                select(customers.c.customer_id, customers.c.merged_into).where(
                    customers.c.customer_id.in_(chunk)
                )
            ).all()
        )
        for customer in chunk:
            found[customer] = _follow(connection, customer, merged_into)
    return found


def _follow(
    connection: Connection, customer: str, merged_into: dict[str, str | None]
) -> str | None:
    if customer not in merged_into:
        return None
    current = customer
    for _ in range(_MERGE_DEPTH):
        into = merged_into[current]
        if into is None:
            return current
        if into not in merged_into:
            row = connection.execute(
                select(customers.c.merged_into).where(customers.c.customer_id == into)
            ).one_or_none()
            if row is None:
                return None
            merged_into[into] = row.merged_into
        current = into
    raise HqError(f"customer {customer}: merged into a loop of records; ask for a repair")


def _by_phone(connection: Connection, phones: Iterable[str]) -> dict[str, str | None]:
    """E.164 number -> the live record of that number (None: none)."""
    wanted = sorted(set(phones))
    found: dict[str, str | None] = dict.fromkeys(wanted)
    for chunk in _chunks(wanted):
        owner = dict(
            connection.execute(
                select(customers.c.phone_e164, customers.c.customer_id).where(
                    customers.c.phone_e164.in_(chunk)
                )
            ).all()
        )
        live = _live(connection, owner.values())
        for phone, customer in owner.items():
            found[phone] = live.get(customer)
    return found


def _chunks(items: Sequence[_T]) -> Iterable[Sequence[_T]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]
