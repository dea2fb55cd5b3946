"""The reward desk answers every request on its own thread, never blocks the asker,
and answers "unavailable" rather than leaving a shopper waiting."""

from __future__ import annotations

import contextlib
import logging
import queue
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.rewards import (
    CIPHER,
    KEY,
    KIOSK_NO,
    NOW,
    TZ,
    campaign_of,
    offer_of,
    outbox_records,
    prize_campaigns,
)

from content.model import CouponCampaign, PrizeDraw
from rewards.answers import (
    DrawOutcome,
    DrawRequest,
    Issued,
    IssueRequest,
    OfferStanding,
    OfferTakesRequest,
    Refused,
    RewardAnswer,
    Standing,
    StandingRequest,
    TakeOfferRequest,
)
from rewards.desk import RewardDesk
from rewards.issuing import Refusal
from rewards.offers import OfferTakes

WAIT = 10.0  # seconds: only ever reached when a test fails


class Controller:
    """What the kiosk's controller would see: answers, the threads they came on, seqs."""

    def __init__(self) -> None:
        self.answers: queue.Queue[tuple[RewardAnswer, str]] = queue.Queue()
        self.written: list[list[int]] = []

    def on_done(self, answer: RewardAnswer) -> None:
        self.answers.put((answer, threading.current_thread().name))

    def next(self) -> RewardAnswer:
        answer, _thread = self.answers.get(timeout=WAIT)
        return answer


@pytest.fixture
def controller() -> Controller:
    return Controller()


@pytest.fixture
def desk(outbox_path: Path, controller: Controller) -> Iterator[RewardDesk]:
    opened = RewardDesk(
        outbox_path,
        cipher=CIPHER,
        key=KEY,
        kiosk_no=KIOSK_NO,
        tz=TZ,
        on_done=controller.on_done,
        on_written=controller.written.append,
        busy_timeout=0.5,  # the asker must not wait even this long
    )
    opened.start()
    yield opened
    opened.stop()


def ask(desk: RewardDesk, campaign: CouponCampaign) -> IssueRequest:
    return desk.issue(campaign, member_id=None, session="boot1-2", reason="survey", now=NOW)


@contextlib.contextmanager
def write_lock_held(path: Path) -> Iterator[None]:
    """Another connection holds the file's write lock, as a stuck writer would."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        yield
        connection.execute("ROLLBACK")
    finally:
        connection.close()


def test_answer_comes_on_the_desk_thread_for_the_request_asked(
    desk: RewardDesk, controller: Controller, campaign: CouponCampaign
) -> None:
    request = ask(desk, campaign)
    answer, thread = controller.answers.get(timeout=WAIT)
    assert answer.request is request
    assert isinstance(answer.outcome, Issued)
    assert thread == "reward-desk"
    assert thread != threading.current_thread().name
    assert controller.written == [[1]]


def test_draw_through_the_desk_is_recorded(
    desk: RewardDesk, controller: Controller, prize_draw: PrizeDraw, outbox_path: Path
) -> None:
    request = desk.draw(
        prize_draw,
        prize_campaigns(),
        member_id=str(uuid.uuid4()),
        session="boot1-3",
        now=NOW,
        roll=0,
    )
    assert isinstance(request, DrawRequest)
    answer = controller.next()
    assert isinstance(answer.outcome, DrawOutcome)
    assert answer.outcome.prize is not None
    assert [record.kind for record in outbox_records(outbox_path)] == [
        "coupon_issued",
        "prize_draw",
    ]


def test_the_desk_answers_a_members_standing_without_drawing(
    desk: RewardDesk, controller: Controller, prize_draw: PrizeDraw, outbox_path: Path
) -> None:
    shopper = str(uuid.uuid4())
    desk.submit(StandingRequest((prize_draw,), shopper, NOW))
    assert controller.next().outcome == Standing({prize_draw.id: None})
    desk.draw(prize_draw, prize_campaigns(), member_id=shopper, session="b-1", now=NOW, roll=0)
    controller.next()
    desk.submit(StandingRequest((prize_draw,), shopper, NOW))
    assert controller.next().outcome == Standing({prize_draw.id: Refusal.MEMBER_LIMIT})
    assert len(outbox_records(outbox_path)) == 2  # the draw's records only


def test_the_desk_counts_and_takes_a_members_offer_once_a_day(
    desk: RewardDesk, controller: Controller, outbox_path: Path
) -> None:
    shopper = str(uuid.uuid4())
    offer = offer_of("case-daily", "case-10", limits={"store_daily_budget": 5})
    case_10 = campaign_of("case-10", 30, per_member_limit=100)
    desk.submit(OfferTakesRequest(("case-daily",), shopper, NOW))
    assert controller.next().outcome == OfferStanding({"case-daily": OfferTakes()})

    desk.submit(TakeOfferRequest(offer, case_10, shopper, "boot3-1", NOW))
    first = controller.next().outcome
    desk.submit(TakeOfferRequest(offer, case_10, shopper, "boot3-1", NOW))
    second = controller.next().outcome
    desk.submit(OfferTakesRequest(("case-daily",), shopper, NOW))
    standing = controller.next().outcome

    assert isinstance(first, Issued)
    assert (first.reason, first.offer) == ("offer", "case-daily")
    assert second == Refused(Refusal.MEMBER_LIMIT)
    assert standing == OfferStanding({"case-daily": OfferTakes(NOW.date(), 1)})
    assert [record.payload["offer"] for record in outbox_records(outbox_path)] == ["case-daily"]


def test_locked_file_never_blocks_the_asker_and_is_answered_unavailable(
    desk: RewardDesk,
    controller: Controller,
    campaign: CouponCampaign,
    outbox_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    plenty = campaign.model_copy(update={"per_member_limit": 100})
    ask(desk, plenty)
    assert isinstance(controller.next().outcome, Issued)

    with caplog.at_level(logging.INFO, logger="rewards.desk"), write_lock_held(outbox_path):
        asked = [ask(desk, plenty) for _ in range(3)]
        # All three were queued while the desk waits on the lock: asking returned at once.
        assert controller.answers.empty()
        answers = [controller.next() for _ in asked]
        assert [answer.request for answer in answers] == asked
        assert {answer.outcome for answer in answers} == {Refused(Refusal.UNAVAILABLE)}
    ask(desk, plenty)
    assert isinstance(controller.next().outcome, Issued)

    messages = [record.getMessage() for record in caplog.records]
    assert len([m for m in messages if "failed" in m]) == 1  # the outage once ..
    assert len([m for m in messages if "recovered" in m]) == 1  # .. and the recovery once
    assert controller.written == [[1], [2]]


def test_stop_answers_what_was_asked_then_refuses_new_requests(
    outbox_path: Path, controller: Controller, campaign: CouponCampaign
) -> None:
    desk = RewardDesk(
        outbox_path, cipher=CIPHER, key=KEY, kiosk_no=KIOSK_NO, tz=TZ, on_done=controller.on_done
    )
    desk.start()
    plenty = campaign.model_copy(update={"per_member_limit": 100})
    asked = [ask(desk, plenty) for _ in range(5)]
    desk.stop()
    assert [controller.next().request for _ in asked] == asked
    with pytest.raises(RuntimeError, match="stopped"):
        ask(desk, plenty)
    desk.stop()  # stopping twice is harmless


def test_broken_listener_does_not_stop_the_desk(
    outbox_path: Path, campaign: CouponCampaign, caplog: pytest.LogCaptureFixture
) -> None:
    heard: queue.Queue[RewardAnswer] = queue.Queue()

    def on_done(answer: RewardAnswer) -> None:
        heard.put(answer)
        raise RuntimeError("listener bug")

    desk = RewardDesk(
        outbox_path, cipher=CIPHER, key=KEY, kiosk_no=KIOSK_NO, tz=TZ, on_done=on_done
    )
    desk.start()
    try:
        with caplog.at_level(logging.ERROR, logger="rewards.desk"):
            first = ask(desk, campaign)
            second = desk.issue(
                campaign, member_id=str(uuid.uuid4()), session="s", reason="survey", now=NOW
            )
            assert heard.get(timeout=WAIT).request is first
            assert heard.get(timeout=WAIT).request is second
    finally:
        desk.stop()
    assert [record.getMessage() for record in caplog.records] == ["on_done listener failed"] * 2


def test_malformed_request_is_answered_unavailable_and_the_next_one_served(
    desk: RewardDesk,
    controller: Controller,
    prize_draw: PrizeDraw,
    campaign: CouponCampaign,
    caplog: pytest.LogCaptureFixture,
) -> None:
    no_member = DrawRequest(prize_draw, prize_campaigns(), None, "s", NOW)  # type: ignore[arg-type]
    with caplog.at_level(logging.ERROR, logger="rewards.desk"):
        desk.submit(no_member)
        assert controller.next().outcome == Refused(Refusal.UNAVAILABLE)
    assert len(caplog.records) == 1
    ask(desk, campaign)
    assert isinstance(controller.next().outcome, Issued)


def test_requests_do_not_show_member_ids_in_their_repr(campaign: CouponCampaign) -> None:
    shopper = str(uuid.uuid4())
    request = IssueRequest(campaign, shopper, "s", "survey", NOW)
    assert shopper not in repr(request)
