"""What HQ decides about each event of a batch, before any database is involved."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest

from hq.crm.coupon_codes import issue
from hq.crm.facts import (
    AlertAcked,
    ConsentDecision,
    Interaction,
    PlanogramEdited,
    PrizeDrawn,
    Signup,
    SurveyCompleted,
)
from hq.enrollment import KioskIdentity
from hq.ingest import Candidate, Plan, Refusal, Rejected, Repeat, decide
from hq.wire import EventBatch

KIOSK = KioskIdentity(kiosk_id="sh-nanjing-road-k1", store_id="sh-nanjing-road")
OCCURRED_AT = "2026-11-23T17:14:03.120+08:00"
# Personal data that must never appear in a rejection reason.
PHONE = "139 1234 5678"
NAME = "王芳"
EMAIL = "Wang.Fang@Example.COM"
MEMBER = "0b9d6f0e-5c8e-4b4b-9a53-1b2f1d3e4a5c"


def event(
    seq: int, kind: str = "lift", payload: dict[str, Any] | None = None, **envelope: Any
) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "store_id": KIOSK.store_id,
        "kiosk_id": KIOSK.kiosk_id,
        "seq": seq,
        "kind": kind,
        "schema_version": 1,
        "occurred_at": OCCURRED_AT,
        "payload": {"session": "s1", "slot": 3, "sku": "SKU-0003"} if payload is None else payload,
        **envelope,
    }


def signup(**changes: Any) -> dict[str, Any]:
    return {
        "member_id": MEMBER,
        "phone": PHONE,
        "region": "CN",
        "name": NAME,
        "email": EMAIL,
        "language": "zh-CN",
        **changes,
    }


def plan_of(*events: dict[str, Any]) -> Plan:
    decided = decide(KIOSK, EventBatch.model_validate({"events": list(events)}))
    assert isinstance(decided, Plan)
    return decided


def only(*events: dict[str, Any]) -> Candidate | Rejected | Repeat:
    (verdict,) = plan_of(*events).verdicts
    return verdict


def reason_of(*events: dict[str, Any]) -> str:
    verdict = only(*events)
    assert isinstance(verdict, Rejected), verdict
    return verdict.reason


def test_a_batch_naming_another_store_is_refused_whole() -> None:
    decided = decide(
        KIOSK,
        EventBatch.model_validate({"events": [event(1), event(2, store_id="sh-huaihai-road")]}),
    )
    assert decided == Refusal(2, "1 of 2 events name another store")


def test_a_batch_naming_another_store_and_another_kiosk_counts_both() -> None:
    decided = decide(
        KIOSK,
        EventBatch.model_validate(
            {
                "events": [
                    event(1, kiosk_id="sh-nanjing-road-k2"),
                    event(2, store_id="sh-huaihai-road"),
                    event(3),
                ]
            }
        ),
    )
    assert decided == Refusal(3, "2 of 3 events name another store")


def test_a_batch_naming_another_kiosk_of_the_same_store_is_refused_whole() -> None:
    decided = decide(
        KIOSK, EventBatch.model_validate({"events": [event(1, kiosk_id="sh-nanjing-road-k2")]})
    )
    assert isinstance(decided, Refusal)
    assert decided.detail == "1 of 1 events name another kiosk"


def test_an_event_sent_twice_in_one_batch_repeats_the_first() -> None:
    first = event(1)
    verdicts = plan_of(first, event(2), dict(first)).verdicts
    assert isinstance(verdicts[0], Candidate)
    assert verdicts[2] == Repeat(2, first["event_id"], 1, first=0)


def test_an_event_id_repeated_with_another_seq_is_rejected() -> None:
    first = event(1)
    verdicts = plan_of(first, {**first, "seq": 2}).verdicts
    assert isinstance(verdicts[1], Rejected)
    assert verdicts[1].reason == "event_id: repeats an earlier event with another seq"


def test_two_events_with_one_seq_keep_the_first_and_reject_the_second() -> None:
    verdicts = plan_of(event(7), event(7)).verdicts
    assert isinstance(verdicts[0], Candidate)
    assert isinstance(verdicts[1], Rejected)
    assert verdicts[1].reason == "seq: already used by another event"


def test_events_after_a_repeated_event_id_are_still_decided() -> None:
    first = event(1)
    verdicts = plan_of(first, dict(first), {**first, "seq": 2}, event(3)).verdicts
    assert [type(v) for v in verdicts] == [Candidate, Repeat, Rejected, Candidate]
    assert verdicts[3].seq == 3


def test_events_after_a_reused_seq_are_still_decided() -> None:
    verdicts = plan_of(event(7), event(7), event(8)).verdicts
    assert [type(v) for v in verdicts] == [Candidate, Rejected, Candidate]
    assert verdicts[2].seq == 8


def test_an_unknown_kind_is_rejected() -> None:
    assert reason_of(event(1, kind="teleport", payload={})) == "kind: unknown kind 'teleport'"


def test_an_unknown_schema_version_is_rejected() -> None:
    assert reason_of(event(1, schema_version=2)) == "schema_version: 'lift' has no schema version 2"


@pytest.mark.parametrize(
    ("kind", "payload", "reason"),
    [
        (
            "drop",
            {"session": "s1", "slot": 3, "sku": None, "dwell_ms": -1},
            "payload.dwell_ms: Input should be greater than or equal to 0",
        ),
        (
            "lift",
            {"session": "s1", "slot": 0},
            "payload.slot: Input should be greater than or equal to 1",
        ),
        ("lift", {"slot": 1}, "payload.session: Field required"),
        ("comparison", {"session": "s1", "skus": ["A"]}, "payload.skus.1: Field required"),
        (
            "consent",
            {
                "member_id": MEMBER,
                "purpose": "spam",
                "notice_version": "v1",
                "notice_sha256": "0" * 64,
                "given": True,
            },
            "payload.purpose: Input should be 'membership', 'marketing', 'recognition' or "
            "'personalisation'",
        ),
        (
            "alarm",
            {"slot": 2**40, "reason": "CABLE"},
            "payload.slot: Input should be less than or equal to 2147483647",
        ),
        (
            "lift",
            {"session": "s\x001", "slot": 1},
            "payload.session: Value error, must not contain NUL characters",
        ),
    ],
)
def test_a_payload_that_breaks_its_kinds_rules_is_rejected_naming_field_and_rule(
    kind: str, payload: dict[str, Any], reason: str
) -> None:
    assert reason_of(event(1, kind=kind, payload=payload)) == reason


def test_rejection_reasons_never_quote_personal_data() -> None:
    reasons = [
        reason_of(event(1, "member_signup", signup(phone="12345"))),
        reason_of(event(1, "member_signup", signup(phone="+1 202 555 01"))),
        reason_of(event(1, "member_signup", signup(email="Wang Fang at home"))),
        reason_of(event(1, "member_signup", signup(name=["王芳"]))),
        reason_of(event(1, "member_signup", signup(email="x" * 300 + "@example.com"))),
        reason_of(event(1, "member_signup", signup(region="China"))),
    ]
    assert reasons[0] == "payload.phone: not a valid phone number for its region"
    assert reasons[2] == "payload.email: not an email address"
    for reason in reasons:
        for secret in ("12345", "202 555", "Wang Fang", NAME, "xxxxx", "China"):
            assert secret not in reason


def test_a_sign_up_becomes_a_normalised_signup_fact() -> None:
    verdict = only(event(1, "member_signup", signup()))
    assert isinstance(verdict, Candidate)
    fact = verdict.fact
    assert isinstance(fact, Signup)
    assert fact == Signup(
        origin=fact.origin,
        member_id=MEMBER,
        phone_e164="+8613912345678",
        email="wang.fang@example.com",
        name=NAME,
        language="zh-CN",
    )
    assert (fact.origin.store_id, fact.origin.kiosk_id) == (KIOSK.store_id, KIOSK.kiosk_id)


def test_the_stored_payload_is_what_was_sent_without_fields_hq_does_not_know() -> None:
    sent = signup(favourite_colour="teal")
    verdict = only(event(1, "member_signup", sent))
    assert isinstance(verdict, Candidate)
    del sent["favourite_colour"]
    assert verdict.payload == sent  # the phone as typed, the email as typed


def test_a_recommendation_tap_keeps_its_from_field() -> None:
    payload = {"session": "s1", "sku": "A", "shelf": "related", "from": "product:B", "slot": None}
    verdict = only(event(1, "recommendation_tap", {**payload, "member_id": MEMBER}))
    assert isinstance(verdict, Candidate)
    assert verdict.payload == {**payload, "member_id": MEMBER}
    assert isinstance(verdict.fact, Interaction)
    assert verdict.fact.details == {"shelf": "related", "from": "product:B"}


def test_only_members_interactions_become_timeline_facts() -> None:
    anonymous, member = plan_of(
        event(1), event(2, payload={"session": "s1", "slot": 3, "sku": None, "member_id": MEMBER})
    ).verdicts
    assert isinstance(anonymous, Candidate)
    assert anonymous.fact is None
    assert isinstance(member, Candidate)
    assert isinstance(member.fact, Interaction)
    assert (member.fact.member_id, member.fact.kind, member.fact.slot) == (MEMBER, "lift", 3)


def test_a_consent_hash_is_kept_in_lower_case() -> None:
    verdict = only(
        event(
            1,
            "consent",
            {
                "member_id": MEMBER,
                "purpose": "marketing",
                "channel": "sms",
                "notice_version": "2026-11",
                "notice_sha256": "AB" * 32,
                "given": True,
            },
        )
    )
    assert isinstance(verdict, Candidate)
    assert isinstance(verdict.fact, ConsentDecision)
    assert verdict.fact.notice_sha256 == "ab" * 32
    assert verdict.payload["notice_sha256"] == "AB" * 32


def completed(**changes: Any) -> dict[str, Any]:
    return event(
        1, "survey_completed", {"session": "s1", "survey": "visit", "answers": 3, **changes}
    )


def test_a_completed_survey_keeps_its_member_and_has_no_reward_unless_one_was_given() -> None:
    verdict = only(completed(member_id=MEMBER))
    assert isinstance(verdict, Candidate)
    assert isinstance(verdict.fact, SurveyCompleted)
    assert (verdict.fact.member_id, verdict.fact.reward_code) == (MEMBER, None)


def test_a_completed_survey_whose_reward_is_no_coupon_code_is_rejected() -> None:
    another_version = "K03G-000G-0001-0H3K-SSKP-3CQN"
    reason = reason_of(completed(reward_code=another_version))
    assert reason == "payload.reward_code: not a coupon code"


def test_a_reason_names_up_to_three_broken_rules_and_counts_the_rest() -> None:
    three = {"session": "", "slot": 0, "sku": "", "dwell_ms": 0}
    assert reason_of(event(1, "drop", three)).count("; ") == 2
    assert "more" not in reason_of(event(1, "drop", three))
    five = {"session": "", "slot": 0, "sku": "", "dwell_ms": -1, "member_id": "x"}
    assert reason_of(event(1, "drop", five)).endswith("; and 2 more")


CODE = issue(bytes(32), campaign_no=7, kiosk_no=1, serial=9, expires_on=date(2026, 12, 31))
UNREADABLE = "K03G-000G-0001-0H3K-SSKP-3CQN"  # a code's shape, another format version


def test_a_won_draw_keeps_the_code_won_and_a_code_that_is_none_is_rejected() -> None:
    won = {
        "session": "s1",
        "draw": "daily",
        "member_id": MEMBER,
        "prize": "case",
        "code": CODE.text,
    }
    verdict = only(event(1, "prize_draw", won))
    assert isinstance(verdict, Candidate)
    assert isinstance(verdict.fact, PrizeDrawn)
    assert verdict.fact.code == CODE.text
    reason = reason_of(event(1, "prize_draw", {**won, "code": UNREADABLE}))
    assert reason == "payload.code: not a coupon code"


def test_a_redemption_of_what_is_no_coupon_code_is_rejected() -> None:
    redeemed = {"code": UNREADABLE, "redeemed_at": OCCURRED_AT, "by": "till-1"}
    assert reason_of(event(1, "coupon_redeemed", redeemed)) == "payload.code: not a coupon code"


def test_an_issued_coupon_whose_expiry_is_not_the_codes_own_is_rejected() -> None:
    issued = {
        "session": "s1",
        "code": CODE.text,
        "campaign": "phone-50",
        "campaign_no": 7,
        "serial": 9,
        "expires_on": "2026-12-30",
        "reason": "survey",
    }
    assert (
        reason_of(event(1, "coupon_issued", issued)) == "payload.expires_on: is not the code's own"
    )


def test_every_verdict_names_its_place_in_the_batch() -> None:
    first = event(1)
    verdicts = plan_of(
        first,
        {**first, "seq": 2},  # its id again, another seq
        event(1),  # another event, seq 1 again
        event(3, kind="teleport", payload={}),
        event(4, "member_signup", signup(phone="12345")),
        event(5),
    ).verdicts
    assert [verdict.index for verdict in verdicts] == [0, 1, 2, 3, 4, 5]


# ---------------------------------------------------------------- attendant devices

ATTENDANT = KioskIdentity("sh-nanjing-road-a1", "sh-nanjing-road", role="attendant")
ACK = {"kiosk": "sh-nanjing-road-k1", "alert_seq": 9, "alert_kind": "alarm", "by": "s-1",
       "after_s": 3.5}  # fmt: skip
EDIT = {"kiosk": "sh-nanjing-road-k1", "slot": 2, "before": None, "after": "P-9", "by": "m-1"}


def attendant_plan(*events: dict[str, Any]) -> Plan:
    sent = [{**e, "kiosk_id": ATTENDANT.kiosk_id} for e in events]
    decided = decide(ATTENDANT, EventBatch.model_validate({"events": sent}))
    assert isinstance(decided, Plan)
    return decided


def test_an_attendant_is_refused_every_kind_but_its_own_and_a_kiosk_the_attendants() -> None:
    refused = attendant_plan(
        event(1), event(2, "member_signup", signup()), event(3, "survey_answer", {})
    ).verdicts
    assert [v.reason for v in refused if isinstance(v, Rejected)] == [
        "kind: an attendant device does not send 'lift'",
        "kind: an attendant device does not send 'member_signup'",
        "kind: an attendant device does not send 'survey_answer'",
    ]
    assert reason_of(event(1, "alert_ack", ACK)) == "kind: a kiosk device does not send 'alert_ack'"
    assert reason_of(event(1, "planogram_edit", EDIT)) == (
        "kind: a kiosk device does not send 'planogram_edit'"
    )


def test_an_attendants_ack_and_edit_become_facts_naming_the_kiosk() -> None:
    ack, edit = attendant_plan(
        event(1, "alert_ack", ACK), event(2, "planogram_edit", EDIT)
    ).verdicts
    assert isinstance(ack, Candidate)
    assert isinstance(edit, Candidate)
    assert isinstance(ack.fact, AlertAcked)
    assert (ack.fact.kiosk_id, ack.fact.alert_seq, ack.fact.by, ack.fact.after_s) == (
        "sh-nanjing-road-k1", 9, "s-1", 3.5,
    )  # fmt: skip
    assert ack.fact.origin.kiosk_id == ATTENDANT.kiosk_id
    assert isinstance(edit.fact, PlanogramEdited)
    assert (edit.fact.slot, edit.fact.before, edit.fact.after) == (2, None, "P-9")


@pytest.mark.parametrize(
    ("kind", "changes", "field"),
    [
        ("alert_ack", {"by": "王芳"}, "payload.by"),
        ("alert_ack", {"by": "x" * 65}, "payload.by"),
        ("alert_ack", {"after_s": float("nan")}, "payload.after_s"),
        ("alert_ack", {"alert_seq": 0}, "payload.alert_seq"),
        ("alert_ack", {"alert_kind": "Alarm!"}, "payload.alert_kind"),
        ("planogram_edit", {"after": ""}, "payload.after"),
        ("planogram_edit", {"kiosk": "k1\x00"}, "payload.kiosk"),
    ],
)
def test_an_attendants_report_outside_its_bounds_is_rejected_without_quoting_it(
    kind: str, changes: dict[str, Any], field: str
) -> None:
    payload = {**(ACK if kind == "alert_ack" else EDIT), **changes}
    (verdict,) = attendant_plan(event(1, kind, payload)).verdicts
    assert isinstance(verdict, Rejected)
    assert verdict.reason.startswith(field + ":")
    assert "王芳" not in verdict.reason
