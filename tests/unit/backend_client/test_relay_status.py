"""The status line the relay process writes to the kiosk: round trip and bad lines."""

from __future__ import annotations

from datetime import UTC

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend_client.relay_process import decode_status, encode_status
from backend_client.sync import SyncState, SyncStatus

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
