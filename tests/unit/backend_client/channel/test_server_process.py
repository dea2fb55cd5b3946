"""The kiosk's serve command line: advertised on the LAN, not on loopback; content passed."""

from __future__ import annotations

from pathlib import Path

from backend_client.channel.server_process import DEFAULT_HOST, ServerOptions


def test_a_server_on_every_address_is_advertised_and_reads_the_content_store() -> None:
    options = ServerOptions(Path("/d"), "s", "k", content=Path("/d/content"))
    command = options.command()
    assert command[1:4] == ["-m", "backend_client.channel.serve", "--exit-with-stdin"]
    assert command[4:] == [
        "--data-dir", "/d", "--store", "s", "--kiosk", "k", "--content", "/d/content",
        "--host", DEFAULT_HOST, "--port", "8765", "--advertise",
    ]  # fmt: skip


def test_a_server_on_loopback_is_not_advertised_unless_asked() -> None:
    for host in ("127.0.0.1", "::1", "localhost"):
        assert "--advertise" not in ServerOptions(Path("/d"), "s", "k", host=host).command()
    asked = ServerOptions(Path("/d"), "s", "k", host="127.0.0.1", advertise=True)
    assert "--advertise" in asked.command()
    assert "--content" not in asked.command()
