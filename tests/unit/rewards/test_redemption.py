"""Staff redeem a shopper's code once; a mistyped, made-up or expired code is refused
with a reason; each redemption is reported to HQ."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from helpers.rewards import CIPHER, KEY, KIOSK_NO, NOW, TZ, outbox_records, read_ledger

from backend_client.outbox import Outbox
from content.model import CouponCampaign
from rewards.answers import Issued
from rewards.codes import ALPHABET, CouponCode, issue_code
from rewards.ledger import RewardLedger
from rewards.redemption import AlreadyRedeemed, Redeemed, RedeemRefused, redeem

KEYS = {KIOSK_NO: KEY}
LATER = NOW + timedelta(hours=3)


@pytest.fixture
def code(ledger: RewardLedger, campaign: CouponCampaign) -> CouponCode:
    outcome = ledger.issue(
        campaign, member_id=str(uuid.uuid4()), session="s", reason="survey", now=NOW
    )
    assert isinstance(outcome, Issued)
    return outcome.code


@pytest.fixture
def till(tmp_path: Path) -> Iterator[Outbox]:
    """The staff device's own outbox file."""
    with Outbox(tmp_path / "till" / "outbox.sqlite3", cipher=CIPHER) as outbox:
        yield outbox


def at_till(text: str, till: Outbox, now: datetime = LATER, by: str = "staff-0042") -> object:
    return redeem(text, outbox=till, key_for=KEYS.get, by=by, now=now, tz=TZ)


def test_good_code_is_redeemed_and_reported(code: CouponCode, till: Outbox) -> None:
    assert at_till(code.text, till) == Redeemed(code, LATER)
    records = [record for record in till.pending() if record.kind == "coupon_redeemed"]
    assert [record.payload for record in records] == [
        {"code": code.text, "redeemed_at": LATER.isoformat(), "by": "staff-0042"}
    ]
    assert records[0].occurred_at == LATER


def test_second_redemption_says_when_and_by_whom_and_reports_nothing(
    code: CouponCode, till: Outbox
) -> None:
    at_till(code.text, till)
    again = at_till(code.text, till, now=LATER + timedelta(days=1), by="staff-0007")
    assert again == AlreadyRedeemed(code, LATER, "staff-0042")
    assert till.count() == 1


def test_code_stays_used_after_the_device_restarts(
    code: CouponCode, till: Outbox, tmp_path: Path
) -> None:
    at_till(code.text, till)
    till.close()
    with Outbox(tmp_path / "till" / "outbox.sqlite3", cipher=CIPHER) as reopened:
        assert isinstance(at_till(code.text, reopened), AlreadyRedeemed)


def test_code_typed_loosely_is_the_same_code(code: CouponCode, till: Outbox) -> None:
    loose = code.text.lower().replace("-", " ").replace("0", "o").replace("1", "l")
    assert isinstance(at_till(loose, till), Redeemed)
    assert isinstance(at_till(code.text, till), AlreadyRedeemed)


def test_code_redeemed_on_the_kiosk_that_issued_it_is_single_use_there(
    code: CouponCode, outbox_path: Path
) -> None:
    with Outbox(outbox_path, cipher=CIPHER) as same_file:
        assert isinstance(at_till(code.text, same_file), Redeemed)
        assert isinstance(at_till(code.text, same_file), AlreadyRedeemed)
    assert [row["serial"] for row in read_ledger(outbox_path).redemptions] == [code.serial]
    kinds = [record.kind for record in outbox_records(outbox_path)]
    assert kinds == ["coupon_issued", "coupon_redeemed"]


def altered(text: str) -> str:
    """`text` with one character (of the MAC) changed to another."""
    position = len(text) - 2
    other = ALPHABET[(ALPHABET.index(text[position]) + 1) % len(ALPHABET)]
    return text[:position] + other + text[position + 1 :]


@pytest.mark.parametrize(
    ("problem", "make"),
    [
        ("malformed", lambda code: code.text[:-1]),
        ("malformed", lambda code: code.text[:-1] + "U"),
        ("forged", lambda code: altered(code.text)),
        (
            "forged",  # same fields, made with another key
            lambda code: (
                issue_code(
                    bytes(32),
                    campaign_no=code.campaign_no,
                    kiosk_no=code.kiosk_no,
                    serial=code.serial,
                    expires_on=code.expires_on,
                ).text
            ),
        ),
        (
            "unknown_kiosk",
            lambda code: (
                issue_code(
                    KEY, campaign_no=1, kiosk_no=KIOSK_NO + 1, serial=1, expires_on=code.expires_on
                ).text
            ),
        ),
    ],
)
def test_bad_code_is_refused_with_its_reason_and_nothing_is_written(
    code: CouponCode, till: Outbox, problem: str, make: Callable[[CouponCode], str]
) -> None:
    text = make(code)
    outcome = at_till(text, till)
    assert isinstance(outcome, RedeemRefused)
    assert outcome.reason == problem
    assert text not in outcome.message
    assert till.count() == 0
    # The good code is still good.
    assert isinstance(at_till(code.text, till), Redeemed)


def test_code_is_good_through_its_last_local_day_and_no_longer(
    code: CouponCode, till: Outbox
) -> None:
    assert code.expires_on == date(2026, 10, 14)
    last_minute = datetime(2026, 10, 14, 23, 59, tzinfo=TZ)
    next_morning = datetime(2026, 10, 15, 0, 0, tzinfo=TZ)
    outcome = at_till(code.text, till, now=next_morning)
    assert isinstance(outcome, RedeemRefused)
    assert outcome.reason == "expired"
    assert isinstance(at_till(code.text, till, now=last_minute), Redeemed)


def test_who_redeems_must_be_named_within_the_wire_limit(code: CouponCode, till: Outbox) -> None:
    for by in ("", "x" * 65):
        with pytest.raises(ValueError, match="by"):
            at_till(code.text, till, by=by)
    assert isinstance(at_till(code.text, till, by="x" * 64), Redeemed)
