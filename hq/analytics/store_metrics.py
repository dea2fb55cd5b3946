"""Per-store figures for the store map: conversion, CSAT and traffic over a time range.

    per_store(connection, Metric.CSAT, start, end, ["sh-nanjing-road", ...])
        -> {"sh-nanjing-road": 0.82, ...}

Each is one SQL aggregate over HQ's own tables, grouped by store, for events that
occurred in [start, end) (UTC instants; the console turns its days into them):

- traffic: lifts per day, `lift` events / the range's length in days (a store with
  no lift has 0);
- conversion (lift -> sign-up): sign-ups (`member_ids`, by the store and time of
  the sign-up) / shopper sessions with at least one lift (distinct kiosk and
  session of `lift` events); no value for a store without a lift session;
- CSAT: the share of smiley answers (`survey_answers`, kind smiley, 1-4) that are
  a 3 or a 4, the two happy faces; no value for a store without one.

A store missing from the answer has no value for that metric. The interface is
kept narrow on purpose: the analytics rollups can answer it later, unchanged.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, case, func, select

from hq.db import events, member_ids, survey_answers

HAPPY_SMILEY: Final = 3  # smiley scores are 1-4; 3 and 4 are the happy faces
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
    Metric.CSAT: "CSAT (happy smileys)",
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
                return self.signups / self.lift_sessions if self.lift_sessions else None
            case Metric.CSAT:
                return self.happy_answers / self.smiley_answers if self.smiley_answers else None

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


def figures(
    connection: Connection,
    start: datetime,
    end: datetime,
    stores: Iterable[str] | None = None,
    *,
    only: Metric | None = None,
) -> dict[str, StoreFigures]:
    """The counts behind every metric (or only those of `only`), by store id."""
    chosen = None if stores is None else sorted(set(stores))
    if chosen == []:
        return {}
    days = (end - start).total_seconds() / SECONDS_A_DAY
    counts: dict[str, dict[str, int]] = {store_id: {} for store_id in chosen or ()}
    if only in (None, Metric.TRAFFIC):
        _add(counts, _lifts(connection, start, end, chosen), ("lifts",))
    if only in (None, Metric.CONVERSION):
        _add(counts, _lift_sessions(connection, start, end, chosen), ("lift_sessions",))
    if only in (None, Metric.CONVERSION):
        _add(counts, _signups(connection, start, end, chosen), ("signups",))
    if only in (None, Metric.CSAT):
        _add(counts, _smileys(connection, start, end, chosen), ("smiley_answers", "happy_answers"))
    return {store_id: StoreFigures(store_id, days, **found) for store_id, found in counts.items()}


def _add(counts: dict[str, dict[str, int]], rows: Any, names: tuple[str, ...]) -> None:
    for store_id, *values in rows:
        counts.setdefault(store_id, {}).update(
            {name: int(value or 0) for name, value in zip(names, values, strict=True)}
        )


def _lifts(connection: Connection, start: datetime, end: datetime, stores: list[str] | None) -> Any:
    query = (
        select(events.c.store_id, func.count())
        .where(*_lifted(start, end, stores))
        .group_by(events.c.store_id)
    )
    return connection.execute(query)


def _lift_sessions(
    connection: Connection, start: datetime, end: datetime, stores: list[str] | None
) -> Any:
    # A shopper's session is named by its kiosk: the same session text at two kiosks
    # is two shoppers. GROUP BY, not COUNT(DISTINCT): PostgreSQL hashes the one and
    # sorts for the other, twice as slow on a month of a big chain's lifts.
    session = events.c.payload["session"].as_string()
    sessions = (
        select(events.c.store_id)
        .where(*_lifted(start, end, stores))
        .group_by(events.c.store_id, events.c.kiosk_id, session)
        .subquery()
    )
    return connection.execute(
        select(sessions.c.store_id, func.count()).group_by(sessions.c.store_id)
    )


def _lifted(start: datetime, end: datetime, stores: list[str] | None) -> list[Any]:
    where = [events.c.kind == "lift", events.c.occurred_at >= start, events.c.occurred_at < end]
    if stores is not None:
        where.append(events.c.store_id.in_(stores))
    return where


def _signups(
    connection: Connection, start: datetime, end: datetime, stores: list[str] | None
) -> Any:
    query = (
        select(member_ids.c.store_id, func.count())
        .where(member_ids.c.signed_up_at >= start, member_ids.c.signed_up_at < end)
        .group_by(member_ids.c.store_id)
    )
    if stores is not None:
        query = query.where(member_ids.c.store_id.in_(stores))
    return connection.execute(query)


def _smileys(
    connection: Connection, start: datetime, end: datetime, stores: list[str] | None
) -> Any:
    happy = func.sum(case((survey_answers.c.score >= HAPPY_SMILEY, 1), else_=0))
    query = (
        select(survey_answers.c.store_id, func.count(), happy)
        .where(
            survey_answers.c.kind == "smiley",
            survey_answers.c.score.is_not(None),
            survey_answers.c.occurred_at >= start,
            survey_answers.c.occurred_at < end,
        )
        .group_by(survey_answers.c.store_id)
    )
    if stores is not None:
        query = query.where(survey_answers.c.store_id.in_(stores))
    return connection.execute(query)
