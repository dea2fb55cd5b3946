"""A kiosk enrolled for the store channel, and an attendant following its real server child."""

from __future__ import annotations

import hashlib
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from backend_client.channel.client import ChannelClient, KioskEndpoint, KioskStatus
from backend_client.channel.keys import KEY_FILE, StoreKeys, write_store_key
from backend_client.channel.messages import ChannelMessage
from backend_client.credentials import Credentials, save_credentials
from helpers.pickup import wait_until

STORE = "sh-nanjing-road"
KIOSK = "sh-nanjing-road-k3"
STORE_KEY = bytes(range(32))
KIOSK_NO = 17
COUPON_KEY = hashlib.sha256(b"kiosk 17").digest()


def enrol(data: Path, *, store_key: bool = True) -> None:
    """What `kiosk enroll` leaves in `data`: credentials (HQ unreachable: the relay backs
    off) and, from an HQ with the live channel, the store key."""
    data.mkdir(parents=True, exist_ok=True)
    save_credentials(
        data, Credentials("http://127.0.0.1:9", STORE, KIOSK, "token", KIOSK_NO, COUPON_KEY)
    )
    if store_key:
        write_store_key(data, STORE_KEY)


def free_port() -> int:
    """A loopback port nobody listens on now (for a server that must come back on it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Follower:
    """An attendant: a ChannelClient following one kiosk, keeping every message in order.

    With a `qtbot`, waiting runs the Qt event loop (a kiosk in this process goes on
    working meanwhile); without, it sleeps."""

    def __init__(
        self, data: Path, port: int, kiosk: str = KIOSK, store: str = STORE, qtbot: Any = None
    ) -> None:
        self._qtbot = qtbot
        self._lock = threading.Lock()
        self._messages: list[ChannelMessage] = []
        self.statuses: list[KioskStatus] = []
        self.client = ChannelClient(
            [KioskEndpoint(kiosk, f"http://127.0.0.1:{port}")],
            StoreKeys.from_file(store, data / KEY_FILE),
            self._on_message,
            self.statuses.append,
            backoff=(0.05, 0.5),
        )

    def __enter__(self) -> Follower:
        self.client.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.client.stop()

    def _on_message(self, message: ChannelMessage) -> None:
        with self._lock:
            self._messages.append(message)

    @property
    def messages(self) -> list[ChannelMessage]:
        with self._lock:
            return list(self._messages)

    def of(self, kind: str) -> list[ChannelMessage]:
        return [m for m in self.messages if m.kind == kind]

    def wait_for(
        self,
        kind: str,
        match: Callable[[ChannelMessage], bool] = lambda _m: True,
        timeout: float = 20.0,
    ) -> ChannelMessage:
        def found() -> ChannelMessage | None:
            return next((m for m in self.of(kind) if match(m)), None)

        if self._qtbot is not None:
            self._qtbot.waitUntil(lambda: found() is not None, timeout=int(timeout * 1000))
        else:
            wait_until(found, timeout, f"a {kind} message")
        message = found()
        assert message is not None
        return message
