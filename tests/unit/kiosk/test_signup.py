"""The sign-up form's checks and the records it leaves for HQ: pure, no Qt, no clock."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from content.model import ConsentNotice, ConsentPurpose, Language, LocalizedText
from content.sample import NOTICE_VERSION, sample_notices
from kiosk.signup import (
    NAME_MAX,
    CheckedSignup,
    FormField,
    Problem,
    SignupForm,
    can_sign_up,
    check,
    field_of,
    notice_sha256,
    signup_records,
)

NOTICES = sample_notices().notices
EVERYTHING = frozenset(ConsentPurpose)
MEMBER_ID = "5f0b7c3e-2a41-4d8e-9b6a-1c2d3e4f5a60"
PHONE = "138 0013 8000"
PHONE_E164 = "+8613800138000"


def form(
    phone: str = PHONE,
    name: str = "王芳",
    email: str = "",
    consents: frozenset[ConsentPurpose] = EVERYTHING,
    *,
    greet_by_name: bool = False,
) -> SignupForm:
    return SignupForm(phone, name, email, consents, greet_by_name)


def passed(submitted: SignupForm, region: str = "CN") -> CheckedSignup:
    checked = check(submitted, region=region)
    assert isinstance(checked, CheckedSignup), checked
    return checked


def problems(submitted: SignupForm, region: str = "CN") -> tuple[Problem, ...]:
    checked = check(submitted, region=region)
    assert isinstance(checked, tuple), "expected the form to be refused"
    return checked


def notice(purpose: ConsentPurpose) -> ConsentNotice:
    return next(n for n in NOTICES if n.purpose is purpose)


# --- the phone number ----------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "138 0013 8000",
        "13800138000",
        "138-0013-8000",
        "+86 138 0013 8000",
        "１３８００１３８０００",  # typed on a full-width keyboard
    ],
)
def test_a_chinese_mobile_number_passes_in_e164_however_it_was_typed(typed: str) -> None:
    assert passed(form(phone=typed)).phone_e164 == PHONE_E164


@pytest.mark.parametrize("typed", ["010 6552 9988", "(010) 6552-9988", "+86 10 6552 9988"])
def test_a_landline_is_refused_as_not_a_mobile(typed: str) -> None:
    assert problems(form(phone=typed)) == (Problem.PHONE_NOT_MOBILE,)
    assert field_of(Problem.PHONE_NOT_MOBILE) is FormField.PHONE


@pytest.mark.parametrize("typed", ["12345", "1380013800", "138001380001", "abc", "+"])
def test_a_number_with_wrong_digits_is_invalid(typed: str) -> None:
    assert problems(form(phone=typed)) == (Problem.PHONE_INVALID,)


@pytest.mark.parametrize("typed", ["", "   ", " - "])
def test_an_empty_phone_field_asks_for_the_number(typed: str) -> None:
    assert problems(form(phone=typed)) == (Problem.PHONE_MISSING,)


def test_a_national_number_is_read_in_the_kiosks_region() -> None:
    assert passed(form(phone="0412 345 678"), region="AU").phone_e164 == "+61412345678"
    assert problems(form(phone="0412 345 678"), region="CN") == (Problem.PHONE_INVALID,)


def test_a_foreign_mobile_with_its_country_code_passes() -> None:
    assert passed(form(phone="+1 650 253 0000")).phone_e164 == "+16502530000"


phone_like = st.text(alphabet="0123456789 +-()#*.xX", max_size=30)


@given(st.one_of(st.text(max_size=300), phone_like))
def test_anything_typed_in_the_phone_field_gives_a_number_or_a_phone_problem(typed: str) -> None:
    checked = check(form(phone=typed))
    if isinstance(checked, CheckedSignup):
        assert checked.phone_e164.startswith("+")
        assert checked.phone_e164[1:].isdigit()
        assert checked.phone_e164[1:].isascii()
    else:
        assert len(checked) == 1
        assert field_of(checked[0]) is FormField.PHONE


# --- name, email and consent ----------------------------------------------------------


@pytest.mark.parametrize("typed", ["", "   ", "\t\n"])
def test_an_empty_name_is_refused(typed: str) -> None:
    assert problems(form(name=typed)) == (Problem.NAME_MISSING,)
    assert field_of(Problem.NAME_MISSING) is FormField.NAME


def test_a_name_is_tidied_and_kept_within_its_length() -> None:
    assert passed(form(name="  王   女士 ")).name == "王 女士"
    assert passed(form(name="王" * NAME_MAX)).name == "王" * NAME_MAX
    assert problems(form(name="王" * (NAME_MAX + 1))) == (Problem.NAME_TOO_LONG,)


def test_email_is_optional_but_a_plain_typo_is_caught() -> None:
    assert passed(form(email="")).email is None
    assert passed(form(email=" wang.fang@example.com ")).email == "wang.fang@example.com"
    for typo in ("wang.fang@example", "wang.fang.example.com", "wang fang@example.com"):
        assert problems(form(email=typo)) == (Problem.EMAIL_INVALID,), typo
    assert field_of(Problem.EMAIL_INVALID) is FormField.EMAIL


def test_membership_must_be_ticked_to_sign_up() -> None:
    others = EVERYTHING - {ConsentPurpose.MEMBERSHIP}
    assert problems(form(consents=others)) == (Problem.MEMBERSHIP_REQUIRED,)
    assert field_of(Problem.MEMBERSHIP_REQUIRED) is FormField.CONSENT


def test_every_field_wrong_shows_one_problem_per_field() -> None:
    found = problems(form(phone="", name=" ", email="nope", consents=frozenset()))
    assert [field_of(p) for p in found] == [
        FormField.PHONE,
        FormField.NAME,
        FormField.EMAIL,
        FormField.CONSENT,
    ]


@given(
    phone=st.one_of(st.text(max_size=40), phone_like),
    name=st.text(max_size=60),
    email=st.text(max_size=60),
    consents=st.frozensets(st.sampled_from(ConsentPurpose)),
    greet=st.booleans(),
)
def test_any_form_passes_or_names_at_most_one_problem_per_field(
    phone: str, name: str, email: str, consents: frozenset[ConsentPurpose], greet: bool
) -> None:
    checked = check(SignupForm(phone, name, email, consents, greet))
    if isinstance(checked, CheckedSignup):
        assert ConsentPurpose.MEMBERSHIP in checked.consents
        assert 0 < len(checked.name) <= NAME_MAX
    else:
        assert checked, "a refused form says why"
        fields = [field_of(p) for p in checked]
        assert len(fields) == len(set(fields))


def test_greeting_by_name_needs_the_recognition_consent() -> None:
    without = EVERYTHING - {ConsentPurpose.RECOGNITION}
    assert passed(form(consents=without, greet_by_name=True)).greet_by_name is False
    assert passed(form(consents=EVERYTHING, greet_by_name=True)).greet_by_name is True
    assert passed(form(consents=EVERYTHING, greet_by_name=False)).greet_by_name is False


def test_nothing_typed_shows_in_a_repr() -> None:
    typed = form(email="wang.fang@example.com", greet_by_name=True)
    checked = passed(typed)
    records = signup_records(
        checked, member_id=MEMBER_ID, region="CN", language=Language.ZH_CN, notices=NOTICES
    )
    for shown in (repr(typed), str(typed), repr(checked), *map(repr, records)):
        for secret in ("138", "0013", "8000", "王芳", "wang", "example"):
            assert secret not in shown, shown


# --- what HQ receives ------------------------------------------------------------------


def test_the_member_record_comes_first_with_the_number_in_e164() -> None:
    checked = passed(form(greet_by_name=True))
    member, *_ = signup_records(
        checked, member_id=MEMBER_ID, region="CN", language=Language.EN, notices=NOTICES
    )
    assert member.kind == "member_signup"
    assert member.payload == {
        "member_id": MEMBER_ID,
        "phone": PHONE_E164,
        "region": "CN",
        "name": "王芳",
        "email": None,
        "language": "en",
        "greet_by_name": True,
    }


def test_declining_marketing_and_recognition_still_signs_up_with_four_consent_records() -> None:
    declined = {ConsentPurpose.MARKETING, ConsentPurpose.RECOGNITION}
    checked = passed(form(consents=EVERYTHING - declined))
    records = signup_records(
        checked, member_id=MEMBER_ID, region="CN", language=Language.ZH_CN, notices=NOTICES
    )
    assert [r.kind for r in records] == ["member_signup"] + ["consent"] * 4
    given_by_purpose = {r.payload["purpose"]: r.payload["given"] for r in records[1:]}
    assert given_by_purpose == {
        "membership": True,
        "marketing": False,
        "recognition": False,
        "personalisation": True,
    }
    assert all(r.payload["member_id"] == MEMBER_ID for r in records)


@pytest.mark.parametrize("language", list(Language))
def test_each_consent_names_the_notice_version_and_hash_of_the_text_shown(
    language: Language,
) -> None:
    checked = passed(form())
    records = signup_records(
        checked, member_id=MEMBER_ID, region="CN", language=language, notices=NOTICES
    )
    for record in records[1:]:
        shown = notice(ConsentPurpose(str(record.payload["purpose"])))
        expected = hashlib.sha256(shown.text.get(language).encode("utf-8")).hexdigest()
        assert record.payload["notice_version"] == NOTICE_VERSION
        assert record.payload["notice_sha256"] == expected


def test_the_notice_hash_tells_the_languages_and_every_edit_apart() -> None:
    membership = notice(ConsentPurpose.MEMBERSHIP)
    assert notice_sha256(membership, Language.ZH_CN) != notice_sha256(membership, Language.EN)
    edited = membership.model_copy(
        update={"text": LocalizedText(zh_cn=membership.text.zh_cn + "。", en=membership.text.en)}
    )
    assert notice_sha256(edited, Language.ZH_CN) != notice_sha256(membership, Language.ZH_CN)
    assert notice_sha256(edited, Language.EN) == notice_sha256(membership, Language.EN)


def test_sign_up_is_offered_only_with_a_membership_notice() -> None:
    assert can_sign_up(NOTICES)
    assert not can_sign_up(())
    assert not can_sign_up([n for n in NOTICES if n.purpose is not ConsentPurpose.MEMBERSHIP])
