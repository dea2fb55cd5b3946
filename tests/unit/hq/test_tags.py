"""Tag values in their canonical form, and the keyed hash both sides compute (docs/hq-api.md)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hq.crm.tags import TAG_KINDS, InvalidTag, canonical, canonical_value, tag_hash

# The contract's test vector (docs/hq-api.md); the kiosk's tests check the same one.
KEY = bytes(range(32))
VECTORS = {
    "rfid:0012345678": "149d1f37a2a3353ffcd4900c1cf956c4e0547d1cfd29859b19fa50291c7b6222",
    "ibeacon:f7826da6-4fa2-4e98-8024-bc5b71e0893e:100:7": (
        "fa6b0e200a275f48691290048435a7b329be34fb303abeb192638c60898ef9e5"
    ),
}


@pytest.mark.parametrize(("text", "expected"), VECTORS.items())
def test_the_tag_hash_is_hmac_sha256_of_the_canonical_text_in_lower_case_hex(
    text: str, expected: str
) -> None:
    assert tag_hash(KEY, text) == expected


def test_another_key_gives_another_hash() -> None:
    assert tag_hash(bytes(32), "rfid:0012345678") != VECTORS["rfid:0012345678"]


@pytest.mark.parametrize(
    ("kind", "typed", "expected"),
    [
        ("rfid", "0012345678", "0012345678"),
        ("rfid", "12345678", "0012345678"),
        ("rfid", " 4294967295 ", "4294967295"),
        ("rfid", "0", "0000000000"),
        (
            "ibeacon",
            "F7826DA6-4FA2-4E98-8024-BC5B71E0893E:100:7",
            "f7826da6-4fa2-4e98-8024-bc5b71e0893e:100:7",
        ),
        (
            "ibeacon",
            "f7826da6-4fa2-4e98-8024-bc5b71e0893e:0100:65535",
            "f7826da6-4fa2-4e98-8024-bc5b71e0893e:100:65535",
        ),
        ("eddystone", "EDD1EBEAC04E5DEFA017:0BDB87539B67", "edd1ebeac04e5defa017:0bdb87539b67"),
        ("mfr", "004C:0215AABB", "004c:0215aabb"),
    ],
)
def test_what_staff_type_becomes_the_canonical_value(kind: str, typed: str, expected: str) -> None:
    assert canonical_value(kind, typed) == expected
    assert canonical(kind, typed) == f"{kind}:{expected}"


@pytest.mark.parametrize(
    ("kind", "typed"),
    [
        ("rfid", "4294967296"),
        ("rfid", "12345678901"),
        ("rfid", "12ab"),
        ("rfid", ""),
        ("rfid", "１２３"),  # full-width digits are digits to Python, not to a fob
        ("ibeacon", "f7826da6-4fa2-4e98-8024-bc5b71e0893e:100"),
        ("ibeacon", "f7826da64fa24e988024bc5b71e0893e:100:7"),
        ("ibeacon", "f7826da6-4fa2-4e98-8024-bc5b71e0893e:65536:7"),
        ("ibeacon", "f7826da6-4fa2-4e98-8024-bc5b71e0893e:-1:7"),
        ("ibeacon", "not-a-uuid-at-all-not-a-uuid-at-all:1:2"),
        ("eddystone", "edd1ebeac04e5defa017:0bdb87539b6"),
        ("eddystone", "edd1ebeac04e5defa01g:0bdb87539b67"),
        ("mfr", "004c:021"),
        ("mfr", "04c:0215"),
        ("mfr", "004c:"),
        ("mfr", "004c:02\n15"),
        ("eddystone", "edd1ebeac04e5defa01\n:0bdb87539b67"),
        ("nfc", "0012345678"),
    ],
)
def test_a_value_that_is_not_a_tag_of_its_kind_is_refused_without_quoting_it(
    kind: str, typed: str
) -> None:
    with pytest.raises(InvalidTag) as raised:
        canonical(kind, typed)
    if typed:
        assert typed not in str(raised.value)


tag_like = st.one_of(
    st.text(max_size=200),
    st.text(alphabet="0123456789abcdefABCDEF:-²٣", max_size=60),
    st.builds(
        lambda a, b, c: f"{a}:{b}:{c}",
        st.uuids().map(str),
        st.text(max_size=8),
        st.text(max_size=8),
    ),
)


@given(kind=st.sampled_from(TAG_KINDS), typed=tag_like)
def test_any_text_is_a_canonical_tag_or_refused_never_a_crash(kind: str, typed: str) -> None:
    try:
        value = canonical_value(kind, typed)
    except InvalidTag:
        return
    assert canonical_value(kind, value) == value  # canonical values stay as they are
    assert value.isascii()
    assert value.isprintable()
