"""What HQ decides about the member feed, before any database is involved."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from hq.crm.facts import (
    AlarmRaised,
    ConsentDecision,
    Interaction,
    Origin,
    Signup,
    TagBound,
)
from hq.crm.recognition import (
    LAST_VIEWED_LENGTH,
    FeedContent,
    Person,
    changes,
    feed_content,
    last_viewed,
    members_touched,
    needs_reset,
)
from hq.enrollment import KioskIdentity
from hq.ingest import Candidate, Plan, Rejected, decide
from hq.wire import EventBatch

MEMBER = "0b9d6f0e-5c8e-4b4b-9a53-1b2f1d3e4a5c"
ORIGIN = Origin("e1", "sh-nanjing-road", "sh-nanjing-road-k1", datetime(2026, 11, 23, tzinfo=UTC))
HASH_A, HASH_B, HASH_C = "a" * 64, "b" * 64, "c" * 64
KIOSK = KioskIdentity(kiosk_id="sh-nanjing-road-k1", store_id="sh-nanjing-road")


def person(**changes: Any) -> Person:
    base: dict[str, Any] = {
        "recognition": True,
        "name": "王芳",
        "greet_by_name": False,
        "tier": None,
        "last_viewed": ("SKU-1",),
    }
    return Person(**{**base, **changes})


def entry(member: str = MEMBER, **changes: Any) -> FeedContent:
    base: dict[str, Any] = {
        "member_id": member,
        "greeting_name": None,
        "last_viewed": (),
        "tier": None,
    }
    return FeedContent(**{**base, **changes})


# ---------------------------------------------------------------- who is in the feed


def test_a_member_without_recognition_consent_has_no_entry() -> None:
    assert feed_content(person(recognition=False), MEMBER) is None


def test_a_consenting_member_is_greeted_by_name_only_if_they_allowed_it() -> None:
    plain = feed_content(person(), MEMBER)
    named = feed_content(person(greet_by_name=True), MEMBER)
    assert plain == FeedContent(MEMBER, None, ("SKU-1",), None)
    assert named == FeedContent(MEMBER, "王芳", ("SKU-1",), None)


def test_greeting_by_name_without_a_name_greets_without_one() -> None:
    content = feed_content(person(greet_by_name=True, name=None), MEMBER)
    assert content is not None
    assert content.greeting_name is None


def test_last_viewed_keeps_the_six_newest_distinct_skus() -> None:
    lifted = ["P-9", "P-8", "P-9", "P-7", "P-6", "P-8", "P-5", "P-4", "P-3", "P-2"]
    assert last_viewed(lifted) == ("P-9", "P-8", "P-7", "P-6", "P-5", "P-4")
    assert len(last_viewed(lifted)) == LAST_VIEWED_LENGTH
    assert last_viewed([]) == ()


# ---------------------------------------------------------------- what changes


def test_a_new_entry_and_a_changed_one_are_written_an_unchanged_one_is_not() -> None:
    current = {HASH_A: entry(last_viewed=("P-1",)), HASH_B: entry()}
    desired = {HASH_A: entry(last_viewed=("P-2", "P-1")), HASH_B: entry(), HASH_C: entry()}
    assert changes(desired, current) == [
        (HASH_A, entry(last_viewed=("P-2", "P-1"))),
        (HASH_C, entry()),
    ]


def test_a_removal_is_written_only_for_a_live_entry() -> None:
    current: dict[str, FeedContent | None] = {HASH_A: entry(), HASH_B: None}
    desired: dict[str, FeedContent | None] = {HASH_A: None, HASH_B: None, HASH_C: None}
    assert changes(desired, current) == [(HASH_A, None)]


def test_a_tombstoned_tag_bound_again_comes_back() -> None:
    assert changes({HASH_A: entry()}, {HASH_A: None}) == [(HASH_A, entry())]


@pytest.mark.parametrize(
    ("since", "expected"),
    [(0, True), (4, True), (5, False), (9, False), (10, False), (11, True)],
)
def test_a_kiosk_gets_a_reset_when_it_holds_nothing_missed_a_compaction_or_is_ahead(
    since: int, expected: bool
) -> None:
    assert needs_reset(since, feed_version=10, compacted_through=5) is expected


def test_only_facts_that_can_change_an_entry_touch_a_member() -> None:
    other = str(uuid.uuid4())
    facts = [
        Signup(ORIGIN, MEMBER, "+8613912345678", None, None, "zh-CN"),
        ConsentDecision(ORIGIN, other, "marketing", "sms", "2026-11", "5e" * 32, True),
        Interaction(ORIGIN, other, "drop", "s1", "P-1", 1, {"dwell_ms": 5}),
        Interaction(ORIGIN, other, "lift", "s1", None, 1, {}),
        AlarmRaised(ORIGIN, 1, None, "CABLE"),
    ]
    assert members_touched(facts) == {MEMBER}
    assert members_touched(
        [
            ConsentDecision(ORIGIN, other, "recognition", None, "2026-11", "5e" * 32, False),
            Interaction(ORIGIN, "m2", "lift", "s1", "P-1", 1, {}),
            TagBound(ORIGIN, "m3", HASH_A, "rfid"),
        ]
    ) == {other, "m2", "m3"}


# ---------------------------------------------------------------- ingest of the new payloads


def event(seq: int, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "store_id": KIOSK.store_id,
        "kiosk_id": KIOSK.kiosk_id,
        "seq": seq,
        "kind": kind,
        "schema_version": 1,
        "occurred_at": "2026-11-23T17:14:03.120+08:00",
        "payload": payload,
    }


def only(sent: dict[str, Any]) -> Candidate | Rejected:
    plan = decide(KIOSK, EventBatch.model_validate({"events": [sent]}))
    assert isinstance(plan, Plan)
    (verdict,) = plan.verdicts
    assert isinstance(verdict, Candidate | Rejected)
    return verdict


def test_a_tag_bound_event_becomes_a_binding_fact_with_the_hash_in_lower_case() -> None:
    verdict = only(event(1, "tag_bound", {"member_id": MEMBER, "tag_hash": "AB" * 32}))
    assert isinstance(verdict, Candidate)
    assert isinstance(verdict.fact, TagBound)
    assert (verdict.fact.member_id, verdict.fact.tag_hash, verdict.fact.tag_kind) == (
        MEMBER,
        "ab" * 32,
        None,
    )


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (
            {"member_id": MEMBER, "tag_hash": "ab" * 31},
            "payload.tag_hash: String should match pattern '^[0-9a-fA-F]{64}$'",
        ),
        ({"tag_hash": "ab" * 32}, "payload.member_id: Field required"),
        (
            {"member_id": MEMBER, "tag_hash": "ab" * 32, "tag_kind": "nfc"},
            "payload.tag_kind: Input should be 'rfid', 'ibeacon', 'eddystone' or 'mfr'",
        ),
    ],
)
def test_a_tag_bound_event_that_breaks_its_rules_is_rejected(
    payload: dict[str, Any], reason: str
) -> None:
    verdict = only(event(1, "tag_bound", payload))
    assert isinstance(verdict, Rejected)
    assert verdict.reason == reason


@pytest.mark.parametrize(("sent", "expected"), [({}, False), ({"greet_by_name": True}, True)])
def test_a_signup_says_whether_to_greet_by_name_and_by_default_does_not(
    sent: dict[str, Any], expected: bool
) -> None:
    payload = {
        "member_id": MEMBER,
        "phone": "139 1234 5678",
        "region": "CN",
        "name": "王芳",
        "language": "zh-CN",
        **sent,
    }
    verdict = only(event(1, "member_signup", payload))
    assert isinstance(verdict, Candidate)
    assert isinstance(verdict.fact, Signup)
    assert verdict.fact.greet_by_name is expected


def test_greet_by_name_must_be_a_boolean() -> None:
    payload = {
        "member_id": MEMBER,
        "phone": "139 1234 5678",
        "region": "CN",
        "language": "zh-CN",
        "greet_by_name": "yes",
    }
    verdict = only(event(1, "member_signup", payload))
    assert isinstance(verdict, Rejected)
    assert verdict.reason == "payload.greet_by_name: Input should be a valid boolean"
