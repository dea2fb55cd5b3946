"""The kiosk's side of member offers at the reward desk: the session's effects become
the desk's requests, and its answers come back for the session that asked. A real
RewardDesk on a real SQLite outbox, the sample bundle's offers; no Qt."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from helpers.bundles import sample_bundle
from helpers.rewards import CIPHER, KEY, KIOSK_NO, TZ

from backend_client.outbox import Outbox
from content.bundle import Bundle, load_bundle
from content.sample import GOLD_COUPON
from kiosk.reward_link import RewardLink
from kiosk.session import CheckOffers, OfferTakesKnown, RewardReady, TakeOffer
from rewards.desk import RewardDesk

MEMBER = "0a1b2c3d-0000-4000-8000-0000000000cc"
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=TZ)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    return load_bundle(sample_bundle(tmp_path_factory.mktemp("link") / "bundle"))


@pytest.fixture
def link(tmp_path: Path, bundle: Bundle) -> Iterator[tuple[RewardLink, queue.Queue[object]]]:
    answers: queue.Queue[object] = queue.Queue()
    outbox = tmp_path / "outbox.sqlite3"
    Outbox(outbox, cipher=CIPHER).close()
    rewards = RewardLink(bundle, answers.put, clock=lambda: NOW)
    desk = RewardDesk(
        outbox, cipher=CIPHER, key=KEY, kiosk_no=KIOSK_NO, tz=TZ, on_done=rewards.on_answer
    )
    desk.start()
    rewards.attach(desk)
    yield rewards, answers
    desk.stop()


def test_the_desks_counts_come_back_for_the_session_that_asked(
    link: tuple[RewardLink, queue.Queue[object]],
) -> None:
    rewards, answers = link
    rewards.request(CheckOffers(("gold-accessories", "first-visit-film"), MEMBER, 4))
    known = answers.get(timeout=10)
    assert isinstance(known, OfferTakesKnown)
    assert known.session == 4
    assert set(known.takes) == {"gold-accessories", "first-visit-film"}
    assert all(t.member_last is None for t in known.takes.values())


def test_a_taken_offer_gives_a_code_and_the_same_day_again_is_refused(
    link: tuple[RewardLink, queue.Queue[object]],
) -> None:
    rewards, answers = link
    rewards.request(TakeOffer("gold-accessories", GOLD_COUPON, MEMBER, "b-5", 5))
    got = answers.get(timeout=10)
    assert isinstance(got, RewardReady)
    assert (got.session, got.offer) == (5, "gold-accessories")
    assert got.coupon is not None
    assert got.coupon.campaign == GOLD_COUPON
    # Offline, the same day, another session: the desk's ledger says no.
    rewards.request(TakeOffer("gold-accessories", GOLD_COUPON, MEMBER, "b-6", 6))
    again = answers.get(timeout=10)
    assert isinstance(again, RewardReady)
    assert (again.session, again.offer, again.coupon) == (6, "gold-accessories", None)
    assert again.refusal == "member_limit"
    # And the counts now say so, so the offer is not shown to them again today.
    rewards.request(CheckOffers(("gold-accessories",), MEMBER, 7))
    known = answers.get(timeout=10)
    assert isinstance(known, OfferTakesKnown)
    assert known.takes["gold-accessories"].member_last == NOW.date()


def test_an_offer_gone_from_the_bundle_is_refused_kindly(
    link: tuple[RewardLink, queue.Queue[object]],
) -> None:
    rewards, answers = link
    rewards.request(TakeOffer("no-such-offer", GOLD_COUPON, MEMBER, "b-8", 8))
    got = answers.get(timeout=10)
    assert isinstance(got, RewardReady)
    assert (got.coupon, got.refusal, got.offer) == (None, "ended", "no-such-offer")


def test_without_a_desk_a_take_is_refused_and_counts_are_not_asked(bundle: Bundle) -> None:
    answers: queue.Queue[object] = queue.Queue()
    rewards = RewardLink(bundle, answers.put, clock=lambda: NOW)
    rewards.request(CheckOffers(("gold-accessories",), MEMBER, 1))
    assert answers.empty()  # no counts: no offer is shown, nothing is said
    rewards.request(TakeOffer("gold-accessories", GOLD_COUPON, MEMBER, "b-2", 2))
    got = answers.get_nowait()
    assert isinstance(got, RewardReady)
    assert (got.refusal, got.offer) == ("unavailable", "gold-accessories")
