"""The sender's decisions without a database: who is texted, what an answer makes of a
request, the pace, and the text itself."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from hq.sms.message import render
from hq.sms.pacing import TokenBucket
from hq.sms.provider import Accepted, Refused, RetryLater
from hq.sms.rules import Outcome, Recipient, Send, after, decide

NOW = datetime(2026, 12, 7, 5, 0, tzinfo=UTC)
TODAY = date(2026, 12, 7)
GOOD_THROUGH = date(2026, 12, 31)
PHONE = "+8613900001234"
CODE = "7K2M-Q9TX-4HBC-0PZD-W8RS-1N6E"


def decided(recipient: Recipient, *, expires_on: date = GOOD_THROUGH) -> Send | Outcome:
    return decide(recipient, expires_on=expires_on, today=TODAY, daily_cap=3)


def test_a_member_with_a_number_and_room_under_the_cap_is_texted() -> None:
    assert decided(Recipient(PHONE, sent_today=2)) == Send(PHONE)


def test_the_fourth_text_of_the_day_is_capped_not_sent() -> None:
    outcome = decided(Recipient(PHONE, sent_today=3))
    assert isinstance(outcome, Outcome)
    assert outcome.status == "capped"
    assert not outcome.attempted


def test_no_number_on_record_is_no_number() -> None:
    assert decided(Recipient(None)) == Outcome("no_number", "no phone number on record")


def test_an_erased_member_is_withdrawn_whatever_else_holds() -> None:
    outcome = decided(Recipient(None, erased=True), expires_on=TODAY - timedelta(days=1))
    assert isinstance(outcome, Outcome)
    assert outcome.status == "withdrawn"


def test_a_member_who_withdrew_marketing_since_asking_is_not_texted() -> None:
    outcome = decided(Recipient(PHONE, marketing_withdrawn=True))
    assert isinstance(outcome, Outcome)
    assert outcome.status == "withdrawn"


def test_a_code_past_its_last_day_is_not_sent() -> None:
    assert isinstance(decided(Recipient(PHONE), expires_on=TODAY), Send)  # good through today
    outcome = decided(Recipient(PHONE), expires_on=TODAY - timedelta(days=1))
    assert isinstance(outcome, Outcome)
    assert outcome.status == "failed"


def test_an_accepted_text_is_sent_with_the_providers_id() -> None:
    outcome = after(Accepted("SM1"), attempts=1, max_attempts=5, now=NOW, jitter=0.5)
    assert (outcome.status, outcome.sent_at, outcome.provider_message_id) == ("sent", NOW, "SM1")


def test_a_refusal_fails_at_once() -> None:
    outcome = after(Refused("twilio: 21211"), attempts=1, max_attempts=5, now=NOW, jitter=0.5)
    assert (outcome.status, outcome.last_error) == ("failed", "twilio: 21211")


def test_try_later_backs_off_doubling_from_thirty_seconds() -> None:
    waits = [
        after(RetryLater("HTTP 503"), attempts=n, max_attempts=9, now=NOW, jitter=1.0).next_try_at
        for n in (1, 2, 3)
    ]
    assert waits == [NOW + timedelta(seconds=s) for s in (30, 60, 120)]


def test_try_later_never_comes_sooner_than_the_providers_retry_after() -> None:
    outcome = after(RetryLater("429", 600.0), attempts=1, max_attempts=5, now=NOW, jitter=0.0)
    assert outcome.status == "queued"
    assert outcome.next_try_at == NOW + timedelta(seconds=600)


def test_the_last_allowed_attempt_that_fails_gives_up() -> None:
    outcome = after(RetryLater("aliyun: Throttling"), attempts=5, max_attempts=5, now=NOW, jitter=0)
    assert outcome.status == "failed"
    assert outcome.last_error == "aliyun: Throttling (gave up after 5 attempts)"


def test_a_burst_drains_at_the_configured_rate() -> None:
    bucket = TokenBucket(5.0, now=0.0)
    waits = [bucket.take(0.0) for _ in range(7)]
    assert waits[:5] == [0.0] * 5
    assert waits[5:] == pytest.approx([0.2, 0.4])
    assert bucket.take(1.0) == 0.0  # a second later: refilled


def test_a_providers_pause_holds_every_send_until_it_ends() -> None:
    bucket = TokenBucket(5.0, now=0.0)
    bucket.hold(7.0)
    assert bucket.take(1.0) == pytest.approx(6.0)


def test_the_chinese_text_leads_with_the_sign_and_gives_the_last_day() -> None:
    message = render("9", "zh-CN", CODE, GOOD_THROUGH, sign_name="星光百货")
    assert message.text == f"【星光百货】您的优惠券码：{CODE}，有效期至 2026-12-31。"
    assert (message.reference, message.language, message.code) == ("9", "zh-CN", CODE)


def test_an_english_speaking_member_gets_english_and_an_unknown_language_chinese() -> None:
    english = render("9", "en", CODE, GOOD_THROUGH, sign_name=None)
    assert english.text == f"Your coupon code: {CODE}, valid until 2026-12-31."
    assert render("9", "fr", CODE, GOOD_THROUGH, sign_name=None).language == "zh-CN"
