"""The status line the relay process writes to the kiosk: round trip and bad lines."""

from __future__ import annotations

from datetime import UTC

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend_client.relay_process import (
    decode_content_status,
    decode_status,
    encode_content_status,
    encode_status,
)
from backend_client.status import ContentStatus
from backend_client.sync import SyncState, SyncStatus
from content.reports import REASONS

statuses = st.builds(
    SyncStatus,
    state=st.sampled_from(SyncState),
    pending=st.integers(0, 10**9),
    dead_letters=st.integers(0, 10**6),
    last_success=st.none() | st.datetimes(timezones=st.just(UTC)),
    retry_in=st.none() | st.floats(0, 3600, allow_nan=False),
    sent_total=st.integers(0, 10**12),
)


@given(statuses)
def test_a_status_survives_the_pipe(status: SyncStatus) -> None:
    line = encode_status(status)
    assert "\n" not in line
    assert decode_status(line) == status
    assert decode_status((line + "\n").encode()) == status


@pytest.mark.parametrize(
    "line",
    [
        b"",
        b"not json\n",
        b"[1, 2]\n",
        b'{"state": "idle"}\n',
        b'{"state": "asleep", "pending": 0, "dead_letters": 0, "last_success": null,'
        b' "retry_in": null, "sent_total": 0}\n',
        b'{"state": "idle", "pending": "many", "dead_letters": 0, "last_success": null,'
        b' "retry_in": null, "sent_total": 0}\n',
        b'{"state": "idle", "pending": 0, "dead_letters": 0, "last_success": "yesterday",'
        b' "retry_in": null, "sent_total": 0}\n',
        b"\xff\xfe\n",
    ],
)
def test_a_line_that_is_not_a_status_is_a_value_error(line: bytes) -> None:
    with pytest.raises(ValueError, match=r"."):
        decode_status(line)


content_statuses = st.builds(
    ContentStatus,
    staged=st.lists(st.integers(1, 10**6).map(lambda n: f"hq-{n}"), max_size=3).map(tuple),
    downloading=st.none()
    | st.tuples(st.integers(1, 10**6), st.integers(0, 10**10), st.integers(0, 10**10)),
    last_failure=st.none()
    | st.tuples(st.none() | st.integers(1, 10**6), st.sampled_from(sorted(REASONS))),
)


@given(content_statuses)
def test_a_content_status_survives_the_pipe(status: ContentStatus) -> None:
    line = encode_content_status(status)
    assert "\n" not in line
    assert decode_content_status((line + "\n").encode()) == status


def test_content_lines_and_sync_lines_are_told_apart() -> None:
    content = encode_content_status(ContentStatus(("hq-2",), (3, 10, 100), None))
    sync = encode_status(SyncStatus(SyncState.IDLE, 0, 0, None, None, 0))

    with pytest.raises(ValueError, match=r"."):
        decode_content_status(sync)
    with pytest.raises(ValueError, match=r"."):
        decode_status(content)


@pytest.mark.parametrize(
    "line",
    [
        b"",
        b"[1]",
        b'{"kind": "content"}',
        b'{"kind": "content", "staged": [], "downloading": [1], "last_failure": null}',
        b"\xff",
    ],
)
def test_a_line_that_is_not_a_content_status_is_a_value_error(line: bytes) -> None:
    with pytest.raises(ValueError, match=r"."):
        decode_content_status(line)
