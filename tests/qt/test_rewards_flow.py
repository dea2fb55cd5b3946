"""Surveys, coupons and the prize draw at the touchscreen: the real kiosk with its real
pickup driver on a pty, the reward desk writing into the real outbox, the coupon's QR
read off the screen by a real decoder, and live messages caught by an attendant's
ChannelClient following the kiosk's real channel server.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from helpers.bundles import edit_json, sample_bundle
from helpers.keyboard import pick_candidate, type_keys
from helpers.kiosk_channel import Follower, free_port
from helpers.pickup import running_board
from helpers.qr import decode_qr
from helpers.qt_kiosk import themed
from helpers.touch import tap, tap_when_placed
from PySide6.QtWidgets import QApplication, QPushButton
from pytestqt.qtbot import QtBot

from backend_client.channel.keys import write_store_key
from backend_client.credentials import Credentials, save_credentials
from backend_client.crypto import PayloadCipher
from backend_client.outbox import Outbox
from content.bundle import Bundle, load_bundle
from devices.sim.pickup import PickupBoardSim
from kiosk import theme
from kiosk.app import DEFAULT_TIMEZONE, Kiosk, KioskOptions, build
from kiosk.session import (
    CouponView,
    MemberArrived,
    MemberLeft,
    MemberVisit,
    SessionConfig,
    SurveyView,
    ThanksView,
)
from rewards.codes import CodeError, parse_code

KIOSK_NO = 17
STORE_KEY = bytes(range(32))
COUPON_KEY = hashlib.sha256(b"kiosk 17").digest()
MEMBER = MemberVisit("0a1b2c3d-0000-4000-8000-0000000000aa", "王芳", ())


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Bundle]:
    path = sample_bundle(tmp_path_factory.mktemp("content") / "bundle")

    def sure_win(document: dict[str, list[dict[str, object]]]) -> None:
        # One prize, always won (until its daily cap): the draw's outcome is known.
        (draw,) = document["draws"]
        draw["prizes"] = [{"id": "case", "campaign": "case-10-off", "chance": "1", "daily_cap": 5}]

    edit_json(path, "prizes.json", sure_win)
    return path, load_bundle(path, verify_hashes=False)


@pytest.fixture
def board(tmp_path: Path) -> Iterator[PickupBoardSim]:
    with running_board(tmp_path) as sim:
        yield sim


def start_kiosk(
    qtbot: QtBot,
    qapp: QApplication,
    bundle: tuple[Path, Bundle],
    tmp_path: Path,
    *,
    board: PickupBoardSim | None = None,
    channel: int | None = None,
    enrolled: bool = True,
    session: SessionConfig | None = None,
) -> Kiosk:
    """`channel`: the port of the store channel, served with the store's key (None: off)."""
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    if enrolled:  # what `kiosk enroll` leaves: the kiosk's number and coupon key
        save_credentials(
            data,
            Credentials("http://127.0.0.1:9", "store-1", "kiosk-1", "token", KIOSK_NO, COUPON_KEY),
        )
    themed(qapp)
    if channel is not None:
        write_store_key(data, STORE_KEY)
    options = KioskOptions(
        content=bundle[0],
        data_dir=data,
        pickup_port=None if board is None else board.port,
        trace=tmp_path / "trace.jsonl",
        channel=channel is not None,
        channel_host="127.0.0.1",
        channel_port=channel or 0,
        session=session or SessionConfig(drop_grace=30.0),
    )
    kiosk = build(options, qapp)
    kiosk.window.resize(*theme.SCREEN_SIZE)
    kiosk.window.show()
    qtbot.waitExposed(kiosk.window)
    return kiosk


def outbox_records(kiosk: Kiosk, data: Path) -> list[dict[str, object]]:
    assert kiosk.outbox.flush()
    cipher = PayloadCipher.from_key_file(data / "outbox.key")
    with Outbox(data / "outbox.sqlite3", cipher=cipher) as outbox:
        # The record's kind wins over a payload field of that name (a survey question's).
        return [{**r.payload, "kind": r.kind} for r in outbox.read_batch(limit=500).records]


def answer_button(kiosk: Kiosk, value: str) -> QPushButton:
    return next(b for b in kiosk.window.survey._buttons if b.property("value") == value)


def store_today() -> date:
    """The date in the store (the kiosk's default time zone), which coupon days follow."""
    return datetime.now(ZoneInfo(DEFAULT_TIMEZONE)).date()


def verify(text: str) -> None:
    keys = {KIOSK_NO: COUPON_KEY}
    parse_code(text, keys.get, today=store_today())


def test_a_survey_with_a_reward_ends_on_a_coupon_whose_qr_verifies(
    qtbot: QtBot,
    qapp: QApplication,
    bundle: tuple[Path, Bundle],
    board: PickupBoardSim,
    tmp_path: Path,
) -> None:
    port = free_port()
    kiosk = start_kiosk(qtbot, qapp, bundle, tmp_path, board=board, channel=port)
    window = kiosk.window
    staff = Follower(tmp_path / "data", port, "kiosk-1", "store-1", qtbot=qtbot)
    try:
        staff.client.start()
        board.lift(3)
        qtbot.waitUntil(window.product.isVisible, timeout=3000)
        assert window.product.action_bar.feedback_button.isVisible()
        tap(window.product.action_bar.feedback_button)
        qtbot.waitUntil(window.survey.isVisible, timeout=2000)

        face = next(b for b in window.survey._buttons if b.property("value") == "2")
        tap_when_placed(qtbot, face)  # unhappy: the survey asks what went wrong
        qtbot.waitUntil(lambda: "what-went-wrong" in kiosk.controller.state.view.key, timeout=2000)
        tap_when_placed(qtbot, answer_button(kiosk, "price"))
        qtbot.waitUntil(lambda: "recommend" in kiosk.controller.state.view.key, timeout=2000)
        tap_when_placed(qtbot, answer_button(kiosk, "9"))
        qtbot.waitUntil(window.survey.text.isVisible, timeout=2000)
        keyboard = window.survey._keyboard
        assert keyboard is not None
        type_keys(qtbot, keyboard, "taigui")
        pick_candidate(qtbot, keyboard, "太贵", window.survey.text.text)
        assert window.survey.text.text() == "太贵"
        tap(window.survey.next)

        qtbot.waitUntil(window.coupon.isVisible, timeout=5000)
        view = kiosk.controller.state.view
        assert isinstance(view, CouponView)
        shown = window.coupon.code.text()
        assert shown == view.coupon.code
        read = decode_qr(window.coupon.qr.grab().toImage())
        assert read == shown.replace("-", "")
        verify(read)
        changed = read[:-1] + ("A" if read[-1] != "A" else "B")
        with pytest.raises(CodeError):
            verify(changed)  # one character off: refused

        records = outbox_records(kiosk, tmp_path / "data")
        answers = [r for r in records if r["kind"] == "survey_answer"]
        assert [a["question"] for a in answers] == [
            "experience",
            "what-went-wrong",
            "recommend",
            "comments",
        ]
        assert [a["low"] for a in answers] == [True, False, False, False]
        assert answers[3]["text"] == "太贵"
        (completed,) = [r for r in records if r["kind"] == "survey_completed"]
        assert completed["answers"] == 4
        (issued,) = [r for r in records if r["kind"] == "coupon_issued"]
        assert issued["code"] == shown
        assert issued["reason"] == "survey"
        assert issued["campaign"] == "accessory-50"

        # Staff heard each answer live, the unhappy face as an alert, the text not at all.
        staff.wait_for("survey_answer", lambda m: m.data.model_dump()["question"] == "comments")
        messages = staff.of("survey_answer")
        assert [m.alert for m in messages] == [True, False, False, False]
        assert all("text" not in m.data.model_dump() for m in messages)
        assert "太贵" not in json.dumps([m.model_dump(mode="json") for m in staff.messages])
        issued = staff.wait_for("coupon_issued")
        assert issued.data.model_dump()["campaign"] == "accessory-50"

        tap(window.coupon.done)  # back to the phone still in hand
        qtbot.waitUntil(window.product.isVisible, timeout=2000)
        assert not window.product.action_bar.feedback_button.isVisible()  # one per session
    finally:
        staff.client.stop()
        kiosk.close()


def test_without_a_coupon_key_the_survey_thanks_and_gives_no_code(
    qtbot: QtBot, qapp: QApplication, bundle: tuple[Path, Bundle], tmp_path: Path
) -> None:
    kiosk = start_kiosk(qtbot, qapp, bundle, tmp_path, enrolled=False)
    try:
        kiosk.controller.survey_opened("visit")
        qtbot.waitUntil(kiosk.window.survey.isVisible, timeout=2000)
        tap_when_placed(qtbot, answer_button(kiosk, "4"))
        qtbot.waitUntil(lambda: "recommend" in kiosk.controller.state.view.key, timeout=2000)
        tap_when_placed(qtbot, answer_button(kiosk, "10"))
        qtbot.waitUntil(kiosk.window.survey.skip.isVisible, timeout=2000)
        tap(kiosk.window.survey.skip)
        qtbot.waitUntil(kiosk.window.message.isVisible, timeout=2000)
        qtbot.waitUntil(lambda: "已发完" in kiosk.window.message.body.text(), timeout=2000)
        assert isinstance(kiosk.controller.state.view, ThanksView)
    finally:
        kiosk.close()


def test_the_attract_smiley_counts_one_press_per_five_seconds(
    qtbot: QtBot,
    qapp: QApplication,
    bundle: tuple[Path, Bundle],
    tmp_path: Path,
) -> None:
    port = free_port()
    kiosk = start_kiosk(qtbot, qapp, bundle, tmp_path, channel=port)
    attract = kiosk.window.attract
    staff = Follower(tmp_path / "data", port, "kiosk-1", "store-1", qtbot=qtbot)
    try:
        staff.client.start()
        assert attract.smileys.isVisible()
        tap(attract.faces[0])
        qtbot.waitUntil(lambda: attract.smiley_question.text() == "谢谢！", timeout=2000)
        qtbot.waitUntil(attract.faces[0].isEnabled, timeout=5000)  # thanks over
        tap(attract.faces[3])  # within five seconds of the first: thanked, not counted
        qtbot.wait(100)
        answers = [r for r in outbox_records(kiosk, tmp_path / "data")]
        assert [(a["kind"], a["score"], a["low"]) for a in answers] == [("survey_answer", 1, True)]
        message = staff.wait_for("survey_answer")
        assert message.alert is True
        assert message.data.model_dump()["survey"] == "smiley"
        assert not isinstance(kiosk.controller.state.view, SurveyView)  # no session started
    finally:
        staff.client.stop()
        kiosk.close()


def test_a_member_wins_the_draw_once_a_day(
    qtbot: QtBot, qapp: QApplication, bundle: tuple[Path, Bundle], tmp_path: Path
) -> None:
    kiosk = start_kiosk(qtbot, qapp, bundle, tmp_path)
    window = kiosk.window
    try:
        kiosk.bridge.post(MemberArrived(MEMBER, deliberate=True))  # her fob, recognised
        qtbot.waitUntil(window.welcome.isVisible, timeout=2000)
        tap_when_placed(qtbot, window.welcome.action_bar.draw_button)
        qtbot.waitUntil(window.draw.action.isVisible, timeout=2000)
        # The prize, its picture and its chance, and the rules, before the button.
        (tile,) = window.draw.tiles
        assert tile.name.text() == "手机壳9折"
        assert tile.odds.text() == "中奖概率 100%"
        assert "每位会员每天可抽 1 次" in window.draw.rules.text()
        tapped_at = time.monotonic()
        tap(window.draw.action)
        # A moment of suspense: the highlight runs over the prizes, then the result.
        qtbot.waitUntil(lambda: window.draw.animating, timeout=1000)
        qtbot.waitUntil(window.coupon.isVisible, timeout=5000)
        suspense = time.monotonic() - tapped_at
        assert 1.2 < suspense < 2.0
        assert window.coupon.heading.text() == "恭喜中奖！"
        read = decode_qr(window.coupon.qr.grab().toImage())
        verify(read)
        expires = date.fromisoformat(window.coupon.expires.text().split(" ")[-1])
        assert expires == store_today() + timedelta(days=13)  # the case coupon: 14 days

        records = outbox_records(kiosk, tmp_path / "data")
        (drawn,) = [r for r in records if r["kind"] == "prize_draw"]
        assert drawn["prize"] == "case"
        assert drawn["member_id"] == MEMBER.member_id
        (issued,) = [r for r in records if r["kind"] == "coupon_issued"]
        assert str(issued["code"]).replace("-", "") == read
        assert issued["reason"] == "draw"

        # Back on her welcome the draw is no longer offered: it says why instead.
        tap(window.coupon.done)
        qtbot.waitUntil(window.welcome.isVisible, timeout=2000)
        assert not window.welcome.action_bar.draw_button.isVisible()
        offer = window.welcome.offers[0]
        assert offer.body.text() == "您今天已经抽过奖了，明天再来吧"
        assert not offer.button.isVisible()
        assert len(outbox_records(kiosk, tmp_path / "data")) == 2
    finally:
        kiosk.close()


def test_a_member_who_drew_earlier_today_is_told_before_any_button(
    qtbot: QtBot, qapp: QApplication, bundle: tuple[Path, Bundle], tmp_path: Path
) -> None:
    kiosk = start_kiosk(qtbot, qapp, bundle, tmp_path)
    window = kiosk.window
    try:
        kiosk.bridge.post(MemberArrived(MEMBER, deliberate=True))
        qtbot.waitUntil(window.welcome.isVisible, timeout=2000)
        kiosk.controller.draw_opened("daily-draw")
        qtbot.waitUntil(window.draw.action.isVisible, timeout=2000)
        tap(window.draw.action)
        tap_when_placed(qtbot, window.draw)  # skips the animation
        qtbot.waitUntil(window.coupon.isVisible, timeout=2000)
        kiosk.bridge.post(MemberLeft(MEMBER.member_id))  # she walks off; the session ends
        tap(window.coupon.done)
        qtbot.waitUntil(window.attract.isVisible, timeout=2000)

        # Later that day her fob again: the kiosk asks its ledger as she arrives.
        kiosk.bridge.post(MemberArrived(MEMBER, deliberate=True))
        qtbot.waitUntil(window.welcome.isVisible, timeout=2000)
        qtbot.waitUntil(
            lambda: window.welcome.offers[0].body.text() == "您今天已经抽过奖了，明天再来吧",
            timeout=2000,
        )
        assert not window.welcome.offers[0].button.isVisible()
        assert not window.welcome.action_bar.draw_button.isVisible()
        # Even on the draw's own screen (a stale button elsewhere): said, never refused.
        kiosk.controller.draw_opened("daily-draw")
        qtbot.waitUntil(window.draw.isVisible, timeout=2000)
        assert window.draw.message.text() == "您今天已经抽过奖了，明天再来吧"
        assert not window.draw.action.isVisible()
        assert window.draw.next_step.text()  # what else there is: tomorrow, the survey
        records = outbox_records(kiosk, tmp_path / "data")
        assert len([r for r in records if r["kind"] == "prize_draw"]) == 1
    finally:
        kiosk.close()


def test_a_tap_skips_the_draws_animation(
    qtbot: QtBot, qapp: QApplication, bundle: tuple[Path, Bundle], tmp_path: Path
) -> None:
    # An animation of a minute: the coupon can only show within the wait below if the
    # tap cut it short (no timing asserted: the answer comes from the relay child).
    config = SessionConfig(drop_grace=30.0, draw_suspense=60.0)
    kiosk = start_kiosk(qtbot, qapp, bundle, tmp_path, session=config)
    window = kiosk.window
    try:
        kiosk.bridge.post(MemberArrived(MEMBER, deliberate=True))
        qtbot.waitUntil(window.welcome.isVisible, timeout=2000)
        tap_when_placed(qtbot, window.welcome.offers[0].button)  # "draw now" on her welcome
        qtbot.waitUntil(window.draw.action.isVisible, timeout=2000)
        tap(window.draw.action)
        qtbot.waitUntil(window.draw.hint.isVisible, timeout=1000)
        assert window.draw.hint.text() == "抽奖中…   轻点屏幕跳过"
        qtbot.wait(300)
        assert not window.coupon.isVisible()  # the animation runs until tapped
        tap(window.draw.title)
        qtbot.waitUntil(window.coupon.isVisible, timeout=10_000)
    finally:
        kiosk.close()
