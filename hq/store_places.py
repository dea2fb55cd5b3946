"""Where the chain's stores stand: latitude, longitude and region, as HQ staff set them.

    kiosk-hq store set STORE --lat 31.2353 --lon 121.4747 [--region east]
    kiosk-hq store import stores.csv     store_id,name,region,latitude,longitude

The console's store map (hq.analytics.store_map) places each store by these;
a store without them is listed beside the map. An import is read and checked
whole first (`read_import`, pure): every problem is reported with its file, line
and field, and a file with any problem changes nothing. A good file is applied
in one transaction (`apply_import`): stores it names that HQ lacks are added,
the others updated; a blank cell leaves that field of a known store as it is.
"""

from __future__ import annotations

import csv
import io
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import Connection, select, update

from hq import audit
from hq.content.targeting import LABEL, check_label
from hq.db import Database, stores
from hq.errors import HqError, UnknownStore
from hq.fleet import STORE_ID

_log = logging.getLogger("hq.store_places")

COLUMNS: Final = ("store_id", "name", "region", "latitude", "longitude")
MAX_NAME: Final = 200  # stores.name
MAX_IMPORT_ROWS: Final = 20_000  # a chain's stores, many times over; not a data dump


@dataclass(frozen=True, slots=True)
class Place:
    """A store as the map shows it. Coordinates in degrees (WGS 84); None: not set."""

    store_id: str
    name: str | None
    region: str | None
    latitude: float | None
    longitude: float | None

    @property
    def located(self) -> bool:
        return self.latitude is not None and self.longitude is not None


@dataclass(frozen=True, slots=True)
class ImportRow:
    """One line of an import: None for a blank cell (left as it is)."""

    line: int
    store_id: str
    name: str | None
    region: str | None
    latitude: float | None
    longitude: float | None


class BadPlace(HqError, ValueError):
    """Coordinates or a region HQ cannot use; the message says which and why."""


class ImportRefused(HqError):
    """A file with problems: nothing of it was applied. `problems`: one a line."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        count = len(problems)
        super().__init__(
            f"{source}: {count} problem{'s' if count != 1 else ''}, nothing imported:\n"
            + "\n".join(problems)
        )
        self.problems = tuple(problems)


def coordinate_problem(field: str, value: float) -> str | None:
    """Why `value` is no `field` ("latitude" or "longitude"); None when it is one."""
    limit = 90 if field == "latitude" else 180
    if not math.isfinite(value) or not -limit <= value <= limit:
        return f"{value:g} is not from -{limit} to {limit}"
    return None


def check_coordinates(latitude: float, longitude: float) -> None:
    for field, value in (("latitude", latitude), ("longitude", longitude)):
        problem = coordinate_problem(field, value)
        if problem:
            raise BadPlace(f"{field}: {problem}")


def set_place(
    database: Database,
    store_id: str,
    *,
    latitude: float,
    longitude: float,
    region: str | None = None,
    by: str,
    now: datetime,
) -> Place:
    """Set a known store's coordinates (and region, if given); the store afterwards."""
    check_coordinates(latitude, longitude)
    if region is not None:
        _check_region(region)
    values: dict[str, object] = {"latitude": latitude, "longitude": longitude}
    if region is not None:
        values["region"] = region
    with database.write() as connection:
        changed = connection.execute(
            update(stores).where(stores.c.store_id == store_id).values(**values)
        ).rowcount
        if not changed:
            raise UnknownStore(store_id)
        audit.record(connection, by, "store.place", store_id, values, at=now)
        place = places(connection, [store_id])[0]
    _log.info("store %s placed at %.4f, %.4f", store_id, latitude, longitude)
    return place


def places(connection: Connection, store_ids: Iterable[str] | None = None) -> list[Place]:
    """The stores (only `store_ids`, if given), by store id."""
    query = select(
        stores.c.store_id, stores.c.name, stores.c.region, stores.c.latitude, stores.c.longitude
    ).order_by(stores.c.store_id)
    if store_ids is not None:
        query = query.where(stores.c.store_id.in_(sorted(set(store_ids))))
    return [Place(*row) for row in connection.execute(query)]


# ---------------------------------------------------------------- import


def read_import(data: bytes, source: str) -> list[ImportRow]:
    """The rows of a CSV file (UTF-8, a spreadsheet's BOM allowed), checked whole.

    ImportRefused lists every problem as `SOURCE:LINE: FIELD: what is wrong`."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportRefused(
            source, [f"{source}: not UTF-8 text (byte {error.start}); save it as CSV UTF-8"]
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [cell.strip().lower() for cell in next(reader, [])]
    problems = _header_problems(header, source)
    if problems:
        raise ImportRefused(source, problems)
    rows: list[ImportRow] = []
    seen: dict[str, int] = {}
    for cells in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue  # a blank line, as spreadsheets leave at the end
        if len(rows) >= MAX_IMPORT_ROWS:
            problems.append(f"{source}:{line}: more than {MAX_IMPORT_ROWS} stores in one file")
            break
        row, found = _read_row(dict(zip(header, cells, strict=False)), line, len(cells), header)
        problems += [f"{source}:{line}: {problem}" for problem in found]
        if row is None:
            continue
        if row.store_id in seen:
            problems.append(
                f"{source}:{line}: store_id: {row.store_id} is on line {seen[row.store_id]} too"
            )
        seen.setdefault(row.store_id, line)
        rows.append(row)
    if problems:
        raise ImportRefused(source, problems)
    return rows


def _header_problems(header: list[str], source: str) -> list[str]:
    missing = [name for name in COLUMNS if name not in header]
    unknown = [name for name in header if name not in COLUMNS]
    problems = []
    if missing:
        problems.append(f"{source}:1: header: missing column(s) {', '.join(missing)}")
    if unknown:
        problems.append(
            f"{source}:1: header: unknown column(s) {', '.join(unknown)} "
            f"(the columns are {','.join(COLUMNS)})"
        )
    if len(set(header)) != len(header):
        problems.append(f"{source}:1: header: a column is named twice")
    return problems


def _read_row(
    cells: dict[str, str], line: int, width: int, header: list[str]
) -> tuple[ImportRow | None, list[str]]:
    problems = []
    if width != len(header):
        problems.append(f"{len(header)} cells expected, {width} found")
    store_id = cells.get("store_id", "").strip()
    if not store_id:
        problems.append("store_id: empty")
    elif not STORE_ID.fullmatch(store_id):
        problems.append(f"store_id: {store_id!r} is not a lowercase slug [a-z0-9-]{{2,40}}")
    name = cells.get("name", "").strip() or None
    if name is not None and len(name) > MAX_NAME:
        problems.append(f"name: longer than {MAX_NAME} characters")
    region = cells.get("region", "").strip() or None
    if region is not None and not LABEL.fullmatch(region):
        problems.append(f"region: {region[:40]!r} is not a lowercase slug [a-z0-9-] (1-40)")
    latitude = _number(cells.get("latitude", ""), "latitude", problems)
    longitude = _number(cells.get("longitude", ""), "longitude", problems)
    if (latitude is None) != (longitude is None) and not any(
        problem.startswith(("latitude", "longitude")) for problem in problems
    ):
        problems.append("latitude, longitude: give both or neither")
    if problems:
        return None, problems
    return ImportRow(line, store_id, name, region, latitude, longitude), []


def _number(text: str, field: str, problems: list[str]) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        problems.append(f"{field}: {text[:40]!r} is not a number (decimal degrees, like 31.2304)")
        return None
    problem = coordinate_problem(field, value)
    if problem:
        problems.append(f"{field}: {problem}")
        return None
    return value


def _check_region(region: str) -> None:
    try:
        check_label("region", region)
    except HqError as error:
        raise BadPlace(str(error)) from None


@dataclass(frozen=True, slots=True)
class Imported:
    added: tuple[str, ...]
    updated: tuple[str, ...]


def apply_import(
    database: Database, rows: Sequence[ImportRow], *, by: str, now: datetime
) -> Imported:
    """Apply checked rows in one transaction: new stores added, known ones updated."""
    added, updated = [], []
    with database.write() as connection:
        known = {place.store_id for place in places(connection, [row.store_id for row in rows])}
        for row in rows:
            values = {
                name: value
                for name, value in (
                    ("name", row.name),
                    ("region", row.region),
                    ("latitude", row.latitude),
                    ("longitude", row.longitude),
                )
                if value is not None
            }
            if row.store_id in known:
                if values:
                    connection.execute(
                        update(stores).where(stores.c.store_id == row.store_id).values(**values)
                    )
                updated.append(row.store_id)
            else:
                connection.execute(
                    stores.insert().values(
                        store_id=row.store_id, created_at=now, kiosks_enrolled=0, **values
                    )
                )
                added.append(row.store_id)
            audit.record(connection, by, "store.place", row.store_id, values, at=now)
    _log.info("stores imported: %d added, %d updated", len(added), len(updated))
    return Imported(tuple(added), tuple(updated))
