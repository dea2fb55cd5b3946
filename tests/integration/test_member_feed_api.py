"""The member feed and tag binding over real HTTP on loopback, on SQLite and on PostgreSQL.

The module's HQ is shared: each test makes its own members and tags and looks
only at those (other tests' entries are in the same feed).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from helpers.hq import ADMIN_TOKEN, Hq, KioskClient, consent_payload, signup_payload
from sqlalchemy import make_url, select

from hq.db import Database, metadata

FEED = "/v1/members/feed"


def new_fob() -> str:
    """A fresh fob number, as printed on the fob: ten digits."""
    return f"{uuid.uuid4().int % 2**32:010d}"


def new_phone() -> str:
    return f"139{uuid.uuid4().int % 10**8:08d}"


class Till:
    """A kiosk sending one event per request: the next seq, a second after the last."""

    def __init__(self, hq: Hq) -> None:
        self.hq = hq
        self.kiosk = hq.kiosk()
        self.seq = 0
        self.clock = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

    def send(self, kind: str, payload: dict[str, Any]) -> None:
        self.seq += 1
        self.clock += timedelta(seconds=1)
        answer = self.kiosk.post(
            [self.kiosk.event(self.seq, kind, payload, occurred_at=self.clock.isoformat())]
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["results"][0]["status"] == "accepted", answer.text


class Shopper:
    """A member who signed up at `till`."""

    def __init__(self, till: Till, **signup: Any) -> None:
        self.hq = till.hq
        self.till = till
        self.member = str(uuid.uuid4())
        self.phone = new_phone()
        self.send("member_signup", signup_payload(self.member, self.phone, **signup))

    def send(self, kind: str, payload: dict[str, Any]) -> None:
        self.till.send(kind, payload)

    def consent(self, *, given: bool = True, purpose: str = "recognition") -> None:
        self.send("consent", consent_payload(self.member, purpose, given=given))

    def lift(self, sku: str) -> None:
        self.send("lift", {"session": "s1", "slot": 1, "sku": sku, "member_id": self.member})

    def bind(self, fob: str | None = None) -> str:
        """Staff bind a fob to the member; its tag hash."""
        answer = self.hq.admin_post(
            f"/v1/admin/customers/{self.member}/tags",
            {"kind": "rfid", "value": fob or new_fob()},
        )
        assert answer.status_code == 201, answer.text
        tag_hash: str = answer.json()["tag_hash"]
        return tag_hash


def get_feed(kiosk: KioskClient, **params: Any) -> requests.Response:
    return kiosk.session.get(f"{kiosk.base_url}{FEED}", params=params, timeout=30)


def page(kiosk: KioskClient, since: int, limit: int | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"since": since}
    if limit is not None:
        params["limit"] = limit
    answer = get_feed(kiosk, **params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def latest(kiosk: KioskClient) -> int:
    """The feed's version now: where a kiosk that holds everything stands."""
    version: int = page(kiosk, 0, 1)["version"]
    while True:
        body = page(kiosk, version, 20_000)
        if not body["more"]:
            return int(body["version"])
        version = body["version"]


def snapshot(kiosk: KioskClient) -> dict[str, dict[str, Any]]:
    """Everything the feed holds, by tag hash, as a kiosk builds it from since=0."""
    held: dict[str, dict[str, Any]] = {}
    since, first = 0, True
    while True:
        body = page(kiosk, since, 20_000)
        assert body["reset"] is first
        first = False
        for entry in body["upserts"]:
            held[entry["tag_hash"]] = entry
        for removed in body["removed"]:
            held.pop(removed, None)
        since = body["version"]
        if not body["more"]:
            return held


# ---------------------------------------------------------------- who is in the feed


def test_only_members_who_said_yes_to_recognition_appear(hq: Hq) -> None:
    till = Till(hq)
    kiosk = till.kiosk
    yes, no, marketing = Shopper(till), Shopper(till), Shopper(till)
    yes.consent()
    no.consent(given=False)
    marketing.consent(purpose="marketing")
    tags = {shopper.member: shopper.bind() for shopper in (yes, no, marketing)}
    held = snapshot(kiosk)
    assert held[tags[yes.member]]["member_id"] == yes.member
    assert tags[no.member] not in held
    assert tags[marketing.member] not in held


def test_the_greeting_name_is_there_only_for_members_who_allowed_it(hq: Hq) -> None:
    till = Till(hq)
    kiosk = till.kiosk
    named = Shopper(till, name="王芳", greet_by_name=True)
    shy = Shopper(till, name="李伟")
    for shopper in (named, shy):
        shopper.consent()
    named_tag, shy_tag = named.bind(), shy.bind()
    held = snapshot(kiosk)
    assert held[named_tag]["greeting_name"] == "王芳"
    assert held[shy_tag]["greeting_name"] is None
    assert held[shy_tag] == {
        "tag_hash": shy_tag,
        "member_id": shy.member,
        "greeting_name": None,
        "last_viewed": [],
        "tier": None,  # only with marketing consent
        "last_seen": None,  # no phone lifted yet
        "personalised": False,  # no personalisation consent
        "marketing": False,  # no marketing consent: no offers, and no tier, tags, month
        "tags": [],
        "birth_month": None,
    }


def test_last_viewed_follows_the_members_lifts_in_the_next_delta(hq: Hq) -> None:
    till = Till(hq)
    kiosk = till.kiosk
    shopper = Shopper(till)
    shopper.consent()
    tag = shopper.bind()
    for sku in ("P-1", "P-2", "P-3"):
        shopper.lift(sku)
    since = latest(kiosk)
    shopper.lift("P-1")
    delta = page(kiosk, since)
    (entry,) = [e for e in delta["upserts"] if e["tag_hash"] == tag]
    assert entry["last_viewed"] == ["P-1", "P-3", "P-2"]
    assert delta["version"] > since
    assert delta["reset"] is False


@pytest.mark.parametrize("how", ["withdrawal", "withdrawal at hq", "erasure", "unbinding"])
def test_a_member_leaves_the_feed_in_the_next_delta(hq: Hq, how: str) -> None:
    till = Till(hq)
    kiosk = till.kiosk
    shopper, stays = Shopper(till), Shopper(till)
    shopper.consent()
    stays.consent()
    tag, kept = shopper.bind(), stays.bind()
    since = latest(kiosk)
    match how:
        case "withdrawal":
            shopper.consent(given=False)
        case "withdrawal at hq":
            answer = withdraw(hq, shopper.member, "recognition")
            assert answer.status_code == 200, answer.text
            assert answer.json()["feed_entries_removed"] == 1
        case "erasure":
            answer = hq.admin_post(f"/v1/admin/customers/{shopper.member}/erase")
            assert answer.status_code == 200, answer.text
            assert answer.json()["member_ids"] == [shopper.member]
        case "unbinding":
            answer = hq.admin_delete(f"/v1/admin/customers/{shopper.member}/tags/{tag}")
            assert answer.status_code == 200, answer.text
    delta = page(kiosk, since)
    assert delta["removed"] == [tag]
    assert delta["upserts"] == []
    held = snapshot(kiosk)
    assert tag not in held
    assert kept in held


def withdraw(hq: Hq, member: str, purpose: str, by: str | None = None) -> requests.Response:
    body = {"purpose": purpose} if by is None else {"purpose": purpose, "by": by}
    return hq.admin_post(f"/v1/admin/customers/{member}/consents/withdraw", body)


def test_a_withdrawal_staff_took_by_phone_is_in_the_consent_history_with_who_and_when(
    hq: Hq,
) -> None:
    shopper = Shopper(Till(hq))
    shopper.send("consent", consent_payload(shopper.member, "marketing", given=True, channel="sms"))
    answer = withdraw(hq, shopper.member, "marketing", by="hotline-7")
    assert answer.status_code == 200, answer.text
    recorded = answer.json()
    assert (recorded["channels"], recorded["recorded_by"]) == ([None, "sms"], "hotline-7")

    (customer,) = hq.admin_get("/v1/admin/customers", phone=shopper.phone).json()["customers"]
    timeline = hq.admin_get(f"/v1/admin/customers/{customer['customer_id']}/timeline").json()
    withdrawn = [c for c in timeline["consent_history"] if c["source"] == "hq"]
    assert {(c["channel"], c["state"], c["recorded_by"]) for c in withdrawn} == {
        (None, "withdrawn", "hotline-7"),
        ("sms", "withdrawn", "hotline-7"),
    }
    assert {c["occurred_at"] for c in withdrawn} == {recorded["recorded_at"]}
    assert all(c["store_id"] is None and c["kiosk_id"] is None for c in withdrawn)
    # The kiosk's sms decision keeps the notice it was given under; now it is withdrawn.
    marketing = {c["channel"]: c for c in timeline["consents"] if c["purpose"] == "marketing"}
    assert marketing["sms"]["state"] == "withdrawn"
    assert marketing["sms"]["notice_version"] == "2026-11"


def test_a_withdrawal_needs_a_known_member_and_a_purpose(hq: Hq) -> None:
    shopper = Shopper(Till(hq))
    assert withdraw(hq, str(uuid.uuid4()), "marketing").status_code == 404
    for purpose in ("newsletter", ""):
        answer = withdraw(hq, shopper.member, purpose)
        assert answer.status_code == 422, answer.text
    assert withdraw(hq, shopper.member, "marketing", by="x" * 65).status_code == 422
    erased = hq.admin_post(f"/v1/admin/customers/{shopper.member}/erase")
    assert erased.status_code == 200
    assert withdraw(hq, shopper.member, "marketing").status_code == 404


# ---------------------------------------------------------------- paging and resets


def test_pages_follow_the_versions_until_there_are_no_more(hq: Hq) -> None:
    till = Till(hq)
    kiosk = till.kiosk
    since = latest(kiosk)
    shoppers = [Shopper(till) for _ in range(7)]
    for shopper in shoppers:
        shopper.consent()
    tags = [shopper.bind() for shopper in shoppers]
    seen: list[str] = []
    versions = [since]
    while True:
        body = page(kiosk, versions[-1], limit=3)
        assert len(body["upserts"]) <= 3
        seen += [entry["tag_hash"] for entry in body["upserts"]]
        versions.append(body["version"])
        if not body["more"]:
            break
    assert len(versions) == 4  # 3 + 3 + 1
    assert versions == sorted(versions)
    assert seen == tags  # in the order they were bound: version order


def test_since_zero_answers_a_full_snapshot_with_reset_and_the_tag_key(hq: Hq) -> None:
    till = Till(hq)
    kiosk = till.kiosk
    shopper = Shopper(till)
    shopper.consent()
    tag = shopper.bind()
    body = page(kiosk, 0)
    assert body["reset"] is True
    assert len(base64.b64decode(body["tag_key"])) == 32
    assert tag in snapshot(kiosk)
    assert page(kiosk, latest(kiosk))["reset"] is False
    ahead = page(kiosk, latest(kiosk) + 1000)
    assert ahead["reset"] is True


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": -1}, "since"),
        ({"since": "abc"}, "since"),
        ({"since": "1.5"}, "since"),
        ({"since": str(2**63)}, "since"),
        ({"limit": 0}, "limit"),
        ({"limit": 20_001}, "limit"),
        ({"limit": "many"}, "limit"),
    ],
)
def test_a_bad_since_or_limit_gets_422_naming_it(
    hq: Hq, params: dict[str, Any], field: str
) -> None:
    till = Till(hq)
    kiosk = till.kiosk
    answer = get_feed(kiosk, **params)
    assert answer.status_code == 422, answer.text
    assert [problem["loc"] for problem in answer.json()["detail"]] == [["query", field]]


@pytest.mark.parametrize(
    "authorization", [None, "Bearer nope", f"Bearer {ADMIN_TOKEN}", "Basic dXNlcjpwdw=="]
)
def test_the_feed_needs_a_valid_kiosk_token_whatever_it_is_asked(
    hq: Hq, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    for params in ({"since": 0}, {"since": -1}):
        answer = requests.get(f"{hq.base_url}{FEED}", params=params, headers=headers, timeout=10)
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"] == "Bearer"


def test_a_revoked_kiosk_gets_no_feed(hq: Hq) -> None:
    till = Till(hq)
    kiosk = till.kiosk
    assert get_feed(kiosk).status_code == 200
    assert hq.admin_post(f"/v1/admin/kiosks/{kiosk.kiosk_id}/revoke").status_code == 200
    assert get_feed(kiosk).status_code == 401


# ---------------------------------------------------------------- binding


def test_a_kiosk_binds_a_tag_by_the_hash_it_computes_with_the_feeds_key(hq: Hq) -> None:
    till = Till(hq)
    kiosk = till.kiosk
    shopper = Shopper(till)
    shopper.consent()
    fob = new_fob()
    key = base64.b64decode(page(kiosk, 0, 1)["tag_key"])
    tag = hmac.new(key, f"rfid:{fob}".encode(), hashlib.sha256).hexdigest()
    shopper.send("tag_bound", {"member_id": shopper.member, "tag_hash": tag, "tag_kind": "rfid"})
    assert snapshot(kiosk)[tag]["member_id"] == shopper.member
    (bound,) = hq.admin_get(f"/v1/admin/customers/{shopper.member}/tags").json()["tags"]
    assert (bound["tag_hash"], bound["source"], bound["kiosk_id"]) == (
        tag,
        "kiosk",
        kiosk.kiosk_id,
    )
    # Staff typing the same fob reach the same hash: it is the member's already.
    again = hq.admin_post(
        f"/v1/admin/customers/{shopper.member}/tags", {"kind": "rfid", "value": fob}
    )
    assert (again.status_code, again.json()["tag_hash"]) == (200, tag)


def test_binding_refuses_unknown_members_taken_tags_and_values_that_are_no_tags(
    hq: Hq,
) -> None:
    till = Till(hq)
    owner, other = Shopper(till), Shopper(till)
    fob = new_fob()
    owner.bind(fob)
    body = {"kind": "rfid", "value": fob}
    unknown = hq.admin_post(f"/v1/admin/customers/{uuid.uuid4()}/tags", body)
    assert unknown.status_code == 404
    taken = hq.admin_post(f"/v1/admin/customers/{other.member}/tags", body)
    assert taken.status_code == 409
    for bad in ({"kind": "rfid", "value": "98765432101"}, {"kind": "nfc", "value": fob}, {}):
        answer = hq.admin_post(f"/v1/admin/customers/{other.member}/tags", bad)
        assert answer.status_code == 422, answer.text
        assert "98765432101" not in answer.text
        assert fob not in answer.text
    not_a_member_id = hq.admin_post("/v1/admin/customers/not-a-uuid/tags", body)
    assert not_a_member_id.status_code == 422
    missing = hq.admin_delete(f"/v1/admin/customers/{other.member}/tags/{'0' * 64}")
    assert missing.status_code == 404
    malformed = hq.admin_delete(f"/v1/admin/customers/{other.member}/tags/xyz")
    assert malformed.status_code == 422
    assert hq.admin_post(f"/v1/admin/customers/{uuid.uuid4()}/erase").status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/tags"),
        ("get", "/tags"),
        ("delete", f"/tags/{'0' * 64}"),
        ("post", "/erase"),
        ("post", "/consents/withdraw"),
    ],
)
def test_binding_erasure_and_withdrawal_need_the_admin_token(
    hq: Hq, method: str, path: str
) -> None:
    till = Till(hq)
    kiosk = till.kiosk
    shopper = Shopper(till)
    url = f"{hq.base_url}/v1/admin/customers/{shopper.member}{path}"
    for headers in ({}, {"Authorization": f"Bearer {kiosk.token}"}):
        answer = requests.request(
            method,
            url,
            json={"kind": "rfid", "value": new_fob(), "purpose": "recognition"},
            headers=headers,
            timeout=10,
        )
        assert answer.status_code == 401


def test_the_raw_tag_value_is_in_neither_the_database_nor_the_logs(
    hq: Hq, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    till = Till(hq)
    kiosk = till.kiosk
    shopper = Shopper(till, name="王芳", greet_by_name=True)
    shopper.consent()
    fob = new_fob()
    tag = shopper.bind(fob)
    hq.admin_post(f"/v1/admin/customers/{shopper.member}/tags", {"kind": "rfid", "value": fob})
    hq.admin_post(
        f"/v1/admin/customers/{shopper.member}/tags", {"kind": "rfid", "value": "x" + fob}
    )
    snapshot(kiosk)
    hq.admin_delete(f"/v1/admin/customers/{shopper.member}/tags/{tag}")
    text = "\n".join(
        record.getMessage() for record in caplog.records if not record.name.startswith("urllib3")
    )
    assert "tag was bound" in text
    for secret in (fob, fob.lstrip("0"), tag, "王芳"):
        assert secret not in text
    assert fob not in database_dump(hq)


def database_dump(hq: Hq) -> str:
    """Every row of every HQ table as text, and for SQLite the raw files too."""
    parts = []
    database = Database(hq.database_url)
    try:
        with database.read() as connection:
            for table in metadata.sorted_tables:
                parts += [repr(tuple(row)) for row in connection.execute(select(table))]
    finally:
        database.dispose()
    if database.is_sqlite:
        path = Path(str(make_url(hq.database_url).database))
        for file in (path, path.with_name(path.name + "-wal")):
            if file.exists():
                parts.append(file.read_bytes().decode("latin-1"))
    return "\n".join(parts)


def test_the_openapi_document_describes_the_feed(hq: Hq) -> None:
    document = requests.get(f"{hq.base_url}/openapi.json", timeout=10).json()
    operation = document["paths"][FEED]["get"]
    names = {parameter["name"] for parameter in operation["parameters"]}
    assert names == {"since", "limit"}
    assert "/v1/admin/customers/{member_id}/tags" in document["paths"]
