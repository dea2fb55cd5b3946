"""Phone numbers become E.164 and emails lower case, whatever the shopper typed."""

from __future__ import annotations

import pytest

from hq.crm.people import InvalidEmail, InvalidPhone, e164, normalise_email, tidy_name


@pytest.mark.parametrize(
    ("typed", "region"),
    [
        ("13912345678", "CN"),
        ("139 1234 5678", "CN"),
        ("139-1234-5678", "cn"),
        ("+86 139 1234 5678", "CN"),
        ("+8613912345678", "US"),
        ("0086 139 1234 5678", "CN"),
    ],
)
def test_a_chinese_mobile_number_in_any_format_is_one_e164_number(typed: str, region: str) -> None:
    assert e164(typed, region) == "+8613912345678"


def test_a_national_number_is_read_in_its_region() -> None:
    assert e164("020 7946 0958", "GB") == "+442079460958"


@pytest.mark.parametrize(
    ("typed", "region"), [("12345", "CN"), ("hello", "CN"), ("139 1234 5678", "ZZ"), ("", "CN")]
)
def test_text_that_is_no_valid_number_is_refused(typed: str, region: str) -> None:
    with pytest.raises(InvalidPhone) as refused:
        e164(typed, region)
    assert typed not in str(refused.value) or not typed


def test_an_email_is_lower_cased_and_trimmed() -> None:
    assert normalise_email("  Wang.Fang@Example.COM ") == "wang.fang@example.com"


@pytest.mark.parametrize("blank", [None, "", "   "])
def test_no_email_is_none(blank: str | None) -> None:
    assert normalise_email(blank) is None


@pytest.mark.parametrize("typed", ["wang", "wang@", "@example.com", "wang fang@example.com", "a@b"])
def test_text_that_is_no_email_is_refused(typed: str) -> None:
    with pytest.raises(InvalidEmail):
        normalise_email(typed)


def test_a_name_is_trimmed_and_blank_means_none() -> None:
    assert tidy_name("  王  芳 ") == "王 芳"
    assert tidy_name("   ") is None
    assert tidy_name(None) is None
