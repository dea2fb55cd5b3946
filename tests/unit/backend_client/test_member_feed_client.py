"""`HqClient.get_member_feed`: the page as the contract says, or one of the client's errors."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from backend_client.client import (
    HqClient,
    HqRefused,
    HqUnauthorized,
    HqUnavailable,
)
from backend_client.feed import FeedEntry, FeedPage

TAG = "ab" * 32
KEY = bytes(range(32))  # the scripted feed's tag key (conftest.py)


@pytest.fixture
def client(feed_hq: Any) -> Iterator[HqClient]:
    with HqClient(feed_hq.credentials(), timeout=(1.0, 2.0)) as opened:
        yield opened


def test_a_page_comes_back_with_its_entries_and_removals(feed_hq: Any, client: HqClient) -> None:
    feed_hq.upsert(TAG, "m-1", greeting_name="王芳", last_viewed=["P-2", "P-1"], tier="gold")
    feed_hq.upsert("cd" * 32, "m-2")
    feed_hq.remove("cd" * 32)

    assert client.get_member_feed(0) == FeedPage(
        version=3,
        more=False,
        reset=True,
        tag_key=KEY,
        # No marketing consent: the tier HQ should not have sent is not kept.
        upserts=(FeedEntry(TAG, "m-1", "王芳", ("P-2", "P-1"), None),),
        removed=(),
    )
    delta = client.get_member_feed(1, limit=1)
    assert (delta.version, delta.more, delta.reset, delta.removed) == (
        3,
        False,
        False,
        ("cd" * 32,),
    )
    token = feed_hq.credentials().token
    assert [(r.since, r.limit, r.token) for r in feed_hq.requests] == [
        ("0", "5000", token),
        ("1", "1", token),
    ]


@pytest.mark.parametrize(("since", "limit"), [(-1, 10), (0, 0), (0, 20_001)])
def test_since_and_limit_are_checked_before_asking(
    client: HqClient, feed_hq: Any, since: int, limit: int
) -> None:
    with pytest.raises(ValueError, match="must be"):
        client.get_member_feed(since, limit)
    assert feed_hq.requests == []


def test_errors_map_as_for_event_batches(feed_hq: Any, client: HqClient) -> None:
    feed_hq.answer_next(503, headers={"Retry-After": "30"})
    with pytest.raises(HqUnavailable) as raised:
        client.get_member_feed(0)
    assert raised.value.retry_after == 30.0
    feed_hq.answer_next(401)
    with pytest.raises(HqUnauthorized):
        client.get_member_feed(0)
    feed_hq.answer_next(422, {"detail": [{"loc": ["query", "since"], "msg": "too small"}]})
    with pytest.raises(HqRefused, match=r"query\.since: too small"):
        client.get_member_feed(0)


def good_page(**changes: Any) -> dict[str, Any]:
    return {
        "version": 5,
        "more": False,
        "reset": False,
        "tag_key": base64.b64encode(KEY).decode(),
        "upserts": [
            {
                "tag_hash": TAG,
                "member_id": "m-1",
                "greeting_name": None,
                "last_viewed": [],
            }
        ],
        "removed": [],
        **changes,
    }


def entry(**changes: Any) -> list[dict[str, Any]]:
    return [{**good_page()["upserts"][0], **changes}]


BROKEN: dict[str, Any] = {
    "not an object": [],
    "no version": good_page(version=None),
    "negative version": good_page(version=-1),
    "version a bool": good_page(version=True),
    "more not a bool": good_page(more="no"),
    "back without reset": good_page(version=1),
    "more without progress": good_page(version=2, more=True),
    "key not base64": good_page(tag_key="not base64!"),
    "key too short": good_page(tag_key=base64.b64encode(b"short").decode()),
    "upserts not a list": good_page(upserts={}),
    "entry not an object": good_page(upserts=["x"]),
    "hash upper case": good_page(upserts=entry(tag_hash=TAG.upper())),
    "hash too short": good_page(upserts=entry(tag_hash=TAG[:60])),
    "no member id": good_page(upserts=entry(member_id="")),
    "name a number": good_page(upserts=entry(greeting_name=7)),
    "skus not strings": good_page(upserts=entry(last_viewed=[1])),
    "last seen not a time": good_page(upserts=entry(last_seen="yesterday")),
    "last seen without its zone": good_page(upserts=entry(last_seen="2026-12-03T07:00:00")),
    "last seen a number": good_page(upserts=entry(last_seen=1764745200)),
    "marketing not a bool": good_page(upserts=entry(marketing="yes")),
    "tier a number": good_page(upserts=entry(marketing=True, tier=3)),
    "tier empty": good_page(upserts=entry(marketing=True, tier="")),
    "tags not a list": good_page(upserts=entry(marketing=True, tags="vip")),
    "tags not strings": good_page(upserts=entry(marketing=True, tags=[1])),
    "birth month 13": good_page(upserts=entry(marketing=True, birth_month=13)),
    "birth month a bool": good_page(upserts=entry(marketing=True, birth_month=True)),
    "birth month a date": good_page(upserts=entry(marketing=True, birth_month="1990-05-14")),
    "removal not a hash": good_page(removed=["x"]),
    "too many changes": good_page(removed=[TAG] * 3),
}


@pytest.mark.parametrize("body", BROKEN.values(), ids=BROKEN.keys())
def test_a_page_that_breaks_the_contract_is_unavailable_and_quotes_nothing(
    feed_hq: Any, client: HqClient, body: Any
) -> None:
    feed_hq.answer_next(200, body)
    with pytest.raises(HqUnavailable, match="breaks the contract") as raised:
        client.get_member_feed(2, limit=2)
    assert TAG not in str(raised.value)
    assert "m-1" not in str(raised.value)


def test_a_page_that_is_not_json_is_unavailable(feed_hq: Any, client: HqClient) -> None:
    feed_hq.answer_next(200, b"<html>")
    with pytest.raises(HqUnavailable, match="without valid JSON"):
        client.get_member_feed(0)


def test_an_entry_says_when_its_member_last_lifted_a_phone(feed_hq: Any, client: HqClient) -> None:
    page = good_page(upserts=entry(last_seen="2026-12-03T07:00:00Z"))
    feed_hq.answer_next(200, page)
    (found,) = client.get_member_feed(2, limit=2).upserts
    assert found.last_seen == datetime(2026, 12, 3, 7, tzinfo=UTC)
    # From an HQ that does not send it yet: not known.
    feed_hq.answer_next(200, good_page())
    (found,) = client.get_member_feed(2, limit=2).upserts
    assert found.last_seen is None


def test_an_entry_brings_marketing_consent_and_what_offers_are_decided_on(
    feed_hq: Any, client: HqClient
) -> None:
    offers = {"marketing": True, "tier": "gold", "tags": ["vip", "student"], "birth_month": 5}
    feed_hq.answer_next(200, good_page(upserts=entry(**offers)))
    (found,) = client.get_member_feed(2, limit=2).upserts
    assert (found.marketing, found.tier, found.tags, found.birth_month) == (
        True,
        "gold",
        ("student", "vip"),
        5,
    )
    assert "gold" not in repr(found)
    assert "vip" not in repr(found)


def test_without_marketing_consent_the_kiosk_keeps_no_tier_tags_or_birth_month(
    feed_hq: Any, client: HqClient
) -> None:
    sent = {"marketing": False, "tier": "gold", "tags": ["vip"], "birth_month": 5}
    feed_hq.answer_next(200, good_page(upserts=entry(**sent)))
    (found,) = client.get_member_feed(2, limit=2).upserts
    assert (found.marketing, found.tier, found.tags, found.birth_month) == (False, None, (), None)
    # An HQ from before offers: no consent known, and its `segment` is no tier.
    feed_hq.answer_next(200, good_page(upserts=entry(segment="gold")))
    (found,) = client.get_member_feed(2, limit=2).upserts
    assert (found.marketing, found.tier, found.tags, found.birth_month) == (False, None, (), None)
