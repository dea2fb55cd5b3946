"""HQ's HTTP API over real HTTP on loopback, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from helpers.hq import (
    ADMIN_TOKEN,
    Hq,
    KioskClient,
    consent_payload,
    enrol,
    hq_settings,
    issue_code,
    new_store_id,
    running_hq,
    signup_payload,
)

from hq.crm import merges, records
from hq.db import Database, access_denials, events

REFUSED = {"detail": "enrolment code is unknown, already used or expired"}


def statuses(answer: requests.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [result["status"] for result in answer.json()["results"]]


# ---------------------------------------------------------------- enrolment


def test_a_kiosk_trades_an_enrolment_code_for_its_own_token(hq: Hq) -> None:
    store = new_store_id()
    answer = enrol(hq.base_url, issue_code(hq.database_url, store), name="entrance screen")
    assert answer.status_code == 200
    body = answer.json()
    assert (body["store_id"], body["kiosk_id"]) == (store, f"{store}-k1")
    assert len(body["token"]) >= 43


def test_second_use_of_an_enrolment_code_is_refused(hq: Hq) -> None:
    code = issue_code(hq.database_url, new_store_id())
    assert enrol(hq.base_url, code).status_code == 200
    again = enrol(hq.base_url, code.lower().replace("-", " "))
    assert (again.status_code, again.json()) == (403, REFUSED)


def test_an_expired_enrolment_code_is_refused(hq: Hq) -> None:
    issued = datetime.now(UTC) - timedelta(hours=25)
    code = issue_code(hq.database_url, new_store_id(), now=issued)
    answer = enrol(hq.base_url, code)
    assert (answer.status_code, answer.json()) == (403, REFUSED)


@pytest.mark.parametrize("code", ["garbage", "", "0000-0000-0000", "7KQ2-M9XD-4HRT-XXXX"])
def test_a_code_hq_never_issued_is_refused(hq: Hq, code: str) -> None:
    answer = enrol(hq.base_url, code)
    assert (answer.status_code, answer.json()) == (403, REFUSED)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"code": 7},
        {"code": None},
        {"code": "x" * 65},
        {"code": "7KQ2-M9XD-4HRT", "name": "n" * 101},
        {"code": "7KQ2-M9XD-4HRT", "name": "nul\x00"},
        ["7KQ2-M9XD-4HRT"],
    ],
)
def test_a_malformed_enrolment_request_gets_422(hq: Hq, body: Any) -> None:
    answer = requests.post(f"{hq.base_url}/v1/enroll", json=body, timeout=10)
    assert answer.status_code == 422


@pytest.mark.parametrize("body", [b"\xff\xfe", b"{", b"not json", b'{"code": "\\ud800"}'])
def test_an_enrolment_request_that_is_not_json_gets_4xx(hq: Hq, body: bytes) -> None:
    answer = requests.post(
        f"{hq.base_url}/v1/enroll",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert 400 <= answer.status_code < 500


# ---------------------------------------------------------------- events


def test_each_event_gets_its_own_answer_in_request_order(hq: Hq) -> None:
    kiosk = hq.kiosk()
    first = [kiosk.event(1), kiosk.event(2)]
    assert statuses(kiosk.post(first)) == ["accepted", "accepted"]
    bad = kiosk.event(4, "drop", {"session": "s1", "slot": 1, "sku": None, "dwell_ms": -1})
    answer = kiosk.post([first[1], kiosk.event(3), bad, kiosk.event(2)])
    assert answer.json() == {
        "results": [
            {"event_id": first[1]["event_id"], "seq": 2, "status": "duplicate", "reason": None},
            {
                "event_id": answer.json()["results"][1]["event_id"],
                "seq": 3,
                "status": "accepted",
                "reason": None,
            },
            {
                "event_id": bad["event_id"],
                "seq": 4,
                "status": "rejected",
                "reason": "payload.dwell_ms: Input should be greater than or equal to 0",
            },
            {
                "event_id": answer.json()["results"][3]["event_id"],
                "seq": 2,
                "status": "rejected",
                "reason": "seq: already used by another event",
            },
        ],
        "contiguous_seq": 4,
    }


def test_an_event_sent_twice_in_one_batch_is_stored_once(hq: Hq) -> None:
    kiosk = hq.kiosk()
    lift = kiosk.event(1)
    assert statuses(kiosk.post([lift, kiosk.event(2), lift])) == [
        "accepted",
        "accepted",
        "duplicate",
    ]
    assert hq.count(events, kiosk_id=kiosk.kiosk_id) == 2


def test_contiguous_seq_and_gaps_follow_what_hq_holds(hq: Hq) -> None:
    kiosk = hq.kiosk()
    assert kiosk.post([kiosk.event(seq) for seq in (1, 2, 5, 9)]).json()["contiguous_seq"] == 2
    stats = hq.kiosk_stats(kiosk.kiosk_id)
    assert (stats["highest_seq"], stats["contiguous_seq"], stats["gaps"]) == (
        9,
        2,
        [[3, 4], [6, 8]],
    )
    answer = kiosk.post([kiosk.event(seq) for seq in (3, 4, 6, 7, 8)])
    assert answer.json()["contiguous_seq"] == 9
    assert hq.kiosk_stats(kiosk.kiosk_id)["gaps"] == []


@pytest.mark.parametrize(
    "authorization", [None, "Bearer ", "Bearer not-a-token", "Basic dXNlcjpwdw=="]
)
def test_events_without_a_valid_token_get_401(hq: Hq, authorization: str | None) -> None:
    kiosk = hq.kiosk()
    headers = {} if authorization is None else {"Authorization": authorization}
    answer = requests.post(
        f"{hq.base_url}/v1/events", json={"events": [kiosk.event(1)]}, headers=headers, timeout=10
    )
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == "Bearer"
    assert hq.count(events, kiosk_id=kiosk.kiosk_id) == 0


def test_a_revoked_kiosk_gets_401(hq: Hq) -> None:
    kiosk = hq.kiosk()
    assert statuses(kiosk.post([kiosk.event(1)])) == ["accepted"]
    revoked = hq.admin_post(f"/v1/admin/kiosks/{kiosk.kiosk_id}/revoke")
    assert revoked.status_code == 200
    assert revoked.json()["kiosk_id"] == kiosk.kiosk_id
    assert kiosk.post([kiosk.event(2)]).status_code == 401
    assert hq.admin_post("/v1/admin/kiosks/no-such-kiosk/revoke").status_code == 404


@pytest.mark.parametrize(
    "foreign",
    [{"store_id": "another-store"}, {"kiosk_id": "another-kiosk"}],
    ids=["store", "kiosk"],
)
def test_events_naming_another_store_or_kiosk_are_refused_whole_and_recorded(
    hq: Hq, foreign: dict[str, str]
) -> None:
    kiosk = hq.kiosk()
    answer = kiosk.post([kiosk.event(1), {**kiosk.event(2), **foreign}])
    assert answer.status_code == 403
    assert "must name this token's store and kiosk" in answer.json()["detail"]
    assert hq.count(events, kiosk_id=kiosk.kiosk_id) == 0
    assert hq.count(access_denials, kiosk_id=kiosk.kiosk_id) == 1
    denied = hq.admin_get("/v1/admin/stats").json()["denied"]
    (mine,) = [entry for entry in denied if entry["kiosk_id"] == kiosk.kiosk_id]
    assert mine["attempts"] == 1
    assert hq.kiosk_stats(kiosk.kiosk_id)["contiguous_seq"] == 0


def test_another_kiosk_of_the_same_store_cannot_send_for_it(hq: Hq) -> None:
    store = new_store_id()
    first, second = hq.kiosk(store), hq.kiosk(store)
    answer = second.post([first.event(1)])
    assert answer.status_code == 403
    assert hq.count(events, kiosk_id=first.kiosk_id) == 0


def _batch(kiosk: KioskClient, **changes: Any) -> bytes:
    return json.dumps({"events": [kiosk.event(1), {**kiosk.event(2), **changes}]}).encode()


MALFORMED: dict[str, Any] = {
    "not json": lambda k: b"events please",
    "invalid utf-8": lambda k: b'{"events": [\xff]}',
    "a json array": lambda k: b"[]",
    "a json string": lambda k: b'"events"',
    "no events": lambda k: b'{"events": []}',
    "events not a list": lambda k: b'{"events": {}}',
    "501 events": lambda k: json.dumps({"events": [k.event(s) for s in range(1, 502)]}).encode(),
    "bad uuid": lambda k: _batch(k, event_id="not-a-uuid"),
    "time without offset": lambda k: _batch(k, occurred_at="2026-11-23T09:14:03"),
    "not a time": lambda k: _batch(k, occurred_at="Wang Fang 13912345678"),
    "year 10000 in utc": lambda k: _batch(k, occurred_at="9999-12-31T23:59:59-05:00"),
    "seq 0": lambda k: _batch(k, seq=0),
    "seq 10**30": lambda k: _batch(k, seq=10**30),
    "seq a float": lambda k: _batch(k, seq=2.5),
    "seq NaN": lambda k: _batch(k).replace(b'"seq": 2', b'"seq": NaN'),
    "seq Infinity": lambda k: _batch(k).replace(b'"seq": 2', b'"seq": Infinity'),
    "kind with spaces": lambda k: _batch(k, kind="lift off"),
    "no payload": lambda k: json.dumps({"events": [{**k.event(1), "payload": None}]}).encode(),
    "payload a list": lambda k: _batch(k, payload=[1, 2]),
    "2 MB store id": lambda k: _batch(k, store_id="s" * 2_000_000),
    "lone surrogate": lambda k: _batch(k).replace(b'"s1"', b'"\\ud800"'),
    "deep nesting": lambda k: _batch(k).replace(b'"s1"', b"[" * 5000 + b"]" * 5000),
}


@pytest.mark.parametrize("make", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_batch_gets_422_and_nothing_of_it_is_stored(hq: Hq, make: Any) -> None:
    kiosk = hq.kiosk()
    answer = kiosk.post_raw(make(kiosk))
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    assert all(set(problem) == {"loc", "msg", "type"} for problem in detail)
    assert "Wang Fang" not in answer.text
    assert hq.count(events, kiosk_id=kiosk.kiosk_id) == 0


def test_a_422_answer_names_the_field(hq: Hq) -> None:
    kiosk = hq.kiosk()
    answer = kiosk.post_raw(_batch(kiosk, seq=0))
    assert answer.json()["detail"] == [
        {
            "loc": ["body", "events", 1, "seq"],
            "msg": "Input should be greater than or equal to 1",
            "type": "greater_than_equal",
        }
    ]


def test_a_body_over_8_mb_gets_413(hq: Hq) -> None:
    kiosk = hq.kiosk()
    answer = kiosk.post_raw(b'{"events": ["' + b"x" * (8 * 1024 * 1024) + b'"]}')
    assert answer.status_code == 413
    assert hq.count(events, kiosk_id=kiosk.kiosk_id) == 0


def test_a_2_mb_string_in_a_payload_rejects_that_event_only(hq: Hq) -> None:
    kiosk = hq.kiosk()
    huge = kiosk.event(2, payload={"session": "s" * 2_000_000, "slot": 1})
    answer = kiosk.post([kiosk.event(1), huge])
    assert statuses(answer) == ["accepted", "rejected"]
    assert answer.json()["results"][1]["reason"] == (
        "payload.session: String should have at most 100 characters"
    )


def test_many_kiosks_posting_at_once_all_get_their_answers(hq: Hq) -> None:
    kiosks = [hq.kiosk() for _ in range(4)]
    failures: list[str] = []

    def post_batches(kiosk: KioskClient) -> None:
        for first in range(1, 1001, 200):
            answer = kiosk.post([kiosk.event(seq) for seq in range(first, first + 200)])
            if answer.status_code != 200 or set(statuses(answer)) != {"accepted"}:
                failures.append(answer.text[:200])

    threads = [threading.Thread(target=post_batches, args=(kiosk,)) for kiosk in kiosks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    for kiosk in kiosks:
        assert hq.kiosk_stats(kiosk.kiosk_id)["contiguous_seq"] == 1000
        assert hq.count(events, kiosk_id=kiosk.kiosk_id) == 1000


# ---------------------------------------------------------------- customers


def new_phone() -> tuple[str, str]:
    """A fresh valid Chinese mobile number: (as typed, E.164)."""
    digits = f"139{uuid.uuid4().int % 10**8:08d}"
    return f"{digits[:3]} {digits[3:7]} {digits[7:]}", f"+86{digits}"


def test_one_person_signing_up_at_two_stores_is_one_customer_found_by_any_format(hq: Hq) -> None:
    nanjing, huaihai = hq.kiosk(), hq.kiosk()
    typed, e164 = new_phone()
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    signup = nanjing.event(1, "member_signup", signup_payload(first, typed, name="王芳"))
    assert statuses(nanjing.post([signup])) == ["accepted"]
    later = signup_payload(second, e164.replace("+86", "0086 "), email="Wang.Fang@Example.COM")
    assert statuses(huaihai.post([huaihai.event(1, "member_signup", later)])) == ["accepted"]

    by_national = hq.admin_get("/v1/admin/customers", phone=typed.replace(" ", "-"))
    by_e164 = hq.admin_get("/v1/admin/customers", phone=e164)
    assert by_national.status_code == 200
    assert by_national.json() == by_e164.json()
    (customer,) = by_national.json()["customers"]
    assert customer["phone_e164"] == e164
    assert customer["email"] == "wang.fang@example.com"
    assert customer["name"] == "王芳"
    assert customer["first_store_id"] == nanjing.store_id
    assert {(m["member_id"], m["store_id"]) for m in customer["member_ids"]} == {
        (first, nanjing.store_id),
        (second, huaihai.store_id),
    }
    assert hq.admin_get("/v1/admin/customers", email="WANG.fang@example.com").json()["customers"]


def test_a_merged_away_record_is_found_with_the_record_it_was_merged_into(hq: Hq) -> None:
    kiosk = hq.kiosk()
    email = f"li.{uuid.uuid4().hex[:8]}@example.cn"
    (_, old), (_, new) = new_phone(), new_phone()
    signups = [
        kiosk.event(n, "member_signup", signup_payload(str(uuid.uuid4()), phone, email=email))
        for n, phone in ((1, old), (2, new))
    ]
    assert statuses(kiosk.post(signups)) == ["accepted", "accepted"]
    found = hq.admin_get("/v1/admin/customers", email=email).json()["customers"]
    by_phone = {c["phone_e164"]: c["customer_id"] for c in found}
    keep, other = by_phone[old], by_phone[new]
    assert [(c["merged_into"], c["address"]) for c in found] == [(None, None), (None, None)]
    database = Database(hq.database_url)
    try:
        now = datetime.now(UTC)
        records.set_address(database, keep, "上海市黄浦区南京东路 1 号", by="staff:1", now=now)
        merges.merge(database, keep, other, by="staff:1", now=now)
    finally:
        database.dispose()

    merged = hq.admin_get("/v1/admin/customers", phone=new).json()["customers"]
    assert [(c["customer_id"], c["merged_into"], c["member_ids"]) for c in merged] == [
        (other, keep, [])
    ]
    (kept,) = hq.admin_get("/v1/admin/customers", phone=old).json()["customers"]
    assert (kept["merged_into"], kept["address"]) == (None, "上海市黄浦区南京东路 1 号")
    assert len(kept["member_ids"]) == 2


def test_a_customer_timeline_shows_consents_and_interactions_newest_first(hq: Hq) -> None:
    kiosk = hq.kiosk()
    typed, e164 = new_phone()
    member = str(uuid.uuid4())
    start = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

    def at(minutes: int) -> str:
        return (start + timedelta(minutes=minutes)).isoformat()

    answer = kiosk.post(
        [
            kiosk.event(1, "member_signup", signup_payload(member, typed), occurred_at=at(0)),
            kiosk.event(
                2,
                "consent",
                consent_payload(member, "marketing", given=True, channel="sms"),
                occurred_at=at(1),
            ),
            kiosk.event(
                3,
                "lift",
                {"session": "s9", "slot": 2, "sku": "P-2", "member_id": member},
                occurred_at=at(2),
            ),
            kiosk.event(
                4,
                "consent",
                consent_payload(member, "marketing", given=False, channel="sms"),
                occurred_at=at(3),
            ),
            kiosk.event(
                5,
                "drop",
                {"session": "s9", "slot": 2, "sku": "P-2", "dwell_ms": 4000, "member_id": member},
                occurred_at=at(4),
            ),
        ]
    )
    assert set(statuses(answer)) == {"accepted"}
    (customer,) = hq.admin_get("/v1/admin/customers", phone=e164).json()["customers"]
    timeline = hq.admin_get(f"/v1/admin/customers/{customer['customer_id']}/timeline")
    assert timeline.status_code == 200
    body = timeline.json()
    assert body["customer"] == customer
    assert [(c["purpose"], c["channel"], c["state"]) for c in body["consents"]] == [
        ("marketing", "sms", "withdrawn")
    ]
    assert [c["given"] for c in body["consent_history"]] == [False, True]
    assert body["consent_history"][0]["notice_version"] == "2026-11"
    assert [(i["kind"], i["occurred_at"]) for i in body["interactions"]] == [
        ("drop", at(4)),
        ("lift", at(2)),
    ]
    assert body["interactions"][0]["dwell_ms"] == 4000
    missing = hq.admin_get(f"/v1/admin/customers/{uuid.uuid4()}/timeline")
    assert missing.status_code == 404


def test_a_customer_query_needs_a_valid_phone_or_an_email(hq: Hq) -> None:
    invalid = hq.admin_get("/v1/admin/customers", phone="12345")
    assert invalid.status_code == 422
    assert "12345" not in invalid.text
    assert hq.admin_get("/v1/admin/customers").status_code == 422
    assert hq.admin_get("/v1/admin/customers", phone="020 7946 0958", region="GB").json() == {
        "customers": []
    }


@pytest.mark.parametrize(
    "path",
    [
        "/v1/admin/stats",
        "/v1/admin/customers?phone=13912345678",
        # A fixed id: parameters must be the same in every pytest-xdist worker.
        "/v1/admin/customers/5c22badc-aa2f-43f5-97ef-6c97d0d55ab3/timeline",
    ],
)
def test_the_admin_api_needs_the_admin_token(hq: Hq, path: str) -> None:
    kiosk = hq.kiosk()
    for headers in (
        {},
        {"Authorization": f"Bearer {kiosk.token}"},
        {"Authorization": "Bearer wrong"},
    ):
        answer = requests.get(f"{hq.base_url}{path}", headers=headers, timeout=10)
        assert answer.status_code == 401
    revoke = requests.post(f"{hq.base_url}/v1/admin/kiosks/{kiosk.kiosk_id}/revoke", timeout=10)
    assert revoke.status_code == 401
    assert kiosk.post([kiosk.event(1)]).status_code == 200


# ---------------------------------------------------------------- health, contract, logs


def test_health_answers_without_a_token_and_checks_one_when_given(hq: Hq) -> None:
    kiosk = hq.kiosk()
    assert requests.get(f"{hq.base_url}/v1/health", timeout=10).json() == {"status": "ok"}
    assert kiosk.session.get(f"{hq.base_url}/v1/health", timeout=10).status_code == 200
    wrong = requests.get(
        f"{hq.base_url}/v1/health", headers={"Authorization": "Bearer nope"}, timeout=10
    )
    assert wrong.status_code == 401


def test_the_openapi_document_describes_the_event_batch(hq: Hq) -> None:
    document = requests.get(f"{hq.base_url}/openapi.json", timeout=10).json()
    body = document["paths"]["/v1/events"]["post"]["requestBody"]["content"]["application/json"]
    events_schema = body["schema"]["properties"]["events"]
    assert (events_schema["minItems"], events_schema["maxItems"]) == (1, 500)
    assert "seq" in events_schema["items"]["properties"]
    assert "$ref" not in json.dumps(body)
    assert {"/v1/enroll", "/v1/health", "/v1/admin/stats"} <= set(document["paths"])


def test_logs_carry_no_phone_numbers_names_emails_or_tokens(
    hq: Hq, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    kiosk = hq.kiosk()
    typed, e164 = new_phone()
    member = str(uuid.uuid4())
    kiosk.post(
        [
            kiosk.event(
                1,
                "member_signup",
                signup_payload(member, typed, name="王芳", email="wf@example.com"),
            ),
            kiosk.event(
                2, "member_signup", signup_payload(str(uuid.uuid4()), "12345", name="李伟")
            ),
            kiosk.event(
                3, "member_signup", signup_payload(str(uuid.uuid4()), typed, email="not an email")
            ),
        ]
    )
    kiosk.post([kiosk.event(4, store_id="elsewhere", payload={"phone": typed})])
    hq.admin_get("/v1/admin/customers", phone=e164)
    hq.admin_get("/v1/admin/customers", email="wf@example.com")
    # Everything logged in this process but the test's own HTTP client (urllib3).
    text = "\n".join(
        record.getMessage() for record in caplog.records if not record.name.startswith("urllib3")
    )
    assert "rejected" in text  # the rejections were logged, by reason
    digits = e164.removeprefix("+86")
    for secret in (
        digits,
        typed,
        "12345",
        "王芳",
        "李伟",
        "wf@example.com",
        "not an email",
        kiosk.token,
        ADMIN_TOKEN,
    ):
        assert secret not in text


def test_while_its_database_is_unreachable_hq_answers_503_with_retry_after(
    tmp_path: Path, refused_port: int
) -> None:
    settings = hq_settings(tmp_path, f"postgresql://hq@127.0.0.1:{refused_port}/hq")
    with running_hq(settings, migrate_first=False) as base_url:
        answers = [
            requests.get(f"{base_url}/v1/health", timeout=10),
            requests.post(f"{base_url}/v1/enroll", json={"code": "7KQ2-M9XD-4HRT"}, timeout=10),
            requests.post(
                f"{base_url}/v1/events",
                json={"events": []},
                headers={"Authorization": "Bearer some-token"},
                timeout=10,
            ),
        ]
    for answer in answers:
        assert answer.status_code == 503
        assert answer.headers["Retry-After"] == "5"
        assert answer.json() == {"detail": "database unavailable, retry later"}
