"""Model versions at HQ: each training's tables and figures, in `recommendation_models`.

A version's `document` is recommender.json's content as it would ship (its
`model` is "hq-model-<id>"); `evaluation` holds the held-out week's figures
(evaluate.Evaluation.as_json), None when there was too little data for one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, insert, select, update

from hq.analytics.model.evaluate import Evaluation
from hq.analytics.model.train import Trained
from hq.db import Database, recommendation_models
from hq.errors import HqError


class UnknownModel(HqError, LookupError):
    def __init__(self, model_id: int | None) -> None:
        super().__init__(
            "no model trained yet: run `kiosk-hq model train`"
            if model_id is None
            else f"no model version {model_id}"
        )


@dataclass(frozen=True, slots=True)
class ModelVersion:
    model_id: int
    trained_at: datetime
    created_at: datetime
    created_by: str
    half_life_days: float
    events: int
    visits: int
    evaluation: dict[str, Any] | None
    document: dict[str, Any]
    shipped_release: int | None

    @property
    def label(self) -> str:
        return f"hq-model-{self.model_id}"

    def figures(self, name: str) -> dict[str, float] | None:
        if self.evaluation is None:
            return None
        found: dict[str, float] | None = self.evaluation.get("figures", {}).get(name)
        return found


def save(
    database: Database,
    trained: Trained,
    evaluation: Evaluation | None,
    *,
    by: str,
    now: datetime,
) -> ModelVersion:
    with database.write() as connection:
        model_id = int(
            connection.execute(
                insert(recommendation_models)
                .values(
                    trained_at=trained.now,
                    created_at=now,
                    created_by=by,
                    half_life_days=trained.half_life_days,
                    events=trained.events,
                    visits=trained.visits,
                    evaluation=None if evaluation is None else evaluation.as_json(),
                    document={},
                )
                .returning(recommendation_models.c.model_id)
            ).scalar_one()
        )
        connection.execute(
            update(recommendation_models)
            .where(recommendation_models.c.model_id == model_id)
            .values(document=trained.document(f"hq-model-{model_id}"))
        )
    return get(database, model_id)


def get(database: Database, model_id: int | None = None) -> ModelVersion:
    """Version `model_id`, or the newest; UnknownModel if there is none."""
    query = select(recommendation_models)
    if model_id is None:
        query = query.order_by(recommendation_models.c.model_id.desc()).limit(1)
    else:
        query = query.where(recommendation_models.c.model_id == model_id)
    with database.read() as connection:
        row = connection.execute(query).first()
    if row is None:
        raise UnknownModel(model_id)
    return _version(row)


def mark_shipped(database: Database, model_id: int, release_id: int) -> None:
    with database.write() as connection:
        connection.execute(
            update(recommendation_models)
            .where(recommendation_models.c.model_id == model_id)
            .values(shipped_release=release_id)
        )


def _version(row: Row[Any]) -> ModelVersion:
    return ModelVersion(
        model_id=int(row.model_id),
        trained_at=row.trained_at,
        created_at=row.created_at,
        created_by=row.created_by,
        half_life_days=float(row.half_life_days),
        events=int(row.events),
        visits=int(row.visits),
        evaluation=row.evaluation,
        document=row.document,
        shipped_release=row.shipped_release,
    )
