"""The kiosk's command line: its store channel."""

from __future__ import annotations

from backend_client.channel.server_process import DEFAULT_HOST, DEFAULT_PORT
from kiosk.app import parse_args


def test_the_kiosk_serves_its_channel_on_every_address_unless_told_otherwise() -> None:
    default = parse_args([])
    assert (default.channel, default.channel_host, default.channel_port) == (
        True,
        DEFAULT_HOST,
        DEFAULT_PORT,
    )
    chosen = parse_args(["--channel-host", "127.0.0.1", "--channel-port", "0"])
    assert (chosen.channel_host, chosen.channel_port) == ("127.0.0.1", 0)
    assert parse_args(["--no-channel"]).channel is False
