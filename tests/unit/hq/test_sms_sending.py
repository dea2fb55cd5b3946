"""Members' "send to my phone", from the kiosk's event to the provider's answer.

Requests come in through HQ's ingest as kiosks send them (SQLite and PostgreSQL);
the sender texts them through the Twilio provider against tests/helpers/crm_server.py
on loopback, which records every request it gets.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers.crm_server import SMS_DATA, Answer, CrmServer, Received, recorded
from helpers.hq import consent_payload, event_json, signup_payload
from sqlalchemy import select

from hq import ingest
from hq.cli import main
from hq.crm import merges
from hq.crm.coupon_codes import CouponCode, issue
from hq.crm.erasure import erase_member
from hq.crm.withdrawal import withdraw
from hq.db import Database, customers, events, member_ids, sms_requests
from hq.enrollment import Enrolment, KioskIdentity, issue_code, redeem_code
from hq.fleet import add_store
from hq.fleet_health.sweeper import AlertSweeper
from hq.sms import queue
from hq.sms.config import SmsConfig
from hq.sms.rules import Outcome
from hq.sms.sender import SmsSender
from hq.sms.twilio import TwilioConfig
from hq.wire import EventBatch

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai
GOOD_THROUGH = date(2026, 12, 31)
ACCOUNT = "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
MESSAGES = f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
SIGN = "星光百货"
NAME = "王芳"


@dataclass
class Kiosk:
    enrolment: Enrolment
    seq: int = 0
    serial: int = 0

    @property
    def identity(self) -> KioskIdentity:
        return KioskIdentity(self.enrolment.kiosk_id, self.enrolment.store_id)

    def code(self, *, expires_on: date = GOOD_THROUGH) -> CouponCode:
        self.serial += 1
        return issue(
            self.enrolment.coupon_key,
            campaign_no=7,
            kiosk_no=self.enrolment.kiosk_no,
            serial=self.serial,
            expires_on=expires_on,
        )

    def events(self, *sent: tuple[str, dict[str, Any]]) -> list[dict[str, Any]]:
        batch = []
        for kind, payload in sent:
            self.seq += 1
            batch.append(
                event_json(self.identity.store_id, self.identity.kiosk_id, self.seq, kind, payload)
            )
        return batch

    def post(
        self, database: Database, batch: list[dict[str, Any]], at: datetime = NOW
    ) -> list[Any]:
        plan = ingest.decide(self.identity, EventBatch.model_validate({"events": batch}))
        assert isinstance(plan, ingest.Plan)
        outcome = ingest.store(database, self.identity, plan, received_at=at)
        return [(result.status, result.reason) for result in outcome.results]

    def send(self, database: Database, *sent: tuple[str, dict[str, Any]]) -> list[Any]:
        return self.post(database, self.events(*sent))


def enrol(database: Database) -> Kiosk:
    add_store(database, "sh-nanjing-road", None, now=NOW, exist_ok=True)
    code = issue_code(database, "sh-nanjing-road", now=NOW)
    return Kiosk(redeem_code(database, code, None, now=NOW))


def member(kiosk: Kiosk, database: Database, phone: str = "139 0000 1234", **signup: Any) -> str:
    member_id = str(uuid.uuid4())
    kiosk.send(
        database,
        ("member_signup", signup_payload(member_id, phone, name=NAME, **signup)),
        ("consent", consent_payload(member_id, "marketing", given=True, channel="sms")),
    )
    return member_id


def text_request(
    member_id: str, issued: CouponCode, *, language: str = "zh-CN", **changes: Any
) -> tuple[str, dict[str, Any]]:
    return (
        "offer_text_requested",
        {
            "session": "s1",
            "offer": "winter-welcome",
            "member_id": member_id,
            "code": issued.text,
            "campaign": "phone-50",
            "expires_on": issued.expires_on.isoformat(),
            "language": language,
            **changes,
        },
    )


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Twilio:
    """The provider on loopback: accepts every message unless told otherwise."""

    server: CrmServer
    answers: list[Answer] = field(default_factory=list)  # used first, in order
    on_request: Callable[[], object] = lambda: None

    def __call__(self, request: Received) -> Answer:
        self.on_request()
        if self.answers:
            return self.answers.pop(0)
        return recorded(
            "twilio",
            "message_created",
            data=SMS_DATA,
            body=request.body["Body"],
            to=request.body["To"],
        )

    @property
    def texts(self) -> list[dict[str, str]]:
        return [r.body for r in self.server.requests_to("POST", MESSAGES)]


@pytest.fixture
def twilio() -> Iterator[Twilio]:
    with CrmServer() as server:
        provider = Twilio(server)
        server.script("POST", MESSAGES, provider)
        yield provider


def sender(database: Database, twilio: Twilio, clock: Clock, **limits: Any) -> SmsSender:
    config = SmsConfig(
        provider="twilio",
        sign_name=SIGN,
        rate=1000.0,
        twilio=TwilioConfig(ACCOUNT, "test-only-token", "+14155552345", twilio.server.url),
        **limits,
    )
    return SmsSender(database, config, clock=clock, jitter=lambda: 0.0)


def rows(database: Database) -> list[Any]:
    with database.read() as connection:
        return list(connection.execute(select(sms_requests).order_by(sms_requests.c.id)))


# ---------------------------------------------------------------- the queue, from ingest


def test_a_text_request_queues_one_request_without_the_number(database: Database) -> None:
    kiosk = enrol(database)
    wang = member(kiosk, database)
    code = kiosk.code()
    assert kiosk.send(database, text_request(wang, code)) == [("accepted", None)]

    (row,) = rows(database)
    assert (row.member_id, row.offer, row.campaign, row.store_id, row.kiosk_id) == (
        wang,
        "winter-welcome",
        "phone-50",
        "sh-nanjing-road",
        kiosk.identity.kiosk_id,
    )
    assert (row.code, row.expires_on, row.language) == (code.text, GOOD_THROUGH, "zh-CN")
    assert (row.status, row.attempts, row.next_try_at, row.received_at) == ("queued", 0, NOW, NOW)
    assert "1390000" not in repr(tuple(row))  # the number is looked up when it is sent


def test_a_batch_sent_again_after_a_lost_answer_queues_nothing_twice(database: Database) -> None:
    kiosk = enrol(database)
    wang = member(kiosk, database)
    batch = kiosk.events(text_request(wang, kiosk.code()))
    assert kiosk.post(database, batch) == [("accepted", None)]
    assert kiosk.post(database, batch) == [("duplicate", None)]
    assert len(rows(database)) == 1


def test_a_code_not_of_this_kiosk_is_rejected_and_queues_nothing(database: Database) -> None:
    kiosk, other = enrol(database), enrol(database)
    wang = member(kiosk, database)
    [(status, reason)] = kiosk.send(database, text_request(wang, other.code()))
    assert (status, reason) == ("rejected", "payload.code: not a code of this kiosk's number")
    forged = kiosk.code().text[:-1] + ("0" if kiosk.code().text[-1] != "0" else "1")
    [(status, reason)] = kiosk.send(database, text_request(wang, kiosk.code(), code=forged))
    assert status == "rejected"
    assert rows(database) == []


def test_an_expiry_that_is_not_the_codes_own_is_rejected(database: Database) -> None:
    kiosk = enrol(database)
    wang = member(kiosk, database)
    sent = text_request(wang, kiosk.code(), expires_on="2027-06-30")
    assert kiosk.send(database, sent) == [("rejected", "payload.expires_on: is not the code's own")]


def test_a_request_of_a_member_erased_before_it_arrived_is_kept_scrubbed_and_queues_nothing(
    database: Database,
) -> None:
    kiosk = enrol(database)
    wang = member(kiosk, database)
    assert erase_member(database, wang, now=NOW) is not None
    assert kiosk.send(database, text_request(wang, kiosk.code())) == [("accepted", None)]
    assert rows(database) == []
    with database.read() as connection:
        payload = connection.execute(
            select(events.c.payload).where(events.c.kind == "offer_text_requested")
        ).scalar_one()
    assert payload["erased"] is True
    assert "member_id" not in payload


# ---------------------------------------------------------------- the sender


def test_the_member_gets_the_code_at_their_number_in_their_language(
    database: Database, twilio: Twilio
) -> None:
    kiosk = enrol(database)
    wang, lee = member(kiosk, database), member(kiosk, database, "139 0000 5678", language="en")
    zh, en = kiosk.code(), kiosk.code()
    kiosk.send(database, text_request(wang, zh), text_request(lee, en, language="en"))

    report = sender(database, twilio, Clock()).send_once()

    assert report.outcomes == {"sent": 2}
    assert twilio.texts == [
        {
            "To": "+8613900001234",
            "From": "+14155552345",
            "Body": f"【{SIGN}】您的优惠券码：{zh.text}，有效期至 2026-12-31。",
        },
        {
            "To": "+8613900005678",
            "From": "+14155552345",
            "Body": f"【{SIGN}】Your coupon code: {en.text}, valid until 2026-12-31.",
        },
    ]
    sent = rows(database)
    assert [(r.status, r.attempts, r.sent_at, r.provider) for r in sent] == [
        ("sent", 1, NOW, "twilio")
    ] * 2
    assert sent[0].provider_message_id == "SM1f0e8ae6ade43cb3c0ce4525424e404f"
    assert (sent[0].lease_holder, sent[0].lease_until) == (None, None)
    # Sent once: the next round finds nothing due.
    assert sender(database, twilio, Clock()).send_once().outcomes == {}
    assert len(twilio.texts) == 2


def test_a_merged_member_is_texted_at_the_number_of_the_record_kept(
    database: Database, twilio: Twilio
) -> None:
    kiosk = enrol(database)
    wang = member(kiosk, database, "139 0000 1234")
    old_number = member(kiosk, database, "139 0000 9999")
    with database.read() as connection:
        keep, other = (
            connection.execute(
                select(member_ids.c.customer_id).where(member_ids.c.member_id == m)
            ).scalar_one()
            for m in (wang, old_number)
        )
    merges.merge(database, keep, other, by="hq-staff", now=NOW)
    kiosk.send(database, text_request(old_number, kiosk.code()))

    sender(database, twilio, Clock()).send_once()
    assert [text["To"] for text in twilio.texts] == ["+8613900001234"]


def test_a_member_whose_sign_up_never_reached_hq_has_no_number(
    database: Database, twilio: Twilio
) -> None:
    kiosk = enrol(database)
    kiosk.send(database, text_request(str(uuid.uuid4()), kiosk.code()))
    assert sender(database, twilio, Clock()).send_once().outcomes == {"no_number": 1}
    assert twilio.texts == []
    assert rows(database)[0].last_error == "no phone number on record"


def test_erasing_a_member_before_the_text_went_stops_it(database: Database, twilio: Twilio) -> None:
    kiosk = enrol(database)
    wang = member(kiosk, database)
    kiosk.send(database, text_request(wang, kiosk.code()))
    erase_member(database, wang, now=NOW)

    assert sender(database, twilio, Clock()).send_once().outcomes == {"withdrawn": 1}
    assert twilio.texts == []
    (row,) = rows(database)
    assert (row.status, row.member_id) == ("withdrawn", None)


def test_withdrawing_marketing_consent_before_the_text_went_stops_it(
    database: Database, twilio: Twilio
) -> None:
    kiosk = enrol(database)
    wang = member(kiosk, database)
    kiosk.send(database, text_request(wang, kiosk.code()))
    withdraw(database, wang, "marketing", by="hotline", now=NOW)

    assert sender(database, twilio, Clock()).send_once().outcomes == {"withdrawn": 1}
    assert twilio.texts == []


def test_the_daily_cap_counts_the_members_local_day(database: Database, twilio: Twilio) -> None:
    kiosk = enrol(database)
    wang = member(kiosk, database)
    late = Clock(datetime(2026, 12, 7, 15, 30, tzinfo=UTC))  # 23:30 in Shanghai
    for _ in range(4):
        kiosk.send(database, text_request(wang, kiosk.code()))
    assert sender(database, twilio, late).send_once().outcomes == {"sent": 3, "capped": 1}

    # 00:30 the next day in Shanghai (still the 7th in UTC): a new day, a new allowance.
    kiosk.send(database, text_request(wang, kiosk.code()))
    after_midnight = Clock(datetime(2026, 12, 7, 16, 30, tzinfo=UTC))
    assert sender(database, twilio, after_midnight).send_once().outcomes == {"sent": 1}
    assert len(twilio.texts) == 4
    assert [r.status for r in rows(database)] == ["sent", "sent", "sent", "capped", "sent"]


def test_a_provider_outage_is_retried_with_backoff_then_given_up(
    database: Database, twilio: Twilio
) -> None:
    kiosk = enrol(database)
    kiosk.send(database, text_request(member(kiosk, database), kiosk.code()))
    unavailable = recorded("twilio", "service_unavailable", data=SMS_DATA)
    twilio.answers += [unavailable, unavailable]
    clock = Clock()
    texts = sender(database, twilio, clock, max_attempts=2)

    assert texts.send_once().outcomes == {"queued": 1}
    (row,) = rows(database)
    assert (row.status, row.attempts, row.last_error) == ("queued", 1, "twilio: 20503")
    assert row.next_try_at == NOW + timedelta(seconds=15)  # half of 30 s, no jitter
    assert texts.send_once().outcomes == {}  # not due yet
    clock.now = row.next_try_at
    assert texts.send_once().outcomes == {"failed": 1}
    (row,) = rows(database)
    assert (row.status, row.attempts) == ("failed", 2)
    assert row.last_error == "twilio: 20503 (gave up after 2 attempts)"
    assert len(twilio.texts) == 2


def test_a_rate_limited_request_waits_for_the_providers_retry_after(
    database: Database, twilio: Twilio
) -> None:
    kiosk = enrol(database)
    kiosk.send(database, text_request(member(kiosk, database), kiosk.code()))
    twilio.answers.append(recorded("twilio", "too_many_requests", data=SMS_DATA))
    sender(database, twilio, Clock()).send_once()
    (row,) = rows(database)
    assert (row.status, row.next_try_at) == ("queued", NOW + timedelta(seconds=7))


def test_an_invalid_number_fails_at_once_naming_only_twilios_code(
    database: Database, twilio: Twilio
) -> None:
    kiosk = enrol(database)
    kiosk.send(database, text_request(member(kiosk, database), kiosk.code()))
    twilio.answers.append(recorded("twilio", "invalid_to_number", data=SMS_DATA, to="+86139"))
    assert sender(database, twilio, Clock()).send_once().outcomes == {"failed": 1}
    (row,) = rows(database)
    assert (row.status, row.attempts, row.last_error) == ("failed", 1, "twilio: 21211")


def test_a_request_whose_worker_died_mid_send_is_sent_again_once_its_lease_runs_out(
    database: Database, twilio: Twilio
) -> None:
    kiosk = enrol(database)
    kiosk.send(database, text_request(member(kiosk, database), kiosk.code()))
    (claimed,) = queue.claim(database, "dead-worker", now=NOW, limit=10)  # then it died

    assert sender(database, twilio, Clock()).send_once().outcomes == {}  # its lease holds
    later = Clock(NOW + queue.LEASE + timedelta(seconds=1))
    assert sender(database, twilio, later).send_once().outcomes == {"sent": 1}
    assert len(twilio.texts) == 1
    # The dead worker's late answer changes nothing: it no longer holds the lease.
    late_answer = Outcome("failed", "late")
    assert not queue.settle(database, "dead-worker", claimed.id, late_answer, provider="twilio")
    assert rows(database)[0].status == "sent"


def test_workers_claiming_at_once_never_get_the_same_request(database: Database) -> None:
    kiosk = enrol(database)
    wang = member(kiosk, database)
    kiosk.send(database, *(text_request(wang, kiosk.code()) for _ in range(60)))
    got: list[list[int]] = [[] for _ in range(6)]
    start = threading.Barrier(6)

    def work(index: int) -> None:
        start.wait()
        while claimed := queue.claim(database, f"worker-{index}", now=NOW, limit=4):
            got[index].extend(request.id for request in claimed)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    every = [request for worker in got for request in worker]
    assert sorted(every) == [row.id for row in rows(database)]  # each once, none left


def test_claimed_requests_a_stopped_round_did_not_try_go_back_to_the_queue(
    database: Database, twilio: Twilio
) -> None:
    kiosk = enrol(database)
    wang = member(kiosk, database)
    kiosk.send(database, *(text_request(wang, kiosk.code()) for _ in range(3)))
    texts = sender(database, twilio, Clock())
    twilio.on_request = texts.stop  # HQ shuts down while the first text is on its way

    assert texts.send_once().outcomes == {"sent": 1}
    assert [(r.status, r.lease_holder) for r in rows(database)] == [
        ("sent", None),
        ("queued", None),
        ("queued", None),
    ]
    assert [r.attempts for r in rows(database)] == [1, 0, 0]


def test_the_sweeper_texts_what_is_due_each_round(database: Database, twilio: Twilio) -> None:
    kiosk = enrol(database)
    kiosk.send(database, text_request(member(kiosk, database), kiosk.code()))
    AlertSweeper(database, Clock(), texts=sender(database, twilio, Clock())).text_once()
    assert len(twilio.texts) == 1


def test_no_log_line_carries_a_number_a_code_or_a_name(
    database: Database, twilio: Twilio, caplog: pytest.LogCaptureFixture
) -> None:
    kiosk = enrol(database)
    wang, lee = member(kiosk, database), member(kiosk, database, "139 0000 5678")
    codes = [kiosk.code() for _ in range(4)]
    kiosk.send(
        database, *(text_request(m, c) for m, c in zip([wang, wang, lee, lee], codes, strict=True))
    )
    kiosk.send(database, text_request(str(uuid.uuid4()), kiosk.code()))
    twilio.answers += [
        recorded("twilio", "invalid_to_number", data=SMS_DATA, to="+8613900001234"),
        recorded("twilio", "service_unavailable", data=SMS_DATA),
    ]
    with caplog.at_level(logging.DEBUG):
        sender(database, twilio, Clock(), daily_cap=1).send_once()
    assert "SMS request" in caplog.text  # it did say what happened
    with database.read() as connection:
        numbers = list(connection.execute(select(customers.c.phone_e164)).scalars())
    for secret in (*numbers, "13900001234", "13900005678", NAME, *(c.text for c in codes)):
        assert secret not in caplog.text


def test_kiosk_hq_sms_send_and_status_text_with_the_log_only_provider(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    for name in [name for name in os.environ if name.startswith("KIOSK_HQ_")]:
        monkeypatch.delenv(name)
    kiosk = enrol(database)
    code = kiosk.code()
    kiosk.send(database, text_request(member(kiosk, database), code))
    url = database.url.render_as_string(hide_password=False)
    base = ["--data-dir", str(tmp_path / "hq"), "--database-url", url, "sms"]

    assert main([*base, "status", "--json"]) == 0
    waiting = json.loads(capsys.readouterr().out)
    assert waiting["counts"]["queued"] == 1
    assert waiting["oldest_queued_age_s"] is not None

    assert main([*base, "send"]) == 0
    assert capsys.readouterr().out == "log: 1 sent\n"
    assert main([*base, "status"]) == 0
    shown = capsys.readouterr().out
    assert "sent       1" in shown
    assert "oldest request still waiting: none" in shown
    assert code.text not in shown
