"""Training: item-item co-occurrence in one visit, time-decayed, popularity as the fallback.

Pure and vectorised (numpy, scipy.sparse): `train(events, now=..., ...)` returns a
`Trained` model; nothing here reads or writes the database.

1. Each signal is weighted by its kind (events.py) and decayed by its age at `now`:
   weight * 2 ** (-age / half-life). Signals after `now` are left out.
2. X[visit, sku] sums a visit's decayed weights per SKU (a sparse matrix); B is
   where X is non-zero (the SKUs each visit touched).
3. Co-occurrence C = B^T X: C[i, j] is the decayed interest in j over the visits
   that touched i (asymmetric: a comparison with j counts more than a lift of j).
   The diagonal is dropped.
4. Popularity p[j] is X's column sum. The score of j beside i is
   C[i, j] / p[j] ** damping: damping 0 ranks what is most looked at with i (which
   leans on the best sellers), 1 ranks what goes with i far more than with anything
   (which leans on rare SKUs seen once). Each row keeps its `top_k` best, scaled so
   its best is 1; popularity is scaled so its best is 1 too.

The kiosk ranks by these lists first and fills up from popularity (content.recommend),
as `evaluate.py` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from hq.analytics.model.events import SessionEvents

DAY_SECONDS: Final = 86_400.0
HALF_LIFE_DAYS: Final = 30.0
# A phone's launch month fades over a quarter: what shoppers looked at together last
# month counts half as much as this week's, last season's an eighth.
TOP_K: Final = 10
# Neighbours kept per SKU: three cards on a shelf, four on the welcome, and room for
# the kiosk to skip what is in hand, sold out or another colour of the same phone.
DAMPING: Final = 0.3
# Chosen on bench/model_train.py's data (1 million events, held-out week): 0.3 had
# the best hit rate@5 (0.504; 0.503 at 0, 0.464 at 1) and covered 96% of the
# catalogue (87% at 0): the best sellers crowd the lists less.


@dataclass(frozen=True, slots=True)
class Trained:
    """A trained model: `rows[n]` -> `cols[n]` with `scores[n]`, best first per row."""

    skus: tuple[str, ...]
    popularity: npt.NDArray[np.float64]  # per SKU, the best is 1
    rows: npt.NDArray[np.int32]
    cols: npt.NDArray[np.int32]
    scores: npt.NDArray[np.float64]  # in (0, 1], the best of each row is 1
    now: datetime
    half_life_days: float
    events: int
    visits: int

    def related(self) -> dict[str, tuple[tuple[str, float], ...]]:
        """SKU -> its neighbours with scores, best first (the shipped document's form)."""
        found: dict[str, list[tuple[str, float]]] = {}
        for row, col, score in zip(
            self.rows.tolist(), self.cols.tolist(), self.scores.tolist(), strict=True
        ):
            found.setdefault(self.skus[row], []).append((self.skus[col], round(score, 4)))
        return {sku: tuple(scored) for sku, scored in found.items()}

    def ranked_popularity(self) -> tuple[tuple[str, float], ...]:
        order = np.argsort(-self.popularity, kind="stable")
        return tuple(
            (self.skus[index], round(float(self.popularity[index]), 4))
            for index in order.tolist()
            if self.popularity[index] > 0
        )

    def document(self, version: str) -> dict[str, Any]:
        """recommender.json's content (content.model.RecommendationModel)."""
        return {
            "model": version,
            "trained_at": self.now.isoformat().replace("+00:00", "Z"),
            "half_life_days": self.half_life_days,
            "popularity": [list(pair) for pair in self.ranked_popularity()],
            "related": {
                sku: [list(pair) for pair in scored] for sku, scored in self.related().items()
            },
        }


def decay(age_seconds: npt.NDArray[np.float64], half_life_days: float) -> npt.NDArray[np.float64]:
    """How much a signal of this age still counts: 1 now, 1/2 after one half-life."""
    result: npt.NDArray[np.float64] = np.exp2(-age_seconds / (half_life_days * DAY_SECONDS))
    return result


def visit_matrix(events: SessionEvents, *, now: float, half_life_days: float) -> sp.csr_matrix:
    """X: visits x SKUs, each cell the visit's decayed weight for the SKU."""
    kept = events.at <= now
    _, visit = np.unique(events.session[kept], return_inverse=True)
    values = events.weight[kept] * decay(now - events.at[kept], half_life_days)
    shape = (int(visit.max()) + 1 if len(visit) else 0, len(events.skus))
    matrix = sp.csr_matrix((values, (visit, events.item[kept])), shape=shape)  # sums repeats
    matrix.sum_duplicates()
    return matrix


def train(
    events: SessionEvents,
    *,
    now: datetime,
    half_life_days: float = HALF_LIFE_DAYS,
    top_k: int = TOP_K,
    damping: float = DAMPING,
) -> Trained:
    if half_life_days <= 0:
        raise ValueError("the half-life must be more than 0 days")
    moment = now.timestamp()
    visits = visit_matrix(events, now=moment, half_life_days=half_life_days)
    touched = visits.copy()
    touched.data = np.ones_like(touched.data)
    popularity = np.asarray(visits.sum(axis=0)).ravel().astype(np.float64)
    together = (touched.T @ visits).tocoo()
    off_diagonal = together.row != together.col
    rows = together.row[off_diagonal].astype(np.int32)
    cols = together.col[off_diagonal].astype(np.int32)
    scores = together.data[off_diagonal] / np.power(popularity[cols], damping)
    rows, cols, scores = _best_per_row(rows, cols, scores, top_k)
    best = np.zeros(len(events.skus))
    np.maximum.at(best, rows, scores)
    scores = scores / best[rows]
    top = popularity.max() if len(popularity) else 0.0
    return Trained(
        skus=events.skus,
        popularity=popularity / top if top > 0 else popularity,
        rows=rows,
        cols=cols,
        scores=scores,
        now=now,
        half_life_days=half_life_days,
        events=int(np.count_nonzero(events.at <= moment)),
        visits=visits.shape[0],
    )


def _best_per_row(
    rows: npt.NDArray[np.int32],
    cols: npt.NDArray[np.int32],
    scores: npt.NDArray[np.float64],
    keep: int,
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32], npt.NDArray[np.float64]]:
    """The `keep` highest scores of each row, best first (ties: the lower SKU index)."""
    order = np.lexsort((cols, -scores, rows))
    rows, cols, scores = rows[order], cols[order], scores[order]
    starts = np.searchsorted(rows, rows, side="left")
    rank = np.arange(len(rows)) - starts
    chosen = rank < keep
    return rows[chosen], cols[chosen], scores[chosen]
