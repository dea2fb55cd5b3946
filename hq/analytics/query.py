"""Sums from the rollup tables over a range of time, read from the smallest table that answers.

A range of UTC instants [begin, end) is read from the month tables for the whole UTC
months inside it, the day tables for the whole days at its edges and the hour
tables for the hours at its two ends, so a year of a chain's stores reads ~12 + 60
+ 48 rows per group, and a range of the stores' local days (any time zone) is
still exact. Without a store filter or a per-store
grouping the chain-wide tables are read; otherwise the per-store ones, only for
the stores asked about.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ARRAY, Connection, String, Table, any_, func, literal, select, union_all

from hq.analytics.rollup import Rollup, start_of

Row = tuple[Any, ...]


def _next(moment: datetime, unit: str) -> datetime:
    """The start of the `unit` after the one `moment` starts (a unit's start)."""
    if unit == "hour":
        return moment + timedelta(hours=1)
    if unit == "day":
        return moment + timedelta(days=1)
    return (moment.replace(day=28) + timedelta(days=4)).replace(day=1)


def _ceil(moment: datetime, unit: str) -> datetime:
    start = start_of(moment, unit)
    return start if start == moment else _next(start, unit)


def parts(begin: datetime, end: datetime) -> list[tuple[str, datetime, datetime]]:
    """("months", "days" or "hours", from, to): the pieces [begin, end) is read in,
    each unit's whole ones in the middle and the finer ones at the edges. `begin`
    and `end` fall on whole hours (local days' edges, in any zone with whole-hour
    offsets; a half-hour zone's edge hour is read whole)."""
    found: list[tuple[str, datetime, datetime]] = []

    def split(start: datetime, stop: datetime, units: list[str]) -> None:
        if start >= stop:
            return
        unit, *finer = units
        if not finer:
            found.append((f"{unit}s", start_of(start, unit), _ceil(stop, unit)))
            return
        first, last = _ceil(start, unit), start_of(stop, unit)
        if first >= last:
            split(start, stop, finer)
            return
        found.append((f"{unit}s", first, last))
        split(start, first, finer)
        split(last, stop, finer)

    split(begin, end, ["month", "day", "hour"])
    return found


def _one_of(connection: Connection, column: Any, values: Sequence[str]) -> Any:
    """`column IN values`; on PostgreSQL as `= ANY(array)`, one parameter: a chain's
    thousand stores as a thousand parameters in each part took half a map's time."""
    if connection.dialect.name == "postgresql":
        return column == any_(literal(sorted(values), ARRAY(String)))
    return column.in_(sorted(values))


def sums(
    connection: Connection,
    rollup: Rollup,
    *,
    begin: datetime,
    end: datetime,
    stores: Sequence[str] | None,
    by: Sequence[str],
    where: Mapping[str, Any] | None = None,
    measures: Sequence[str] | None = None,
    per: str = "hours",
) -> list[Row]:
    """Rows of (`by` columns..., summed `measures`...) over [begin, end).

    `stores`: None for every store; `by` may name "store_id" and "at": then one row
    per hour, or per UTC day with `per="days"` (the range widened to whole days);
    `where`: dimension = value.
    """
    measures = list(measures or rollup.measures)
    per_store = stores is not None or "store_id" in by
    if stores is not None and not stores:
        return []
    if "at" in by:
        unit = per.removesuffix("s")
        pieces = [(per, start_of(begin, unit), _ceil(end, unit))]
    else:
        pieces = parts(begin, end)
    selects = []
    for unit, start, stop in pieces:
        table: Table = rollup.tables[f"{'store' if per_store else 'chain'}_{unit}"]
        query = select(*(table.c[name] for name in by), *(table.c[m] for m in measures)).where(
            table.c.at >= start, table.c.at < stop
        )
        if stores is not None:
            query = query.where(_one_of(connection, table.c.store_id, stores))
        for name, value in (where or {}).items():
            query = query.where(table.c[name] == value)
        selects.append(query)
    union = union_all(*selects).subquery() if len(selects) > 1 else selects[0].subquery()
    grouped = select(
        *(union.c[name] for name in by), *(func.sum(union.c[m]).label(m) for m in measures)
    ).group_by(*(union.c[name] for name in by))
    return [
        (*row[: len(by)], *(int(value or 0) for value in row[len(by) :]))
        for row in connection.execute(grouped)
    ]
