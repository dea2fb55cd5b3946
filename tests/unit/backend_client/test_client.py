"""The HQ client turns every wire outcome into one of three errors, or HQ's verdicts."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from helpers.fake_hq import CODE_REFUSED, FakeHq, running_fake_hq

from backend_client.client import (
    BatchAnswer,
    EventResult,
    EventStatus,
    HqClient,
    HqHints,
    HqRefused,
    HqUnauthorized,
    HqUnavailable,
    WireEvent,
    enroll,
)
from backend_client.credentials import Credentials

OCCURRED_AT = datetime(2026, 11, 23, 9, 14, 3, 120000, tzinfo=UTC)
SHOPPER_PHONE = "13800138000"


@pytest.fixture
def hq() -> Iterator[FakeHq]:
    with running_fake_hq() as running:
        yield running


@pytest.fixture
def credentials(hq: FakeHq) -> Credentials:
    return hq.add_kiosk()


@pytest.fixture
def client(credentials: Credentials) -> Iterator[HqClient]:
    with HqClient(credentials, timeout=(1.0, 2.0)) as opened:
        yield opened


def wire(credentials: Credentials, seq: int, **payload: Any) -> WireEvent:
    return WireEvent(
        event_id=uuid.uuid4(),
        store_id=credentials.store_id,
        kiosk_id=credentials.kiosk_id,
        seq=seq,
        kind="lift",
        schema_version=1,
        occurred_at=OCCURRED_AT,
        payload={"session": "s1", "slot": 3, "sku": None, **payload},
    )


# --- answers ----------------------------------------------------------------------


def test_hq_verdicts_come_back_per_event_in_order(
    hq: FakeHq, client: HqClient, credentials: Credentials
) -> None:
    first, second, third = (wire(credentials, seq) for seq in (1, 2, 3))
    hq.reject(third.event_id, "payload.slot: must be >= 1")
    client.post_events([first])

    answer = client.post_events([first, second, third])

    assert answer == BatchAnswer(
        results=(
            EventResult(first.event_id, 1, EventStatus.DUPLICATE, None),
            EventResult(second.event_id, 2, EventStatus.ACCEPTED, None),
            EventResult(third.event_id, 3, EventStatus.REJECTED, "payload.slot: must be >= 1"),
        ),
        contiguous_seq=3,
    )
    assert hq.events[str(second.event_id)]["occurred_at"] == "2026-11-23T09:14:03.120000+00:00"


def test_every_call_carries_the_bearer_token(
    hq: FakeHq, client: HqClient, credentials: Credentials
) -> None:
    client.post_events([wire(credentials, 1)])
    client.post_events([wire(credentials, 2)])

    assert [r.token for r in hq.requests] == [credentials.token] * 2
    assert [r.seqs for r in hq.requests] == [(1,), (2,)]


def test_a_batch_holds_one_to_five_hundred_events(
    client: HqClient, credentials: Credentials
) -> None:
    with pytest.raises(ValueError, match="1 to 500"):
        client.post_events([])
    with pytest.raises(ValueError, match="1 to 500"):
        client.post_events([wire(credentials, seq) for seq in range(1, 502)])


def test_wire_event_repr_leaves_out_the_payload(credentials: Credentials) -> None:
    assert SHOPPER_PHONE not in repr(wire(credentials, 1, phone=SHOPPER_PHONE))


# --- errors -----------------------------------------------------------------------


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_busy_or_broken_hq_is_unavailable(
    hq: FakeHq, client: HqClient, credentials: Credentials, status: int
) -> None:
    hq.answer_next(1, status)

    with pytest.raises(HqUnavailable, match=f"HQ answered {status}") as raised:
        client.post_events([wire(credentials, 1)])
    assert raised.value.retry_after is None


def test_retry_after_in_seconds_is_passed_on(
    hq: FakeHq, client: HqClient, credentials: Credentials
) -> None:
    hq.answer_next(1, 503, headers={"Retry-After": "120"})

    with pytest.raises(HqUnavailable) as raised:
        client.post_events([wire(credentials, 1)])
    assert raised.value.retry_after == 120.0


def test_retry_after_as_an_http_date_becomes_seconds(
    hq: FakeHq, client: HqClient, credentials: Credentials
) -> None:
    later = datetime.now(UTC) + timedelta(seconds=90)
    hq.answer_next(1, 429, headers={"Retry-After": format_datetime(later, usegmt=True)})

    with pytest.raises(HqUnavailable) as raised:
        client.post_events([wire(credentials, 1)])
    assert raised.value.retry_after is not None
    assert 85 <= raised.value.retry_after <= 90


def test_unknown_token_is_unauthorised(hq: FakeHq, credentials: Credentials) -> None:
    hq.revoke(credentials.token)

    with HqClient(credentials) as client, pytest.raises(HqUnauthorized) as raised:
        client.post_events([wire(credentials, 1)])
    assert credentials.token not in str(raised.value)


def test_another_kiosks_events_are_refused_with_hqs_detail(
    hq: FakeHq, client: HqClient, credentials: Credentials
) -> None:
    other = Credentials(hq.url, credentials.store_id, "someone-else", credentials.token)

    with pytest.raises(HqRefused) as raised:
        client.post_events([wire(other, 1)])
    assert (raised.value.status, raised.value.message) == (
        403,
        "an event names another store or kiosk",
    )


def test_422_names_the_fields_but_not_the_input(
    hq: FakeHq, client: HqClient, credentials: Credentials
) -> None:
    detail = [
        {
            "loc": ["body", "events", 0, "payload", "phone"],
            "msg": "String should have at most 32 characters",
            "type": "string_too_long",
            "input": SHOPPER_PHONE,
        }
    ]
    hq.answer_next(1, 422, body={"detail": detail})

    with pytest.raises(HqRefused) as raised:
        client.post_events([wire(credentials, 1, phone=SHOPPER_PHONE)])
    assert raised.value.status == 422
    assert raised.value.message == (
        "body.events.0.payload.phone: String should have at most 32 characters"
    )
    assert SHOPPER_PHONE not in str(raised.value)


@pytest.mark.parametrize(("status", "body"), [(404, b"not json"), (400, b'{"detail": 3}')])
def test_other_client_errors_are_refused_with_the_reason_phrase(
    hq: FakeHq, client: HqClient, credentials: Credentials, status: int, body: bytes
) -> None:
    hq.answer_next(1, status, body=body)

    with pytest.raises(HqRefused) as raised:
        client.post_events([wire(credentials, 1)])
    assert raised.value.status == status
    assert raised.value.message in {"Not Found", "Bad Request"}


def test_a_redirect_is_not_followed(hq: FakeHq, client: HqClient, credentials: Credentials) -> None:
    hq.answer_next(1, 308, headers={"Location": "https://elsewhere.example.com/v1/events"})

    with pytest.raises(HqUnavailable, match="redirect"):
        client.post_events([wire(credentials, 1)])
    assert len(hq.requests) == 1


def malformed_answers(event_id: str) -> list[Any]:
    good = {"event_id": event_id, "seq": 1, "status": "accepted", "reason": None}
    return [
        b"<html>proxy error</html>",
        [good],
        {"results": [good]},
        {"results": [], "contiguous_seq": 1},
        {"results": [good, good], "contiguous_seq": 1},
        {"results": [{**good, "event_id": str(uuid.uuid4())}], "contiguous_seq": 1},
        {"results": [{**good, "seq": 2}], "contiguous_seq": 1},
        {"results": [{**good, "seq": True}], "contiguous_seq": 1},
        {"results": [{**good, "status": "maybe"}], "contiguous_seq": 1},
        {"results": [{**good, "reason": 5}], "contiguous_seq": 1},
        {"results": [{**good, "event_id": None}], "contiguous_seq": 1},
        {"results": [{**good}], "contiguous_seq": True},
        {"results": [{**good}], "contiguous_seq": -1},
        {"results": ["accepted"], "contiguous_seq": 1},
    ]


@pytest.mark.parametrize("case", range(len(malformed_answers(""))))
def test_a_malformed_200_is_a_retryable_failure(
    hq: FakeHq, client: HqClient, credentials: Credentials, case: int
) -> None:
    event = wire(credentials, 1)
    body = malformed_answers(str(event.event_id))[case]
    hq.answer_next(1, 200, body=body if isinstance(body, bytes) else json.dumps(body).encode())

    with pytest.raises(HqUnavailable, match=r"contract|valid JSON"):
        client.post_events([event])


def test_hq_not_listening_is_unavailable(
    hq: FakeHq, client: HqClient, credentials: Credentials
) -> None:
    hq.go_down()

    with pytest.raises(HqUnavailable, match="cannot reach HQ: Connection refused"):
        client.post_events([wire(credentials, 1)])


def test_a_slow_answer_times_out(hq: FakeHq, credentials: Credentials) -> None:
    hq.delay = 1.0

    with (
        HqClient(credentials, timeout=(1.0, 0.2)) as client,
        pytest.raises(HqUnavailable, match="did not answer in time"),
    ):
        client.post_events([wire(credentials, 1)])


def test_hq_coming_back_after_going_down_is_reached_again(
    hq: FakeHq, client: HqClient, credentials: Credentials
) -> None:
    client.post_events([wire(credentials, 1)])  # a kept-alive connection now exists
    hq.go_down()
    with pytest.raises(HqUnavailable):
        client.post_events([wire(credentials, 2)])
    hq.come_up()

    answer = client.post_events([wire(credentials, 2)])

    assert answer.results[0].status is EventStatus.ACCEPTED


def test_no_token_or_payload_in_messages_or_logs(
    hq: FakeHq, client: HqClient, credentials: Credentials, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    failures: list[str] = []
    for status in (401, 403, 422, 503):
        hq.answer_next(1, status)
        try:
            client.post_events([wire(credentials, 1, phone=SHOPPER_PHONE)])
        except (HqUnavailable, HqUnauthorized, HqRefused) as exc:
            failures.append(str(exc))
    hq.answer_next(1, 200, body=b"{}")
    with pytest.raises(HqUnavailable) as raised:
        client.post_events([wire(credentials, 1, phone=SHOPPER_PHONE)])
    failures.append(str(raised.value))

    assert len(failures) == 5
    for text in [*failures, caplog.text]:
        assert credentials.token not in text
        assert SHOPPER_PHONE not in text


# --- TLS --------------------------------------------------------------------------


def test_tls_is_verified_and_a_ca_bundle_makes_a_private_hq_trusted(tmp_path: Path) -> None:
    with running_fake_hq(tmp_path / "tls") as hq:
        credentials = hq.add_kiosk()
        assert hq.url.startswith("https://")
        assert hq.ca_bundle is not None

        with (
            HqClient(credentials) as untrusting,
            pytest.raises(HqUnavailable, match=r"TLS with HQ failed: .*certificate verify"),
        ):
            untrusting.post_events([wire(credentials, 1)])
        with HqClient(credentials, ca_bundle=hq.ca_bundle) as trusting:
            answer = trusting.post_events([wire(credentials, 1)])

    assert answer.results[0].status is EventStatus.ACCEPTED


def test_a_missing_ca_bundle_is_refused_at_once(credentials: Credentials, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"CA bundle .* is not a file"):
        HqClient(credentials, ca_bundle=tmp_path / "missing.pem")


# --- enrolment --------------------------------------------------------------------


def test_enrolment_trades_a_code_for_credentials(hq: FakeHq) -> None:
    code = hq.issue_code("sh-nanjing-road", "sh-nanjing-road-k7")

    credentials = enroll(hq.url + "/", code.lower().replace("-", " "), name="entrance screen")

    assert (credentials.hq_url, credentials.store_id, credentials.kiosk_id) == (
        hq.url,
        "sh-nanjing-road",
        "sh-nanjing-road-k7",
    )
    assert len(credentials.token) >= 43
    assert hq.enrolled_names == ["entrance screen"]
    assert hq.requests[0].token is None  # enrolment carries no Authorization header
    with HqClient(credentials) as client:
        assert client.post_events([wire(credentials, 1)]).contiguous_seq == 1


def test_a_code_used_twice_is_refused(hq: FakeHq) -> None:
    code = hq.issue_code()
    enroll(hq.url, code)

    with pytest.raises(HqRefused) as raised:
        enroll(hq.url, code)
    assert (raised.value.status, raised.value.message) == (403, CODE_REFUSED)


def test_enrolment_with_a_malformed_answer_is_unavailable(hq: FakeHq) -> None:
    hq.answer_next(1, 200, body={"store_id": "s", "kiosk_id": "k"}, path="/v1/enroll")

    with pytest.raises(HqUnavailable, match="lacks 'token'"):
        enroll(hq.url, hq.issue_code())


def test_enrolment_refuses_plain_http_to_another_machine() -> None:
    with pytest.raises(ValueError, match="must use https"):
        enroll("http://hq.example.com", "7KQ2-M9XD-4HRT")


def test_a_heartbeats_answer_brings_hqs_hints_when_it_has_them(
    hq: FakeHq, client: HqClient
) -> None:
    answer = {"next_in": 60, "commands": [], "content_etag": '"abc"', "feed_version": 12}
    hq.answer_next(1, 200, body=answer, path="/v1/heartbeat")
    assert client.post_heartbeat({}).hints == HqHints('"abc"', 12)
    hq.answer_next(1, 200, body={**answer, "content_etag": None}, path="/v1/heartbeat")
    assert client.post_heartbeat({}).hints == HqHints(None, 12)  # no release for the kiosk
    hq.answer_next(1, 200, body={"next_in": 60, "commands": []}, path="/v1/heartbeat")
    assert client.post_heartbeat({}).hints is None  # an HQ from before hints


@pytest.mark.parametrize(
    "hints",
    [
        {"content_etag": 7, "feed_version": 1},
        {"content_etag": None, "feed_version": -1},
        {"content_etag": None, "feed_version": "1"},
        {"content_etag": None, "feed_version": True},
    ],
)
def test_malformed_hints_make_the_answer_malformed(
    hq: FakeHq, client: HqClient, hints: dict[str, Any]
) -> None:
    hq.answer_next(1, 200, body={"next_in": 60, **hints}, path="/v1/heartbeat")
    with pytest.raises(HqUnavailable, match="heartbeat answer is malformed"):
        client.post_heartbeat({})
