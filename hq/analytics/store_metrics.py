"""Per-store figures for the store map: conversion, CSAT and traffic over a time range.

    per_store(connection, Metric.CSAT, start, end, ["sh-nanjing-road", ...])
        -> {"sh-nanjing-road": 0.82, ...}

Read from the analytics rollups (hq.analytics.query.sums over rollup_stores_*: whole
months, then days and hours at the edges), so a year of a chain's stores reads a few
dozen rows per store, and with the analytics pages' definitions (hq.analytics.figures)
so the console says one thing, for what occurred in [start, end) (UTC instants on
whole hours; the console turns its days into them):

- traffic: lifts per day, lifts / the range's length in days (a store with no lift
  has 0);
- conversion (lift -> sign-up): sign-ups (`member_signup` events) / kiosk sessions
  with a lift, both counted in the hour they happened (a session at its first lift);
  no value for a store without a lift session;
- CSAT: the share of smiley answers (1-4) that are a 3 or a 4, the top two; no value
  for a store without one.

A store missing from the answer has no value for that metric. The figures are as of
the last rollup (hq.analytics.rollup.rolled_up_to, every 30 s).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection

from hq.analytics import rollup
from hq.analytics.figures import ratio
from hq.analytics.query import sums

SECONDS_A_DAY: Final = 86_400


class Metric(enum.StrEnum):
    CONVERSION = "conversion"
    CSAT = "csat"
    TRAFFIC = "traffic"

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def unit(self) -> str:
        """How a value reads: a share (shown as %) or lifts per day."""
        return "lifts/day" if self is Metric.TRAFFIC else "%"


_LABELS: Final = {
    Metric.CONVERSION: "Conversion (lift → sign-up)",
    Metric.CSAT: "CSAT (top-2 smileys)",
    Metric.TRAFFIC: "Traffic (lifts per day)",
}


@dataclass(frozen=True, slots=True)
class StoreFigures:
    """What a store's metrics are made of, over one range."""

    store_id: str
    days: float
    lifts: int = 0
    lift_sessions: int = 0
    signups: int = 0
    smiley_answers: int = 0
    happy_answers: int = 0

    def value(self, metric: Metric) -> float | None:
        match metric:
            case Metric.TRAFFIC:
                return self.lifts / self.days if self.days > 0 else None
            case Metric.CONVERSION:
                return ratio(self.signups, self.lift_sessions, scale=1.0)
            case Metric.CSAT:
                return ratio(self.happy_answers, self.smiley_answers, scale=1.0)

    def as_json(self) -> dict[str, Any]:
        return {
            "store_id": self.store_id,
            "lifts": self.lifts,
            "lift_sessions": self.lift_sessions,
            "signups": self.signups,
            "smiley_answers": self.smiley_answers,
            "happy_answers": self.happy_answers,
            **{metric.value: self.value(metric) for metric in Metric},
        }


def per_store(
    connection: Connection,
    metric: Metric,
    start: datetime,
    end: datetime,
    stores: Iterable[str] | None = None,
) -> dict[str, float]:
    """`metric` of each store (only `stores`, if given) that has a value, by store id."""
    chosen = None if stores is None else sorted(set(stores))
    found = figures(connection, start, end, chosen, only=metric)
    values = {store_id: fig.value(metric) for store_id, fig in found.items()}
    return {store_id: value for store_id, value in values.items() if value is not None}


# Each metric's counts: StoreFigures' field -> rollup_stores' measure.
_MEASURES: Final = {
    Metric.TRAFFIC: {"lifts": "lifts"},
    Metric.CONVERSION: {"lift_sessions": "lift_sessions", "signups": "signups"},
    Metric.CSAT: {"smiley_answers": "smiley_answers", "happy_answers": "smiley_top"},
}


def figures(
    connection: Connection,
    start: datetime,
    end: datetime,
    stores: Iterable[str] | None = None,
    *,
    only: Metric | None = None,
) -> dict[str, StoreFigures]:
    """The counts behind every metric (or only those of `only`), by store id: every
    store named, and (with `stores` None) every store with one of the counts."""
    chosen = None if stores is None else sorted(set(stores))
    if chosen == []:
        return {}
    days = (end - start).total_seconds() / SECONDS_A_DAY
    names = {
        field: measure
        for metric, fields in _MEASURES.items()
        if only in (None, metric)
        for field, measure in fields.items()
    }
    rows = sums(
        connection,
        rollup.STORES,
        begin=start,
        end=end,
        stores=chosen,
        by=["store_id"],
        measures=list(names.values()),
    )
    found = {
        store_id: StoreFigures(store_id, days, **dict(zip(names, counts, strict=True)))
        for store_id, *counts in rows
        if chosen is not None or any(counts)
    }
    return {
        store_id: found.get(store_id, StoreFigures(store_id, days))
        for store_id in (chosen if chosen is not None else sorted(found))
    }
