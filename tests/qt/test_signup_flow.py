"""Sign-up at the touchscreen: the real kiosk, its on-screen keyboard (Qt Virtual
Keyboard, Pinyin), the real RFID driver on a pty for linking a fob, the real outbox.

Every tap goes through the kiosk's native window, as a touchscreen's do; text is
typed by tapping the keyboard's keys and picking Pinyin candidates.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from helpers.bundles import edit_json, sample_bundle
from helpers.geometry import layout_problems
from helpers.keyboard import candidates, pick_candidate, type_keys, visible_keys
from helpers.signup import TAG_KEY, open_form, set_shape, start_kiosk, type_into
from helpers.touch import tap
from PySide6.QtCore import QPoint, QPointF, QRect
from PySide6.QtWidgets import QApplication, QCheckBox, QLabel, QWidget
from pytestqt.qtbot import QtBot

from backend_client.credentials import Credentials
from backend_client.crypto import PayloadCipher
from backend_client.members import tag_hash
from backend_client.outbox import Outbox
from content.bundle import Bundle, load_bundle
from content.model import ConsentPurpose, Language
from content.sample import CASE_DISCOUNT
from devices.protocols.rfid import rfid_tag
from devices.sim.rfid import RfidReaderSim
from kiosk import theme
from kiosk.app import DEFAULT_TIMEZONE, Kiosk
from kiosk.session import SessionConfig, SignupStep, SignupView
from rewards.codes import parse_code

NEW_FOB = 4_000_000_123


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Bundle]:
    path = sample_bundle(tmp_path_factory.mktemp("content") / "bundle")
    return path, load_bundle(path, verify_hashes=False)


@pytest.fixture
def reader(tmp_path: Path) -> Iterator[RfidReaderSim]:
    sim = RfidReaderSim(link=tmp_path / "rfid")
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def kiosk(
    qtbot: QtBot, qapp: QApplication, bundle: tuple[Path, Bundle], tmp_path: Path
) -> Iterator[Kiosk]:
    built = start_kiosk(qtbot, qapp, bundle, tmp_path)
    yield built
    built.close()


def outbox_records(kiosk: Kiosk, data: Path) -> list[dict[str, object]]:
    assert kiosk.outbox.flush()
    cipher = PayloadCipher.from_key_file(data / "outbox.key")
    with Outbox(data / "outbox.sqlite3", cipher=cipher) as outbox:
        return [{"kind": r.kind, **r.payload} for r in outbox.read_batch(limit=500).records]


def tick(kiosk: Kiosk, *purposes: ConsentPurpose) -> None:
    signup = kiosk.window.signup
    for purpose in purposes:
        consent = signup.consents[purpose]
        signup.notices.ensureWidgetVisible(consent)  # as the shopper scrolls to it
        tick_box(consent.box)
        assert consent.box.isChecked()


def tick_box(box: QCheckBox) -> None:
    """A thumb on the tick box itself (a check box is only as wide as its text)."""
    tap(box, QPoint(24, box.height() // 2))


def settled_layout_problems(qtbot: QtBot, kiosk: Kiosk) -> list[str]:
    """What is cut off once the layouts have settled (word-wrapped labels take a few
    turns of the event loop to find their height after new text)."""
    with contextlib.suppress(qtbot.TimeoutError):  # the caller's assertion shows them
        qtbot.waitUntil(lambda: layout_problems(kiosk.window) == [], timeout=1000)
    return layout_problems(kiosk.window)


def signup_step(kiosk: Kiosk) -> SignupStep | None:
    view = kiosk.controller.state.view
    return view.step if isinstance(view, SignupView) else None


def test_a_shopper_signs_up_typing_their_name_in_pinyin_and_links_their_fob(
    qtbot: QtBot,
    qapp: QApplication,
    bundle: tuple[Path, Bundle],
    reader: RfidReaderSim,
    tmp_path: Path,
) -> None:
    kiosk = start_kiosk(qtbot, qapp, bundle, tmp_path, reader=reader)
    try:
        open_form(qtbot, kiosk)
        signup = kiosk.window.signup
        keyboard = signup.keyboard
        assert keyboard is not None
        type_into(qtbot, kiosk, "phone", "13800138000")  # on the keyboard's digit pad
        assert signup.phone.edit.text() == "13800138000"
        type_into(qtbot, kiosk, "name", "wangfang")
        pick_candidate(qtbot, keyboard, "王芳", signup.name.edit.text)
        qtbot.waitUntil(lambda: signup.name.edit.text() == "王芳", timeout=2000)
        tick(kiosk, ConsentPurpose.MEMBERSHIP, ConsentPurpose.RECOGNITION)
        tick_box(signup.greet)
        tap(signup.submit)
        qtbot.waitUntil(lambda: signup_step(kiosk) is SignupStep.DONE, timeout=2000)
        assert signup.binding.isVisible()  # "hold your fob to the reader now"

        reader.present(NEW_FOB)
        qtbot.waitUntil(lambda: "已绑定" in signup.binding.text(), timeout=3000)

        records = outbox_records(kiosk, tmp_path / "data")
        (member,) = [r for r in records if r["kind"] == "member_signup"]
        assert member["phone"] == "+8613800138000"
        assert member["region"] == "CN"
        assert member["name"] == "王芳"
        assert member["greet_by_name"] is True
        assert member["language"] == "zh-CN"
        consents = {r["purpose"]: r for r in records if r["kind"] == "consent"}
        assert {p: c["given"] for p, c in consents.items()} == {
            "membership": True,
            "marketing": False,
            "recognition": True,
            "personalisation": False,
        }
        content = bundle[1]
        for purpose, consent in consents.items():
            notice = content.notice(ConsentPurpose(str(purpose)))
            assert notice is not None
            assert consent["member_id"] == member["member_id"]
            assert consent["notice_version"] == notice.version
            shown = notice.text.get(Language.ZH_CN).encode()
            assert consent["notice_sha256"] == hashlib.sha256(shown).hexdigest()
        (bound,) = [r for r in records if r["kind"] == "tag_bound"]
        assert bound["member_id"] == member["member_id"]
        assert bound["tag_hash"] == tag_hash(TAG_KEY, rfid_tag(NEW_FOB))
    finally:
        kiosk.close()


def test_a_wrong_number_is_explained_and_keeps_what_was_typed(
    qtbot: QtBot, kiosk: Kiosk, tmp_path: Path
) -> None:
    open_form(qtbot, kiosk)
    signup = kiosk.window.signup
    keyboard = signup.keyboard
    assert keyboard is not None
    type_into(qtbot, kiosk, "phone", "1380013800")  # one digit short
    type_into(qtbot, kiosk, "name", "nihao")
    pick_candidate(qtbot, keyboard, "你好", signup.name.edit.text)
    tick(kiosk, ConsentPurpose.MEMBERSHIP)
    tap(signup.submit)
    qtbot.waitUntil(lambda: bool(signup.phone.error.text()), timeout=2000)
    assert signup.phone.error.text() == "这不是有效的手机号码，请检查位数"
    assert signup.name.edit.text() == "你好"  # nothing retyped
    assert signup_step(kiosk) is SignupStep.FORM
    assert not [r for r in outbox_records(kiosk, tmp_path / "data") if r["kind"] != "lift"]

    tap(signup.language)  # the same explanation, in English
    qtbot.waitUntil(lambda: signup.phone.error.text().startswith("This is not"), timeout=2000)


def test_a_landline_and_a_missing_membership_tick_are_both_explained(
    qtbot: QtBot, kiosk: Kiosk
) -> None:
    open_form(qtbot, kiosk)
    signup = kiosk.window.signup
    signup.phone.edit.setText("010 6552 9988")  # a Beijing landline
    signup.name.edit.setText("Anna")
    tick(kiosk, ConsentPurpose.MARKETING)
    tap(signup.submit)
    qtbot.waitUntil(lambda: bool(signup.consent_error.text()), timeout=2000)
    assert signup.phone.error.text() == "请填写手机号码（不支持固定电话）"
    assert signup.consent_error.text() == "注册需要勾选“成为会员”"


def test_declining_marketing_and_recognition_still_makes_a_member_without_a_fob_offer(
    qtbot: QtBot, kiosk: Kiosk, tmp_path: Path
) -> None:
    open_form(qtbot, kiosk)
    signup = kiosk.window.signup
    signup.phone.edit.setText("139 1234 5678")
    signup.name.edit.setText("Li")
    tick(kiosk, ConsentPurpose.MEMBERSHIP, ConsentPurpose.PERSONALISATION)
    tick_box(signup.greet)  # greeting by name needs recognition: dropped
    tap(signup.submit)
    qtbot.waitUntil(lambda: signup_step(kiosk) is SignupStep.DONE, timeout=2000)
    assert not signup.binding.isVisible()
    records = outbox_records(kiosk, tmp_path / "data")
    (member,) = [r for r in records if r["kind"] == "member_signup"]
    assert member["greet_by_name"] is False
    given = {r["purpose"]: r["given"] for r in records if r["kind"] == "consent"}
    assert given == {
        "membership": True,
        "marketing": False,
        "recognition": False,
        "personalisation": True,
    }


def test_under_fourteen_is_sent_to_staff_and_nothing_is_kept(
    qtbot: QtBot, kiosk: Kiosk, tmp_path: Path
) -> None:
    window = kiosk.window
    tap(window.attract.join_button)
    qtbot.waitUntil(window.signup.isVisible, timeout=2000)
    tap(window.signup.age_no)
    qtbot.waitUntil(window.signup.under_age_body.isVisible, timeout=2000)
    assert "监护人" in window.signup.under_age_body.text()
    assert window.signup.keyboard is None or not window.signup.keyboard.isVisible()
    tap(window.signup.under_age_close)
    qtbot.waitUntil(window.attract.isVisible, timeout=2000)
    assert outbox_records(kiosk, tmp_path / "data") == []


def test_walking_away_wipes_the_form_after_a_countdown(
    qtbot: QtBot,
    qapp: QApplication,
    bundle: tuple[Path, Bundle],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    # Long enough that typing (each tap a touch) never lets the countdown start.
    session = SessionConfig(form_timeout=3.0, form_countdown=1.0)
    kiosk = start_kiosk(qtbot, qapp, bundle, tmp_path, session=session)
    try:
        open_form(qtbot, kiosk)
        signup = kiosk.window.signup
        keyboard = signup.keyboard
        assert keyboard is not None
        type_into(qtbot, kiosk, "phone", "13912345678")
        type_into(qtbot, kiosk, "name", "nihao")
        pick_candidate(qtbot, keyboard, "你好", signup.name.edit.text)
        tick(kiosk, ConsentPurpose.MARKETING)
        qtbot.waitUntil(kiosk.window.countdown.isVisible, timeout=6000)
        assert "秒后将清除" in kiosk.window.countdown.body.text()
        qtbot.waitUntil(kiosk.window.attract.isVisible, timeout=3000)
        assert not kiosk.window.countdown.isVisible()

        for field in (signup.phone, signup.name, signup.email):
            assert field.edit.text() == ""
            assert not field.edit.isUndoAvailable()  # not even one "undo" away
        assert not any(c.box.isChecked() for c in signup.consents.values())
        assert kiosk.controller.state.member is None
        typed = ("13912345678", "你好")
        trace = (tmp_path / "trace.jsonl").read_text()
        assert not any(text in trace for text in typed)
        assert not any(text in caplog.text for text in typed)
        assert outbox_records(kiosk, tmp_path / "data") == []

        # The next shopper opens an empty form.
        open_form(qtbot, kiosk)
        assert signup.phone.edit.text() == signup.name.edit.text() == ""
    finally:
        kiosk.close()


def test_a_touch_during_the_countdown_keeps_the_form(
    qtbot: QtBot, qapp: QApplication, bundle: tuple[Path, Bundle], tmp_path: Path
) -> None:
    session = SessionConfig(form_timeout=0.5, form_countdown=1.5)
    kiosk = start_kiosk(qtbot, qapp, bundle, tmp_path, session=session)
    try:
        open_form(qtbot, kiosk)
        kiosk.window.signup.name.edit.setText("Anna")
        qtbot.waitUntil(kiosk.window.countdown.isVisible, timeout=3000)
        tap(kiosk.window.countdown.button)
        qtbot.waitUntil(lambda: not kiosk.window.countdown.isVisible(), timeout=1000)
        assert kiosk.window.signup.isVisible()
        assert kiosk.window.signup.name.edit.text() == "Anna"
    finally:
        kiosk.close()


def test_continue_on_your_phone_shows_a_one_time_link_as_a_qr_code(
    qtbot: QtBot, qapp: QApplication, bundle: tuple[Path, Bundle], tmp_path: Path
) -> None:
    from helpers.qr import decode_qr  # noqa: PLC0415 - zxing only where a QR is read

    data = tmp_path / "data"
    enrol(data)
    kiosk = start_kiosk(qtbot, qapp, bundle, tmp_path)
    try:
        tap(kiosk.window.attract.join_button)
        qtbot.waitUntil(kiosk.window.signup.isVisible, timeout=2000)
        tap(kiosk.window.signup.handoff)
        overlay = kiosk.window.signup._handoff_overlay
        qtbot.waitUntil(overlay.isVisible, timeout=2000)
        first = decode_qr(overlay.code.grab().toImage())
        assert first.startswith("http://127.0.0.1:9/join/")
        tap(overlay.close_button)
        tap(kiosk.window.signup.handoff)
        qtbot.waitUntil(overlay.isVisible, timeout=2000)
        assert decode_qr(overlay.code.grab().toImage()) != first  # a new link each time
    finally:
        kiosk.close()


def enrol(data: Path) -> None:
    """What `kiosk enroll` leaves behind (HQ itself is not needed for these screens)."""
    from backend_client.credentials import Credentials, save_credentials  # noqa: PLC0415

    data.mkdir(parents=True, exist_ok=True)
    save_credentials(
        data,
        Credentials(
            "http://127.0.0.1:9",
            "store-1",
            "kiosk-1",
            "token",
            kiosk_no=17,
            coupon_key=hashlib.sha256(b"kiosk 17").digest(),
        ),
    )
    json.loads((data / "hq.json").read_text())  # written whole


# --- the keyboard: ready at once, in the kiosk's style, steady, digits for the phone ---


def test_the_keyboard_is_built_during_the_age_question_and_the_first_tap_types(
    qtbot: QtBot, kiosk: Kiosk
) -> None:
    window = kiosk.window
    tap(window.attract.join_button)
    qtbot.waitUntil(window.signup.age_yes.isVisible, timeout=2000)
    # Built while the shopper reads the question, not when the form appears.
    qtbot.waitUntil(lambda: window.signup.keyboard is not None, timeout=3000)
    prepared = window.signup.keyboard
    assert prepared is not None
    assert prepared.ready
    assert not prepared.isVisible()

    tap(window.signup.age_yes)
    qtbot.waitUntil(prepared.isVisible, timeout=2000)
    assert window.signup.keyboard is prepared
    type_keys(qtbot, prepared, "1")  # the very first key tap
    qtbot.waitUntil(lambda: window.signup.phone.edit.text() == "1", timeout=2000)


def test_the_keyboard_is_light_from_the_first_frame_it_shows(qtbot: QtBot, kiosk: Kiosk) -> None:
    window = kiosk.window
    tap(window.attract.join_button)
    qtbot.waitUntil(lambda: window.signup.keyboard is not None, timeout=3000)
    keyboard = window.signup.keyboard
    assert keyboard is not None
    tap(window.signup.age_yes)
    qtbot.waitUntil(keyboard.isVisible, timeout=2000)
    # The first frame with the keyboard in it, before Qt Quick may have drawn a key.
    first = keyboard.grab().toImage()
    dark = sum(
        1
        for x in range(0, first.width(), 16)
        for y in range(0, first.height(), 16)
        if first.pixelColor(x, y).lightness() < 64
    )
    looked = len(range(0, first.width(), 16)) * len(range(0, first.height(), 16))
    assert dark / looked < 0.05, f"{dark} of {looked} sampled pixels are dark"


def test_the_phone_pad_has_digits_only_on_white_keys(qtbot: QtBot, kiosk: Kiosk) -> None:
    open_form(qtbot, kiosk)
    keyboard = kiosk.window.signup.keyboard
    assert keyboard is not None
    qtbot.waitUntil(lambda: "5" in visible_keys(keyboard), timeout=2000)
    keys = visible_keys(keyboard)
    assert set("0123456789") <= set(keys)
    assert not {"*", "#", "+"} & set(keys)
    # The kiosk's light style: a white key on a light grey panel, not the stock dark one.
    frame = keyboard.grabFramebuffer()
    key = keys["5"]
    corner = key.mapToScene(QPointF(key.width() * 0.2, key.height() * 0.25)).toPoint()
    assert frame.pixelColor(corner) == theme.SURFACE
    assert frame.pixelColor(2, 2) == theme.LINE


def test_candidates_are_thumb_sized_and_appear_without_moving_the_form(
    qtbot: QtBot, kiosk: Kiosk
) -> None:
    open_form(qtbot, kiosk)
    signup = kiosk.window.signup
    keyboard = signup.keyboard
    assert keyboard is not None
    tap(signup.name.edit)
    qtbot.waitUntil(signup.name.edit.hasFocus, timeout=1000)
    qtbot.waitUntil(lambda: "w" in visible_keys(keyboard), timeout=2000)
    before = (keyboard.geometry(), signup.name.edit.mapTo(kiosk.window, QPoint(0, 0)))
    type_into(qtbot, kiosk, "name", "wang")
    qtbot.waitUntil(lambda: "王" in candidates(keyboard), timeout=2000)
    assert (keyboard.geometry(), signup.name.edit.mapTo(kiosk.window, QPoint(0, 0))) == before
    assert candidates(keyboard)["王"].height() >= theme.TOUCH_MIN


# --- both shapes: nothing cut off, the form and notices scroll in their areas ----------


@pytest.mark.parametrize("shape", ["landscape", "portrait"])
def test_after_a_wrong_number_the_whole_form_stays_on_screen(
    qtbot: QtBot, kiosk: Kiosk, shape: str
) -> None:
    set_shape(qtbot, kiosk, shape)
    open_form(qtbot, kiosk)
    signup = kiosk.window.signup
    keyboard = signup.keyboard
    assert keyboard is not None
    type_into(qtbot, kiosk, "phone", "1380013800")  # one digit short
    tap(signup.submit)
    qtbot.waitUntil(lambda: bool(signup.consent_error.text()), timeout=2000)
    qtbot.wait(50)  # layouts settle on the next turn of the event loop
    assert kiosk.window.size().toTuple() == theme.SCREEN_SHAPES[shape]
    assert settled_layout_problems(qtbot, kiosk) == []
    window_rect = kiosk.window.rect()
    shown = QRect(keyboard.mapTo(kiosk.window, QPoint(0, 0)), keyboard.size())
    assert window_rect.contains(shown), f"keyboard at {shown}"
    root = keyboard.rootObject()
    assert root is not None
    assert root.height() == keyboard.height()
    for key in visible_keys(keyboard).values():
        bottom = key.mapToScene(QPointF(0, key.height())).y()
        assert bottom <= keyboard.height() + 1, f"key {key.property('text')!r} hangs below"
    # The last field and the last notice scroll into reach inside their areas.
    signup.fields.ensureWidgetVisible(signup.greet)
    qtbot.waitUntil(lambda: not signup.greet.visibleRegion().isEmpty(), timeout=1000)
    tick_box(signup.greet)
    assert signup.greet.isChecked()
    last = list(signup.consents.values())[-1]
    tick(kiosk, last.purpose)


@pytest.mark.parametrize("shape", ["landscape", "portrait"])
def test_consent_titles_wrap_and_tick_their_box_and_the_scroll_bar_takes_a_thumb(
    qtbot: QtBot, kiosk: Kiosk, shape: str
) -> None:
    set_shape(qtbot, kiosk, shape)
    open_form(qtbot, kiosk)
    signup = kiosk.window.signup
    tap(signup.language)  # English titles are the longest
    qtbot.waitUntil(lambda: signup.phone.caption.text() == "Mobile number", timeout=2000)
    qtbot.wait(50)
    assert settled_layout_problems(qtbot, kiosk) == []
    for consent in signup.consents.values():
        assert consent.title.text()
        assert consent.title.wordWrap()  # a long title takes a second line, never cut
    bar = signup.notices.verticalScrollBar()
    assert bar.isVisible()
    assert bar.width() >= 28
    marketing = signup.consents[ConsentPurpose.MARKETING]
    signup.notices.ensureWidgetVisible(marketing)
    tap(marketing.title)  # the title, as well as the box, ticks it
    assert marketing.box.isChecked()


# --- the new member's welcome -----------------------------------------------------------


@pytest.mark.parametrize("shape", ["landscape", "portrait"])
def test_a_new_member_is_greeted_by_name_told_what_they_get_and_offered_the_draw(
    qtbot: QtBot, kiosk: Kiosk, shape: str
) -> None:
    set_shape(qtbot, kiosk, shape)
    open_form(qtbot, kiosk)
    signup = kiosk.window.signup
    signup.phone.edit.setText("139 1234 5678")
    signup.name.edit.setText("王芳")
    tick(kiosk, ConsentPurpose.MEMBERSHIP, ConsentPurpose.RECOGNITION)
    signup.fields.ensureWidgetVisible(signup.greet)  # as the shopper scrolls to it
    tick_box(signup.greet)
    assert signup.greet.isChecked()
    tap(signup.submit)
    qtbot.waitUntil(lambda: signup_step(kiosk) is SignupStep.DONE, timeout=2000)
    qtbot.wait(50)
    assert signup.title.text() == "王芳，欢迎成为会员！"
    benefits = [b.text() for b in signup.benefits if b.isVisible()]
    assert len(benefits) == 3
    assert any("会员抽奖" in b for b in benefits)
    assert signup.next_step.isVisible()
    assert "抽奖" in signup.next_step.text()
    assert signup.draw.isVisible()
    assert signup.done.isVisible()
    shown = [w.text() for w in kiosk.window.findChildren(QLabel) if w.isVisible()]
    assert not [t for t in shown if "同步" in t or "总部" in t]  # no word about syncing
    assert kiosk.window.size().toTuple() == theme.SCREEN_SHAPES[shape]
    assert settled_layout_problems(qtbot, kiosk) == []

    tap(signup.done)  # on to their own welcome: new here, so not "welcome back"
    qtbot.waitUntil(kiosk.window.welcome.isVisible, timeout=2000)
    assert kiosk.window.welcome.greeting.text() == "欢迎您，王芳"


@pytest.fixture(scope="module")
def welcome_bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Bundle]:
    """The sample bundle, with its phone-case discount as the new members' welcome coupon."""
    path = sample_bundle(tmp_path_factory.mktemp("content") / "bundle")

    def welcome(document: dict[str, list[dict[str, object]]]) -> None:
        (case,) = [c for c in document["campaigns"] if c["id"] == CASE_DISCOUNT]
        case["welcome"] = True

    edit_json(path, "coupons.json", welcome)
    return path, load_bundle(path, verify_hashes=False)


@pytest.mark.parametrize("shape", ["landscape", "portrait"])
def test_a_new_member_is_given_the_welcome_coupon_on_the_last_screen(
    qtbot: QtBot,
    qapp: QApplication,
    welcome_bundle: tuple[Path, Bundle],
    tmp_path: Path,
    shape: str,
) -> None:
    enrolled = Credentials("http://127.0.0.1:9", "store-1", "kiosk-1", "token", 17, bytes(32))
    kiosk = start_kiosk(qtbot, qapp, welcome_bundle, tmp_path, credentials=enrolled)
    try:
        set_shape(qtbot, kiosk, shape)
        open_form(qtbot, kiosk)
        signup = kiosk.window.signup
        signup.phone.edit.setText("139 1234 5678")
        signup.name.edit.setText("Li")
        tick(kiosk, ConsentPurpose.MEMBERSHIP)
        tap(signup.submit)
        qtbot.waitUntil(signup.coupon.isVisible, timeout=3000)
        code = signup.coupon.code.text()
        today = datetime.now(ZoneInfo(DEFAULT_TIMEZONE)).date()  # the store's day
        coupon = parse_code(code, {17: bytes(32)}.get, today=today)  # as a till checks it
        case = welcome_bundle[1].campaign(CASE_DISCOUNT)
        assert case is not None
        assert coupon.campaign_no == case.number
        assert signup.coupon.offer.text() == case.title.zh_cn
        assert signup.draw.isVisible()  # and the draw as the next step
        qtbot.wait(50)
        assert settled_layout_problems(qtbot, kiosk) == []
        # Everything in sight across: the page scrolls up and down only, never sideways.
        viewport = signup.done_area.viewport()
        for shown in signup.done_area.widget().findChildren(QWidget):
            if shown.isVisible():
                left = shown.mapTo(viewport, QPoint(0, 0)).x()
                assert 0 <= left <= left + shown.width() <= viewport.width(), shown

        records = outbox_records(kiosk, tmp_path / "data")
        (issued,) = [r for r in records if r["kind"] == "coupon_issued"]
        assert issued["reason"] == "signup"
        assert issued["campaign"] == CASE_DISCOUNT
        assert issued["code"] == code
        assert code not in (tmp_path / "trace.jsonl").read_text()  # a till could redeem it

        tap(signup.done)  # the code leaves the screen with them
        qtbot.waitUntil(lambda: not signup.isVisible(), timeout=2000)
        assert code not in [w.text() for w in kiosk.window.findChildren(QLabel)]
    finally:
        kiosk.close()
