"""Coupon codes on the kiosk: issuing, reading what a person typed, and refusing
mistyped, made-up and expired codes (docs/hq-api.md, "Coupon codes")."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rewards.codes import (
    EPOCH,
    CodeError,
    canonical_text,
    issue_code,
    kiosk_key,
    parse_code,
    store_key,
)

# The contract's test vectors (docs/hq-api.md); HQ's tests check the same ones.
SECRET = bytes(range(32))
STORE = "sh-nanjing-road"
STORE_KEY_HEX = "7850a43f9cb04af51346eb3967b24638c0218c03d7fdc812e7508c53d4a6b9fd"
KIOSK_1_KEY_HEX = "deb0de8c8ddee7e1fcdb525f6d0ab33e9d1353d49f2e4710e63fd2de615cffb4"
KIOSK_MAX_KEY_HEX = "165b7cd73b0f1d2e9cfb4a216f08861c111c8ed9c48adb872e0bc98a4d07a22e"
VECTORS = [
    # (campaign_no, kiosk_no, serial, expires_on, code)
    (7, 1, 1, date(2026, 12, 31), "203G-000G-0001-0H3K-SSKP-3CQN"),
    (4095, 2**20 - 1, 2**24 - 1, date(2026, 1, 31), "3ZZZ-ZZZZ-ZZZZ-0BWN-MF64-AXJT"),
]

KEY = kiosk_key(store_key(SECRET, STORE), 1)
TODAY = date(2026, 12, 1)


def every_kiosk(kiosk_no: int) -> bytes:
    """As a store's till: it derives the key of any kiosk of its store."""
    return kiosk_key(store_key(SECRET, STORE), kiosk_no)


def test_keys_follow_the_documented_derivation() -> None:
    assert store_key(SECRET, STORE).hex() == STORE_KEY_HEX
    assert kiosk_key(bytes.fromhex(STORE_KEY_HEX), 1).hex() == KIOSK_1_KEY_HEX
    assert kiosk_key(bytes.fromhex(STORE_KEY_HEX), 2**20 - 1).hex() == KIOSK_MAX_KEY_HEX


@pytest.mark.parametrize(("campaign_no", "kiosk_no", "serial", "expires_on", "text"), VECTORS)
def test_documented_vectors_issue_and_read_back(
    campaign_no: int, kiosk_no: int, serial: int, expires_on: date, text: str
) -> None:
    key = every_kiosk(kiosk_no)
    issued = issue_code(
        key, campaign_no=campaign_no, kiosk_no=kiosk_no, serial=serial, expires_on=expires_on
    )
    assert issued.text == text
    read = parse_code(text, every_kiosk, today=expires_on)
    assert read == issued


@given(
    campaign_no=st.integers(0, 2**12 - 1),
    kiosk_no=st.integers(0, 2**20 - 1),
    serial=st.integers(0, 2**24 - 1),
    day=st.integers(0, 2**16 - 1),
)
def test_any_code_reads_back_as_issued(
    campaign_no: int, kiosk_no: int, serial: int, day: int
) -> None:
    expires_on = EPOCH + timedelta(days=day)
    issued = issue_code(
        every_kiosk(kiosk_no),
        campaign_no=campaign_no,
        kiosk_no=kiosk_no,
        serial=serial,
        expires_on=expires_on,
    )
    assert len(issued.text) == 29
    assert [len(group) for group in issued.text.split("-")] == [4] * 6
    assert parse_code(issued.text, every_kiosk, today=EPOCH) == issued


ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _changes(text: str) -> list[str]:
    compact = text.replace("-", "")
    return [
        compact[:position] + other + compact[position + 1 :]
        for position in range(len(compact))
        for other in ALPHABET
        if other != compact[position]
    ]


@pytest.mark.parametrize("text", [text for *_, text in VECTORS])
def test_every_single_character_change_is_refused(text: str) -> None:
    reasons = set()
    for changed in _changes(text):
        with pytest.raises(CodeError) as refused:
            parse_code(changed, every_kiosk, today=EPOCH)
        reasons.add(refused.value.reason)
    # The version character can make it unreadable; anything else breaks the MAC.
    assert reasons <= {"forged", "malformed"}
    assert "forged" in reasons


def test_a_changed_character_at_a_kiosk_that_knows_one_key_is_still_refused() -> None:
    only_mine = {1: KEY}.get
    code = issue_code(KEY, campaign_no=7, kiosk_no=1, serial=1, expires_on=TODAY)
    for changed in _changes(code.text):
        with pytest.raises(CodeError):
            parse_code(changed, only_mine, today=EPOCH)


@pytest.mark.parametrize(
    "typed",
    [
        "203g-000g-0001-0h3k-sskp-3cqn",
        "203G 000G 0001 0H3K SSKP 3CQN",
        "203G000G00010H3KSSKP3CQN",
        "2O3G-OOOG-OOO1-OH3K-SSKP-3CQN",  # letter O for zero
        "203G-000G-000I-0H3K-SSKP-3CQN",  # I for one
        "203G-000G-000l-0H3K-SSKP-3CQN",  # l for one
        " 203G-000G- 0001-0H3K-SSKP-3CQN\n",
    ],
)
def test_codes_are_read_the_forgiving_crockford_way(typed: str) -> None:
    code = parse_code(typed, every_kiosk, today=TODAY)
    assert code.text == "203G-000G-0001-0H3K-SSKP-3CQN"
    assert canonical_text(typed) == code.text


def test_a_code_is_good_through_its_expiry_day_and_expired_after() -> None:
    code = issue_code(KEY, campaign_no=3, kiosk_no=1, serial=9, expires_on=date(2026, 12, 31))
    assert parse_code(code.text, every_kiosk, today=date(2026, 12, 31)) == code
    with pytest.raises(CodeError) as refused:
        parse_code(code.text, every_kiosk, today=date(2027, 1, 1))
    assert refused.value.reason == "expired"
    assert "2026-12-31" in str(refused.value)


def test_a_forged_code_that_is_also_past_its_day_is_reported_as_forged() -> None:
    code = issue_code(bytes(32), campaign_no=3, kiosk_no=1, serial=9, expires_on=date(2025, 1, 1))
    with pytest.raises(CodeError) as refused:
        parse_code(code.text, every_kiosk, today=TODAY)
    assert refused.value.reason == "forged"


def test_a_code_made_with_another_key_is_forged() -> None:
    code = issue_code(bytes(32), campaign_no=3, kiosk_no=1, serial=9, expires_on=TODAY)
    with pytest.raises(CodeError) as refused:
        parse_code(code.text, every_kiosk, today=TODAY)
    assert refused.value.reason == "forged"
    assert code.text not in str(refused.value)


def test_a_code_of_a_kiosk_without_a_key_is_unknown_kiosk() -> None:
    code = issue_code(KEY, campaign_no=3, kiosk_no=1, serial=9, expires_on=TODAY)
    with pytest.raises(CodeError) as refused:
        parse_code(code.text, lambda _kiosk_no: None, today=TODAY)
    assert refused.value.reason == "unknown_kiosk"


@pytest.mark.parametrize(
    ("typed", "hint"),
    [
        ("203G-000G-0001-0H3K-SSKP", "24"),  # a group short
        ("203G-000G-0001-0H3K-SSKP-3CQN-0", "24"),
        ("", "24"),
        ("203G-000G-0001-0H3K-SSKP-3CQU", "U"),  # U is never in a code
        ("203G-000G-0001-0H3K-SSKP-3CQ*", "character"),
        ("K03G-000G-0001-0H3K-SSKP-3CQN", "system"),  # another version
    ],
)
def test_what_cannot_be_a_code_is_malformed_and_not_echoed(typed: str, hint: str) -> None:
    with pytest.raises(CodeError) as refused:
        parse_code(typed, every_kiosk, today=TODAY)
    assert refused.value.reason == "malformed"
    assert hint in str(refused.value)
    if typed:
        assert typed not in str(refused.value)


@pytest.mark.parametrize(
    "typed",
    [
        "203G-000G-0001-0H3K-SSKP",  # a group short
        "203G-000G-0001-0H3K-SSKP-3CQN-0",  # a character too many
        "203G-000G-0001-0H3K-SSKP-3CQU",  # U is never in a code
        "203G-000G-0001-0H3K-SSKP-3CQ*",
        "203G-000G-0001-0H3K-SSKP-3CQ",
    ],
)
def test_what_cannot_be_a_code_has_no_canonical_text_to_look_up(typed: str) -> None:
    assert canonical_text(typed) is None


def test_a_kiosk_number_given_as_a_flag_derives_no_key() -> None:
    with pytest.raises(ValueError, match=r"^kiosk_no must be"):
        kiosk_key(store_key(SECRET, STORE), True)


@pytest.mark.parametrize(
    "fields",
    [
        {"campaign_no": 4096},
        {"campaign_no": -1},
        {"kiosk_no": 2**20},
        {"serial": 2**24},
        # A flag or a float is a bug in the caller, not serial 1.
        {"serial": True},
        {"kiosk_no": False},
        {"campaign_no": 1.0},
        {"expires_on": date(2023, 12, 31)},
        {"expires_on": EPOCH + timedelta(days=2**16)},
    ],
)
def test_fields_that_do_not_fit_the_format_are_refused_when_issuing(
    fields: dict[str, object],
) -> None:
    arguments: dict[str, object] = {
        "campaign_no": 1,
        "kiosk_no": 1,
        "serial": 1,
        "expires_on": TODAY,
        **fields,
    }
    (field,) = fields
    with pytest.raises(ValueError, match=rf"^{field} must be"):  # names the field at fault
        issue_code(KEY, **arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("typed", "key_for", "shown"),
    [
        (
            "203G-000G-0001-0H3K-SSKP",
            every_kiosk,
            "a coupon code has 24 letters and digits, this has 20: check that it was typed in full",
        ),
        (
            "203G-000G-0001-0H3K-SSKP-3CQU",
            every_kiosk,
            "this is not a coupon code: it holds a character codes never contain (only digits "
            "and letters other than U); check it was typed correctly",
        ),
        (
            "K03G-000G-0001-0H3K-SSKP-3CQN",
            every_kiosk,
            "this is not a coupon code this system can read: check it was typed correctly",
        ),
        (
            "203G-000G-0001-0H3K-SSKP-3CQN",
            lambda _kiosk_no: None,
            "this coupon code comes from a kiosk that cannot be checked here: "
            "check it was typed correctly, or ask head office",
        ),
        (
            "203G-000G-0001-0H3K-SSKP-3CQP",
            every_kiosk,
            "this coupon code is not valid: it was mistyped or not issued by us; "
            "check it and type it again",
        ),
    ],
    ids=["short", "character", "version", "unknown-kiosk", "forged"],
)
def test_what_the_till_shows_for_a_code_it_refuses(
    typed: str, key_for: Callable[[int], bytes | None], shown: str
) -> None:
    with pytest.raises(CodeError) as refused:
        parse_code(typed, key_for, today=TODAY)
    assert str(refused.value) == shown
