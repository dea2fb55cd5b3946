"""Offline evaluation on a held-out week: hit rate@5 and catalogue coverage.

The last `HELD_OUT` before `now` is the test; everything before it trains (with
`now` at the start of the test week, so nothing of the test is seen).

Each test visit's distinct SKUs, in the order first looked at, give one question
per step: holding the previous SKU (and having seen the ones before it), which
SKU comes next? A recommender answers with its top 5, never a SKU already seen
in the visit, as the kiosk's shelves do.

- hit rate@5: the share of questions whose next SKU is in the top 5;
- coverage: the share of the catalogue (every SKU in the data) that appears in
  at least one answer: a shelf that always shows the same five phones sells
  the same five phones.

Three recommenders: the co-occurrence model (its lists, then popularity to fill,
as kiosks use it), popularity alone, and ALS (implicit's
AlternatingLeastSquares on the visit x SKU matrix; the next SKUs are those whose
item factors score highest against the held SKU's).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from hq.analytics.model.events import SessionEvents
from hq.analytics.model.train import DAMPING, HALF_LIFE_DAYS, Trained, train, visit_matrix

HELD_OUT: Final = timedelta(days=7)
SHELF: Final = 5  # hit rate@5: a welcome row and a product page's shelves hold about that
_CHUNK: Final = 4096  # questions scored at once: 4096 x a 10,000-SKU catalogue is 160 MB
# ALS's settings, tried on bench/model_train.py's data: 32 factors and 10 iterations
# score as well as 64 and 15 in a third of the time; alpha 20 (confidence per unit
# of decayed interest) beat 1 and 40.
ALS_FACTORS: Final = 32
ALS_ITERATIONS: Final = 10
ALS_REGULARISATION: Final = 0.05
ALS_ALPHA: Final = 20.0

Scorer = Callable[[npt.NDArray[np.int32]], npt.NDArray[np.float32]]
"""Held SKUs (one per question) -> a score for every SKU, one row per question."""


@dataclass(frozen=True, slots=True)
class Questions:
    held: npt.NDArray[np.int32]  # the SKU in hand
    next: npt.NDArray[np.int32]  # the SKU looked at next
    seen_rows: npt.NDArray[np.int64]  # (question, SKU) pairs seen before the answer
    seen_cols: npt.NDArray[np.int32]

    def __len__(self) -> int:
        return len(self.held)


@dataclass(frozen=True, slots=True)
class Figures:
    name: str
    hit_rate: float
    coverage: float

    def as_json(self) -> dict[str, Any]:
        return {"hit_rate": round(self.hit_rate, 4), "coverage": round(self.coverage, 4)}


@dataclass(frozen=True, slots=True)
class Evaluation:
    questions: int
    test_from: datetime
    figures: tuple[Figures, ...]  # co-occurrence, popularity, then ALS when run

    def of(self, name: str) -> Figures | None:
        return next((f for f in self.figures if f.name == name), None)

    @property
    def beats_popularity(self) -> bool:
        model, popular = self.of("co-occurrence"), self.of("popularity")
        return model is not None and popular is not None and model.hit_rate > popular.hit_rate

    def as_json(self) -> dict[str, Any]:
        return {
            "questions": self.questions,
            "test_from": self.test_from.isoformat(),
            "figures": {f.name: f.as_json() for f in self.figures},
        }


def questions(test: SessionEvents) -> Questions:
    """One question per step of each visit's distinct SKUs (see the module docstring)."""
    order = np.lexsort((test.at, test.session))
    session, item = test.session[order], test.item[order]
    # Each SKU once per visit, at its first look.
    _, first = np.unique(
        session.astype(np.int64) * len(test.skus) + item.astype(np.int64), return_index=True
    )
    first.sort()
    session, item = session[first], item[first]
    same = session[1:] == session[:-1]
    held, following = item[:-1][same], item[1:][same]
    # Position of each step within its visit: step k (0-based) has seen items 0..k.
    start = np.searchsorted(session, session, side="left")
    position = np.arange(len(session)) - start  # of each distinct SKU in its visit
    question_at = np.flatnonzero(same)  # index of the held SKU of each question
    # Seen pairs: for a question held at index h (visit start s), items s..h.
    lengths = position[question_at] + 1
    seen_rows = np.repeat(np.arange(len(question_at)), lengths)
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    seen_cols = item[np.repeat(start[question_at], lengths) + offsets]
    return Questions(
        held.astype(np.int32),
        following.astype(np.int32),
        seen_rows.astype(np.int64),
        seen_cols.astype(np.int32),
    )


def score(asked: Questions, scorer: Scorer, skus: int, name: str) -> Figures:
    """Hit rate@5 and coverage of one recommender over all questions."""
    hits = 0
    shown = np.zeros(skus, dtype=bool)
    for begin in range(0, len(asked), _CHUNK):
        end = min(begin + _CHUNK, len(asked))
        scores = scorer(asked.held[begin:end]).astype(np.float32, copy=True)
        lo, hi = np.searchsorted(asked.seen_rows, (begin, end))
        scores[asked.seen_rows[lo:hi] - begin, asked.seen_cols[lo:hi]] = -np.inf
        shelf = min(SHELF, skus)
        top = np.argpartition(-scores, shelf - 1, axis=1)[:, :shelf]
        offered = np.take_along_axis(scores, top, axis=1) > -np.inf  # not a seen SKU
        hits += int(((top == asked.next[begin:end, None]) & offered).any(axis=1).sum())
        shown[top[offered]] = True
    return Figures(name, hits / len(asked) if len(asked) else 0.0, shown.mean() if skus else 0.0)


def model_scorer(model: Trained) -> Scorer:
    """The model's lists first (1 + score), then popularity (0..1) to fill up."""
    size = len(model.skus)
    table = np.zeros((size, size), dtype=np.float32)
    table[:] = model.popularity.astype(np.float32)
    table[model.rows, model.cols] = 1 + model.scores.astype(np.float32)
    return lambda held: table[held]


def popularity_scorer(model: Trained) -> Scorer:
    popularity = model.popularity.astype(np.float32)
    return lambda held: np.broadcast_to(popularity, (len(held), len(popularity)))


def als_scorer(visits: sp.csr_matrix, *, seed: int = 0) -> Scorer:
    """ALS (implicit) fitted on the visit x SKU matrix; next SKUs by their factors."""
    from implicit.cpu.als import AlternatingLeastSquares  # noqa: PLC0415 - slow to import
    from threadpoolctl import threadpool_limits  # noqa: PLC0415

    with threadpool_limits(1, "blas"):  # implicit's own threads do the work
        als = AlternatingLeastSquares(
            factors=ALS_FACTORS,
            regularization=ALS_REGULARISATION,
            alpha=ALS_ALPHA,
            iterations=ALS_ITERATIONS,
            random_state=seed,
        )
        als.fit(visits.astype(np.float32), show_progress=False)
    # A visit holding i looks like i's own factors: next SKUs by the dot product, as ALS
    # scores a shopper's preference (cosine, which drops popularity, hit a third less).
    factors = np.asarray(als.item_factors, dtype=np.float32)
    similar = factors @ factors.T
    np.fill_diagonal(similar, -np.inf)
    return lambda held: similar[held]


def evaluate(
    events: SessionEvents,
    *,
    now: datetime,
    half_life_days: float = HALF_LIFE_DAYS,
    damping: float = DAMPING,
    als: bool = True,
) -> Evaluation | None:
    """The three recommenders on the week before `now`; None when that week or the
    time before it holds no visit with two SKUs or more (nothing to learn or ask)."""
    test_from = now - HELD_OUT
    cut = test_from.timestamp()
    test = events.where((events.at > cut) & (events.at <= now.timestamp()))
    asked = questions(test)
    earlier = events.where(events.at <= cut)
    if len(asked) == 0 or len(earlier) == 0:
        return None
    model = train(earlier, now=test_from, half_life_days=half_life_days, damping=damping)
    skus = len(events.skus)
    figures = [
        score(asked, model_scorer(model), skus, "co-occurrence"),
        score(asked, popularity_scorer(model), skus, "popularity"),
    ]
    if als:
        visits = visit_matrix(earlier, now=cut, half_life_days=half_life_days)
        figures.append(score(asked, als_scorer(visits), skus, "ALS (implicit)"))
    return Evaluation(len(asked), test_from, tuple(figures))
