"""Coupons at HQ: kiosk numbers and keys at enrolment, redeeming a code once across
the chain, stores' offline redemptions and double redemptions, coupon events at
ingest, and erasure of the member-linked rows."""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from helpers.hq import (
    OCCURRED_AT,
    consent_payload,
    coupon_issued_payload,
    coupon_redeemed_payload,
    event_json,
    signup_payload,
    survey_answer_payload,
)
from sqlalchemy import select

from hq import ingest
from hq.crm import coupons
from hq.crm.coupon_codes import CouponCode, issue, kiosk_key_from_secret
from hq.crm.erasure import erase_member
from hq.db import (
    Database,
    coupon_redemptions,
    coupons_issued,
    prize_draws,
    rejections,
    survey_answers,
    survey_completions,
)
from hq.enrollment import Enrolment, KioskIdentity, issue_code, redeem_code, revoke
from hq.errors import UnknownStore
from hq.fleet import add_store
from hq.wire import EventBatch

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
TODAY = NOW.date()
GOOD_THROUGH = date(2026, 12, 31)


@dataclass
class Kiosk:
    enrolment: Enrolment
    seq: int = 0

    @property
    def identity(self) -> KioskIdentity:
        return KioskIdentity(self.enrolment.kiosk_id, self.enrolment.store_id)

    def code(self, serial: int, *, expires_on: date = GOOD_THROUGH) -> CouponCode:
        return issue(
            self.enrolment.coupon_key,
            campaign_no=7,
            kiosk_no=self.enrolment.kiosk_no,
            serial=serial,
            expires_on=expires_on,
        )

    def send(self, database: Database, *sent: tuple[str, dict[str, Any]]) -> list[Any]:
        batch = []
        for kind, payload in sent:
            self.seq += 1
            batch.append(
                event_json(self.identity.store_id, self.identity.kiosk_id, self.seq, kind, payload)
            )
        plan = ingest.decide(self.identity, EventBatch.model_validate({"events": batch}))
        assert isinstance(plan, ingest.Plan)
        outcome = ingest.store(database, self.identity, plan, received_at=NOW)
        return [(result.status, result.reason) for result in outcome.results]


def enrol(database: Database, store_id: str = "sh-nanjing-road") -> Kiosk:
    add_store(database, store_id, None, now=NOW, exist_ok=True)
    return Kiosk(redeem_code(database, issue_code(database, store_id, now=NOW), None, now=NOW))


def redeem(database: Database, code: str, store_id: str = "sh-nanjing-road") -> Any:
    return coupons.redeem(database, code, store_id=store_id, by="till-1", now=NOW)


# ---------------------------------------------------------------- keys at enrolment


def test_each_kiosk_gets_its_own_number_and_the_key_hq_derives(database: Database) -> None:
    first = enrol(database, "sh-nanjing-road").enrolment
    second = enrol(database, "bj-wangfujing").enrolment
    third = enrol(database, "sh-nanjing-road").enrolment

    assert [first.kiosk_no, second.kiosk_no, third.kiosk_no] == [1, 2, 3]
    secret = coupons.coupon_secret(database)
    assert len(secret) == 32
    for enrolment in (first, second, third):
        assert enrolment.coupon_key == kiosk_key_from_secret(
            secret, enrolment.store_id, enrolment.kiosk_no
        )
        assert enrolment.coupon_key.hex() not in repr(enrolment)
        assert enrolment.token not in repr(enrolment)
    assert len({first.coupon_key, second.coupon_key, third.coupon_key}) == 3


def test_enrolments_at_once_get_distinct_numbers(database: Database) -> None:
    add_store(database, "sh-nanjing-road", None, now=NOW)
    codes = [issue_code(database, "sh-nanjing-road", now=NOW) for _ in range(6)]
    start = threading.Barrier(len(codes))
    numbers: list[int] = []

    def enrol_one(code: str) -> None:
        start.wait()
        numbers.append(redeem_code(database, code, None, now=NOW).kiosk_no)

    threads = [threading.Thread(target=enrol_one, args=(code,)) for code in codes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(numbers) == [1, 2, 3, 4, 5, 6]


# ---------------------------------------------------------------- redeeming through HQ


def test_a_genuine_code_is_redeemed_once_and_a_second_time_names_the_first(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    kiosk = enrol(database)
    add_store(database, "bj-wangfujing", None, now=NOW)
    code = kiosk.code(41)

    first = redeem(database, code.text.lower())
    assert isinstance(first, coupons.Redeemed)
    assert (first.code, first.store_id, first.by, first.issue) == (
        code,
        "sh-nanjing-road",
        "till-1",
        None,
    )

    with caplog.at_level(logging.INFO, logger="hq.coupons"):
        again = redeem(database, code.text, "bj-wangfujing")
    assert isinstance(again, coupons.AlreadyRedeemed)
    assert again.first.store_id == "sh-nanjing-road"
    assert "already redeemed at store sh-nanjing-road on 2026-11-23 09:00 UTC" in again.message
    assert f"kiosk {kiosk.enrolment.kiosk_no} serial 41" in caplog.text
    with database.read() as connection:
        assert len(connection.execute(select(coupon_redemptions)).all()) == 1

    checked = coupons.verify(database, code.text, today=TODAY)
    assert isinstance(checked, coupons.Verified)
    assert [r.store_id for r in checked.redemptions] == ["sh-nanjing-road"]


@pytest.mark.parametrize(
    ("reason", "typed"),
    [
        ("malformed", lambda kiosk: "HELLO"),
        ("malformed", lambda kiosk: kiosk.code(1).text[:-1] + "U"),
        ("forged", lambda kiosk: issue(bytes(32), campaign_no=7, kiosk_no=1, serial=1,
                                        expires_on=GOOD_THROUGH).text),
        ("unknown_kiosk", lambda kiosk: issue(bytes(32), campaign_no=7, kiosk_no=999, serial=1,
                                               expires_on=GOOD_THROUGH).text),
        ("expired", lambda kiosk: kiosk.code(1, expires_on=TODAY - timedelta(days=1)).text),
    ],
)  # fmt: skip
def test_codes_hq_does_not_honour_are_refused_with_their_reason(
    database: Database, reason: str, typed: Any
) -> None:
    kiosk = enrol(database)
    outcome = redeem(database, typed(kiosk))
    assert isinstance(outcome, coupons.Refused)
    assert outcome.reason == reason
    with database.read() as connection:
        assert connection.execute(select(coupon_redemptions)).first() is None


def test_a_code_is_good_through_its_last_day_at_the_store(database: Database) -> None:
    kiosk = enrol(database)
    code = kiosk.code(1, expires_on=TODAY)
    assert isinstance(
        coupons.redeem(
            database, code.text, store_id="sh-nanjing-road", by="t", now=NOW, today=TODAY
        ),
        coupons.Redeemed,
    )


def test_codes_of_a_revoked_kiosk_count_only_if_hq_had_received_them_before(
    database: Database,
) -> None:
    kiosk = enrol(database)
    reported, unreported = kiosk.code(1), kiosk.code(2)
    assert kiosk.send(database, ("coupon_issued", coupon_issued_payload(reported))) == [
        ("accepted", None)
    ]
    revoke(database, kiosk.identity.kiosk_id, now=NOW + timedelta(hours=1))

    refused = redeem(database, unreported.text)
    assert isinstance(refused, coupons.Refused)
    assert refused.reason == "revoked"
    assert isinstance(redeem(database, reported.text), coupons.Redeemed)


def test_redemptions_racing_for_one_code_let_exactly_one_through(database: Database) -> None:
    kiosk = enrol(database)
    code = kiosk.code(5).text
    tills = 8
    start = threading.Barrier(tills)
    outcomes: list[Any] = []

    def till(number: int) -> None:
        start.wait()
        outcomes.append(
            coupons.redeem(database, code, store_id="sh-nanjing-road", by=f"till-{number}", now=NOW)
        )

    threads = [threading.Thread(target=till, args=(n,)) for n in range(tills)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(type(o).__name__ for o in outcomes) == ["AlreadyRedeemed"] * 7 + ["Redeemed"]
    with database.read() as connection:
        assert len(connection.execute(select(coupon_redemptions)).all()) == 1


def test_redeeming_at_an_unknown_store_is_an_error(database: Database) -> None:
    kiosk = enrol(database)
    with pytest.raises(UnknownStore):
        redeem(database, kiosk.code(1).text, "nowhere")


# ---------------------------------------------------------------- kiosks' reports


def test_a_store_redeeming_offline_after_hq_makes_a_double_redemption(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    kiosk = enrol(database)
    code = kiosk.code(9)
    assert isinstance(redeem(database, code.text), coupons.Redeemed)

    with caplog.at_level(logging.WARNING, logger="hq.coupons"):
        answer = kiosk.send(database, ("coupon_redeemed", coupon_redeemed_payload(code.text)))
    # Kept, but answered as a conflict: HQ's own redemption came first and stands.
    ((status, reason),) = answer
    assert status == "accepted"
    assert reason is not None
    assert reason.startswith("conflict: this coupon was first redeemed at store sh-nanjing-road")
    (double,) = coupons.doubles(database)
    assert double.code == code
    assert [(r.source, r.store_id) for r in double.redemptions] == [
        ("hq", "sh-nanjing-road"),
        ("store", "sh-nanjing-road"),
    ]
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.getMessage() == (
        f"double redemption: coupon kiosk {kiosk.enrolment.kiosk_no} serial 9 redeemed 2 times,"
        " at stores sh-nanjing-road, sh-nanjing-road"
    )


def test_two_stores_reporting_one_code_are_both_kept_and_flagged(database: Database) -> None:
    issuer = enrol(database, "sh-nanjing-road")
    elsewhere = enrol(database, "bj-wangfujing")
    code = issuer.code(3)
    assert issuer.send(database, ("coupon_redeemed", coupon_redeemed_payload(code.text))) == [
        ("accepted", None)
    ]
    assert coupons.doubles(database) == []
    later = NOW + timedelta(hours=2)
    ((status, reason),) = elsewhere.send(
        database, ("coupon_redeemed", coupon_redeemed_payload(code.text, later, "till-9"))
    )
    assert status == "accepted"  # kept: a store did redeem it
    assert reason == (
        "conflict: this coupon was first redeemed at store sh-nanjing-road on "
        f"{OCCURRED_AT:%Y-%m-%d %H:%M} UTC; HQ keeps that redemption and recorded "
        "this one as a double redemption"
    )

    (double,) = coupons.doubles(database)
    assert [(r.store_id, r.by, r.redeemed_at) for r in double.redemptions] == [
        ("sh-nanjing-road", "till-1", OCCURRED_AT),
        ("bj-wangfujing", "till-9", later),
    ]
    # Then a till asking HQ hears where it went first.
    again = redeem(database, code.text)
    assert isinstance(again, coupons.AlreadyRedeemed)
    assert (again.first.store_id, again.redemptions) == ("sh-nanjing-road", 2)


def test_one_batch_reporting_a_code_twice_flags_it(database: Database) -> None:
    kiosk = enrol(database)
    code = kiosk.code(4).text
    report = ("coupon_redeemed", coupon_redeemed_payload(code))
    first, second = kiosk.send(database, report, report)
    assert first == ("accepted", None)
    assert second[0] == "accepted"
    assert second[1] is not None
    assert second[1].startswith("conflict: ")
    (double,) = coupons.doubles(database)
    assert len(double.redemptions) == 2


def test_coupon_events_whose_codes_do_not_verify_are_rejected(database: Database) -> None:
    kiosk = enrol(database)
    other = enrol(database, "bj-wangfujing")
    forged = issue(
        bytes(32), campaign_no=7, kiosk_no=kiosk.enrolment.kiosk_no, serial=1,
        expires_on=GOOD_THROUGH,
    )  # fmt: skip
    answers = kiosk.send(
        database,
        ("coupon_issued", coupon_issued_payload(forged)),
        ("coupon_issued", coupon_issued_payload(other.code(1))),
        ("coupon_issued", coupon_issued_payload(kiosk.code(2), serial=3)),
        ("coupon_issued", coupon_issued_payload(kiosk.code(6), campaign_no=8)),
        ("coupon_issued", coupon_issued_payload(kiosk.code(4), code="NOT-A-CODE")),
        ("coupon_redeemed", coupon_redeemed_payload(forged.text)),
        ("coupon_redeemed", coupon_redeemed_payload(other.code(1).text)),
        ("coupon_issued", coupon_issued_payload(kiosk.code(5))),
    )
    assert answers == [
        ("rejected", "payload.code: does not verify under its kiosk's coupon key"),
        ("rejected", "payload.code: not a code of this kiosk's number"),
        ("rejected", "payload.serial: is not the code's own"),
        ("rejected", "payload.campaign_no: is not the code's own"),
        ("rejected", "payload.code: not a coupon code"),
        ("rejected", "payload.code: does not verify under its kiosk's coupon key"),
        ("accepted", None),  # a code of another store's kiosk, redeemed here
        ("accepted", None),
    ]
    with database.read() as connection:
        assert connection.execute(select(coupons_issued.c.serial)).scalars().all() == [5]
        assert len(connection.execute(select(rejections)).all()) == 6


def test_a_kiosk_batch_lands_in_the_survey_and_coupon_tables(database: Database) -> None:
    kiosk = enrol(database)
    member = str(uuid.uuid4())
    code = kiosk.code(12)
    answers = kiosk.send(
        database,
        ("member_signup", signup_payload(member, "13912345678")),
        ("consent", consent_payload(member, "membership", given=True)),
        ("survey_answer", survey_answer_payload("s1", "visit", "mood", "smiley", score=2,
                                                member_id=member, low=True)),
        ("survey_answer", survey_answer_payload("s1", "visit", "why", "text", text="太贵了",
                                                member_id=member)),
        ("survey_answer", survey_answer_payload("s1", "visit", "pick", "multiple",
                                                choices=["camera", "battery"])),
        ("survey_completed", {"session": "s1", "survey": "visit", "member_id": member,
                              "answers": 3, "reward_code": code.text.lower()}),
        ("coupon_issued", coupon_issued_payload(code, member_id=member)),
        ("prize_draw", {"session": "s1", "draw": "spring", "member_id": member,
                        "prize": None, "code": None}),
    )  # fmt: skip
    assert answers == [("accepted", None)] * 8
    with database.read() as connection:
        stored = connection.execute(
            select(survey_answers.c.question, survey_answers.c.score, survey_answers.c.choices,
                   survey_answers.c.text, survey_answers.c.low, survey_answers.c.member_id)
            .order_by(survey_answers.c.id)
        ).all()  # fmt: skip
        completion = connection.execute(select(survey_completions)).one()
        issued = connection.execute(select(coupons_issued)).one()
        draw = connection.execute(select(prize_draws)).one()
    assert [tuple(row) for row in stored] == [
        ("mood", 2, None, None, True, member),
        ("why", None, None, "太贵了", False, member),
        ("pick", None, ["camera", "battery"], None, False, None),
    ]
    assert (completion.answers, completion.reward_code) == (3, code.text)
    assert (issued.code, issued.member_id, issued.expires_on, issued.campaign) == (
        code.text,
        member,
        GOOD_THROUGH,
        "phone-50",
    )
    assert (draw.draw, draw.prize, draw.member_id) == ("spring", None, member)


@pytest.mark.parametrize(
    ("kind", "answer", "reason"),
    [
        ("smiley", {"score": 5}, "a smiley score is 1 to 4"),
        ("nps", {"score": 11}, "payload.score"),
        ("single", {"choices": ["a", "b"]}, "exactly one"),
        ("text", {"text": "x" * 501}, "payload.text"),
        ("smiley", {"text": "hi"}, "a smiley answer has none"),
        ("single", {"choices": ["Not A Slug"]}, "payload.choices.0"),
    ],
)
def test_survey_answers_that_break_their_kind_are_rejected(
    kind: str, answer: dict[str, Any], reason: str
) -> None:
    kiosk = KioskIdentity("sh-nanjing-road-k1", "sh-nanjing-road")
    sent = event_json(
        kiosk.store_id,
        kiosk.kiosk_id,
        1,
        "survey_answer",
        survey_answer_payload("s1", "visit", "q", kind, **answer),
    )
    plan = ingest.decide(kiosk, EventBatch.model_validate({"events": [sent]}))
    assert isinstance(plan, ingest.Plan)
    (verdict,) = plan.verdicts
    assert isinstance(verdict, ingest.Rejected)
    assert reason in verdict.reason


# ---------------------------------------------------------------- erasure


def test_erasing_a_member_keeps_their_coupons_and_answers_without_them(
    database: Database,
) -> None:
    kiosk = enrol(database)
    member = str(uuid.uuid4())
    code = kiosk.code(1)
    kiosk.send(
        database,
        ("member_signup", signup_payload(member, "13912345678")),
        ("survey_answer", survey_answer_payload("s1", "visit", "why", "text", text="我叫王芳",
                                                member_id=member)),
        ("coupon_issued", coupon_issued_payload(code, member_id=member)),
    )  # fmt: skip
    erased = erase_member(database, member, now=NOW)
    assert erased is not None
    # Later events of the erased member, from a kiosk that was offline.
    later = kiosk.code(2)
    assert kiosk.send(
        database,
        ("coupon_issued", coupon_issued_payload(later, member_id=member)),
        ("prize_draw", {"session": "s2", "draw": "spring", "member_id": member,
                        "prize": "p1", "code": later.text}),
    ) == [("accepted", None)] * 2  # fmt: skip

    with database.read() as connection:
        answer = connection.execute(select(survey_answers.c.member_id, survey_answers.c.text)).one()
        issued = connection.execute(
            select(coupons_issued.c.serial, coupons_issued.c.member_id).order_by(
                coupons_issued.c.serial
            )
        ).all()
        draw = connection.execute(select(prize_draws.c.member_id, prize_draws.c.prize)).one()
    assert tuple(answer) == (None, None)
    assert [tuple(row) for row in issued] == [(1, None), (2, None)]
    assert tuple(draw) == (None, "p1")
    assert isinstance(redeem(database, code.text), coupons.Redeemed)
