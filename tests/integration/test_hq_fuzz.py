"""Whatever a client sends, HQ answers it without a server error (Hypothesis)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from helpers.hq import Hq, KioskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

EXAMPLES = 40  # per backend and test: enough to find a crash class, quick enough to run always

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,  # HTTP round trips vary on a busy machine
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)

PAYLOAD_KEYS = [
    "session", "slot", "sku", "member_id", "dwell_ms", "skus", "shelf", "from", "reason",
    "phone", "region", "name", "email", "language", "purpose", "channel",
    "notice_version", "notice_sha256", "given",
]  # fmt: skip
KINDS = ["lift", "drop", "comparison", "recommendation_tap", "alarm", "member_signup", "consent"]


def _plausible(valid: Any) -> st.SearchStrategy[Any]:
    """Mostly the valid value, sometimes anything."""
    return st.one_of(st.just(valid), st.just(valid), json_values)


def events_for(kiosk: KioskClient) -> st.SearchStrategy[dict[str, Any]]:
    payload_values = st.one_of(
        json_values,
        st.uuids().map(str),
        st.sampled_from(["13912345678", "+8613912345678", "CN", "marketing", "sms", "a" * 64]),
        st.integers(min_value=-2, max_value=10),
    )
    return st.fixed_dictionaries(
        {
            "event_id": st.one_of(st.uuids().map(str), json_values),
            "store_id": _plausible(kiosk.store_id),
            "kiosk_id": _plausible(kiosk.kiosk_id),
            "seq": st.one_of(st.integers(min_value=1, max_value=2**63 - 1), json_values),
            "kind": st.one_of(st.sampled_from(KINDS), json_values),
            "schema_version": _plausible(1),
            "occurred_at": st.one_of(
                st.just("2026-11-23T09:14:03+08:00"),
                st.datetimes(timezones=st.timezones()).map(lambda moment: moment.isoformat()),
                json_values,
            ),
            "payload": st.one_of(
                st.dictionaries(st.sampled_from(PAYLOAD_KEYS), payload_values, max_size=8),
                json_values,
            ),
        }
    )


@pytest.fixture(scope="module")
def fuzz_kiosk(_shared_hq: Hq) -> Iterator[KioskClient]:
    kiosk = _shared_hq.kiosk()
    yield kiosk
    _shared_hq.close_kiosks()


def _no_server_error(answer: requests.Response) -> None:
    assert answer.status_code < 500, answer.text[:500]
    if answer.status_code in {200, 403, 422}:
        answer.json()  # always a JSON answer


def _encode(value: Any) -> bytes:
    # allow_nan: NaN and Infinity are what a careless client may send.
    return json.dumps(value, allow_nan=True).encode()


@FUZZ
@given(body=json_values)
def test_any_json_body_gets_an_answer_not_a_server_error(
    fuzz_kiosk: KioskClient, body: Any
) -> None:
    _no_server_error(fuzz_kiosk.post_raw(_encode(body)))


@FUZZ
@given(body=st.binary(max_size=200))
def test_any_bytes_get_an_answer_not_a_server_error(fuzz_kiosk: KioskClient, body: bytes) -> None:
    _no_server_error(fuzz_kiosk.post_raw(body))


@FUZZ
@given(data=st.data())
def test_batches_of_almost_valid_events_get_answers_not_server_errors(
    fuzz_kiosk: KioskClient, data: st.DataObject
) -> None:
    batch = data.draw(st.lists(events_for(fuzz_kiosk), min_size=1, max_size=5))
    answer = fuzz_kiosk.post_raw(_encode({"events": batch}))
    _no_server_error(answer)
    if answer.status_code == 200:
        results = answer.json()["results"]
        assert len(results) == len(batch)
        assert {result["status"] for result in results} <= {"accepted", "duplicate", "rejected"}


@FUZZ
@given(body=json_values)
def test_any_enrolment_request_gets_an_answer_not_a_server_error(
    fuzz_kiosk: KioskClient, body: Any
) -> None:
    answer = requests.post(
        f"{fuzz_kiosk.base_url}/v1/enroll",
        data=_encode(body),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    _no_server_error(answer)
    assert answer.status_code != 200 or not isinstance(body, float) or math.isfinite(body)
