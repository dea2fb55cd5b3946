"""SMS providers against recorded Alibaba Cloud SMS and Twilio answers, served on loopback.

The provider is tests/helpers/crm_server.py replaying tests/data/sms/; each test
checks the request exactly as the provider received it (parameters, signature,
auth) and what HQ makes of each kind of answer.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
from collections.abc import Iterator
from datetime import UTC, date, datetime
from email.utils import format_datetime

import pytest
from helpers.crm_server import SMS_DATA, Answer, CrmServer, recorded

from hq.sms.aliyun import AliyunConfig, AliyunSms, phone_numbers, rpc_signature
from hq.sms.log_only import LogOnly
from hq.sms.message import render
from hq.sms.provider import Accepted, Refused, RetryLater
from hq.sms.twilio import TwilioConfig, TwilioSms

NOW = datetime(2026, 12, 7, 5, 30, 12, tzinfo=UTC)
PHONE = "+8613900001234"
CODE = "7K2M-Q9TX-4HBC-0PZD-W8RS-1N6E"
GOOD_THROUGH = date(2026, 12, 31)
NONCE = "45e25e9b0a6f40708c852956eda1b466"
KEY_ID = "LTAI5tTestOnlyKeyId"
KEY_SECRET = "test-only-access-key-secret"  # noqa: S105 (a test fixture)
ACCOUNT = "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
AUTH_TOKEN = "test-only-twilio-auth-token"  # noqa: S105 (a test fixture)
MESSAGES = f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
MESSAGE = render("42", "zh-CN", CODE, GOOD_THROUGH, sign_name="星光百货")


@pytest.fixture
def provider_api() -> Iterator[CrmServer]:
    with CrmServer() as server:
        yield server


def answer(provider: str, name: str, **values: str) -> Answer:
    return recorded(provider, name, data=SMS_DATA, **values)


def aliyun(server: CrmServer) -> AliyunSms:
    config = AliyunConfig(
        access_key_id=KEY_ID,
        access_key_secret=KEY_SECRET,
        sign_name="星光百货",
        templates={"zh-CN": "SMS_465900001", "en": "SMS_465900002"},
        base_url=server.url,
    )
    return AliyunSms(config, clock=lambda: NOW, nonce=lambda: NONCE)


def twilio(server: CrmServer, sender: str = "+14155552345") -> TwilioSms:
    config = TwilioConfig(ACCOUNT, AUTH_TOKEN, sender, base_url=server.url)
    return TwilioSms(config, wall=lambda: NOW)


# ---------------------------------------------------------------- Alibaba Cloud SMS


def test_the_rpc_signature_matches_alibabas_documented_example() -> None:
    # The worked example in Alibaba Cloud SMS's signature documentation (GET, XML).
    params = {
        "AccessKeyId": "testId",
        "Action": "SendSms",
        "Format": "XML",
        "OutId": "123",
        "PhoneNumbers": "15300000001",
        "RegionId": "cn-hangzhou",
        "SignName": "阿里云短信测试专用",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
        "SignatureVersion": "1.0",
        "TemplateCode": "SMS_71390007",
        "TemplateParam": '{"customer":"test"}',
        "Timestamp": "2017-07-12T02:42:19Z",
        "Version": "2017-05-25",
    }
    assert rpc_signature("GET", params, "testSecret") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def test_mainland_numbers_go_without_their_country_code_and_others_without_plus() -> None:
    assert phone_numbers("+8613900001234") == "13900001234"
    assert phone_numbers("+85261234567") == "85261234567"


def test_aliyun_sends_the_template_with_the_code_and_a_valid_signature(
    provider_api: CrmServer,
) -> None:
    provider_api.script("POST", "/", answer("aliyun", "send_ok"))
    result = aliyun(provider_api).send(PHONE, MESSAGE)

    assert result == Accepted("900619746936498440^0")
    (sent,) = provider_api.received
    assert sent.path == "/"
    assert sent.headers["content-type"] == "application/x-www-form-urlencoded"
    assert sent.query == {}  # the number travels in the body, not in a URL
    params = dict(sent.body)
    signature = params.pop("Signature")
    assert params == {
        "AccessKeyId": KEY_ID,
        "Action": "SendSms",
        "Format": "JSON",
        "OutId": "42",
        "PhoneNumbers": "13900001234",
        "RegionId": "cn-hangzhou",
        "SignName": "星光百货",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": NONCE,
        "SignatureVersion": "1.0",
        "TemplateCode": "SMS_465900001",
        "TemplateParam": '{"code":"' + CODE + '","date":"2026-12-31"}',
        "Timestamp": "2026-12-07T05:30:12Z",
        "Version": "2017-05-25",
    }
    assert json.loads(params["TemplateParam"]) == {"code": CODE, "date": "2026-12-31"}
    # Signed over exactly what arrived, with the secret: Alibaba's own check.
    assert signature == rpc_signature("POST", params, KEY_SECRET)
    assert len(base64.b64decode(signature)) == 20  # an HMAC-SHA1


def test_aliyun_uses_the_english_template_for_an_english_speaking_member(
    provider_api: CrmServer,
) -> None:
    provider_api.script("POST", "/", answer("aliyun", "send_ok"))
    english = render("43", "en", CODE, GOOD_THROUGH, sign_name="星光百货")
    aliyun(provider_api).send(PHONE, english)
    assert provider_api.received[0].body["TemplateCode"] == "SMS_465900002"


@pytest.mark.parametrize(
    ("recording", "expected"),
    [
        ("mobile_number_illegal", Refused("aliyun: isv.MOBILE_NUMBER_ILLEGAL")),
        ("signature_does_not_match", Refused("aliyun: SignatureDoesNotMatch")),
        ("business_limit_control", RetryLater("aliyun: isv.BUSINESS_LIMIT_CONTROL")),
        ("service_unavailable", RetryLater("aliyun: ServiceUnavailable")),
    ],
)
def test_aliyun_answers_are_refusals_or_retries_named_by_their_code_only(
    provider_api: CrmServer, recording: str, expected: object
) -> None:
    provider_api.script("POST", "/", answer("aliyun", recording, phone="13900001234"))
    result = aliyun(provider_api).send(PHONE, MESSAGE)
    assert result == expected
    # Alibaba's Message can quote the request (the number): only the Code is kept.
    assert "1390000" not in repr(result)


def test_aliyun_unreachable_is_tried_again_later() -> None:
    with CrmServer() as gone:
        url = gone.url
    config = AliyunConfig(KEY_ID, KEY_SECRET, "星光百货", {"zh-CN": "SMS_1"}, base_url=url)
    assert AliyunSms(config).send(PHONE, MESSAGE) == RetryLater("aliyun: could not connect")


def test_an_answer_that_is_not_alibabas_is_tried_again_rather_than_taken_as_a_refusal(
    provider_api: CrmServer,
) -> None:
    provider_api.script("POST", "/", Answer(502, body={"proxy": "bad gateway"}))
    assert aliyun(provider_api).send(PHONE, MESSAGE) == RetryLater("aliyun: HTTP 502")


# ---------------------------------------------------------------- Twilio


def test_twilio_posts_the_whole_text_with_basic_auth(provider_api: CrmServer) -> None:
    provider_api.script(
        "POST", MESSAGES, answer("twilio", "message_created", body=MESSAGE.text, to=PHONE)
    )
    result = twilio(provider_api).send(PHONE, MESSAGE)

    assert result == Accepted("SM1f0e8ae6ade43cb3c0ce4525424e404f")
    (sent,) = provider_api.received
    assert sent.path == MESSAGES
    assert sent.headers["content-type"] == "application/x-www-form-urlencoded"
    scheme, _, credentials = sent.headers["authorization"].partition(" ")
    assert (scheme, base64.b64decode(credentials).decode()) == ("Basic", f"{ACCOUNT}:{AUTH_TOKEN}")
    assert sent.body == {
        "To": PHONE,
        "From": "+14155552345",
        "Body": "【星光百货】您的优惠券码：7K2M-Q9TX-4HBC-0PZD-W8RS-1N6E，有效期至 2026-12-31。",
    }


def test_twilio_sends_from_a_messaging_service_when_given_one(provider_api: CrmServer) -> None:
    provider_api.script(
        "POST", MESSAGES, answer("twilio", "message_created", body=MESSAGE.text, to=PHONE)
    )
    twilio(provider_api, sender="MG9752274e9e519418a7406176694466fa").send(PHONE, MESSAGE)
    body = provider_api.received[0].body
    assert body["MessagingServiceSid"] == "MG9752274e9e519418a7406176694466fa"
    assert "From" not in body


def test_twilio_rate_limit_is_tried_again_after_its_retry_after(provider_api: CrmServer) -> None:
    provider_api.script("POST", MESSAGES, answer("twilio", "too_many_requests"))
    assert twilio(provider_api).send(PHONE, MESSAGE) == RetryLater("twilio: 20429", 7.0)


def test_twilio_retry_after_as_a_date_counts_from_now(provider_api: CrmServer) -> None:
    later = format_datetime(NOW.replace(second=42), usegmt=True)  # 30 s on
    provider_api.script(
        "POST", MESSAGES, Answer(429, {"Retry-After": later}, {"code": 20429, "status": 429})
    )
    assert twilio(provider_api).send(PHONE, MESSAGE) == RetryLater("twilio: 20429", 30.0)


@pytest.mark.parametrize(
    ("recording", "expected"),
    [
        ("invalid_to_number", Refused("twilio: 21211")),
        ("authenticate", Refused("twilio: 20003")),
        ("service_unavailable", RetryLater("twilio: 20503")),
    ],
)
def test_twilio_errors_are_refusals_or_retries_named_by_their_code_only(
    provider_api: CrmServer, recording: str, expected: object
) -> None:
    provider_api.script("POST", MESSAGES, answer("twilio", recording, to=PHONE))
    result = twilio(provider_api).send(PHONE, MESSAGE)
    assert result == expected
    assert PHONE not in repr(result)  # Twilio's message quotes the number


def test_a_twilio_timeout_is_tried_again() -> None:
    # A server that takes the connection and never answers.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        config = TwilioConfig(ACCOUNT, AUTH_TOKEN, "+14155552345", f"http://127.0.0.1:{port}")
        result = TwilioSms(config, timeout=(1.0, 0.3)).send(PHONE, MESSAGE)
    # It may have taken the message: tried again, so at least once (docs/sms.md).
    assert result == RetryLater("twilio: timed out")


# ---------------------------------------------------------------- log-only, and what no log says


def test_the_log_only_provider_logs_the_request_id_and_nothing_of_the_member(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG, logger="hq.sms"):
        result = LogOnly().send(PHONE, MESSAGE)
    assert result == Accepted("log-42")
    assert "SMS request 42" in caplog.text
    for secret in (PHONE, "13900001234", CODE, MESSAGE.text):
        assert secret not in caplog.text


def test_a_message_keeps_its_code_and_text_out_of_its_repr() -> None:
    assert CODE not in repr(MESSAGE)
    assert "星光百货" not in repr(MESSAGE)
