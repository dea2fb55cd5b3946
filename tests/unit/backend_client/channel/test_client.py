"""The attendant client against scripted kiosks on loopback: what a broken or hostile
kiosk sends gets it reported FAULTY, and the store's other kiosks keep flowing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from helpers.channel import KEY, OTHER_KEY, OTHER_STORE, STORE, Feed, ScriptedKiosk, event
from helpers.pickup import wait_until

from backend_client.channel.client import ChannelClient, KioskState
from backend_client.channel.keys import StoreKeys
from backend_client.channel.messages import ChannelMessage

ROGUE, GOOD = f"{STORE}-k7", f"{STORE}-k1"
KEYS = StoreKeys(STORE, KEY)


def message(kiosk: str, seq: int, store: str = STORE) -> ChannelMessage:
    return ChannelMessage.model_validate(
        {"v": 1, "store": store, "kiosk": kiosk, "seq": seq, "at": "2026-12-06T05:50:00.250Z",
         "kind": "heartbeat", "alert": False, "data": {"uptime_s": seq}}
    )  # fmt: skip


@pytest.fixture
def good() -> Iterator[ScriptedKiosk]:
    kiosk = ScriptedKiosk(
        lambda after: b"".join(
            event(KEYS.seal(message(GOOD, seq))) for seq in (1, 2, 3) if seq > after
        )
    )
    yield kiosk
    kiosk.close()


def sealed(*seqs: int, keys: StoreKeys = KEYS, store: str = STORE, kiosk: str = ROGUE) -> bytes:
    return b"".join(event(keys.seal(message(kiosk, seq, store))) for seq in seqs)


_CAPTURED = KEYS.seal(message(ROGUE, 1))

FAULTS = {
    "garbage": b"hello, this is not an event stream\n\n",
    "malformed frame": b"data: {not json\n\n",
    "frame of 1 MB": b"data: " + b"A" * 1_000_000 + b"\n\n",
    "1 MB without a newline": b"B" * 1_000_000,
    "another store's key": sealed(1, keys=StoreKeys(OTHER_STORE, OTHER_KEY), store=OTHER_STORE),
    # Sealed with our key bytes but for another store: the store is bound in too.
    "another store's message": sealed(1, keys=StoreKeys(OTHER_STORE, KEY), store=OTHER_STORE),
    "out of order": sealed(1, 3, 2),
    "a captured frame replayed": event(_CAPTURED) + sealed(2) + event(_CAPTURED),
    "another kiosk's frame": sealed(1, kiosk=GOOD),
    "flood of keepalives": b": keepalive\n\n" * 5_000,
    "flood of messages": sealed(*range(1, 2_001)),
}  # fmt: skip


@pytest.mark.parametrize("body", FAULTS.values(), ids=FAULTS.keys())
def test_a_kiosk_that_sends_what_no_kiosk_sends_is_faulty_and_the_others_flow(
    body: bytes, good: ScriptedKiosk
) -> None:
    rogue = ScriptedKiosk(body)
    feed = Feed()
    client = ChannelClient(
        [rogue.endpoint(ROGUE), good.endpoint(GOOD)], KEYS, feed.on_message, feed.on_status,
        flood=(100.0, 1_000), fault_backoff=30.0,
    )  # fmt: skip
    client.start()
    try:
        feed.wait_state(ROGUE, KioskState.FAULTY)
        wait_until(lambda: feed.has(GOOD, 3), 10, "the good kiosk's messages")
    finally:
        client.stop()
        rogue.close()
    assert feed.of(GOOD) == [1, 2, 3]
    # Nothing out of order or repeated reached the attendant.
    assert feed.of(ROGUE) == sorted(set(feed.of(ROGUE)))
    assert rogue.requests == 1  # a faulty kiosk is not hammered with retries


def test_a_quiet_kiosk_with_good_frames_is_live_and_not_faulty(good: ScriptedKiosk) -> None:
    feed = Feed()
    client = ChannelClient([good.endpoint(GOOD)], KEYS, feed.on_message, feed.on_status)
    client.start()
    try:
        wait_until(lambda: feed.has(GOOD, 3), 10, "the messages")
    finally:
        client.stop()
    assert feed.states(GOOD) == [KioskState.CONNECTING, KioskState.LIVE]


def test_a_client_resumes_after_its_last_seq(good: ScriptedKiosk) -> None:
    feed = Feed()
    client = ChannelClient(
        [good.endpoint(GOOD)], KEYS, feed.on_message, feed.on_status, resume={GOOD: 2}
    )
    client.start()
    try:
        wait_until(lambda: feed.has(GOOD, 1), 10, "the message after 2")
    finally:
        client.stop()
    assert feed.of(GOOD) == [3]  # 1 and 2 were shown before the restart: not again
    assert client.last_seq(GOOD) == 3
