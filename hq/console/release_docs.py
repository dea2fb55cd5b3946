"""A release's bundle documents, read back from HQ's asset store for the console.

The edit page lists the catalog's products; the preview builds the bundle as a
kiosk would hold it (catalog, planogram, playlist, recommendations) to show a
product screen. Documents are parsed with the kiosk's own models
(`content.bundle.parse_document`), so what the console shows is what a kiosk
accepted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from content.bundle import (
    CATALOG,
    DOCUMENT_MAX_BYTES,
    PLANOGRAM,
    PLAYLIST,
    RECOMMENDATIONS,
    Bundle,
    parse_document,
)
from content.model import (
    SCHEMA_VERSION,
    AssetEntry,
    Catalog,
    Manifest,
    Planogram,
    Playlist,
    Recommendations,
)
from hq.content.assets import AssetStore
from hq.content.releases import release_files
from hq.db import Database
from hq.errors import HqError

_M = TypeVar("_M", bound=BaseModel)


class ReleaseUnreadable(HqError):
    """The release's documents cannot be read back (missing from the asset store)."""


def _document(
    assets: AssetStore, files: dict[str, tuple[str, int]], name: str, model: type[_M]
) -> _M:
    if name not in files:
        raise ReleaseUnreadable(f"the release has no {name}")
    sha256, size = files[name]
    if size > DOCUMENT_MAX_BYTES:
        raise ReleaseUnreadable(f"{name} is larger than a kiosk reads")
    try:
        with assets.open(sha256) as file:
            data = file.read()
    except FileNotFoundError:
        raise ReleaseUnreadable(f"{name} is missing from HQ's asset store") from None
    return parse_document(model, data)


def catalog_rows(database: Database, assets: AssetStore, release_id: int) -> list[dict[str, Any]]:
    """The release's products as the edit page lists them."""
    files = release_files(database, release_id)
    catalog = _document(assets, files, CATALOG, Catalog)
    rows = []
    for product in catalog.products:
        picture = product.images[0]
        rows.append(
            {
                "sku": product.sku,
                "brand": product.brand,
                "name_zh": product.name.zh_cn,
                "name_en": product.name.en,
                "colour_zh": product.colour.zh_cn,
                "colour_en": product.colour.en,
                "price": str(product.price.amount),
                "currency": product.price.currency,
                "in_stock": product.in_stock,
                "picture": files[picture][0] if picture in files else None,
            }
        )
    return rows


def preview_bundle(
    database: Database, assets: AssetStore, release_id: int, bundle_release: str
) -> tuple[Bundle, dict[str, tuple[str, int]]]:
    """The release as a kiosk would load it (pictures stay in the asset store), and its
    files by path (to serve pictures by hash)."""
    files = release_files(database, release_id)
    manifest = Manifest(
        schema_version=SCHEMA_VERSION,
        release=bundle_release,
        created_at="2000-01-01T00:00:00Z",
        assets=tuple(
            AssetEntry(path=path, sha256=sha, size=size) for path, (sha, size) in files.items()
        ),
    )
    bundle = Bundle(
        root=Path("/nonexistent"),
        manifest=manifest,
        catalog=_document(assets, files, CATALOG, Catalog),
        planogram=_document(assets, files, PLANOGRAM, Planogram),
        playlist=_document(assets, files, PLAYLIST, Playlist),
        recommendations=_document(assets, files, RECOMMENDATIONS, Recommendations),
    )
    return bundle, files
