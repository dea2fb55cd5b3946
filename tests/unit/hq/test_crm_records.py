"""What HQ forwards to a CRM and takes back from it: pure decisions, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hq.analytics.crm import hubspot, salesforce
from hq.analytics.crm.config import crm_config
from hq.analytics.crm.connector import Outbound
from hq.analytics.crm.records import (
    ChangeDecision as ContactChangeDecision,
)
from hq.analytics.crm.records import (
    ContactChange,
    CustomerState,
    Decision,
    OptOut,
    backoff_delay,
    changed_flags,
    contact_changes,
    customer_record,
    field_hash,
    may_forward_events,
    retry_after_seconds,
    withdrawals_due,
)
from hq.errors import SettingsError

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def person(*decisions: Decision) -> CustomerState:
    return CustomerState(
        customer_id="0f7e4a52-9d0b-4f0e-8a43-2d1c5b8e6a10",
        phone_e164="+8613912345678",
        email="wang.fang@example.com",
        name="王芳",
        language="zh-CN",
        created_at=T0,
        first_store_id="sh-nanjing-road",
        decisions=decisions,
        member_id="5d1c1d0e-94a5-4d5e-9f43-7c0a7d29b9a1",
    )


def yes(purpose: str, channel: str | None = None, at: datetime = T0) -> Decision:
    return Decision(purpose, channel, True, at)


def no(purpose: str, channel: str | None = None, at: datetime = T0) -> Decision:
    return Decision(purpose, channel, False, at)


def test_a_person_without_membership_consent_is_not_forwarded_at_all() -> None:
    assert customer_record(person(yes("marketing", "email"))) is None
    later = T0 + timedelta(days=1)
    assert customer_record(person(yes("membership"), no("membership", at=later))) is None


def test_a_member_without_marketing_consent_reaches_the_crm_without_contact_details() -> None:
    record = customer_record(person(yes("membership"), no("marketing", "email")))
    assert record is not None
    assert (record.email, record.phone, record.name) == (None, None, None)
    assert record.customer_id == "0f7e4a52-9d0b-4f0e-8a43-2d1c5b8e6a10"
    assert dict(record.consents) == {
        "marketing_email": False,
        "marketing_sms": False,
        "recognition": False,
        "personalisation": False,
    }


def test_email_goes_with_email_marketing_and_the_phone_with_sms_marketing_only() -> None:
    by_email = customer_record(person(yes("membership"), yes("marketing", "email")))
    assert by_email is not None
    assert (by_email.email, by_email.phone, by_email.name) == (
        "wang.fang@example.com",
        None,
        "王芳",
    )
    by_sms = customer_record(person(yes("membership"), yes("marketing", "sms")))
    assert by_sms is not None
    assert (by_sms.email, by_sms.phone) == (None, "+8613912345678")


def test_a_withdrawal_without_a_channel_covers_every_channel() -> None:
    later = T0 + timedelta(hours=1)
    record = customer_record(
        person(yes("membership"), yes("marketing", "email"), no("marketing", None, at=later))
    )
    assert record is not None
    assert record.email is None


def test_interactions_go_only_with_personalisation_consent() -> None:
    assert not may_forward_events(person(yes("membership")))
    assert may_forward_events(person(yes("membership"), yes("personalisation")))


def test_only_consent_flags_hq_changed_since_the_last_send_are_sent_again() -> None:
    record = customer_record(person(yes("membership"), yes("recognition")))
    assert record is not None
    assert changed_flags(record, None) == {
        "marketing_email",
        "marketing_sms",
        "recognition",
        "personalisation",
    }
    sent = "marketing_email=0,marketing_sms=0,recognition=0,personalisation=0"
    assert changed_flags(record, sent) == {"recognition"}
    assert changed_flags(record, record.consent_text()) == frozenset()


def test_a_crm_opt_out_withdraws_only_what_hq_holds_as_given_and_older() -> None:
    opted = OptOut("c", frozenset({("recognition", None), ("marketing", "sms")}), T0 + timedelta(1))
    assert withdrawals_due(opted, [yes("recognition"), yes("marketing", "sms")]) == [
        ("marketing", "sms"),
        ("recognition", None),
    ]
    # Consented again at a kiosk after the CRM's change: the newer choice stands.
    assert withdrawals_due(opted, [yes("recognition", at=T0 + timedelta(2))]) == []
    # Nothing given, or withdrawn already: nothing to withdraw (a re-run adds nothing).
    assert withdrawals_due(opted, [no("recognition")]) == []
    assert withdrawals_due(opted, []) == []


def test_backoff_doubles_with_jitter_caps_and_honours_retry_after() -> None:
    assert [backoff_delay(n, None, 0.0) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0]
    assert [backoff_delay(n, None, 1.0) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert backoff_delay(12, None, 1.0) == 60.0
    assert backoff_delay(1, 7.0, 0.9) == 7.0
    assert retry_after_seconds("2") == 2.0
    now = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
    assert retry_after_seconds("Sun, 06 Dec 2026 10:00:30 GMT", now) == 30.0
    assert retry_after_seconds("soon") is None


@pytest.mark.parametrize(
    ("given_email", "expected"),
    [(True, "wang.fang@example.com"), (False, "")],
)
def test_hubspot_properties_clear_what_the_member_no_longer_consents_to(
    given_email: bool, expected: str
) -> None:
    decision = yes("marketing", "email") if given_email else no("marketing", "email")
    record = customer_record(person(yes("membership"), decision))
    assert record is not None
    properties = hubspot.contact_properties(Outbound(record, frozenset({"marketing_email"})))
    assert properties["email"] == expected
    assert properties["kiosk_customer_id"] == record.customer_id
    assert properties["kiosk_consent_marketing_email"] == str(given_email).lower()
    assert "kiosk_consent_recognition" not in properties  # unchanged: not sent


def test_salesforce_fields_say_opted_out_where_hq_holds_no_consent() -> None:
    record = customer_record(person(yes("membership"), yes("marketing", "email")))
    assert record is not None
    fields = salesforce.contact_fields(
        Outbound(record, frozenset({"marketing_email", "recognition"}))
    )
    assert fields["Kiosk_Customer_Id__c"] == record.customer_id
    assert fields["HasOptedOutOfEmail"] is False
    assert fields["Kiosk_Recognition_Opt_Out__c"] is True
    assert "Kiosk_SMS_Opt_Out__c" not in fields
    assert fields["MobilePhone"] is None
    assert fields["LastName"] == "王芳"
    bare = customer_record(person(yes("membership")))
    assert bare is not None
    assert salesforce.contact_fields(Outbound(bare, frozenset()))["LastName"] == "Kiosk member"


def test_salesforce_times_read_and_write_as_soql_wants_them() -> None:
    moment = salesforce.parse_time("2026-12-06T10:15:02.120+0000")
    assert moment == datetime(2026, 12, 6, 10, 15, 2, 120000, tzinfo=UTC)
    assert salesforce.soql_time(moment) == "2026-12-06T10:15:02.120Z"


def test_a_crm_token_file_others_can_read_is_refused_naming_the_file_not_the_token(
    tmp_path: Path,
) -> None:
    token = tmp_path / "hubspot-token"
    token.write_text("pat-na1-secret-test-token\n")
    token.chmod(0o644)
    env = {"KIOSK_HQ_CRM": "hubspot", "KIOSK_HQ_HUBSPOT_TOKEN_FILE": str(token)}
    with pytest.raises(SettingsError, match="open to group or others") as refused:
        crm_config(env, tmp_path)
    assert "secret" not in str(refused.value).replace(str(tmp_path), "")
    token.chmod(0o600)
    config = crm_config(env, tmp_path)
    assert config is not None
    assert config.hubspot is not None
    assert config.hubspot.token == "pat-na1-secret-test-token"  # noqa: S105 (a test fixture)
    assert "pat-na1" not in repr(config) + repr(config.hubspot)


def test_crm_settings_name_what_is_missing() -> None:
    assert crm_config({}, Path("/nonexistent")) is None
    with pytest.raises(SettingsError, match="unknown connector 'zoho'"):
        crm_config({"KIOSK_HQ_CRM": "zoho"}, Path("/nonexistent"))
    with pytest.raises(SettingsError, match="KIOSK_HQ_SALESFORCE_URL"):
        crm_config({"KIOSK_HQ_CRM": "salesforce"}, Path("/nonexistent"))
    with pytest.raises(SettingsError, match="needs a token"):
        crm_config(
            {
                "KIOSK_HQ_CRM": "salesforce",
                "KIOSK_HQ_SALESFORCE_URL": "https://x.my.salesforce.com",
            },
            Path("/nonexistent"),
        )


def test_a_crm_value_is_taken_only_when_the_crm_changed_it_and_is_valid() -> None:
    at = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)
    sent = {
        "email": field_hash("f@example.com"),
        "name": field_hash("王芳"),
        "language": field_hash("zh-CN"),
        "phone": field_hash("+8613912345678"),
    }
    held = {
        "email": "f@example.com",
        "name": "王芳",
        "language": "zh-CN",
        "phone": "+8613912345678",
    }

    def decide(
        sent_fields: dict[str, str] | None = sent,
        hq_at: datetime | None = None,
        **values: str | None,
    ) -> ContactChangeDecision:
        return contact_changes(ContactChange("c1", values, at), sent_fields, held, hq_at)

    taken = decide(email=" fang@example.org ", name="Wang Fang", language="zh-CN")
    assert dict(taken.apply) == {"email": "fang@example.org", "name": "Wang Fang"}
    assert decide(email="f@example.com", name="王芳").apply == {}  # what HQ sent
    assert decide(email="", name=None).apply == {}  # clearing at the CRM erases nothing
    assert decide(None, email="fang@example.org").apply == {}  # HQ cannot tell: sent before
    assert decide(hq_at=at, email="fang@example.org").apply == {}  # HQ's change is as new
    phone = decide(phone="+8613900000001")
    assert (phone.apply, phone.phone_conflict) == ({}, True)
    bad = decide(email="fang@example", name="x" * 101, language="chinese please")
    assert bad.apply == {}
    assert bad.refused == ("invalid email(email)", "too long(name)", "invalid language(language)")
    assert decide(name="Wang\x00Fang").refused == ("invalid characters(name)",)
