"""The text a member receives, in their language (Chinese first).

    【店名】您的优惠券码：7K2M-Q9TX-...，有效期至 2026-12-31。
    【店名】Your coupon code: 7K2M-Q9TX-..., valid until 2026-12-31.

The sign (签名) leads, in 【】, as carriers in China require of every text; without
a configured sign the text starts with the message. Template providers (Alibaba)
send their approved template instead and take only the code and the date.
"""

from __future__ import annotations

from datetime import date
from typing import Final

from hq.sms.provider import SmsMessage

TEXTS: Final = {
    "zh-CN": "您的优惠券码：{code}，有效期至 {date}。",
    "en": "Your coupon code: {code}, valid until {date}.",
}
FALLBACK: Final = "zh-CN"  # a language HQ has no text for (a newer kiosk's)


def render(
    reference: str, language: str, code: str, expires_on: date, *, sign_name: str | None
) -> SmsMessage:
    chosen = language if language in TEXTS else FALLBACK
    body = TEXTS[chosen].format(code=code, date=expires_on.isoformat())
    text = f"【{sign_name}】{body}" if sign_name else body
    return SmsMessage(reference, chosen, text, code, expires_on)
