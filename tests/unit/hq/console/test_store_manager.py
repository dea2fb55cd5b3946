"""A store manager sees and changes only their own stores' kiosks: 403 otherwise, on
the page and on its JSON twin alike."""

from __future__ import annotations

import pytest
from helpers.console import ConsoleChain, ConsoleClient, sign_in, tarball

from hq.console.staff import Role
from hq.content.releases import get_release, list_releases


@pytest.fixture
def manager(chain: ConsoleChain) -> ConsoleClient:
    """The manager of sh-xujiahui (region east, no tags)."""
    chain.add_staff("wu@hq.example", Role.STORE_MANAGER, ["sh-xujiahui"])
    client = chain.client()
    sign_in(client, "wu@hq.example")
    return client


def test_another_stores_release_is_403_as_a_page_and_as_json(
    chain: ConsoleChain, manager: ConsoleClient
) -> None:
    theirs = chain.publish("store:bj-sanlitun").release.release_id
    for path in (
        f"/console/releases/{theirs}",
        f"/console/releases/{theirs}/rollout",
        f"/console/releases/{theirs}/preview",
        f"/console/releases/{theirs}/revoke",
    ):
        page = manager.get(path)
        assert page.status_code == 403, path
        assert "Not yours to see or change" in page.text
        assert manager.get(f"{path}.json").status_code == 403, path


def test_the_lists_hold_only_what_reaches_their_store(
    chain: ConsoleChain, manager: ConsoleClient
) -> None:
    everywhere = chain.publish("all").release.release_id
    east = chain.publish("region:east").release.release_id
    chain.publish("store:bj-sanlitun")
    chain.publish("tag:flagship")  # sh-nanjing-road and bj-sanlitun, not theirs
    listed = manager.get("/console/releases.json").json()["releases"]
    assert [row["release"] for row in listed] == [east, everywhere]
    assert all(row["kiosks_targeted"] == 1 for row in listed)  # sh-xujiahui-k1 only

    chain.report("sh-xujiahui-k1", active=east)
    chain.report("bj-sanlitun-k1", active=everywhere, failure=(everywhere, "signature", "bad"))
    fleet = manager.get("/console/rollout.json").json()
    assert [store["store_id"] for store in fleet["stores"]] == ["sh-xujiahui"]
    assert fleet["totals"]["kiosks"] == 1
    assert fleet["failures"] == []  # bj-sanlitun's failure is not theirs to see
    rollout = manager.get(f"/console/releases/{everywhere}/rollout.json").json()
    assert [kiosk["kiosk_id"] for kiosk in rollout["kiosks"]] == ["sh-xujiahui-k1"]
    page = manager.get("/console/rollout")
    assert "bj-sanlitun" not in page.text
    assert "上海徐家汇店" in page.text


def test_they_publish_to_their_own_store_and_nowhere_else(
    chain: ConsoleChain, manager: ConsoleClient
) -> None:
    archive = tarball(chain.bundle())
    for fields in (
        {"target_kind": "store", "store": "bj-sanlitun"},
        {"target_kind": "region", "region": "east"},
        {"target_kind": "all"},
        {"target_kind": "tag", "tag": "flagship"},
    ):
        refused = manager.post(
            "/console/publish",
            data={"csrftoken": manager.csrf_token(), **fields},
            files=[("bundle", ("b.tgz", archive, "application/gzip"))],
        )
        assert refused.status_code == 403, fields
    assert list_releases(chain.database) == []
    published = manager.post(
        "/console/publish.json",
        data={"csrftoken": manager.csrf_token(), "target_kind": "store", "store": "sh-xujiahui"},
        files=[("bundle", ("b.tgz", archive, "application/gzip"))],
        headers={"x-csrftoken": manager.csrf_token()},
    )
    assert published.status_code == 201
    assert published.json()["release"]["target"] == "store:sh-xujiahui"


def test_they_edit_the_chains_release_for_their_own_store_only(
    chain: ConsoleChain, manager: ConsoleClient
) -> None:
    base = chain.publish("all").release.release_id
    form = manager.get("/console/publish/edit.json").json()  # what their store runs now
    assert form["edited"]["release"] == base
    assert form["targets"]["kinds"] == ["store"]
    sku = form["products"][0]["sku"]
    for target in ({"target_kind": "all"}, {"target_kind": "store", "store": "bj-sanlitun"}):
        refused = manager.post_json(
            "/console/publish/edit.json", {"base": base, f"price-{sku}": "1.00", **target}
        )
        assert refused.status_code == 403
    done = manager.post_json(
        "/console/publish/edit.json",
        {"base": base, f"price-{sku}": "1.00", "target_kind": "store", "store": "sh-xujiahui"},
    )
    assert done.status_code == 201
    assert done.json()["release"]["target"] == "store:sh-xujiahui"


def test_they_roll_back_their_stores_release_but_not_the_chains(
    chain: ConsoleChain, manager: ConsoleClient
) -> None:
    chains = chain.publish("all").release.release_id
    own = chain.publish("store:sh-xujiahui").release.release_id
    assert manager.get(f"/console/releases/{chains}/revoke").status_code == 403
    refused = manager.post_json(f"/console/releases/{chains}/revoke.json", {"confirm": chains})
    assert refused.status_code == 403
    assert get_release(chain.database, chains).revoked_at is None
    done = manager.post_json(f"/console/releases/{own}/revoke.json", {"confirm": own})
    assert done.status_code == 200
    assert get_release(chain.database, own).revoked_by == "staff:1"


def test_they_see_no_audit_log(manager: ConsoleClient) -> None:
    assert manager.get("/console/audit").status_code == 403
    assert manager.get("/console/audit.json").status_code == 403
