"""docs/bundle.schema.json matches the models, and real documents pass it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers.bundles import read_json, sample_bundle

from content.schema import DOCUMENT_MODELS, SCHEMA_PATH, main, render_schema


def test_schema_file_is_up_to_date_with_the_models() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == render_schema(), (
        "docs/bundle.schema.json is stale: run python -m content.schema"
    )


def test_check_mode_reports_a_stale_file(tmp_path: Path) -> None:
    stale = tmp_path / "schema.json"
    stale.write_text("{}\n")
    assert main(["--out", str(stale), "--check"]) == 1
    assert main(["--out", str(stale)]) == 0
    assert main(["--out", str(stale), "--check"]) == 0


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


def test_sample_documents_pass_the_schema(
    schema: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    bundle = sample_bundle(tmp_path_factory.mktemp("schema") / "bundle")
    # The sample has every document but HQ's model (tests/unit/hq/test_model_ship.py).
    documents = {
        name: read_json(bundle, name) for name in DOCUMENT_MODELS if (bundle / name).exists()
    }

    jsonschema.validate(documents, schema)


def test_schema_refuses_an_image_path_outside_the_bundle(schema: dict[str, Any]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    item = {"$ref": "#/$defs/PlaylistItem", "$defs": schema["$defs"]}

    jsonschema.validate({"image": "attract/a.jpg"}, item)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"image": "../a.jpg"}, item)
