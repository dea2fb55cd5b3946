"""Made-up but shop-like visits, for the benchmark and the tests (not real data).

A chain of `skus` phones in families of `family_size` (a brand's range, a price
band). A visit comes with an intent, one family, picked by the families'
popularity that season (it drifts through the year: launches come and go); it
lifts 1 to 5 phones, mostly of that family, some of the best sellers, and
sometimes compares two of them side by side. Popularity is skewed (a few phones
take most lifts), as in a shop. Vectorised: 10 million events in seconds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

import numpy as np
import numpy.typing as npt

from hq.analytics.model.events import COMPARISON_WEIGHT, LIFT_WEIGHT, SessionEvents

VISIT_LENGTHS: Final = (0.35, 0.25, 0.2, 0.12, 0.08)  # share of visits with 1..5 lifts
IN_FAMILY: Final = 0.8  # of lifts within the visit's family; the rest are best sellers
COMPARED: Final = 0.3  # of visits with two phones or more that compare two of them
SEASONS: Final = 12  # the families' popularity changes month by month


def _skewed(count: int, power: float) -> npt.NDArray[np.float64]:
    weights = 1.0 / np.power(np.arange(1, count + 1), power)
    result: npt.NDArray[np.float64] = weights / weights.sum()
    return result


def _draw(rng: np.random.Generator, p: npt.NDArray[np.float64], size: int) -> npt.NDArray[np.int64]:
    drawn: npt.NDArray[np.int64] = np.searchsorted(np.cumsum(p), rng.random(size), side="right")
    return np.minimum(drawn, len(p) - 1)


def generate(
    events: int,
    *,
    skus: int = 300,
    family_size: int = 10,
    end: datetime,
    days: float = 365.0,
    seed: int = 0,
) -> SessionEvents:
    """About `events` signals (exactly, cut at the last visit) over `days` before `end`."""
    rng = np.random.default_rng(seed)
    families = skus // family_size
    mean_length = float(np.dot(np.arange(1, 6), VISIT_LENGTHS))
    per_visit = mean_length + 2 * COMPARED * (1 - VISIT_LENGTHS[0])
    drawn = int(events / per_visit * 1.05) + 10
    length = _draw(rng, np.array(VISIT_LENGTHS), drawn) + 1
    compares = (length >= 2) & (rng.random(drawn) < COMPARED)
    # As many visits as make `events`; the last one may be cut short below.
    visits = int(np.searchsorted(np.cumsum(length + 2 * compares), events)) + 1
    length, compares = length[:visits], compares[:visits]
    start = end.timestamp() - days * 86_400
    began = np.sort(rng.uniform(start, end.timestamp(), visits))
    season = np.minimum(((began - start) / (days * 86_400) * SEASONS).astype(np.int64), SEASONS - 1)
    # Each season its own family popularity: a skewed base, shuffled partly each season.
    base = _skewed(families, 0.8)
    family = np.empty(visits, dtype=np.int64)
    for month in range(SEASONS):
        in_month = np.flatnonzero(season == month)
        weights = base * rng.lognormal(0.0, 0.6, families)
        family[in_month] = _draw(rng, weights / weights.sum(), len(in_month))
    visit = np.repeat(np.arange(visits), length)
    within = _draw(rng, _skewed(family_size, 1.2), len(visit))
    overall = _skewed(skus, 1.0)
    item = np.where(
        rng.random(len(visit)) < IN_FAMILY,
        family[visit] * family_size + within,
        _draw(rng, overall, len(visit)),
    )
    step = np.arange(len(visit)) - np.repeat(np.cumsum(length) - length, length)
    at = began[visit] + step * rng.uniform(15, 60, len(visit))
    weight = np.full(len(visit), LIFT_WEIGHT, dtype=np.float32)
    # Comparisons: the first two lifts of some visits with two or more.
    compared = np.flatnonzero(compares)
    first = np.cumsum(length) - length
    pairs = np.concatenate([first[compared], first[compared] + 1])
    visit = np.concatenate([visit, visit[pairs]])
    item = np.concatenate([item, item[pairs]])
    at = np.concatenate([at, np.tile(at[first[compared] + 1], 2)])  # at the second lift
    weight = np.concatenate([weight, np.full(len(pairs), COMPARISON_WEIGHT, dtype=np.float32)])
    order = np.argsort(visit, kind="stable")
    visit, item, at, weight = visit[order], item[order], at[order], weight[order]
    # Exactly `events`: the last visit may lose its last signals.
    visit, item, at, weight = visit[:events], item[:events], at[:events], weight[:events]
    names = tuple(f"SKU-{index:05d}" for index in range(skus))
    return SessionEvents(
        names, visit.astype(np.int64), item.astype(np.int32), at.astype(np.float64), weight
    )
