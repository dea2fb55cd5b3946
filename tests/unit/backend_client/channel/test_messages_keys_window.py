"""The channel's message whitelist, its keys (frames and request proofs) and its window file."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers.channel import KEY, OTHER_KEY, STORE
from pydantic import ValidationError

from backend_client.channel.keys import (
    MAX_CLOCK_SKEW_S,
    FrameError,
    ReplayGuard,
    StoreKeys,
    write_store_key,
)
from backend_client.channel.messages import ChannelMessage
from backend_client.channel.window import Window, WindowError, open_window

KIOSK = f"{STORE}-k3"
NOW = datetime(2026, 12, 6, 5, 50, tzinfo=UTC)


def _message(kind: str, data: object, seq: int = 1) -> ChannelMessage:
    return ChannelMessage.model_validate(
        {"v": 1, "store": STORE, "kiosk": KIOSK, "seq": seq, "at": "2026-12-06T05:50:00.250Z",
         "kind": kind, "alert": True, "data": data}
    )  # fmt: skip


# -- messages -------------------------------------------------------------------


def test_a_message_round_trips_through_its_wire_form() -> None:
    message = _message(
        "survey_answer",
        {"session": "3f9a01c2-14", "survey": "visit", "question": "experience",
         "kind": "smiley", "score": 1, "low": True},
    )  # fmt: skip
    assert ChannelMessage.model_validate_json(message.wire()) == message


ONE_OF_EACH_KIND = {
    "heartbeat": {"uptime_s": 15},
    "member_arrived": {"session": "s1", "greeting": "王女士", "last_viewed": ["XH-X60-256-PU"],
                       "via": "rfid"},
    "member_left": {"session": "s1"},
    "lift": {"session": "s1", "slot": 3, "sku": "XH-X60-256-PU"},
    "drop": {"session": "s1", "slot": 3, "sku": None, "dwell_ms": 4200},
    "comparison": {"session": "s1", "skus": ["XH-X60-256-PU", "LY-GT7P-1024-TI"]},
    "signup": {"session": "s1"},
    "survey_answer": {"session": "s1", "survey": "visit", "question": "q1", "kind": "nps",
                      "score": None, "low": False},
    "prize_won": {"session": "s1", "draw": "daily", "prize": "grand"},
    "coupon_issued": {"session": "s1", "campaign": "welcome"},
    "coupon_redeemed": {"code_hash": "0123456789abcdef", "by": "staff-1"},
    "alarm": {"slot": 5, "reason": "CABLE", "sku": None},
    "device": {"device": "pickup", "status": "reconnecting", "detail": "port gone"},
    "sync": {"backlog": 12, "dead_letters": 0},
    "content": {"release": "sample-16-1"},
    "ack": {"alert": "k3:1042", "by": "staff-1", "after_s": 12},
}  # fmt: skip


@pytest.mark.parametrize("kind", sorted(ONE_OF_EACH_KIND))
def test_every_kind_is_read_from_the_json_a_frame_carries(kind: str) -> None:
    document = {"v": 1, "store": STORE, "kiosk": KIOSK, "seq": 7,
                "at": "2026-12-06T05:50:00.250Z", "kind": kind, "alert": False,
                "data": ONE_OF_EACH_KIND[kind]}  # fmt: skip
    message = ChannelMessage.model_validate_json(json.dumps(document))
    assert message.model_dump(mode="json")["data"] == ONE_OF_EACH_KIND[kind]
    assert ChannelMessage.model_validate_json(message.wire()) == message


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        ("signup", {"session": "s1", "phone": "13800138000"}),  # a field no kind has
        (
            "member_arrived",
            {
                "session": "s1",
                "greeting": None,
                "last_viewed": [],
                "via": "rfid",
                "member_id": "M-1",
            },
        ),
        (
            "survey_answer",
            {
                "session": "s1",
                "survey": "v",
                "question": "q",
                "kind": "text",
                "score": None,
                "low": False,
                "text": "call me",
            },
        ),
        ("alarm", {"slot": 1, "reason": "my email is a@b.cn", "sku": None}),  # not a token
        ("member_left", {"session": "s1", "dwell_ms": 5}),  # another kind's field
        ("heartbeat", {"uptime_s": "5"}),  # strict: no coercion
    ],
)
def test_personal_data_and_stray_fields_cannot_ride_along(kind: str, data: object) -> None:
    with pytest.raises(ValidationError):
        _message(kind, data)


# -- keys -----------------------------------------------------------------------


def test_a_frame_opens_under_the_store_key_only_and_binds_kiosk_and_seq() -> None:
    keys = StoreKeys(STORE, KEY)
    message = _message("heartbeat", {"uptime_s": 5}, seq=7)
    frame = keys.seal(message)
    assert keys.open(frame) == message
    assert b"uptime" not in frame  # encrypted on the wire
    with pytest.raises(FrameError):
        StoreKeys(STORE, OTHER_KEY).open(frame)
    with pytest.raises(FrameError):
        StoreKeys("bj-wangfujing", KEY).open(frame)  # same bytes, another store
    with pytest.raises(FrameError):
        keys.open(frame.replace(b'"seq":7', b'"seq":8'))  # spliced to another seq


def test_after_a_rotation_both_keys_open_frames_and_proofs() -> None:
    old, new = StoreKeys(STORE, KEY), StoreKeys(STORE, OTHER_KEY)
    both = StoreKeys(STORE, OTHER_KEY, KEY)
    message = _message("heartbeat", {"uptime_s": 5})
    assert both.open(old.seal(message)) == message
    assert both.open(new.seal(message)) == message
    assert old.open(both.seal(message, old.current_kid)) == message
    for holder in (old, new):
        headers = {name.lower(): value for name, value in holder.prove("/p", 3, 1e9).items()}
        assert both.check_proof(headers, "/p", 3) is None
        assert both.check_proof(headers, "/p", 4) is not None  # the proof covers `after`


def test_a_replayed_or_stale_request_is_refused() -> None:
    guard = ReplayGuard()
    assert guard.admit("1000", "a" * 32, 1000.0) is None
    assert guard.admit("1000", "a" * 32, 1001.0) == "replayed request"
    assert guard.admit("1000", "b" * 32, 1000.0 + MAX_CLOCK_SKEW_S + 1) is not None
    assert guard.admit("1000", "c" * 32, 1000.0 - MAX_CLOCK_SKEW_S - 1) is not None


def test_the_key_file_is_private_and_a_rotation_keeps_the_previous_key(tmp_path: Path) -> None:
    path = write_store_key(tmp_path / "data", KEY)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    write_store_key(tmp_path / "data", OTHER_KEY)
    keys = StoreKeys.from_file(STORE, path)
    assert keys.current_kid == StoreKeys(STORE, OTHER_KEY).current_kid
    assert keys.open(StoreKeys(STORE, KEY).seal(_message("heartbeat", {"uptime_s": 1})))
    os.chmod(path, 0o644)
    with pytest.raises(Exception, match="open to group or others"):
        StoreKeys.from_file(STORE, path)


# -- window ---------------------------------------------------------------------


def test_seqs_are_never_reused_after_pruning_or_reopening(tmp_path: Path) -> None:
    window = open_window(tmp_path, store=STORE, kiosk=KIOSK)
    for n in range(3):
        window.append("heartbeat", {"uptime_s": n}, at=NOW)
    window.close()
    raw = sqlite3.connect(tmp_path / "channel.sqlite")
    with raw:
        raw.execute("DELETE FROM channel_messages")  # a window pruned to nothing
    raw.close()
    window = open_window(tmp_path, store=STORE, kiosk=KIOSK)
    assert window.append("heartbeat", {"uptime_s": 9}, at=NOW).seq == 4
    assert [m.seq for m in window.after(0)] == [4]
    window.close()


def test_after_reads_in_order_from_n(tmp_path: Path) -> None:
    window = open_window(tmp_path, store=STORE, kiosk=KIOSK)
    for n in range(10):
        window.append("heartbeat", {"uptime_s": n}, at=NOW)
    assert [m.seq for m in window.after(4, limit=3)] == [5, 6, 7]
    assert window.after(10) == []
    assert window.last_seq() == 10
    window.close()


def test_pruning_keeps_a_day_or_the_newest_count_whichever_is_more(tmp_path: Path) -> None:
    window = Window(tmp_path / "w.sqlite", store=STORE, kiosk=KIOSK, keep=(timedelta(hours=24), 5))
    for n in range(10):
        window.append("heartbeat", {"uptime_s": n}, at=NOW - timedelta(hours=30))
    window.append("heartbeat", {"uptime_s": 99}, at=NOW)
    assert window.prune(now=NOW) == 6  # the old ones beyond the newest 5
    assert [m.seq for m in window.after(0)] == [7, 8, 9, 10, 11]
    assert window.prune(now=NOW + timedelta(days=3)) == 0  # the newest 5 stay, however old
    window.close()


def test_a_message_that_is_not_whitelisted_never_enters_the_window(tmp_path: Path) -> None:
    window = open_window(tmp_path, store=STORE, kiosk=KIOSK)
    with pytest.raises(WindowError) as raised:
        window.append("signup", {"session": "s1", "phone": "13800138000"}, at=NOW)
    assert "13800138000" not in str(raised.value)
    assert raised.value.__cause__ is None  # the validation text (with the number) is dropped
    with pytest.raises(WindowError):
        window.append("device", {"device": "pickup", "status": "up", "detail": "x" * 121}, at=NOW)
    assert window.last_seq() == 0
    window.close()
