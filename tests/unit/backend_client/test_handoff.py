"""The kiosk's "continue on your phone" links: their token format, against the doc's vectors."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta, timezone

import pytest

from backend_client.handoff import EPOCH, LIFETIME, encode_token, handoff_key, handoff_link

# docs/hq-api.md, "Sign-up on the shopper's phone": test vectors.
KEY_BYTES = bytes(range(32))
VECTOR_HANDOFF_KEY = "1e877830a30cabb4824c4cbb61a35ac2e3cde4716d0e91de9e73f40e465e62f4"
VECTOR_EXPIRY_MINUTE = 1522644  # 2026-11-23T09:24:00Z
VECTOR_TOKEN = "CERUKAAXHPKACI2FM6E2XTPP35R7LID4BTYZ2DK6"  # noqa: S105 (a test vector)
# The chain's coupon secret 0x00..0x1f, store sh-nanjing-road, kiosk number 1:
CHAIN_KIOSK_COUPON_KEY = "deb0de8c8ddee7e1fcdb525f6d0ab33e9d1353d49f2e4710e63fd2de615cffb4"
CHAIN_HANDOFF_KEY = "8f901c0478200bef767d11ef3d16fb6f404605d82829a92664c959339a8c7e8d"
CHAIN_TOKEN = "CAAACAAXHPKAAAICAMCAKBQH7YBZ7QRBJEREMNUI"  # noqa: S105 (a test vector)

NOW = datetime(2026, 11, 23, 9, 14, 3, 120000, tzinfo=UTC)


def test_the_handoff_key_and_token_match_the_documented_vectors() -> None:
    key = handoff_key(KEY_BYTES)
    assert key.hex() == VECTOR_HANDOFF_KEY
    token = encode_token(
        key,
        kiosk_no=0x12345,
        expiry_minute=VECTOR_EXPIRY_MINUTE,
        nonce=bytes.fromhex("0123456789abcdef"),
    )
    assert token == VECTOR_TOKEN


def test_a_kiosk_with_its_enrolment_coupon_key_makes_the_documented_token() -> None:
    key = handoff_key(bytes.fromhex(CHAIN_KIOSK_COUPON_KEY))
    assert key.hex() == CHAIN_HANDOFF_KEY
    token = encode_token(key, kiosk_no=1, expiry_minute=VECTOR_EXPIRY_MINUTE, nonce=bytes(range(8)))
    assert token == CHAIN_TOKEN


def test_the_token_lays_its_fields_out_as_documented() -> None:
    raw = base64.b32decode(VECTOR_TOKEN)
    assert len(raw) == 25
    head = int.from_bytes(raw[:7], "big")
    assert head >> 52 == 1  # version
    assert (head >> 32) & 0xFFFFF == 0x12345
    assert head & 0xFFFFFFFF == VECTOR_EXPIRY_MINUTE
    assert raw[7:15] == bytes.fromhex("0123456789abcdef")
    key = hmac.digest(KEY_BYTES, b"handoff", hashlib.sha256)
    assert raw[15:] == hmac.digest(key, raw[:15], "sha256")[:10]


def test_a_link_points_at_hqs_join_page_and_lives_ten_minutes() -> None:
    link = handoff_link("https://hq.example.com/", kiosk_no=7, coupon_key=KEY_BYTES, now=NOW)
    prefix = "https://hq.example.com/join/"
    assert link.url.startswith(prefix)
    token = link.url.removeprefix(prefix)
    assert len(token) == 40
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    # 09:14:03.12 + 10 minutes, rounded up to the minute: never less than 10 minutes.
    assert link.expires_at == datetime(2026, 11, 23, 9, 25, tzinfo=UTC)
    assert link.expires_at - NOW >= LIFETIME
    head = int.from_bytes(base64.b32decode(token)[:7], "big")
    assert (head >> 32) & 0xFFFFF == 7
    assert EPOCH + timedelta(minutes=head & 0xFFFFFFFF) == link.expires_at


def test_every_link_is_new_even_at_the_same_moment() -> None:
    urls = {
        handoff_link("https://hq.example.com", kiosk_no=7, coupon_key=KEY_BYTES, now=NOW).url
        for _ in range(50)
    }
    assert len(urls) == 50


def test_a_link_made_with_a_local_time_expires_at_the_same_instant() -> None:
    shanghai = timezone(timedelta(hours=8))
    local = handoff_link(
        "https://hq.example.com", kiosk_no=7, coupon_key=KEY_BYTES, now=NOW.astimezone(shanghai)
    )
    assert local.expires_at == datetime(2026, 11, 23, 9, 25, tzinfo=UTC)


def test_a_kiosk_number_outside_20_bits_or_a_naive_time_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="kiosk_no"):
        handoff_link("https://hq.example.com", kiosk_no=2**20, coupon_key=KEY_BYTES, now=NOW)
    with pytest.raises(ValueError, match="timezone"):
        handoff_link(
            "https://hq.example.com",
            kiosk_no=1,
            coupon_key=KEY_BYTES,
            now=NOW.replace(tzinfo=None),
        )
