"""A recognised member's visit carries what member offers are decided on, as the feed
gave it: a real member directory file, read as the kiosk's GUI process reads it."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest

from backend_client.feed import FeedEntry, FeedPage
from backend_client.member_reader import MEMBERS_FILE, MemberReader, tag_hash
from backend_client.members import MemberDirectory
from devices.events import TagId, TagKind, TagSeen
from kiosk.recognition import Recogniser, RecognitionEvent
from kiosk.session import MemberArrived, MemberVisit
from kiosk.trace import NullTrace

KEY = bytes(range(32))
FOB = TagId(TagKind.RFID, "0012345678")
OTHER_FOB = TagId(TagKind.RFID, "0087654321")


def arrival(path: Path, tag: TagId) -> MemberVisit:
    posted: list[RecognitionEvent] = []
    with MemberReader(path) as reader:
        Recogniser(reader, posted.append, NullTrace()).on_event(TagSeen(tag, "rfid", 1.0))
    (arrived,) = posted
    assert isinstance(arrived, MemberArrived)
    return arrived.visit


def test_a_member_with_marketing_consent_arrives_with_tier_tags_and_birth_month(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    path = tmp_path / MEMBERS_FILE
    offered = FeedEntry(
        tag_hash(KEY, FOB),
        "m-1",
        None,
        ("P-1",),
        "gold",
        marketing=True,
        tags=("student", "vip"),
        birth_month=5,
    )
    plain = dataclasses.replace(offered, tag_hash=tag_hash(KEY, OTHER_FOB), marketing=False)
    with MemberDirectory(path) as directory:
        directory.apply(FeedPage(1, False, True, KEY, (offered, plain), ()))

    visit = arrival(path, FOB)
    assert (visit.marketing, visit.tier, visit.tags, visit.birth_month) == (
        True,
        "gold",
        frozenset({"student", "vip"}),
        5,
    )
    visit = arrival(path, OTHER_FOB)  # no marketing consent: nothing to make offers from
    assert (visit.marketing, visit.tier, visit.tags, visit.birth_month) == (
        False,
        None,
        frozenset(),
        None,
    )
    assert "gold" not in caplog.text
    assert "vip" not in caplog.text
