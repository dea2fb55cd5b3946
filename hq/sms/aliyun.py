"""Alibaba Cloud SMS (dysmsapi `SendSms`, API version 2017-05-25), RPC style.

The request is a form POST to the endpoint's `/` with the common parameters
(AccessKeyId, Action, Format=JSON, RegionId, SignatureMethod=HMAC-SHA1,
SignatureNonce, SignatureVersion=1.0, Timestamp, Version) and the operation's
(PhoneNumbers, SignName, TemplateCode, TemplateParam as JSON, OutId: HQ's request
id, echoed in Alibaba's delivery receipts). `Signature` is HMAC-SHA1, keyed with
the AccessKey secret plus "&", over

    POST&%2F&<the sorted parameters, RFC 3986 encoded, joined, encoded again>

(`rpc_signature`; Alibaba's documented example is its test vector). Mainland
numbers go without +86, others as country code and number without "+", as the
API expects.

Mainland China carries only approved templates under an approved sign name: the
message is the template (registered in Alibaba's console, e.g. "您的优惠券码：
${code}，有效期至 ${date}。") filled with `code` and `date`; Alibaba adds 【SignName】.

Answers: HTTP 200 with `Code` "OK" is accepted (`BizId`); throttling, Alibaba's
own failures and an empty balance are tried again; every other `Code` (an invalid
number, a blocked recipient, a template or sign Alibaba refuses, a bad key) is
refused. Only the `Code` is kept: `Message` may quote the request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final
from urllib.parse import quote

import requests

from hq.sms.provider import (
    Accepted,
    Refused,
    RetryLater,
    SmsMessage,
    SmsResult,
    answer_json,
    reason,
)

NAME: Final = "aliyun"
DEFAULT_URL: Final = "https://dysmsapi.aliyuncs.com"
API_VERSION: Final = "2017-05-25"
REGION: Final = "cn-hangzhou"  # dysmsapi's one region for mainland sending
TIMEOUT_S: Final = (5.0, 10.0)  # connect, read: a worker's round must not stall

RETRY_CODES: Final = frozenset(
    {
        "Throttling",
        "Throttling.User",
        "Throttling.Api",
        "ServiceUnavailable",
        "InternalError",
        "isp.SYSTEM_ERROR",
        "isv.SYSTEM_ERROR",
        # Per-number frequency control (1 a minute, 5 an hour by default): later works.
        "isv.BUSINESS_LIMIT_CONTROL",
        # The account's balance is spent: texts go once someone tops it up.
        "isv.AMOUNT_NOT_ENOUGH",
    }
)


@dataclass(frozen=True, slots=True)
class AliyunConfig:
    access_key_id: str
    access_key_secret: str = field(repr=False)
    sign_name: str  # the approved 签名, without 【】
    templates: Mapping[str, str]  # language -> TemplateCode; "zh-CN" always there
    base_url: str = DEFAULT_URL


def percent(text: str) -> str:
    """RFC 3986 encoding as Alibaba's signature wants it: only A-Z a-z 0-9 - _ . ~ kept."""
    return quote(text, safe="~")


def rpc_signature(method: str, params: Mapping[str, str], secret: str) -> str:
    """The `Signature` of an RPC-style request with these parameters (base64)."""
    canonical = "&".join(f"{percent(key)}={percent(params[key])}" for key in sorted(params))
    to_sign = f"{method}&{percent('/')}&{percent(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def phone_numbers(to_e164: str) -> str:
    """`PhoneNumbers` for an E.164 number: mainland ones bare, others without '+'."""
    return to_e164[3:] if to_e164.startswith("+86") else to_e164.lstrip("+")


class AliyunSms:
    name = NAME

    def __init__(
        self,
        config: AliyunConfig,
        *,
        session: requests.Session | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        nonce: Callable[[], str] = lambda: uuid.uuid4().hex,
        timeout: tuple[float, float] = TIMEOUT_S,
    ) -> None:
        self._config = config
        self._timeout = timeout
        self._session = session or requests.Session()
        self._clock = clock
        self._nonce = nonce

    def request_params(self, to_e164: str, message: SmsMessage) -> dict[str, str]:
        """The signed parameters of the SendSms request for `message`."""
        config = self._config
        template = config.templates.get(message.language) or config.templates["zh-CN"]
        params = {
            "AccessKeyId": config.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "OutId": message.reference,
            "PhoneNumbers": phone_numbers(to_e164),
            "RegionId": REGION,
            "SignName": config.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": self._nonce(),
            "SignatureVersion": "1.0",
            "TemplateCode": template,
            "TemplateParam": json.dumps(
                {"code": message.code, "date": message.expires_on.isoformat()},
                ensure_ascii=False,
                separators=(",", ":"),
            ),
            "Timestamp": self._clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": API_VERSION,
        }
        params["Signature"] = rpc_signature("POST", params, config.access_key_secret)
        return params

    def send(self, to_e164: str, message: SmsMessage) -> SmsResult:
        try:
            response = self._session.post(
                f"{self._config.base_url.rstrip('/')}/",
                data=self.request_params(to_e164, message),
                timeout=self._timeout,
            )
        except requests.Timeout:
            return RetryLater("aliyun: timed out")
        except requests.ConnectionError:
            return RetryLater("aliyun: could not connect")
        with response:
            return _outcome(response)

    def close(self) -> None:
        self._session.close()


def _outcome(response: requests.Response) -> SmsResult:
    status = response.status_code
    body = answer_json(response)
    code = body.get("Code") if isinstance(body.get("Code"), str) else None
    if status == 200 and code == "OK":
        biz_id = body.get("BizId")
        return Accepted(str(biz_id)[:64] if biz_id else "")
    if code in RETRY_CODES or status >= 500 or status == 429:
        return RetryLater(reason(f"aliyun: {code or f'HTTP {status}'}"))
    if code is None:
        # Neither an answer nor a refusal (a proxy's page?): Alibaba may have taken it.
        return RetryLater(f"aliyun: HTTP {status} without an answer")
    return Refused(reason(f"aliyun: {code}"))
