"""Publishing from the console: an uploaded bundle, an edit of prices and stock, scheduling."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime

import httpx2 as httpx
import pytest
from helpers.console import ConsoleChain, ConsoleClient, sign_in, tarball

from hq.console.staff import Role
from hq.content.releases import get_release, list_releases
from hq.content.targeting import Target


@pytest.fixture
def editor(chain: ConsoleChain) -> ConsoleClient:
    chain.add_staff("ana@hq.example", Role.CONTENT_EDITOR)
    client = chain.client()
    sign_in(client, "ana@hq.example")
    return client


def upload(
    client: ConsoleClient, archive: bytes, filename: str = "bundle.tgz", **fields: str
) -> httpx.Response:
    return client.post(
        "/console/publish",
        data={"csrftoken": client.csrf_token(), **fields},
        files=[("bundle", (filename, archive, "application/octet-stream"))],
    )


def test_an_uploaded_bundle_is_published_to_a_region_on_schedule(
    chain: ConsoleChain, editor: ConsoleClient
) -> None:
    answer = upload(
        editor,
        tarball(chain.bundle()),
        name="Spring launch",
        target_kind="region",
        region="east",
        not_before="2026-12-24T09:00",
    )
    assert answer.status_code == 303
    (release,) = list_releases(chain.database)
    assert answer.headers["location"] == f"/console/releases/{release.release_id}/rollout"
    assert release.name == "Spring launch"
    assert release.target == Target("region", "east")
    assert release.created_by == "staff:1"
    # Read in the stores' zone (Asia/Shanghai, UTC+8).
    assert release.not_before == datetime(2026, 12, 24, 1, 0, tzinfo=UTC)
    page = editor.get(answer.headers["location"])
    assert f"Release {release.release_id} published to region:east." in page.text
    (listed,) = editor.get("/console/releases.json").json()["releases"]
    assert (listed["state"], listed["not_before"]) == ("scheduled", "2026-12-24T01:00:00Z")


def test_a_zip_of_the_bundle_folder_itself_publishes_too(
    chain: ConsoleChain, editor: ConsoleClient
) -> None:
    folder = chain.bundle()
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    answer = upload(editor, packed.getvalue(), name="", target_kind="all")
    assert answer.status_code == 303
    assert len(list_releases(chain.database)) == 1


def test_a_bundle_a_kiosk_would_refuse_is_refused_with_every_problem_and_nothing_kept(
    chain: ConsoleChain, editor: ConsoleClient
) -> None:
    folder = chain.bundle()
    catalog = json.loads((folder / "catalog.json").read_text(encoding="utf-8"))
    catalog["products"][0]["price"]["amount"] = "-1.00"
    (folder / "catalog.json").write_text(json.dumps(catalog), encoding="utf-8")
    answer = upload(editor, tarball(folder), target_kind="all")
    assert answer.status_code == 422
    assert "catalog.json" in answer.text
    assert list_releases(chain.database) == []


@pytest.mark.parametrize(
    ("archive", "problem"),
    [
        (b"plain text, not an archive", "not a tar or zip"),
        (b"", "not a tar or zip"),
    ],
)
def test_an_upload_that_is_no_archive_is_refused_with_the_reason(
    chain: ConsoleChain, editor: ConsoleClient, archive: bytes, problem: str
) -> None:
    answer = editor.post(
        "/console/publish.json",
        data={"csrftoken": editor.csrf_token(), "target_kind": "all"},
        files=[("bundle", ("x.tgz", archive, "application/octet-stream"))],
        headers={"x-csrftoken": editor.csrf_token()},
    )
    assert answer.status_code == 422
    assert problem in answer.json()["detail"]


def test_an_edit_publishes_the_changed_prices_and_stock_only(
    chain: ConsoleChain, editor: ConsoleClient
) -> None:
    base = chain.publish("all").release.release_id
    form = editor.get(f"/console/publish/edit.json?base={base}").json()
    first, second = form["products"][0], form["products"][1]
    fields = {
        "base": str(base),
        "target_kind": "store",
        "store": "sh-xujiahui",
        f"price-{first['sku']}": "1999.00",
    }
    # Every product's fields, as the browser sends them: unchanged ones stay as they are.
    for product in form["products"]:
        fields.setdefault(f"price-{product['sku']}", product["price"])
        if product["in_stock"] and product["sku"] != second["sku"]:
            fields[f"stock-{product['sku']}"] = "on"
    answer = editor.form("/console/publish/edit", fields)
    assert answer.status_code == 303, answer.text[:3000]
    edited = list_releases(chain.database)[0]
    assert (edited.source, edited.base_release, str(edited.target)) == (
        "edit",
        base,
        "store:sh-xujiahui",
    )
    products = {
        p["sku"]: p
        for p in editor.get(f"/console/publish/edit.json?base={edited.release_id}").json()[
            "products"
        ]
    }
    assert products[first["sku"]]["price"] == "1999.00"
    assert products[second["sku"]]["in_stock"] is False
    assert products[form["products"][2]["sku"]]["price"] == form["products"][2]["price"]


def test_an_edit_that_changes_nothing_publishes_nothing(
    chain: ConsoleChain, editor: ConsoleClient
) -> None:
    base = chain.publish("all").release.release_id
    answer = editor.post_json("/console/publish/edit.json", {"base": base, "target_kind": "all"})
    assert answer.status_code == 422
    assert "Nothing was changed" in answer.json()["detail"]
    assert len(list_releases(chain.database)) == 1
    assert get_release(chain.database, base).revoked_at is None
