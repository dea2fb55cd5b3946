"""What the model learns from: SKUs looked at together in one visit, as numpy arrays.

One row per signal: the visit it belongs to (a kiosk session, or a till receipt
from an imported sales export), the SKU, when, and how much it says:

- a lift: the shopper picked the phone up (LIFT_WEIGHT);
- a comparison: two phones side by side, each SKU a row (COMPARISON_WEIGHT);
- a purchase: a line of a receipt (PURCHASE_WEIGHT, whatever its quantity: a
  company's order of fifty phones says no more about what goes together than one).

`read_events` reads them from HQ's events and sales tables; benchmarks and tests
build `SessionEvents` from arrays directly. Nothing here names a member: visits
are anonymous, the model learns only what goes with what.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import numpy as np
import numpy.typing as npt
from sqlalchemy import ColumnElement, Float, cast, func, select, type_coerce

from hq.db import Database, events, sales_lines

LIFT_WEIGHT: Final = 1.0
COMPARISON_WEIGHT: Final = 2.0
# Two phones side by side is a stronger "these go together" than two lifts in a visit.
PURCHASE_WEIGHT: Final = 4.0
# Money spent: the strongest signal, and the rarest (a till export, when one is imported).

KINDS: Final = ("lift", "comparison")
# Drops repeat their lift; recommendation taps are the shelves' own suggestions taken,
# which would teach the model its own (or the hand table's) ranking back.


@dataclass(frozen=True, slots=True)
class SessionEvents:
    """Signals as parallel arrays; `item` indexes `skus`, `session` is a visit number."""

    skus: tuple[str, ...]
    session: npt.NDArray[np.int64]
    item: npt.NDArray[np.int32]
    at: npt.NDArray[np.float64]  # POSIX seconds
    weight: npt.NDArray[np.float32]

    def __len__(self) -> int:
        return len(self.item)

    def where(self, keep: npt.NDArray[np.bool_]) -> SessionEvents:
        """The rows where `keep` is true (same SKU numbering)."""
        return SessionEvents(
            self.skus, self.session[keep], self.item[keep], self.at[keep], self.weight[keep]
        )

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, str, float, float]]) -> SessionEvents:
        """From (visit key, SKU, POSIX seconds, weight) rows, in any order."""
        found = _Found()
        for visit, sku, moment, signal in rows:
            found.add(visit, sku, moment, signal)
        return found.events()


class _Found:
    """Rows as they are read, visits and SKUs numbered as they first come (a dict is
    several times faster than numpy's unique over millions of Python strings), kept in
    typed arrays: 8 bytes a number, where a list of Python floats takes 32."""

    def __init__(self) -> None:
        self.visits: dict[str, int] = {}
        self.skus: dict[str, int] = {}
        self.session = array("q")
        self.item = array("l")
        self.at = array("d")
        self.weight = array("f")

    def add(self, visit: str, sku: str, moment: float, signal: float) -> None:
        self.session.append(self.visits.setdefault(visit, len(self.visits)))
        self.item.append(self.skus.setdefault(sku, len(self.skus)))
        self.at.append(moment)
        self.weight.append(signal)

    def events(self) -> SessionEvents:
        # SKUs numbered in name order, so a model reads the same whatever the row order.
        names = sorted(self.skus)
        renumber = np.empty(len(names), dtype=np.int32)
        renumber[[self.skus[name] for name in names]] = np.arange(len(names), dtype=np.int32)
        item = np.frombuffer(self.item, dtype=np.int_) if self.item else np.zeros(0, np.int_)
        return SessionEvents(
            tuple(names),
            np.frombuffer(self.session, dtype=np.int64).copy(),
            renumber[item] if names else np.zeros(0, np.int32),
            np.frombuffer(self.at, dtype=np.float64).copy(),
            np.frombuffer(self.weight, dtype=np.float32).copy(),
        )


def read_events(database: Database, *, until: datetime) -> SessionEvents:
    """Every lift and comparison at every kiosk, and every imported sale, up to `until`."""
    found = _Found()
    # The fields are taken out of the JSON payloads and the times made POSIX seconds by
    # the database: decoding each payload and timestamp in Python took two thirds of
    # the read. One snapshot for both tables; PostgreSQL streams the rows from a
    # server-side cursor, which needs the transaction `snapshot` opens.
    payload = events.c.payload
    query = select(
        events.c.kiosk_id,
        events.c.kind,
        _seconds(database, events.c.occurred_at),
        payload["session"].as_string(),
        payload["sku"].as_string(),
        payload[("skus", 0)].as_string(),
        payload[("skus", 1)].as_string(),
    ).where(events.c.kind.in_(KINDS), events.c.occurred_at <= until)
    sales = select(
        sales_lines.c.store_id,
        sales_lines.c.receipt,
        sales_lines.c.sku,
        _seconds(database, sales_lines.c.sold_at),
    ).where(sales_lines.c.sold_at <= until)
    with database.snapshot() as connection:
        streamed = connection.execution_options(stream_results=True, yield_per=20_000)
        for kiosk, kind, moment, session, sku, first, second in streamed.execute(query):
            if session is None:
                continue
            visit = f"kiosk:{kiosk}:{session}"  # session ids are the kiosk's own
            if kind == "lift":
                if sku is not None:
                    found.add(visit, sku, moment, LIFT_WEIGHT)
            else:
                for compared in (first, second):
                    if compared is not None:
                        found.add(visit, compared, moment, COMPARISON_WEIGHT)
        for store, receipt, sku, moment in streamed.execute(sales):
            found.add(f"sale:{store}:{receipt}", sku, moment, PURCHASE_WEIGHT)
    return found.events()


def _seconds(database: Database, column: ColumnElement[datetime]) -> ColumnElement[float]:
    """A time column as POSIX seconds, computed by the database."""
    if database.is_sqlite:  # kept as UTC text "YYYY-MM-DD HH:MM:SS.ffffff"
        return type_coerce((func.julianday(column) - 2440587.5) * 86400.0, Float)
    return cast(func.extract("epoch", column), Float)  # numeric: a double is enough
