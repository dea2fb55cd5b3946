"""The console's customer pages over ASGI: search, a record, duplicates, merge and undo.

Chain admins only; phone numbers and e-mails are masked in pages and JSON alike.
"""

from __future__ import annotations

import pytest
from helpers.console import ConsoleChain, ConsoleClient, sign_in
from helpers.customers import add_demo_customers

from hq.console.staff import Role


@pytest.fixture
def admin(chain: ConsoleChain) -> tuple[ConsoleClient, dict[str, str]]:
    ids = add_demo_customers(chain.database, chain.clock())
    chain.add_staff("ana@hq.example", Role.CHAIN_ADMIN)
    client = chain.client()
    sign_in(client, "ana@hq.example")
    return client, ids


def test_search_a_record_and_its_household_with_numbers_masked(
    admin: tuple[ConsoleClient, dict[str, str]],
) -> None:
    client, ids = admin
    found = client.get("/console/customers.json", params={"q": "138 1234 5678"}).json()
    assert {c["customer_id"] for c in found["customers"]} == {ids["wang"], ids["wang-old"]}
    assert {c["phone"] for c in found["customers"]} == {"+86 138****5678"}
    page = client.get(f"/console/customers/{ids['chen']}")
    assert page.status_code == 200
    assert "13700003333" not in page.text
    assert "+86 137****3333" in page.text
    record = client.get(f"/console/customers/{ids['chen']}.json").json()
    household = {m["customer_id"]: m for m in record["household"]["members"]}
    assert set(household) == {ids["chen-2"], ids["liu"]}
    assert household[ids["liu"]]["same_address"]
    assert record["customer"]["tags"] == 1
    assert [t["kind"] for t in record["timeline"]] == ["drop", "lift"]


def test_review_merge_and_undo_from_the_console(
    admin: tuple[ConsoleClient, dict[str, str]],
) -> None:
    client, ids = admin
    pairs = client.get("/console/customers/duplicates.json").json()["pairs"]
    assert {(p["first"], p["second"], tuple(p["reasons"])) for p in pairs} == {
        (ids["wang"], ids["wang-old"], ("phone",)),
        (ids["li"], ids["li-new"], ("email",)),
        (ids["chen"], ids["chen-2"], ("name_at_address",)),
    }
    query = {"keep": ids["wang"], "other": ids["wang-old"], "reasons": "phone"}
    plan = client.get("/console/customers/merge.json", params=query).json()
    assert plan["withdrawals"] == [{"purpose": "recognition", "channel": None}]
    refused = client.post("/console/customers/merge", data=query)  # no CSRF token
    assert refused.status_code == 403
    assert client.form("/console/customers/merge", {"keep": ids["wang"]}).status_code == 422

    merged = client.form("/console/customers/merge", query)
    assert merged.status_code == 303
    [done] = client.get("/console/customers/merges.json").json()["merges"]
    assert (done["merged_by_name"], done["undone_at"]) == ("Ana", None)
    record = client.get(f"/console/customers/{ids['wang']}.json").json()
    assert record["customer"]["members"] == 2
    assert {c["purpose"]: c["state"] for c in record["consents"]}["recognition"] == "withdrawn"

    undone = client.form(f"/console/customers/merges/{done['merge_id']}/undo")
    assert undone.status_code == 303
    [done] = client.get("/console/customers/merges.json").json()["merges"]
    assert done["undone_by_name"] == "Ana"
    assert client.get(f"/console/customers/{ids['wang']}.json").json()["customer"]["members"] == 1


def test_not_the_same_person_hides_a_pair_and_undo_brings_it_back(
    admin: tuple[ConsoleClient, dict[str, str]],
) -> None:
    client, ids = admin
    pair = {"first": ids["chen"], "second": ids["chen-2"]}
    assert client.post("/console/customers/dismiss", data=pair).status_code == 403  # no CSRF
    assert client.form("/console/customers/dismiss", {"first": ids["chen"]}).status_code == 422
    same = {"first": ids["chen"], "second": ids["chen"]}
    assert client.form("/console/customers/dismiss", same).status_code == 422
    unknown = {"first": ids["chen"], "second": "no-such-record"}
    assert client.form("/console/customers/dismiss", unknown).status_code == 404

    assert client.form("/console/customers/dismiss", pair).status_code == 303
    pairs = client.get("/console/customers/duplicates.json").json()["pairs"]
    assert ids["chen-2"] not in {c for p in pairs for c in (p["first"], p["second"])}
    assert len(pairs) == 2
    [listed] = client.get("/console/customers/merges.json").json()["dismissals"]
    assert {listed["first"], listed["second"]} == {ids["chen"], ids["chen-2"]}
    assert (listed["reasons"], listed["dismissed_by_name"]) == (["name_at_address"], "Ana")
    page = client.get("/console/customers/merges")
    assert 'data-testid="dismissals"' in page.text
    assert "陈静" in page.text  # names, never phone numbers
    assert "13700003333" not in page.text

    undone = client.form("/console/customers/dismissals/undo", pair)
    assert undone.status_code == 303
    assert client.get("/console/customers/merges.json").json()["dismissals"] == []
    assert len(client.get("/console/customers/duplicates.json").json()["pairs"]) == 3
    assert client.form("/console/customers/dismissals/undo", pair).status_code == 404


def test_store_managers_and_content_editors_are_refused(chain: ConsoleChain) -> None:
    ids = add_demo_customers(chain.database, chain.clock())
    chain.add_staff("wu@hq.example", Role.STORE_MANAGER, ["sh-xujiahui"])
    chain.add_staff("li@hq.example", Role.CONTENT_EDITOR)
    for email in ("wu@hq.example", "li@hq.example"):
        client = chain.client()
        sign_in(client, email)
        for path in (
            "/console/customers",
            "/console/customers/duplicates.json",
            f"/console/customers/{ids['wang']}.json",
            "/console/customers/merges",
        ):
            assert client.get(path).status_code == 403, path
        query = {"keep": ids["wang"], "other": ids["wang-old"]}
        assert client.form("/console/customers/merge", query).status_code == 403
        assert client.form("/console/customers/merges/1/undo").status_code == 403
        pair = {"first": ids["chen"], "second": ids["chen-2"]}
        assert client.form("/console/customers/dismiss", pair).status_code == 403
        assert client.form("/console/customers/dismissals/undo", pair).status_code == 403
        assert "/console/customers" not in client.get("/console/releases").text
