"""Store staff devices at HQ: enrolment of an attendant, and what it may report.

Over real HTTP on loopback, on SQLite and PostgreSQL, with codes issued by
`kiosk-hq store enrol-attendant` as staff run it. An attendant device gets its
own token, the store's channel key and the store's coupon key, but no kiosk
number, coupon key or budget seat; it reports coupon redemptions, alert
acknowledgements and planogram edits, and nothing a shopper does.
"""

from __future__ import annotations

import base64
import json
import os
import stat
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers.hq import (
    OCCURRED_AT,
    Hq,
    KioskClient,
    coupon_redeemed_payload,
    enrol,
    hq_cli,
    issue_code,
    new_store_id,
    signup_payload,
)

from backend_client.channel.keys import KEY_FILE, StoreKeys
from backend_client.credentials import load_credentials
from backend_client.enroll import main as enroll_main
from hq import store_actions
from hq.db import Database, alert_acks, events, kiosks, planogram_edits
from rewards.codes import kiosk_key


def attendant_code(hq: Hq, store: str) -> str:
    added = hq_cli(hq, "store", "add", store, "--exist-ok")
    assert added.returncode == 0, added.stderr
    done = hq_cli(hq, "store", "enrol-attendant", store)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def enrolled_attendant(hq: Hq, store: str) -> tuple[dict[str, Any], KioskClient]:
    answer = enrol(hq.base_url, attendant_code(hq, store), "till by the door")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    client = KioskClient(hq.base_url, body)
    return body, client


def ack_payload(kiosk: str, seq: int = 41, **changes: Any) -> dict[str, Any]:
    return {
        "kiosk": kiosk,
        "alert_seq": seq,
        "alert_kind": "alarm",
        "by": "staff-7",
        "after_s": 12.5,
        **changes,
    }


def edit_payload(kiosk: str, **changes: Any) -> dict[str, Any]:
    return {
        "kiosk": kiosk,
        "slot": 3,
        "before": "P-7",
        "after": "P-9",
        "by": "mgr-1",
        **changes,
    }


def statuses(answer: Any) -> list[tuple[str, str | None]]:
    assert answer.status_code == 200, answer.text
    return [(result["status"], result["reason"]) for result in answer.json()["results"]]


def test_an_attendant_code_enrols_a_staff_device_with_the_stores_keys_only(hq: Hq) -> None:
    store = new_store_id()
    assert hq_cli(hq, "store", "add", store, "--kiosks", "1").returncode == 0
    kiosk = hq.kiosk(store)  # holds the store's only seat
    answer, attendant = enrolled_attendant(hq, store)
    try:
        assert answer["role"] == "attendant"
        assert (answer["store_id"], answer["kiosk_id"]) == (store, f"{store}-a1")
        assert len(answer["token"]) >= 43
        # No number in coupon codes, no kiosk key, no seat: it issues no coupons.
        for absent in ("kiosk_no", "coupon_key", "budget_seat", "budget_seats"):
            assert absent not in answer
        # The store's live-channel key, as every kiosk of the store has it.
        channel = attendant.session.get(f"{hq.base_url}/v1/store-channel-key", timeout=10)
        assert channel.json() == answer["channel_key"]
        assert answer["channel_key"]["key_id"] == 1
        # The store's coupon key: from it, the till derives each kiosk's key.
        store_key = base64.b64decode(answer["store_coupon_key"])
        assert kiosk.kiosk_no is not None
        assert kiosk_key(store_key, kiosk.kiosk_no) == kiosk.coupon_key
        # A second attendant gets the next number; kiosks keep theirs.
        second, other = enrolled_attendant(hq, store)
        other.close()
        assert second["kiosk_id"] == f"{store}-a2"
        assert second["token"] != answer["token"]
    finally:
        attendant.close()
    assert hq.count(kiosks, kiosk_id=f"{store}-a1", role="attendant") == 1
    listing = hq_cli(hq, "kiosk", "list").stdout.splitlines()
    (line,) = [row for row in listing if row.startswith(f"{store}-a1 ")]
    assert line.split()[:3] == [f"{store}-a1", "attendant", store]


def test_an_attendant_code_works_once_and_is_not_a_kiosks(hq: Hq) -> None:
    store = new_store_id()
    code = attendant_code(hq, store)
    assert enrol(hq.base_url, code).status_code == 200
    assert enrol(hq.base_url, code).status_code == 403
    kiosk_answer = enrol(hq.base_url, issue_code(hq.database_url, store)).json()
    assert kiosk_answer["role"] == "kiosk"
    assert kiosk_answer["kiosk_id"] == f"{store}-k1"
    unknown = hq_cli(hq, "store", "enrol-attendant", "no-such-store")
    assert unknown.returncode == 1
    assert "no-such-store" in unknown.stderr


def test_enrolling_an_attendant_saves_its_private_credentials_and_keys(
    hq: Hq, tmp_path: Path
) -> None:
    store = new_store_id()
    data = tmp_path / "attendant"
    code = attendant_code(hq, store)
    assert enroll_main(["--hq", hq.base_url, "--code", code, "--data-dir", str(data)]) == 0

    path = data / "hq.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    document = json.loads(path.read_text())
    assert document["role"] == "attendant"
    assert "kiosk_no" not in document
    assert "coupon_key" not in document
    credentials = load_credentials(data)
    assert credentials is not None
    assert (credentials.role, credentials.store_id, credentials.kiosk_id) == (
        "attendant",
        store,
        f"{store}-a1",
    )
    assert credentials.store_coupon_key is not None
    assert len(credentials.store_coupon_key) == 32
    assert base64.b64encode(credentials.store_coupon_key).decode() not in repr(credentials)
    for name in (KEY_FILE, "outbox.key"):
        assert stat.S_IMODE(os.stat(data / name).st_mode) == 0o600
    kiosk = hq.kiosk(store)
    assert kiosk.kiosk_no is not None
    assert kiosk_key(credentials.store_coupon_key, kiosk.kiosk_no) == kiosk.coupon_key
    assert credentials.channel_key is not None
    ours = StoreKeys.from_file(store, data / KEY_FILE)
    assert ours.current_kid == StoreKeys(store, credentials.channel_key.key).current_kid


def test_acks_and_planogram_edits_are_stored_once_per_event(hq: Hq) -> None:
    store = new_store_id()
    kiosk = hq.kiosk(store)
    _, attendant = enrolled_attendant(hq, store)
    try:
        ack = attendant.event(1, "alert_ack", ack_payload(kiosk.kiosk_id))
        edit = attendant.event(2, "planogram_edit", edit_payload(kiosk.kiosk_id))
        assert statuses(attendant.post([ack, edit])) == [("accepted", None)] * 2
        # The answer was lost: the device sends both again, one of them twice.
        assert statuses(attendant.post([ack, edit, edit])) == [("duplicate", None)] * 3
    finally:
        attendant.close()

    assert hq.count(alert_acks, store_id=store) == 1
    assert hq.count(planogram_edits, store_id=store) == 1
    database = Database(hq.database_url)
    try:
        (acked,) = store_actions.acks_of(database, store)
        (edited,) = store_actions.edits_of(database, store)
    finally:
        database.dispose()
    assert acked == store_actions.AlertAck(
        f"{store}-a1", kiosk.kiosk_id, 41, "alarm", "staff-7", 12.5, OCCURRED_AT
    )
    assert edited == store_actions.PlanogramEdit(
        f"{store}-a1", kiosk.kiosk_id, 3, "P-7", "P-9", "mgr-1", OCCURRED_AT
    )
    listed = hq.admin_get(f"/v1/admin/stores/{store}/staff-actions")
    assert listed.status_code == 200
    assert listed.json() == {
        "alert_acks": [store_actions.action_json(acked)],
        "planogram_edits": [store_actions.action_json(edited)],
    }
    assert listed.json()["alert_acks"][0]["by"] == "staff-7"
    assert hq.admin_get("/v1/admin/stores/no-such-store/staff-actions").status_code == 404


def test_each_role_is_refused_the_kinds_it_does_not_send(hq: Hq) -> None:
    store = new_store_id()
    kiosk = hq.kiosk(store)
    _, attendant = enrolled_attendant(hq, store)
    try:
        refused = attendant.post(
            [
                attendant.event(1, "lift"),
                attendant.event(
                    2, "member_signup", signup_payload(str(OCCURRED_AT.timestamp()), "+1")
                ),
                attendant.event(3, "alert_ack", ack_payload(kiosk.kiosk_id)),
            ]
        )
        assert statuses(refused) == [
            ("rejected", "kind: an attendant device does not send 'lift'"),
            ("rejected", "kind: an attendant device does not send 'member_signup'"),
            ("accepted", None),
        ]
        assert statuses(
            kiosk.post(
                [
                    kiosk.event(1, "alert_ack", ack_payload(kiosk.kiosk_id)),
                    kiosk.event(2, "planogram_edit", edit_payload(kiosk.kiosk_id)),
                    kiosk.event(3, "lift"),
                ]
            )
        ) == [
            ("rejected", "kind: a kiosk device does not send 'alert_ack'"),
            ("rejected", "kind: a kiosk device does not send 'planogram_edit'"),
            ("accepted", None),
        ]
    finally:
        attendant.close()
    assert hq.count(events, kiosk_id=f"{store}-a1") == 1
    assert hq.count(alert_acks, store_id=store) == 1


def test_an_attendant_may_only_name_kiosks_of_its_own_store(hq: Hq) -> None:
    store = new_store_id()
    ours = hq.kiosk(store)
    theirs = hq.kiosk()
    _, attendant = enrolled_attendant(hq, store)
    try:
        answer = attendant.post(
            [
                attendant.event(1, "alert_ack", ack_payload(theirs.kiosk_id)),
                attendant.event(2, "planogram_edit", edit_payload("no-such-kiosk")),
                attendant.event(3, "alert_ack", ack_payload(f"{store}-a1")),  # itself
                attendant.event(4, "alert_ack", ack_payload(ours.kiosk_id, by="Zhang Wei")),
                attendant.event(5, "planogram_edit", edit_payload(ours.kiosk_id, before=None)),
            ]
        )
    finally:
        attendant.close()
    results = statuses(answer)
    assert results[:3] == [("rejected", "payload.kiosk: not a kiosk of this device's store")] * 3
    status, reason = results[3]
    assert status == "rejected"
    assert reason is not None
    assert reason.startswith("payload.by: ")
    assert "Zhang" not in reason  # a name is refused, and never quoted
    assert results[4] == ("accepted", None)
    assert hq.count(alert_acks, store_id=store) == 0
    assert hq.count(planogram_edits, store_id=store) == 1


def test_an_attendant_gets_no_member_feed(hq: Hq) -> None:
    _, attendant = enrolled_attendant(hq, new_store_id())
    try:
        answer = attendant.session.get(f"{hq.base_url}/v1/members/feed", timeout=10)
    finally:
        attendant.close()
    assert answer.status_code == 403
    assert "tag_key" not in answer.text


def test_a_code_redeemed_by_an_attendant_then_at_another_store_keeps_hqs_first_record(
    hq: Hq,
) -> None:
    store, elsewhere = new_store_id(), new_store_id()
    issuer = hq.kiosk(store)
    other_store_kiosk = hq.kiosk(elsewhere)
    _, attendant = enrolled_attendant(hq, store)
    code = issuer.coupon(5).text
    later = OCCURRED_AT + timedelta(minutes=30)
    try:
        first = attendant.post(
            [attendant.event(1, "coupon_redeemed", coupon_redeemed_payload(code, by="staff-7"))]
        )
        assert statuses(first) == [("accepted", None)]
        second = other_store_kiosk.post(
            [other_store_kiosk.event(1, "coupon_redeemed", coupon_redeemed_payload(code, later))]
        )
    finally:
        attendant.close()
    ((status, reason),) = statuses(second)
    assert status == "accepted"  # kept: that store did hand over the goods
    assert reason == (
        f"conflict: this coupon was first redeemed at store {store} on "
        f"{OCCURRED_AT:%Y-%m-%d %H:%M} UTC; HQ keeps that redemption and recorded this "
        "one as a double redemption"
    )
    doubles = hq.admin_get("/v1/admin/coupons/doubles").json()["doubles"]
    (double,) = [found for found in doubles if found["code"] == code]
    assert [(r["store_id"], r["kiosk_id"], r["by"]) for r in double["redemptions"]] == [
        (store, f"{store}-a1", "staff-7"),
        (elsewhere, other_store_kiosk.kiosk_id, "till-1"),
    ]
    # A till asking HQ now hears of the attendant's redemption first.
    again = hq.admin_post("/v1/admin/coupons/redeem", {"code": code, "store_id": elsewhere})
    assert again.status_code == 409
    assert again.json()["first"]["store_id"] == store


@pytest.mark.parametrize("kind", ["alert_ack", "planogram_edit"])
def test_an_attendants_report_with_a_broken_payload_is_rejected_alone(hq: Hq, kind: str) -> None:
    store = new_store_id()
    kiosk = hq.kiosk(store)
    _, attendant = enrolled_attendant(hq, store)
    broken = (
        ack_payload(kiosk.kiosk_id, after_s=-1.0)
        if kind == "alert_ack"
        else edit_payload(kiosk.kiosk_id, slot=0)
    )
    try:
        answer = attendant.post(
            [
                attendant.event(1, kind, broken),
                attendant.event(2, "alert_ack", ack_payload(kiosk.kiosk_id)),
            ]
        )
    finally:
        attendant.close()
    (bad, good) = statuses(answer)
    assert bad[0] == "rejected"
    assert good == ("accepted", None)
