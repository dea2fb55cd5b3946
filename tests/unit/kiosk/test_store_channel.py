"""Live messages for store staff, over a real UDP socket on loopback."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator

import pytest
from helpers.udp import udp_listener

from kiosk.store_channel import ChannelAddress, StoreChannel


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    with udp_listener() as sock:
        yield sock


def test_a_message_arrives_as_one_json_datagram_naming_store_and_kiosk(
    listener: socket.socket,
) -> None:
    channel = StoreChannel(
        ChannelAddress(*listener.getsockname()), store_id="store-1", kiosk_id="k-3"
    )
    channel.publish("survey_answer", {"score": 1, "low": True}, alert=True)
    message = json.loads(listener.recv(2048))
    channel.close()
    assert message["v"] == 1
    assert (message["store_id"], message["kiosk_id"]) == ("store-1", "k-3")
    assert (message["kind"], message["alert"]) == ("survey_answer", True)
    assert message["payload"] == {"score": 1, "low": True}


def test_a_message_too_large_for_one_datagram_is_not_sent_and_says_so(
    listener: socket.socket, caplog: pytest.LogCaptureFixture
) -> None:
    channel = StoreChannel(ChannelAddress(*listener.getsockname()), store_id="s", kiosk_id="k")
    with caplog.at_level(logging.ERROR, logger="kiosk.store_channel"):
        channel.publish("survey_answer", {"choices": ["x" * 50] * 40}, alert=False)
    channel.publish("survey_answer", {"score": 4}, alert=False)
    assert json.loads(listener.recv(2048))["payload"] == {"score": 4}  # the next one goes
    channel.close()
    assert "too large" in caplog.text


def test_an_unreachable_network_is_logged_once_and_never_raises(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Port 0 cannot be sent to: the OS refuses every datagram at once.
    channel = StoreChannel(ChannelAddress("127.0.0.1", 0), store_id="s", kiosk_id="k")
    with caplog.at_level(logging.WARNING, logger="kiosk.store_channel"):
        for _ in range(5):
            channel.publish("alarm", {"slot": 3}, alert=True)
    channel.close()
    assert caplog.text.count("store channel unreachable") == 1


@pytest.mark.parametrize("text", ["239.255.42.99", "host:", ":42099", "h:99999", "h:x"])
def test_a_bad_address_is_refused_with_the_expected_shape(text: str) -> None:
    with pytest.raises(ValueError, match="HOST:PORT"):
        ChannelAddress.parse(text)
