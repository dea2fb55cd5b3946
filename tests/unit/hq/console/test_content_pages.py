"""The console's content pages and their JSON twins: releases, rollout, preview, roll back,
the audit log."""

from __future__ import annotations

import re

import pytest
from helpers.console import ConsoleChain, ConsoleClient, sign_in

from hq.console.staff import Role
from hq.content.releases import get_release, list_releases


@pytest.fixture
def admin(chain: ConsoleChain) -> ConsoleClient:
    chain.add_staff("wang@hq.example", Role.CHAIN_ADMIN)
    client = chain.client()
    sign_in(client, "wang@hq.example")
    return client


def test_every_page_answers_json_at_its_address_plus_json(
    chain: ConsoleChain, admin: ConsoleClient
) -> None:
    release = chain.publish("all").release.release_id
    for path in (
        "/console/releases",
        f"/console/releases/{release}",
        f"/console/releases/{release}/rollout",
        f"/console/releases/{release}/preview",
        f"/console/releases/{release}/revoke",
        "/console/rollout",
        "/console/publish",
        "/console/publish/edit",
        "/console/audit",
    ):
        page = admin.get(path)
        twin = admin.get(f"{path}.json")
        assert page.status_code == twin.status_code == 200, path
        assert page.headers["content-type"].startswith("text/html")
        assert twin.headers["content-type"] == "application/json"
        assert f'href="{path}.json"' in page.text  # each page links its twin


def test_the_rollout_counts_kiosks_by_where_they_are_with_failure_reasons(
    chain: ConsoleChain, admin: ConsoleClient
) -> None:
    release = chain.publish("all").release.release_id
    chain.report("sh-nanjing-road-k1", active=release)
    chain.report("sh-nanjing-road-k2", downloading=(release, 250, 1000))
    chain.report("sh-xujiahui-k1", ready=[release])
    chain.report("bj-sanlitun-k1", failure=(release, "asset_hash", "pictures/a.jpg does not match"))
    data = admin.get(f"/console/releases/{release}/rollout.json").json()
    assert data["progress"] == {
        "done": 1,
        "ready": 1,
        "moving": 1,
        "failed": 1,
        "waiting": 1,
        "superseded": 0,
        "total": 5,
    }
    assert data["failure_reasons"] == {"asset_hash": 1}
    downloading = next(k for k in data["kiosks"] if k["kiosk_id"] == "sh-nanjing-road-k2")
    assert downloading["progress"] == 0.25
    page = admin.get(f"/console/releases/{release}/rollout")
    assert "pictures/a.jpg does not match" in page.text
    assert 'data-live="5"' in page.text  # refreshes itself (static/console.js)
    assert '<meta http-equiv="refresh"' in page.text  # and without JavaScript

    fleet = admin.get("/console/rollout.json").json()
    assert fleet["totals"] == {"kiosks": 5, "current": 1, "downloading": 1, "silent": 1}
    assert [f["reason"] for f in fleet["failures"]] == ["asset_hash"]


def test_the_preview_shows_a_product_as_the_kiosk_does_with_its_picture(
    chain: ConsoleChain, admin: ConsoleClient
) -> None:
    release = chain.publish("all").release.release_id
    data = admin.get(f"/console/releases/{release}/preview.json").json()
    product = data["product"]
    assert product["price"].startswith("¥")
    assert [spec["label"] for spec in product["specs"]][:3] == ["屏幕", "刷新率", "处理器"]
    assert data["related"], "the kiosk's related models"
    assert all(card["sku"] != product["sku"] for card in data["related"])
    english = admin.get(f"/console/releases/{release}/preview.json?lang=en&sku={product['sku']}")
    assert english.json()["product"]["specs"][0]["label"] == "Display"

    page = admin.get(f"/console/releases/{release}/preview")
    assert product["name"] in page.text
    picture = admin.get(product["pictures"][0])
    assert picture.status_code == 200
    assert picture.headers["content-type"] in {"image/jpeg", "image/png"}


def test_only_files_of_the_release_are_served_as_its_pictures(
    chain: ConsoleChain, admin: ConsoleClient
) -> None:
    release = chain.publish("all").release.release_id
    picture = admin.get(f"/console/releases/{release}/preview.json").json()["product"]["pictures"][
        0
    ]
    sha256 = picture.rsplit("/", 1)[1]
    assert admin.get(f"/console/releases/{release}/assets/{'0' * 64}").status_code == 404
    assert admin.get(f"/console/releases/{release}/assets/..%2F..%2Fhq.sqlite3").status_code == 404
    other = chain.publish("all", name="other").release.release_id
    assert admin.get(f"/console/releases/{other}/assets/{sha256}").status_code == 200  # shared file
    assert admin.get(f"/console/releases/999/assets/{sha256}").status_code == 404


def test_rolling_back_asks_for_the_number_then_sends_kiosks_to_the_release_before(
    chain: ConsoleChain, admin: ConsoleClient
) -> None:
    before = chain.publish("all").release.release_id
    bad = chain.publish("region:east").release.release_id
    confirm = admin.get(f"/console/releases/{bad}/revoke.json").json()
    assert confirm["back_to"] == {"sh-nanjing-road": before, "sh-xujiahui": before}
    page = admin.get(f"/console/releases/{bad}/revoke")
    assert f'data-confirm="{bad}"' in page.text

    wrong = admin.form(f"/console/releases/{bad}/revoke", {"confirm": str(before)})
    assert wrong.status_code == 422
    assert get_release(chain.database, bad).revoked_at is None

    done = admin.form(f"/console/releases/{bad}/revoke", {"confirm": str(bad)})
    assert done.status_code == 303
    replacement = list_releases(chain.database)[0]
    assert replacement.reverts == bad
    assert done.headers["location"] == f"/console/releases/{replacement.release_id}/rollout"
    assert get_release(chain.database, bad).revoked_by == "staff:1"
    listed = {
        r["release"]: r["state"] for r in admin.get("/console/releases.json").json()["releases"]
    }
    assert listed[bad] == "revoked"
    assert listed[replacement.release_id] == "rollback"
    again = admin.form(f"/console/releases/{bad}/revoke", {"confirm": str(bad)})
    assert again.status_code == 422
    assert "revoked already" in again.text


def test_the_audit_log_names_console_staff_and_says_what_they_did(
    chain: ConsoleChain, admin: ConsoleClient
) -> None:
    release = chain.publish("all").release.release_id
    admin.form(f"/console/releases/{release}/revoke", {"confirm": str(release)})
    entries = admin.get("/console/audit.json").json()["entries"]
    revoked = next(entry for entry in entries if entry["action"] == "content.revoke")
    assert (revoked["actor"], revoked["actor_name"]) == ("staff:1", "Wang")
    only = admin.get("/console/audit.json?action=content.revoke").json()["entries"]
    assert {entry["action"] for entry in only} == {"content.revoke"}
    page = admin.get("/console/audit")
    assert re.search(r"content\.publish", page.text)


def test_a_content_editor_sees_no_audit_log(chain: ConsoleChain) -> None:
    chain.add_staff("ana@hq.example", Role.CONTENT_EDITOR)
    client = chain.client()
    sign_in(client, "ana@hq.example")
    assert client.get("/console/audit.json").status_code == 403
    assert "Audit log" not in client.get("/console/releases").text


def test_an_unknown_release_is_404(admin: ConsoleClient) -> None:
    assert admin.get("/console/releases/42").status_code == 404
    assert admin.get("/console/releases/42.json").json() == {"detail": "There is no release 42."}


def test_a_chain_admin_disables_a_colleague_from_the_staff_page(
    chain: ConsoleChain, admin: ConsoleClient
) -> None:
    chain.add_staff("ana@hq.example", Role.CONTENT_EDITOR)
    colleague = chain.client()
    sign_in(colleague, "ana@hq.example")
    listed = admin.get("/console/staff.json").json()["staff"]
    assert [(s["name"], s["role"], s["is_you"]) for s in listed] == [
        ("Wang", "chain_admin", True),
        ("Ana", "content_editor", False),
    ]
    assert admin.form("/console/staff/1/disable").status_code == 422  # not yourself
    done = admin.form("/console/staff/2/disable")
    assert done.status_code == 303
    assert colleague.get("/console/releases.json").status_code == 401
    assert colleague.get("/console/staff.json").status_code == 401
    entries = admin.get("/console/audit.json?action=staff.disable").json()["entries"]
    assert [(e["actor_name"], e["target_name"]) for e in entries] == [("Wang", "Ana")]


def test_only_chain_admins_see_the_staff_page(chain: ConsoleChain) -> None:
    chain.add_staff("ana@hq.example", Role.CONTENT_EDITOR)
    client = chain.client()
    sign_in(client, "ana@hq.example")
    assert client.get("/console/staff").status_code == 403
    assert client.form("/console/staff/1/disable.json").status_code == 403
