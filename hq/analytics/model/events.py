"""What the model learns from: SKUs looked at together in one visit, as numpy arrays.

One row per signal: the visit it belongs to (a kiosk session, or a till receipt
from an imported sales export), the SKU, when, and how much it says:

- a lift: the shopper picked the phone up (LIFT_WEIGHT);
- a comparison: two phones side by side, each SKU a row (COMPARISON_WEIGHT);
- a purchase: a line of a receipt (PURCHASE_WEIGHT).

`read_events` reads them from HQ's events and sales tables; benchmarks and tests
build `SessionEvents` from arrays directly. Nothing here names a member: visits
are anonymous, the model learns only what goes with what.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, select

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
        visits: list[str] = []
        skus: list[str] = []
        at: list[float] = []
        weight: list[float] = []
        for visit, sku, moment, signal in rows:
            visits.append(visit)
            skus.append(sku)
            at.append(moment)
            weight.append(signal)
        names, item = np.unique(np.array(skus, dtype=object), return_inverse=True)
        _, session = np.unique(np.array(visits, dtype=object), return_inverse=True)
        return cls(
            tuple(str(name) for name in names),
            session.astype(np.int64),
            item.astype(np.int32),
            np.array(at, dtype=np.float64),
            np.array(weight, dtype=np.float32),
        )


def read_events(database: Database, *, until: datetime) -> SessionEvents:
    """Every lift and comparison at every kiosk, and every imported sale, up to `until`."""
    # One snapshot for both tables; PostgreSQL streams the rows from a server-side cursor,
    # which needs the transaction `snapshot` opens.
    with database.snapshot() as connection:
        rows = list(_kiosk_rows(connection, until))
        rows += [
            (f"sale:{store}:{receipt}", sku, sold_at.timestamp(), PURCHASE_WEIGHT * quantity)
            for store, receipt, sku, sold_at, quantity in connection.execute(
                select(
                    sales_lines.c.store_id,
                    sales_lines.c.receipt,
                    sales_lines.c.sku,
                    sales_lines.c.sold_at,
                    sales_lines.c.quantity,
                ).where(sales_lines.c.sold_at <= until)
            )
        ]
    return SessionEvents.from_rows(rows)


def _kiosk_rows(connection: Connection, until: datetime) -> Iterable[tuple[str, str, float, float]]:
    query = select(events.c.kiosk_id, events.c.kind, events.c.occurred_at, events.c.payload).where(
        events.c.kind.in_(KINDS), events.c.occurred_at <= until
    )
    for kiosk, kind, occurred_at, payload in connection.execution_options(
        stream_results=True, yield_per=10_000
    ).execute(query):
        session = payload.get("session") if isinstance(payload, dict) else None
        if not isinstance(session, str):
            continue
        visit = f"kiosk:{kiosk}:{session}"  # session ids are the kiosk's own
        moment = occurred_at.timestamp()
        if kind == "lift":
            sku = payload.get("sku")
            if isinstance(sku, str):
                yield visit, sku, moment, LIFT_WEIGHT
        else:
            for sku in payload.get("skus") or ():
                if isinstance(sku, str):
                    yield visit, sku, moment, COMPARISON_WEIGHT
