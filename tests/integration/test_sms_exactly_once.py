"""A member's "send to my phone" reaches the SMS provider exactly once, across a kill -9
of the kiosk's relay.

The kiosk side is a real relay process (helpers/sync_runner.py) on a real outbox
file holding the member's sign-up, the offer's coupon and the text request; HQ is
the real `kiosk-hq serve` process (SQLite and PostgreSQL) configured for Alibaba
Cloud SMS, whose API is tests/helpers/crm_server.py on loopback, counting requests.
The relay is killed after HQ stored the batch and before the kiosk committed the
acknowledgement, so it sends the batch again on restart; then HQ's sender runs
(`kiosk-hq sms send`, twice, beside HQ's own sweeper that may run it too).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from helpers.crm_server import SMS_DATA, CrmServer, recorded
from helpers.hq import fresh_postgres_database
from helpers.hq_process import HqProcess
from helpers.kiosk_sync import enrolled_kiosk, pending

from backend_client.credentials import load_credentials
from backend_client.crypto import PayloadCipher
from backend_client.outbox import Outbox, OutboxRecord
from rewards.codes import issue_code

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SIGKILLED = -signal.SIGKILL
START_TIMEOUT_S = 90.0  # HQ's imports alone take 20 s on a loaded 2-core machine
KEY_SECRET = "test-only-access-key-secret"  # noqa: S105 (a test fixture)


@pytest.fixture
def aliyun() -> Iterator[CrmServer]:
    with CrmServer() as server:
        server.script("POST", "/", recorded("aliyun", "send_ok", data=SMS_DATA))
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def hq(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    aliyun: CrmServer,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[HqProcess]:
    # The server and every `kiosk-hq` command text through the provider on loopback.
    for name, value in {
        "KIOSK_HQ_SMS": "aliyun",
        "KIOSK_HQ_SMS_SIGN_NAME": "星光百货",
        "KIOSK_HQ_ALIYUN_ACCESS_KEY_ID": "LTAI5tTestOnlyKeyId",
        "KIOSK_HQ_ALIYUN_ACCESS_KEY_SECRET": KEY_SECRET,
        "KIOSK_HQ_ALIYUN_SMS_TEMPLATE": "SMS_465900001",
        "KIOSK_HQ_ALIYUN_SMS_URL": aliyun.url,
    }.items():
        monkeypatch.setenv(name, value)
    if request.param == "sqlite":
        process = HqProcess(tmp_path / "hq")
        process.start(timeout=START_TIMEOUT_S)
        yield process
        process.stop()
        return
    with fresh_postgres_database() as url:
        process = HqProcess(tmp_path / "hq", url)
        process.start(timeout=START_TIMEOUT_S)
        yield process
        process.stop()


def run_relay(data: Path, *extra: str) -> int:
    """The kiosk's relay as a process of its own (as test_sync_exactly_once runs it)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "tests"))
    args = [sys.executable, "-m", "helpers.sync_runner", str(data), *extra]
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, timeout=120, check=False)
    assert done.returncode in {0, SIGKILLED}, done.stderr.decode(errors="replace")
    return done.returncode


def offer_taken_and_texted(data: Path) -> str:
    """The kiosk's outbox after a member signed up, took an offer and asked for it by
    text: the code, as the kiosk issued it under its own key."""
    credentials = load_credentials(data)
    assert credentials is not None
    assert credentials.coupon_key is not None
    assert credentials.kiosk_no is not None
    code = issue_code(
        credentials.coupon_key,
        campaign_no=7,
        kiosk_no=credentials.kiosk_no,
        serial=1,
        expires_on=date.today() + timedelta(days=30),
    )
    member = str(uuid.uuid4())
    at = datetime.now(UTC) - timedelta(minutes=5)
    common = {"session": "s1", "member_id": member}
    records = [
        OutboxRecord.new(
            "member_signup",
            {
                "member_id": member,
                "phone": "139 0000 1234",
                "region": "CN",
                "name": "王芳",
                "email": None,
                "language": "zh-CN",
            },
            occurred_at=at,
        ),
        OutboxRecord.new(
            "consent",
            {
                "member_id": member,
                "purpose": "marketing",
                "channel": "sms",
                "notice_version": "2026-11",
                "notice_sha256": "5e" * 32,
                "given": True,
            },
            occurred_at=at,
        ),
        OutboxRecord.new(
            "coupon_issued",
            {
                **common,
                "code": code.text,
                "campaign": "phone-50",
                "campaign_no": code.campaign_no,
                "serial": code.serial,
                "expires_on": code.expires_on.isoformat(),
                "reason": "offer",
                "offer": "winter-welcome",
            },
            occurred_at=at + timedelta(seconds=20),
        ),
        OutboxRecord.new(
            "offer_text_requested",
            {
                **common,
                "offer": "winter-welcome",
                "code": code.text,
                "campaign": "phone-50",
                "expires_on": code.expires_on.isoformat(),
                "language": "zh-CN",
            },
            occurred_at=at + timedelta(seconds=30),
        ),
    ]
    cipher = PayloadCipher.from_key_file(data / "outbox.key")
    with Outbox(data / "outbox.sqlite3", cipher=cipher) as outbox:
        outbox.append_many(records)
    return code.text


def sms_status(hq: HqProcess) -> dict[str, int]:
    counts: dict[str, int] = json.loads(hq.cli("sms", "status", "--json"))["counts"]
    return counts


def test_a_text_request_reaches_the_provider_exactly_once_across_a_kill_9_of_the_relay(
    hq: HqProcess, aliyun: CrmServer, tmp_path: Path
) -> None:
    data = enrolled_kiosk(hq, tmp_path / "kiosk")
    code = offer_taken_and_texted(data)

    # HQ stores the batch and answers; the relay dies before committing the answer.
    assert run_relay(data, "--kill-at", "posted:1") == SIGKILLED
    assert pending(data) == 4  # all still in the outbox: they will be sent again
    assert sum(sms_status(hq).values()) == 1
    # Restarted, it sends the same batch again: HQ answers "duplicate", queues nothing.
    assert run_relay(data) == 0
    assert pending(data) == 0
    assert sum(sms_status(hq).values()) == 1

    hq.cli("sms", "send")
    hq.cli("sms", "send")  # nothing left to send

    (sent,) = aliyun.requests_to("POST", "/")
    assert sent.body["PhoneNumbers"] == "13900001234"
    assert json.loads(sent.body["TemplateParam"]) == {
        "code": code,
        "date": (date.today() + timedelta(days=30)).isoformat(),
    }
    assert sent.body["SignName"] == "星光百货"
    assert sms_status(hq)["sent"] == 1
    assert "13900001234" not in hq.log_path.read_text()
    assert code not in hq.log_path.read_text()
