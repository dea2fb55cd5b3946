"""Coupons against a real HQ on loopback (SQLite and PostgreSQL): a kiosk's batch of
sign-up, consents, survey and coupon events lands in HQ's tables; a code redeemed
twice is refused or flagged; `kiosk-hq coupons` tells staff why a code is no good;
tills racing for one code: exactly one wins."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import threading
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import requests
from helpers.hq import (
    ADMIN_TOKEN,
    Hq,
    coupon_issued_payload,
    coupon_redeemed_payload,
    signup_payload,
    survey_answer_payload,
)
from sqlalchemy import select

from hq.crm.coupon_codes import issue
from hq.db import (
    Database,
    consents,
    coupon_redemptions,
    coupons_issued,
    member_ids,
    redeemed_coupons,
    survey_answers,
    survey_completions,
)

KIOSK_HQ: Final = Path(sys.executable).parent / "kiosk-hq"
NOTICE_SHA256: Final = "ab" * 32


def rows(hq: Hq, statement: Any) -> list[tuple[Any, ...]]:
    database = Database(hq.database_url)
    try:
        with database.read() as connection:
            return [tuple(row) for row in connection.execute(statement)]
    finally:
        database.dispose()


def redeem(hq: Hq, code: str, store_id: str, by: str = "till-1") -> requests.Response:
    return hq.admin_post("/v1/admin/coupons/redeem", {"code": code, "store_id": store_id, "by": by})


def kiosk_hq(hq: Hq, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("KIOSK_HQ_")}
    return subprocess.run(
        [str(KIOSK_HQ), "--data-dir", str(hq.settings.data_dir),
         "--database-url", hq.database_url, *args],
        capture_output=True, text=True, timeout=60, check=False, env=env,
    )  # fmt: skip


def test_enrolment_gives_the_kiosk_its_number_and_coupon_key(hq: Hq) -> None:
    first, second = hq.kiosk(), hq.kiosk()
    assert first.kiosk_no is not None
    assert second.kiosk_no is not None
    assert second.kiosk_no > first.kiosk_no
    assert first.coupon_key is not None
    assert len(first.coupon_key) == 32
    assert first.coupon_key != second.coupon_key


def test_a_kiosk_batch_with_sign_up_consents_survey_and_coupons_lands_in_hq(hq: Hq) -> None:
    kiosk = hq.kiosk()
    member = str(uuid.uuid4())
    code = kiosk.coupon(1)
    redeemed = kiosk.coupon(2)
    welcome = kiosk.coupon(3)  # the new member's welcome coupon, given as they joined
    consent_events = [
        {"member_id": member, "purpose": purpose, "channel": None,
         "notice_version": f"2026-09-{purpose[:4]}", "notice_sha256": NOTICE_SHA256,
         "given": purpose != "marketing"}
        for purpose in ("membership", "marketing", "recognition", "personalisation")
    ]  # fmt: skip
    sent: list[tuple[str, dict[str, Any]]] = [
        ("member_signup", signup_payload(member, "13912345670", name="王芳")),
        *(("consent", payload) for payload in consent_events),
        ("survey_answer", survey_answer_payload("s1", "visit", "mood", "smiley", score=1,
                                                member_id=member, low=True)),
        ("survey_answer", survey_answer_payload("s1", "visit", "nps", "nps", score=9,
                                                member_id=member)),
        ("survey_answer", survey_answer_payload("s1", "visit", "why", "text",
                                                text="店员很好", member_id=member)),
        ("survey_completed", {"session": "s1", "survey": "visit", "member_id": member,
                              "answers": 3, "reward_code": code.text}),
        ("coupon_issued", coupon_issued_payload(code, member_id=member)),
        ("coupon_issued", coupon_issued_payload(redeemed, reason="draw")),
        ("coupon_issued", coupon_issued_payload(welcome, member_id=member, reason="signup")),
        ("coupon_redeemed", coupon_redeemed_payload(redeemed.text)),
    ]  # fmt: skip
    answer = kiosk.post([kiosk.event(seq, kind, p) for seq, (kind, p) in enumerate(sent, 1)])

    assert answer.status_code == 200
    assert [r["status"] for r in answer.json()["results"]] == ["accepted"] * len(sent)
    assert rows(hq, select(member_ids.c.kiosk_id).where(member_ids.c.member_id == member)) == [
        (kiosk.kiosk_id,)
    ]
    assert sorted(
        rows(hq, select(consents.c.purpose, consents.c.notice_version, consents.c.given)
             .where(consents.c.member_id == member))
    ) == [
        ("marketing", "2026-09-mark", False),
        ("membership", "2026-09-memb", True),
        ("personalisation", "2026-09-pers", True),
        ("recognition", "2026-09-reco", True),
    ]  # fmt: skip
    assert rows(
        hq,
        select(survey_answers.c.question, survey_answers.c.score, survey_answers.c.text,
               survey_answers.c.low)
        .where(survey_answers.c.member_id == member).order_by(survey_answers.c.id),
    ) == [
        ("mood", 1, None, True), ("nps", 9, None, False), ("why", None, "店员很好", False)
    ]  # fmt: skip
    assert rows(
        hq, select(survey_completions.c.reward_code).where(survey_completions.c.member_id == member)
    ) == [(code.text,)]
    assert rows(
        hq,
        select(coupons_issued.c.code, coupons_issued.c.member_id, coupons_issued.c.reason)
        .where(coupons_issued.c.kiosk_id == kiosk.kiosk_id).order_by(coupons_issued.c.serial),
    ) == [
        (code.text, member, "survey"), (redeemed.text, None, "draw"),
        (welcome.text, member, "signup"),
    ]  # fmt: skip
    assert rows(
        hq,
        select(coupon_redemptions.c.store_id, coupon_redemptions.c.source)
        .where(coupon_redemptions.c.code == redeemed.text),
    ) == [(kiosk.store_id, "store")]  # fmt: skip


def test_a_code_redeemed_offline_is_refused_online_and_naming_the_first_store(hq: Hq) -> None:
    kiosk = hq.kiosk()
    code = kiosk.coupon(7)
    reported = kiosk.post([kiosk.event(1, "coupon_redeemed", coupon_redeemed_payload(code.text))])
    assert reported.json()["results"][0]["status"] == "accepted"

    again = redeem(hq, code.text, kiosk.store_id, "till-2")

    assert again.status_code == 409
    body = again.json()
    assert body["detail"].startswith(f"this coupon was already redeemed at store {kiosk.store_id}")
    assert (body["first"]["store_id"], body["first"]["source"], body["redemptions"]) == (
        kiosk.store_id,
        "store",
        1,
    )
    assert rows(
        hq, select(redeemed_coupons.c.redemptions).where(redeemed_coupons.c.code == code.text)
    ) == [(1,)]


def test_two_stores_reporting_one_code_are_listed_as_a_double_redemption(hq: Hq) -> None:
    issuer, elsewhere = hq.kiosk(), hq.kiosk()
    code = issuer.coupon(8)
    when = datetime.now(UTC).replace(microsecond=0)
    for kiosk, at in ((issuer, when), (elsewhere, when + timedelta(hours=1))):
        answer = kiosk.post(
            [kiosk.event(1, "coupon_redeemed", coupon_redeemed_payload(code.text, at, "staff-7"))]
        )
        assert answer.json()["results"][0]["status"] == "accepted"

    doubles = hq.admin_get("/v1/admin/coupons/doubles").json()["doubles"]

    (double,) = [d for d in doubles if d["code"] == code.text]
    assert (double["kiosk_no"], double["serial"], double["issued"]) == (issuer.kiosk_no, 8, None)
    assert [(r["store_id"], r["kiosk_id"], r["redeemed_at"]) for r in double["redemptions"]] == [
        (issuer.store_id, issuer.kiosk_id, when.isoformat()),
        (elsewhere.store_id, elsewhere.kiosk_id, (when + timedelta(hours=1)).isoformat()),
    ]
    listing = kiosk_hq(hq, "coupons", "doubles")
    assert listing.returncode == 0
    assert f"{code.text}  kiosk {issuer.kiosk_no} serial 8 campaign 7: redeemed 2 times" in (
        listing.stdout
    )


def test_redeeming_online_then_a_store_reporting_the_same_code_flags_it(hq: Hq) -> None:
    kiosk = hq.kiosk()
    code = kiosk.coupon(9)
    assert redeem(hq, code.text, kiosk.store_id).status_code == 200
    later = datetime.now(UTC) + timedelta(minutes=1)
    kiosk.post([kiosk.event(1, "coupon_redeemed", coupon_redeemed_payload(code.text, later))])

    doubles = hq.admin_get("/v1/admin/coupons/doubles").json()["doubles"]

    (double,) = [d for d in doubles if d["code"] == code.text]
    assert [r["source"] for r in double["redemptions"]] == ["hq", "store"]


def test_redeem_through_the_admin_api_answers_what_the_code_is(hq: Hq) -> None:
    kiosk = hq.kiosk()
    code = kiosk.coupon(10)
    kiosk.post([kiosk.event(1, "coupon_issued", coupon_issued_payload(code))])

    answer = redeem(hq, code.text.lower().replace("-", " "), kiosk.store_id)

    assert answer.status_code == 200
    body = answer.json()
    assert (body["code"], body["kiosk_no"], body["serial"], body["store_id"]) == (
        code.text,
        kiosk.kiosk_no,
        10,
        kiosk.store_id,
    )
    assert body["issued"]["campaign"] == "phone-50"


def test_the_admin_api_refuses_bad_codes_with_their_reason(hq: Hq) -> None:
    kiosk = hq.kiosk()
    assert kiosk.coupon_key is not None
    assert kiosk.kiosk_no is not None
    forged = issue(bytes(32), campaign_no=7, kiosk_no=kiosk.kiosk_no, serial=1,
                   expires_on=date.today() + timedelta(days=3))  # fmt: skip
    expired = kiosk.coupon(2, expires_on=date.today() - timedelta(days=2))
    for text, reason in ((forged.text, "forged"), (expired.text, "expired"), ("ABC", "malformed")):
        answer = redeem(hq, text, kiosk.store_id)
        assert answer.status_code == 422
        (problem,) = answer.json()["detail"]
        assert (problem["loc"], problem["type"]) == (["body", "code"], f"coupon.{reason}")
        assert text not in problem["msg"]
    unknown_store = redeem(hq, kiosk.coupon(3).text, "no-such-store")
    assert unknown_store.status_code == 422
    assert unknown_store.json()["detail"][0]["loc"] == ["body", "store_id"]
    no_token = requests.post(
        f"{hq.base_url}/v1/admin/coupons/redeem",
        json={"code": kiosk.coupon(4).text, "store_id": kiosk.store_id},
        timeout=10,
    )
    assert no_token.status_code == 401


def test_the_redeem_command_refuses_forged_and_expired_codes_and_says_why(hq: Hq) -> None:
    kiosk = hq.kiosk()
    assert kiosk.kiosk_no is not None
    forged = issue(bytes(32), campaign_no=7, kiosk_no=kiosk.kiosk_no, serial=1,
                   expires_on=date.today() + timedelta(days=3))  # fmt: skip
    expired = kiosk.coupon(2, expires_on=date.today() - timedelta(days=2))

    for code, expected in (
        (forged.text, "kiosk-hq: coupon refused (forged): this coupon code is not valid"),
        (expired.text, "kiosk-hq: coupon refused (expired): this coupon code expired at the end"),
    ):
        done = kiosk_hq(hq, "coupons", "redeem", code, "--store", kiosk.store_id)
        assert (done.returncode, done.stdout) == (1, "")
        assert done.stderr.startswith(expected), done.stderr
        assert done.stderr.count("\n") == 1
        assert code not in done.stderr

    good = kiosk.coupon(3).text
    first = kiosk_hq(hq, "coupons", "redeem", good, "--store", kiosk.store_id, "--by", "王店员")
    assert first.returncode == 0, first.stderr
    assert f"redeemed at store {kiosk.store_id} by 王店员" in first.stdout
    second = kiosk_hq(hq, "coupons", "redeem", good, "--store", kiosk.store_id)
    assert second.returncode == 3
    assert second.stderr.startswith(
        f"kiosk-hq: this coupon was already redeemed at store {kiosk.store_id} on "
    )
    verified = kiosk_hq(hq, "coupons", "verify", good)
    assert verified.returncode == 3
    assert "redeemed: " in verified.stdout
    fresh = kiosk_hq(hq, "coupons", "verify", kiosk.coupon(4).text)
    assert fresh.returncode == 0
    assert fresh.stdout.endswith("not redeemed yet\n")


def test_tills_racing_for_one_code_let_exactly_one_redeem_it(hq: Hq) -> None:
    kiosk = hq.kiosk()
    code = kiosk.coupon(11).text
    tills = 12
    start = threading.Barrier(tills)
    statuses: list[int] = []

    def till(number: int) -> None:
        with requests.Session() as session:
            session.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
            start.wait()
            answer = session.post(
                f"{hq.base_url}/v1/admin/coupons/redeem",
                json={"code": code, "store_id": kiosk.store_id, "by": f"till-{number}"},
                timeout=30,
            )
            statuses.append(answer.status_code)

    threads = [threading.Thread(target=till, args=(n,)) for n in range(tills)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200] + [409] * (tills - 1)
    assert rows(
        hq, select(coupon_redemptions.c.source).where(coupon_redemptions.c.code == code)
    ) == [("hq",)]


def test_the_enrol_answer_carries_the_key_as_base64(hq: Hq) -> None:
    kiosk = hq.kiosk()
    assert kiosk.coupon_key is not None
    assert base64.b64decode(base64.b64encode(kiosk.coupon_key)) == kiosk.coupon_key
