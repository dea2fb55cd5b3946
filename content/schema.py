"""JSON Schema of every bundle document, generated from the models in `content.model`
(and `content.offers`).

`python -m content.schema` writes docs/bundle.schema.json; `--check` only
reports whether that file is up to date (for CI). HQ's publishing tools and
people editing documents by hand validate against it; the kiosk itself
validates with the pydantic models, so the two cannot drift apart unnoticed
(a test compares them).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from content.bundle import (
    CATALOG,
    COUPONS,
    MANIFEST,
    NOTICES,
    OFFERS,
    OPTIONAL_DOCUMENTS,
    PLANOGRAM,
    PLAYLIST,
    PRIZES,
    RECOMMENDATIONS,
    RECOMMENDER,
    SURVEYS,
)
from content.model import (
    SCHEMA_VERSION,
    Catalog,
    CouponCampaigns,
    Manifest,
    Notices,
    Planogram,
    Playlist,
    PrizeDraws,
    RecommendationModel,
    Recommendations,
    Surveys,
)
from content.offers import Offers

SCHEMA_PATH: Final = Path(__file__).resolve().parent.parent / "docs" / "bundle.schema.json"
DOCUMENT_MODELS: Final[dict[str, type[BaseModel]]] = {
    MANIFEST: Manifest,
    CATALOG: Catalog,
    PLANOGRAM: Planogram,
    PLAYLIST: Playlist,
    RECOMMENDATIONS: Recommendations,
    NOTICES: Notices,
    SURVEYS: Surveys,
    COUPONS: CouponCampaigns,
    PRIZES: PrizeDraws,
    RECOMMENDER: RecommendationModel,
    OFFERS: Offers,
}


def bundle_schema() -> dict[str, Any]:
    """One schema for the bundle seen as {file name: document}; each model under $defs."""
    refs, definitions = models_json_schema(
        [(model, "validation") for model in DOCUMENT_MODELS.values()],
        ref_template="#/$defs/{model}",
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "bundle.schema.json",
        "$comment": (
            "Generated from content/model.py and content/offers.py by"
            " `python -m content.schema`; do not edit."
        ),
        "title": f"Kiosk content bundle, schema_version {SCHEMA_VERSION}",
        "description": (
            "A bundle is a directory; each property here is one JSON file in it."
            " Images are listed in manifest.json with their SHA-256 and size."
            f" Optional: {', '.join(OPTIONAL_DOCUMENTS)} (absent means none)."
            " Validate a single document against #/$defs/<Model>."
        ),
        "type": "object",
        "properties": {
            name: refs[(model, "validation")] for name, model in DOCUMENT_MODELS.items()
        },
        "required": [name for name in DOCUMENT_MODELS if name not in OPTIONAL_DOCUMENTS],
        "$defs": definitions["$defs"],
    }


def render_schema() -> str:
    return json.dumps(bundle_schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m content.schema", description="Write docs/bundle.schema.json."
    )
    parser.add_argument("--out", type=Path, default=SCHEMA_PATH, help="where to write")
    parser.add_argument(
        "--check", action="store_true", help="only check the file is up to date (exit 1 if not)"
    )
    args = parser.parse_args(argv)
    text = render_schema()
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is out of date: run python -m content.schema", file=sys.stderr)
            return 1
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"Wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
