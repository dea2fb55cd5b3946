"""A consent's state on a customer's timeline: given, withdrawn, or never given."""

from __future__ import annotations

from datetime import UTC, datetime

from hq.crm.queries import Consent, consent_states


def decision(purpose: str, given: bool, hour: int, channel: str | None = None) -> Consent:
    return Consent(
        purpose=purpose,
        channel=channel,
        given=given,
        notice_version="2026-11",
        notice_sha256="0" * 64,
        member_id="m-1",
        store_id="s-1",
        kiosk_id="k-1",
        occurred_at=datetime(2026, 12, 6, hour, tzinfo=UTC),
    )


def test_a_refusal_is_withdrawn_only_after_the_purpose_was_given() -> None:
    history = [  # newest first, as the timeline lists it
        decision("marketing", False, 12),  # HQ withdrew it, for every channel
        decision("marketing", True, 11, channel="sms"),
        decision("marketing", False, 10),  # declined at sign-up
        decision("recognition", False, 10),  # declined, never given
    ]
    states, ever_given = consent_states(history)
    assert states == ["withdrawn", "given", "not_given", "not_given"]
    assert ever_given == {"marketing"}
