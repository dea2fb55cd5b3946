"""Sign up the demo's member at HQ, as a sign-up kiosk of the demo store would.

    .venv/bin/python scripts/demo_member.py HQ_URL ENROLMENT_CODE

Enrols a second kiosk ("demo sign-up desk") with the code, then sends the member's
sign-up (greet by name allowed) and their recognition consent. Prints the member
id, for `kiosk-hq members bind MEMBER_ID --kind rfid --value 0012345678`.
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
        (
            "consent",
            {
                "member_id": str(MEMBER_ID),
                "purpose": "recognition",
                "channel": None,
                "notice_version": "demo-1",
                "notice_sha256": hashlib.sha256(NOTICE.encode()).hexdigest(),
                "given": True,
            },
        ),
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
