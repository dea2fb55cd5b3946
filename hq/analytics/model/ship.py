"""Shipping a model version to stores: a content release with recommender.json in it.

Only a version that beat popularity on its held-out week (hit rate@5) ships;
otherwise ShipRefused says both figures. The release is the newest one (or the
one asked for) with recommender.json added or replaced, made by the release
machinery (hq.content.releases.publish_documents): checked as a kiosk checks a
bundle, stored, signed, sent to the base release's target and audited
("content.model"). The document keeps only SKUs of that release's catalog, so a
region's release never names phones it does not sell.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from content.bundle import CATALOG, RECOMMENDER
from hq.analytics.model import versions
from hq.content import releases
from hq.content.assets import AssetStore
from hq.content.signing import ContentKeys
from hq.content.targeting import Target
from hq.db import Database, content_releases
from hq.errors import HqError


class ShipRefused(HqError):
    """The model was not shipped: it does not beat popularity, or there is nothing to
    ship it in."""


@dataclass(frozen=True, slots=True)
class Shipped:
    version: versions.ModelVersion
    published: releases.Published


def ship(
    database: Database,
    assets: AssetStore,
    keys: ContentKeys,
    *,
    by: str,
    now: datetime,
    model_id: int | None = None,
    base: int | None = None,
    target: Target | str | None = None,
    scratch: Path | None = None,
) -> Shipped:
    version = versions.get(database, model_id)
    _check_beats_popularity(version)
    base_id = base if base is not None else _newest_release(database)
    catalog = releases.release_document(database, assets, base_id, CATALOG)
    if catalog is None:
        raise ShipRefused(f"release {base_id} has no {CATALOG}")
    sold = {product["sku"] for product in json.loads(catalog)["products"]}
    document = for_catalog(version.document, sold)
    published = releases.publish_documents(
        database,
        assets,
        keys,
        base_id,
        {RECOMMENDER: (json.dumps(document, ensure_ascii=False, indent=1) + "\n").encode()},
        source="model",
        name=f"{version.label} on release {base_id}",
        by=by,
        now=now,
        target=target,
        scratch=scratch,
    )
    versions.mark_shipped(database, version.model_id, published.release.release_id)
    return Shipped(version, published)


def _check_beats_popularity(version: versions.ModelVersion) -> None:
    model = version.figures("co-occurrence")
    popular = version.figures("popularity")
    if model is None or popular is None:
        raise ShipRefused(
            f"model {version.model_id} has no held-out week's figures (too little data"
            " before its last week); it is not shipped"
        )
    if model["hit_rate"] <= popular["hit_rate"]:
        raise ShipRefused(
            f"model {version.model_id} does not beat popularity on its held-out week:"
            f" hit rate@5 {model['hit_rate']:.3f} against popularity's"
            f" {popular['hit_rate']:.3f} (coverage {model['coverage']:.3f} against"
            f" {popular['coverage']:.3f}); it is not shipped"
        )


def for_catalog(document: dict[str, Any], sold: set[str]) -> dict[str, Any]:
    """The document without SKUs outside `sold`; each list's scores scaled again so
    its best is 1 (the kiosk mixes by them)."""

    def kept(scored: list[list[Any]]) -> list[list[Any]]:
        pairs = [(sku, float(score)) for sku, score in scored if sku in sold]
        best = max((score for _, score in pairs), default=0.0)
        return [[sku, round(score / best, 4)] for sku, score in pairs] if best > 0 else []

    related = {sku: kept(scored) for sku, scored in document["related"].items() if sku in sold}
    return {
        **document,
        "popularity": kept(document["popularity"]),
        "related": {sku: scored for sku, scored in related.items() if scored},
    }


def _newest_release(database: Database) -> int:
    """The newest release that is neither revoked nor a revocation."""
    with database.read() as connection:
        newest = connection.execute(
            select(content_releases.c.release_id)
            .where(content_releases.c.revoked_at.is_(None), content_releases.c.reverts.is_(None))
            .order_by(content_releases.c.release_id.desc())
            .limit(1)
        ).scalar()
    if newest is None:
        raise ShipRefused("no content release to ship the model in: publish one first")
    return int(newest)
