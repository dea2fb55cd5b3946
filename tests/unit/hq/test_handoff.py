"""HQ's side of the phone sign-up link: checking tokens, the form's rules, using a link once."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from backend_client.handoff import handoff_link
from hq.api.join import JoinForm, JoinPages, UnderAge, check_form, form_page, read_form, safely
from hq.crm import handoff
from hq.crm.coupon_codes import kiosk_key_from_secret
from hq.crm.handoff import (
    CLOCK_SKEW,
    FORM_TIME,
    ConsentChoice,
    Handoff,
    HandoffKiosk,
    HandoffRefused,
    PhoneSignup,
    enrolled_kiosks,
    handoff_uses,
)
from hq.crm.notices import NoticeFile, Notices, NoticesUnavailable, parse_notices
from hq.db import Database, consents, customers, kiosks, member_ids, metadata, stores

SECRET = bytes(range(32))
STORE = "sh-nanjing-road"
NOW = datetime(2026, 11, 23, 9, 14, tzinfo=UTC)

# docs/hq-api.md test vectors.
VECTOR_TOKEN = "CERUKAAXHPKACI2FM6E2XTPP35R7LID4BTYZ2DK6"  # noqa: S105 (a test vector)
CHAIN_TOKEN = "CAAACAAXHPKAAAICAMCAKBQH7YBZ7QRBJEREMNUI"  # noqa: S105 (a test vector)
VECTOR_EXPIRES_AT = datetime(2026, 11, 23, 9, 24, tzinfo=UTC)

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def coupon_key(kiosk_no: int, store_id: str = STORE) -> bytes:
    return kiosk_key_from_secret(SECRET, store_id, kiosk_no)


def kiosk(kiosk_no: int, *, key: bytes | None = None) -> HandoffKiosk:
    return HandoffKiosk(
        kiosk_no,
        STORE,
        f"{STORE}-k{kiosk_no}",
        handoff.handoff_key(key if key is not None else coupon_key(kiosk_no)),
    )


def only(*known: HandoffKiosk) -> handoff.KioskLookup:
    by_number = {entry.kiosk_no: entry for entry in known}
    return by_number.get


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


def new_token(kiosk_no: int = 1, *, now: datetime = NOW) -> str:
    link = handoff_link(
        "https://hq.example.com", kiosk_no=kiosk_no, coupon_key=coupon_key(kiosk_no), now=now
    )
    return token_of(link.url)


# ---------------------------------------------------------------- tokens


def test_the_documented_vectors_check_out() -> None:
    vector = handoff.authenticate(
        VECTOR_TOKEN, only(HandoffKiosk(0x12345, STORE, "k", handoff.handoff_key(SECRET)))
    )
    assert vector.kiosk.kiosk_no == 0x12345
    assert vector.nonce == "0123456789abcdef"
    assert vector.expires_at == VECTOR_EXPIRES_AT

    chain = handoff.authenticate(CHAIN_TOKEN, only(kiosk(1)))
    assert chain.kiosk.kiosk_id == f"{STORE}-k1"
    assert chain.nonce == "0001020304050607"
    assert chain.expires_at == VECTOR_EXPIRES_AT


def test_a_link_the_kiosk_made_opens_at_hq() -> None:
    token = new_token(5)
    checked = handoff.check(token, only(kiosk(5)), now=NOW + timedelta(minutes=3))
    assert checked.kiosk.kiosk_id == f"{STORE}-k5"
    assert checked.expires_at == NOW + timedelta(minutes=10)


def test_any_altered_character_is_refused() -> None:
    token = new_token(1)
    lookup = only(kiosk(1))
    for position, char in enumerate(token):
        for other in {ALPHABET[(ALPHABET.index(char) + 1) % 32], char.lower(), "0", "="} - {char}:
            altered = token[:position] + other + token[position + 1 :]
            with pytest.raises(HandoffRefused) as refused:
                handoff.authenticate(altered, lookup)
            assert refused.value.reason in {"malformed", "unknown_kiosk", "forged"}


def test_a_cut_short_or_padded_token_is_malformed() -> None:
    token = new_token(1)
    for broken in (token[:-1], token + "A", token + "======", "", "join"):
        with pytest.raises(HandoffRefused) as refused:
            handoff.authenticate(broken, only(kiosk(1)))
        assert refused.value.reason == "malformed"


def test_a_token_signed_with_another_kiosks_key_is_forged() -> None:
    token = new_token(1)
    # Same number, but the key of kiosk 1 in another store: not what made the link.
    impostor = kiosk(1, key=coupon_key(1, "bj-wangfujing"))
    with pytest.raises(HandoffRefused) as refused:
        handoff.authenticate(token, only(impostor))
    assert refused.value.reason == "forged"


def test_a_token_of_an_unknown_or_revoked_kiosk_is_refused() -> None:
    with pytest.raises(HandoffRefused) as refused:
        handoff.authenticate(new_token(2), only(kiosk(1)))
    assert refused.value.reason == "unknown_kiosk"


def test_a_link_expires_after_ten_minutes_give_or_take_the_clock_skew() -> None:
    link = handoff.authenticate(new_token(1), only(kiosk(1)))
    expires = link.expires_at
    assert link.refusal_at(expires - timedelta(seconds=1)) is None
    assert link.refusal_at(expires + CLOCK_SKEW - timedelta(seconds=1)) is None
    assert link.refusal_at(expires + CLOCK_SKEW) == "expired"
    with pytest.raises(HandoffRefused) as refused:
        handoff.check(new_token(1), only(kiosk(1)), now=NOW + timedelta(hours=1))
    assert refused.value.reason == "expired"


def test_a_form_opened_in_time_may_be_sent_a_while_after_the_link_expired() -> None:
    link = handoff.authenticate(new_token(1), only(kiosk(1)))
    late = link.expires_at + CLOCK_SKEW + FORM_TIME - timedelta(seconds=1)
    assert link.refusal_at(late) == "expired"
    assert link.refusal_at(late, submitting=True) is None
    assert link.refusal_at(late + timedelta(seconds=1), submitting=True) == "expired"


def test_a_link_from_a_kiosk_whose_clock_runs_far_ahead_is_refused() -> None:
    token = new_token(1, now=NOW + timedelta(hours=2))
    with pytest.raises(HandoffRefused) as refused:
        handoff.check(token, only(kiosk(1)), now=NOW)
    assert refused.value.reason == "future"


def test_refusals_never_quote_the_token() -> None:
    token = new_token(1)
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")
    with pytest.raises(HandoffRefused) as refused:
        handoff.authenticate(altered, only(kiosk(1)))
    assert altered not in str(refused.value)
    assert token[7:20] not in repr(refused.value)


def test_a_kiosks_handoff_key_is_kept_out_of_its_repr() -> None:
    entry = kiosk(1)
    assert entry.handoff_key.hex() not in repr(entry)


# ---------------------------------------------------------------- notices

NOTICE_TEXTS = {
    "membership": (
        "成为会员（必选）",
        "Become a member (required)",
        "会员告知",
        "Membership notice",
    ),
    "marketing": ("接收优惠信息（可选）", "Offers (optional)", "营销告知", "Marketing notice"),
    "recognition": ("识别我（可选）", "Recognise me (optional)", "识别告知", "Recognition notice"),
    "personalisation": ("为我推荐（可选）", "Recommend (optional)", "推荐告知", "Picks notice"),
}


def notices_document(version: str = "2026-11", **texts: str) -> dict[str, Any]:
    return {
        "notices": [
            {
                "purpose": purpose,
                "version": version,
                "label": {"zh-CN": zh_label, "en": en_label},
                "text": {"zh-CN": texts.get(purpose, zh_text), "en": en_text},
            }
            for purpose, (zh_label, en_label, zh_text, en_text) in NOTICE_TEXTS.items()
        ]
    }


NOTICES = parse_notices(json.dumps(notices_document()))


def test_notices_load_the_kiosk_bundles_shape_and_hash_the_text_shown() -> None:
    notice = NOTICES.notice("marketing")
    assert notice.version == "2026-11"
    assert notice.label.get("en") == "Offers (optional)"
    assert notice.sha256("zh-CN") == hashlib.sha256("营销告知".encode()).hexdigest()
    assert [n.purpose for n in NOTICES.in_order()] == [
        "membership",
        "marketing",
        "recognition",
        "personalisation",
    ]


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (lambda d: d["notices"].pop(), "no notice for personalisation"),
        (lambda d: d["notices"].append(d["notices"][0]), "more than one notice for membership"),
        (lambda d: d["notices"][1]["text"].update(en=""), "notices.1.text.en"),
        (lambda d: d["notices"][0].update(purpose="profiling"), "notices.0.purpose"),
    ],
)
def test_notices_that_break_the_rules_are_refused_with_the_reason(
    change: Any, complaint: str
) -> None:
    document = notices_document()
    change(document)
    with pytest.raises(NoticesUnavailable, match=complaint):
        parse_notices(json.dumps(document))


def test_the_notice_file_is_read_again_when_it_changes_and_a_bad_edit_keeps_the_last_good(
    tmp_path: Path,
) -> None:
    path = tmp_path / "notices.json"
    source = NoticeFile(path)
    with pytest.raises(NoticesUnavailable, match="cannot read"):
        source()
    path.write_text(json.dumps(notices_document("2026-11")), encoding="utf-8")
    assert source().notice("membership").version == "2026-11"
    path.write_text(json.dumps(notices_document("2027-01")), encoding="utf-8")
    os.utime(path, ns=(1, 2_000_000_000_000_000_000))  # a new mtime, however fast the test
    assert source().notice("membership").version == "2027-01"
    path.write_text("{half an edit", encoding="utf-8")
    assert source().notice("membership").version == "2027-01"


# ---------------------------------------------------------------- the form


def filled(**changes: Any) -> JoinForm:
    values: dict[str, Any] = {
        "phone": "139 1234 5678",
        "name": "  王   女士 ",
        "email": "Wang@Example.COM",
        "age": "14+",
        "consents": frozenset({"membership", "marketing"}),
        "shown": shown_marks(NOTICES),
    }
    values.update(changes)
    return JoinForm(**values)


def shown_marks(notices: Notices, language: str = "zh-CN") -> frozenset[str]:
    """What the page carries back about its notices, read off the page itself."""
    page = form_page("zh-CN" if language == "zh-CN" else "en", notices)
    marks = [part.split('"', 1)[0] for part in page.split('name="shown" value="')[1:]]
    return frozenset(marks)


def test_a_complete_form_becomes_a_signup_with_one_consent_per_purpose() -> None:
    checked = check_form(filled(), NOTICES, language="zh-CN")
    assert isinstance(checked, PhoneSignup)
    assert checked.phone_e164 == "+8613912345678"
    assert checked.name == "王 女士"
    assert checked.email == "wang@example.com"
    assert checked.language == "zh-CN"
    assert {c.purpose: c.given for c in checked.consents} == {
        "membership": True,
        "marketing": True,
        "recognition": False,
        "personalisation": False,
    }
    membership = checked.consents[0]
    assert membership.notice_version == "2026-11"
    assert membership.notice_sha256 == hashlib.sha256("会员告知".encode()).hexdigest()
    assert "139" not in repr(checked)
    assert "王" not in repr(checked)


@pytest.mark.parametrize(
    ("changes", "problems"),
    [
        ({"phone": ""}, {"phone": "phone_missing"}),
        ({"phone": "12345"}, {"phone": "phone_invalid"}),
        ({"phone": "010 6552 9988"}, {"phone": "phone_not_mobile"}),  # a Beijing landline
        ({"phone": "1391234\x005678"}, {"phone": "phone_invalid"}),
        ({"name": "   "}, {"name": "name_missing"}),
        ({"name": "王" * 41}, {"name": "name_too_long"}),
        ({"email": "wang@"}, {"email": "email_invalid"}),
        ({"age": ""}, {"age": "age_missing"}),
        ({"consents": frozenset({"marketing"})}, {"consent": "membership_required"}),
        ({"shown": frozenset()}, {"consent": "notices_changed"}),
    ],
)
def test_each_field_gets_its_own_problem(changes: dict[str, Any], problems: dict[str, str]) -> None:
    assert check_form(filled(**changes), NOTICES, language="zh-CN") == problems


def test_every_problem_is_reported_at_once() -> None:
    form = JoinForm(phone="12", shown=shown_marks(NOTICES, "en"))
    checked = check_form(form, NOTICES, language="en")
    assert checked == {
        "phone": "phone_invalid",
        "name": "name_missing",
        "age": "age_missing",
        "consent": "membership_required",
    }


def test_under_14_is_not_signed_up_whatever_else_was_filled_in() -> None:
    assert isinstance(check_form(filled(age="under14"), NOTICES, language="zh-CN"), UnderAge)


def test_a_notice_changed_after_the_form_was_shown_must_be_read_again() -> None:
    changed = parse_notices(json.dumps(notices_document(marketing="新的营销告知")))
    assert check_form(filled(), changed, language="zh-CN") == {"consent": "notices_changed"}


def test_the_english_page_records_the_english_notice_hash() -> None:
    checked = check_form(filled(shown=shown_marks(NOTICES, "en")), NOTICES, language="en")
    assert isinstance(checked, PhoneSignup)
    assert checked.consents[0].notice_sha256 == hashlib.sha256(b"Membership notice").hexdigest()


def test_greeting_by_name_needs_the_recognition_consent() -> None:
    without = check_form(filled(greet=True), NOTICES, language="zh-CN")
    assert isinstance(without, PhoneSignup)
    assert without.greet_by_name is False
    with_it = check_form(
        filled(greet=True, consents=frozenset({"membership", "recognition"})),
        NOTICES,
        language="zh-CN",
    )
    assert isinstance(with_it, PhoneSignup)
    assert with_it.greet_by_name is True


def test_a_form_body_is_read_whatever_it_holds() -> None:
    body = (
        b"phone=139+1234+5678&name=%E7%8E%8B&age=14%2B&consent=membership&consent=marketing"
        b"&greet=1&shown=a&shown=b&unknown=x"
    )
    form = read_form(body)
    assert (form.phone, form.name, form.age, form.greet) == ("139 1234 5678", "王", "14+", True)
    assert form.consents == {"membership", "marketing"}
    assert form.shown == {"a", "b"}
    assert read_form(b"\xff\xfe=") == JoinForm()


def test_what_the_shopper_typed_is_shown_back_escaped() -> None:
    typed = filled(name='<script>alert("x")</script>', email="a&b@example.com")
    page = form_page("zh-CN", NOTICES, typed, {"phone": "phone_invalid"})
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert 'value="a&amp;b@example.com"' in page
    assert "这不是有效的手机号码" in page


def test_every_consent_box_starts_unticked() -> None:
    page = form_page("zh-CN", NOTICES)
    assert page.count('type="checkbox"') == 5  # four purposes and the greeting
    assert " checked" not in page


# ---------------------------------------------------------------- using a link


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """HQ's tables and the handoff table, made from the models (not the migrations)."""
    opened = Database(database_url)
    metadata.create_all(opened.engine)
    handoff_uses.metadata.create_all(opened.engine)
    yield opened
    opened.dispose()


def signup(phone: str = "+8613912345678", given: tuple[str, ...] = ("membership",)) -> PhoneSignup:
    return PhoneSignup(
        phone_e164=phone,
        name="王女士",
        email=None,
        language="zh-CN",
        greet_by_name=False,
        consents=tuple(
            ConsentChoice(purpose, "2026-11", "ab" * 32, purpose in given)
            for purpose in ("membership", "marketing", "recognition", "personalisation")
        ),
    )


def opened(kiosk_no: int = 1) -> Handoff:
    return handoff.authenticate(new_token(kiosk_no), only(kiosk(kiosk_no)))


def rows(database: Database, table: Any) -> list[Any]:
    with database.read() as connection:
        return list(connection.execute(select(table)).all())


def test_signing_up_records_the_member_and_every_consent_from_the_links_kiosk(
    database: Database,
) -> None:
    link = opened(3)
    member_id = handoff.sign_up(database, link, signup(given=("membership", "marketing")), now=NOW)
    (customer,) = rows(database, customers)
    assert (customer.phone_e164, customer.name, customer.first_store_id) == (
        "+8613912345678",
        "王女士",
        STORE,
    )
    (member,) = rows(database, member_ids)
    assert (member.member_id, member.kiosk_id, member.signed_up_at) == (
        member_id,
        f"{STORE}-k3",
        NOW,
    )
    decisions = {row.purpose: row for row in rows(database, consents)}
    assert {purpose: row.given for purpose, row in decisions.items()} == {
        "membership": True,
        "marketing": True,
        "recognition": False,
        "personalisation": False,
    }
    assert {row.member_id for row in decisions.values()} == {member_id}
    assert {row.kiosk_id for row in decisions.values()} == {f"{STORE}-k3"}
    assert handoff.was_used(database, link)


def test_a_link_signs_up_once_and_a_second_try_stores_nothing(database: Database) -> None:
    link = opened()
    assert not handoff.was_used(database, link)
    handoff.sign_up(database, link, signup(), now=NOW)
    with pytest.raises(HandoffRefused) as refused:
        handoff.sign_up(database, link, signup(phone="+8613800000000"), now=NOW)
    assert refused.value.reason == "used"
    assert len(rows(database, customers)) == 1
    assert len(rows(database, consents)) == 4


def test_two_submissions_racing_with_one_link_sign_up_once(database: Database) -> None:
    for round_no in range(5):
        link = opened()
        start = threading.Barrier(2)
        outcomes: list[str] = []

        def submit(
            phone: str,
            link: Handoff = link,
            start: threading.Barrier = start,
            outcomes: list[str] = outcomes,
        ) -> None:
            start.wait()
            try:
                handoff.sign_up(database, link, signup(phone=phone), now=NOW)
                outcomes.append("signed up")
            except HandoffRefused as refused:
                outcomes.append(refused.reason)

        threads = [
            threading.Thread(target=submit, args=(f"+86139{round_no:04d}{n:04d}",))
            for n in range(2)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(outcomes) == ["signed up", "used"]
    assert len(rows(database, customers)) == 5
    assert len(rows(database, consents)) == 20


def test_enrolled_kiosks_are_found_by_number_with_keys_from_the_chain_secret(
    database: Database,
) -> None:
    with database.write() as connection:
        connection.execute(
            stores.insert().values(store_id=STORE, created_at=NOW, kiosks_enrolled=2)
        )
        for number, revoked in ((1, None), (2, NOW)):
            connection.execute(
                kiosks.insert().values(
                    kiosk_id=f"{STORE}-k{number}",
                    store_id=STORE,
                    token_sha256=f"{number:064x}",
                    enrolled_at=NOW,
                    revoked_at=revoked,
                    contiguous_seq=0,
                    highest_seq=0,
                    kiosk_no=40 + number,
                )
            )
    asked: list[int] = []

    def secret() -> bytes:
        asked.append(1)
        return SECRET

    lookup = enrolled_kiosks(database, secret)
    found = lookup(41)
    assert found is not None
    assert (found.store_id, found.kiosk_id) == (STORE, f"{STORE}-k1")
    assert found.handoff_key == handoff.handoff_key(coupon_key(41))
    assert lookup(42) is None  # revoked
    assert lookup(43) is None  # never enrolled
    token = new_token(41)
    assert handoff.authenticate(token, lookup).kiosk.kiosk_id == f"{STORE}-k1"
    assert len(asked) == 1  # the secret never changes: read once


def test_spent_links_are_forgotten_once_they_can_no_longer_be_used(database: Database) -> None:
    link = opened()
    handoff.sign_up(database, link, signup(), now=NOW)
    spent_at = link.expires_at + CLOCK_SKEW + FORM_TIME
    assert handoff.forget_spent(database, now=spent_at - timedelta(seconds=1)) == 0
    assert handoff.was_used(database, link)
    assert handoff.forget_spent(database, now=spent_at) == 1
    assert not handoff.was_used(database, link)
    assert link.refusal_at(spent_at, submitting=True) == "expired"


# ---------------------------------------------------------------- pages when things fail


def pages(database: Database, notices: Any = lambda: NOTICES, kiosks: Any = None) -> JoinPages:
    return JoinPages(
        database, lambda: NOW, kiosks=kiosks or only(kiosk(1)), notices=notices, region="CN"
    )


def test_without_notices_the_page_says_sign_up_is_unavailable(database: Database) -> None:
    def no_notices() -> Notices:
        raise NoticesUnavailable("cannot read /srv/notices.json")

    answer = safely("zh-CN", lambda: pages(database, no_notices).show_form(new_token(), "zh-CN"))
    assert answer.status_code == 503
    assert "暂时无法注册" in bytes(answer.body).decode()


def test_a_database_outage_gets_a_page_in_the_shoppers_language(database: Database) -> None:
    def unreachable(kiosk_no: int) -> HandoffKiosk | None:
        raise OperationalError("SELECT", {}, ConnectionRefusedError("connection refused"))

    answer = safely("en", lambda: pages(database, kiosks=unreachable).show_form(new_token(), "en"))
    assert answer.status_code == 503
    assert "Sign-up is not available right now" in bytes(answer.body).decode()


def test_a_failure_in_the_page_is_logged_without_what_was_typed(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> Notices:
        raise RuntimeError("+8613912345678")

    body = b"phone=13912345678&name=%E7%8E%8B&age=14%2B&consent=membership"
    answer = safely("zh-CN", lambda: pages(database, broken).send_form(new_token(), "zh-CN", body))
    assert answer.status_code == 503
    assert "RuntimeError" in caplog.text
    assert "13912345678" not in caplog.text
    assert "王" not in caplog.text
