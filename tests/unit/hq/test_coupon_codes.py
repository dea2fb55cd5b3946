"""HQ's coupon codes: the documented format and vectors (docs/hq-api.md), read as
staff type them, and nothing but genuine, unexpired codes let through."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hq.crm.coupon_codes import (
    EPOCH,
    CodeRefused,
    decode,
    issue,
    kiosk_key,
    kiosk_key_from_secret,
    store_key,
    verify,
)

# The contract's test vectors (docs/hq-api.md); the kiosk's tests check the same ones.
SECRET = bytes(range(32))
STORE = "sh-nanjing-road"
STORE_KEY_HEX = "7850a43f9cb04af51346eb3967b24638c0218c03d7fdc812e7508c53d4a6b9fd"
KIOSK_1_KEY_HEX = "deb0de8c8ddee7e1fcdb525f6d0ab33e9d1353d49f2e4710e63fd2de615cffb4"
KIOSK_MAX_KEY_HEX = "165b7cd73b0f1d2e9cfb4a216f08861c111c8ed9c48adb872e0bc98a4d07a22e"
VECTORS = [
    (7, 1, 1, date(2026, 12, 31), "203G-000G-0001-0H3K-SSKP-3CQN"),
    (4095, 2**20 - 1, 2**24 - 1, date(2026, 1, 31), "3ZZZ-ZZZZ-ZZZZ-0BWN-MF64-AXJT"),
]
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def key_for(kiosk_no: int) -> bytes:
    return kiosk_key_from_secret(SECRET, STORE, kiosk_no)


def test_keys_follow_the_documented_derivation() -> None:
    assert store_key(SECRET, STORE).hex() == STORE_KEY_HEX
    assert kiosk_key(bytes.fromhex(STORE_KEY_HEX), 1).hex() == KIOSK_1_KEY_HEX
    assert key_for(2**20 - 1).hex() == KIOSK_MAX_KEY_HEX


@pytest.mark.parametrize(("campaign_no", "kiosk_no", "serial", "expires_on", "text"), VECTORS)
def test_documented_vectors(
    campaign_no: int, kiosk_no: int, serial: int, expires_on: date, text: str
) -> None:
    code = issue(
        key_for(kiosk_no),
        campaign_no=campaign_no,
        kiosk_no=kiosk_no,
        serial=serial,
        expires_on=expires_on,
    )
    assert code.text == text
    assert verify(text, key_for, today=expires_on) == code
    assert decode(text) == code


@given(
    campaign_no=st.integers(0, 2**12 - 1),
    kiosk_no=st.integers(0, 2**20 - 1),
    serial=st.integers(0, 2**24 - 1),
    day=st.integers(0, 2**16 - 1),
)
def test_any_code_verifies_as_issued(
    campaign_no: int, kiosk_no: int, serial: int, day: int
) -> None:
    code = issue(
        key_for(kiosk_no),
        campaign_no=campaign_no,
        kiosk_no=kiosk_no,
        serial=serial,
        expires_on=EPOCH + timedelta(days=day),
    )
    assert verify(code.text, key_for) == code


@pytest.mark.parametrize("text", [text for *_, text in VECTORS])
def test_every_single_character_change_is_refused(text: str) -> None:
    compact = text.replace("-", "")
    for position, original in enumerate(compact):
        for other in ALPHABET.replace(original, ""):
            changed = compact[:position] + other + compact[position + 1 :]
            with pytest.raises(CodeRefused) as refused:
                verify(changed, key_for)
            assert refused.value.reason in {"forged", "malformed"}


@pytest.mark.parametrize(
    "typed",
    ["203g-000g-0001-0h3k-sskp-3cqn", "2O3G OOOG OOOI 0H3K SSKP 3CQN", "203G000G000l0H3KSSKP3CQN"],
)
def test_what_staff_type_is_read_the_crockford_way(typed: str) -> None:
    assert verify(typed, key_for).text == "203G-000G-0001-0H3K-SSKP-3CQN"


def test_refusals_name_the_reason_and_never_quote_the_code() -> None:
    text = VECTORS[0][4]
    cases: dict[str, Callable[[], object]] = {
        "expired": lambda: verify(text, key_for, today=date(2027, 1, 1)),
        "unknown_kiosk": lambda: verify(text, lambda _: None),
        "forged": lambda: verify(text, lambda _: bytes(32)),
        "malformed": lambda: verify(text[:-1] + "U", key_for),
    }
    for reason, attempt in cases.items():
        with pytest.raises(CodeRefused) as refused:
            attempt()
        assert refused.value.reason == reason
        assert text not in str(refused.value)
        assert text.replace("-", "") not in str(refused.value)


def test_fields_that_do_not_fit_are_refused_when_issuing() -> None:
    with pytest.raises(ValueError, match="serial"):
        issue(bytes(32), campaign_no=1, kiosk_no=1, serial=2**24, expires_on=EPOCH)
    with pytest.raises(ValueError, match="expires_on"):
        issue(bytes(32), campaign_no=1, kiosk_no=1, serial=1, expires_on=EPOCH - timedelta(1))
