"""Sign up the demo's member at HQ, as a sign-up kiosk of the demo store would.

    .venv/bin/python scripts/demo_member.py HQ_URL ENROLMENT_CODE

Enrols a second kiosk ("demo sign-up desk") with the code, then sends the member's
sign-up (greet by name allowed) and their consents: recognition, marketing by text
message (so the kiosk may make them member offers, issue 20) and personalised
recommendations. Prints the member id, for
`kiosk-hq members bind MEMBER_ID --kind rfid --value 0012345678`.
Everything is fictitious: a 139 0000 number, the name 王芳.
"""

from __future__ import annotations

import hashlib
import sys
import uuid
from datetime import UTC, datetime

from backend_client.client import HqClient, WireEvent, enroll

MEMBER_ID = uuid.UUID("7a3c1f00-0000-4000-8000-00000000d3e0")
NOTICE = "我同意门店通过会员钥匙扣或蓝牙标签识别我。I agree to be recognised by my fob or tag."
MARKETING_NOTICE = "我同意接收会员优惠短信。I agree to receive member offers by text message."
PERSONALISED_NOTICE = "我同意根据我看过的机型为我推荐。I agree to picks from what I looked at."


def consent(purpose: str, notice: str, channel: str | None = None) -> dict[str, object]:
    return {
        "member_id": str(MEMBER_ID),
        "purpose": purpose,
        "channel": channel,
        "notice_version": "demo-1",
        "notice_sha256": hashlib.sha256(notice.encode()).hexdigest(),
        "given": True,
    }


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    hq_url, code = argv
    credentials = enroll(hq_url, code, name="demo sign-up desk")
    now = datetime.now(UTC)
    payloads = [
        (
            "member_signup",
            {
                "member_id": str(MEMBER_ID),
                "phone": "+86 139 0000 0000",
                "region": "CN",
                "name": "王芳",
                "language": "zh-CN",
                "greet_by_name": True,
            },
        ),
        ("consent", consent("recognition", NOTICE)),
        ("consent", consent("marketing", MARKETING_NOTICE, "sms")),
        ("consent", consent("personalisation", PERSONALISED_NOTICE)),
    ]
    events = [
        WireEvent(
            uuid.uuid4(),
            credentials.store_id,
            credentials.kiosk_id,
            seq,
            kind,
            1,
            now,
            payload,
        )
        for seq, (kind, payload) in enumerate(payloads, start=1)
    ]
    with HqClient(credentials) as client:
        answer = client.post_events(events)
    refused = [r for r in answer.results if r.status == "rejected"]
    if refused:
        print(f"HQ refused the demo member: {[r.reason for r in refused]}", file=sys.stderr)
        return 1
    print(MEMBER_ID)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
