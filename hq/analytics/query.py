"""Sums from the rollup tables over a range of time, read from the smallest table that answers.

A range of UTC instants [begin, end) is read from the day tables for the whole UTC
days inside it and from the hour tables for the hours at its two edges, so a
year of a chain's stores reads ~365 rows per group, and a range of the stores'
local days (any time zone) is still exact. Without a store filter or a per-store
grouping the chain-wide tables are read; otherwise the per-store ones, only for
the stores asked about.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, Table, func, select, union_all

from hq.analytics.rollup import Rollup

Row = tuple[Any, ...]


def _day_start(moment: datetime) -> datetime:
    return datetime.combine(moment.astimezone(UTC).date(), time(), UTC)


def parts(begin: datetime, end: datetime) -> list[tuple[str, datetime, datetime]]:
    """("days" or "hours", from, to): the pieces [begin, end) is read in."""
    first_day = _day_start(begin)
    if first_day < begin:
        first_day += timedelta(days=1)
    last_day = _day_start(end)
    if first_day >= last_day:
        return [("hours", begin, end)]
    found = [("days", first_day, last_day)]
    if begin < first_day:
        found.append(("hours", begin, first_day))
    if last_day < end:
        found.append(("hours", last_day, end))
    return found


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
    hourly: bool = False,
) -> list[Row]:
    """Rows of (`by` columns..., summed `measures`...) over [begin, end).

    `stores`: None for every store; `by` may name "at" (then `hourly`: only hour
    tables are read, one row per hour) and "store_id"; `where`: dimension = value.
    """
    measures = list(measures or rollup.measures)
    per_store = stores is not None or "store_id" in by
    if stores is not None and not stores:
        return []
    pieces = [("hours", begin, end)] if hourly or "at" in by else parts(begin, end)
    selects = []
    for unit, start, stop in pieces:
        table: Table = rollup.tables[f"{'store' if per_store else 'chain'}_{unit}"]
        query = select(*(table.c[name] for name in by), *(table.c[m] for m in measures)).where(
            table.c.at >= start, table.c.at < stop
        )
        if stores is not None:
            query = query.where(table.c.store_id.in_(sorted(stores)))
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
