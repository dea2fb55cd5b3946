"""Keeps `<data dir>/store.key` in step with HQ's store channel key, on a thread.

HQ rotates a store's live-channel key with `kiosk-hq store rotate-channel-key`
and then answers the new key, and the one before it as `previous`, at
`GET /v1/store-channel-key`. The relay child of every kiosk and attendant device
asks at start and every `interval` seconds (10 minutes by default); when HQ's key
version differs from the one this device holds, or `store.key` does not hold
HQ's key, it writes `store.key` (the new key first, HQ's previous one second, so
devices that have not asked yet keep talking) and records the version in
`hq.json`. The channel server reads `store.key` again when it changes.

A failure is logged once (the reason HQ's client gives: no key, no token) and
the recovery once; the next try is at the next interval.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Final

from backend_client.channel.keys import KEY_FILE, StoreKeyError, write_store_key
from backend_client.client import HqClient, HqError
from backend_client.credentials import ChannelKey, Credentials, save_credentials
from backend_client.periodic import PeriodicThread

__all__ = ["DEFAULT_INTERVAL", "StoreKeyRefresh", "held_key", "needs_writing"]

_log = logging.getLogger("backend_client.store_key_refresh")

DEFAULT_INTERVAL: Final = 600.0
# A rotation reaches every device of the store within ten minutes; HQ keeps the old
# key working until the next rotation, so nothing stops talking meanwhile.

DEFAULT_STOP_TIMEOUT: Final = 2.0


def held_key(data_dir: Path) -> bytes | None:
    """The current key in `<data_dir>/store.key`; None if it is missing or unreadable."""
    try:
        lines = (data_dir / KEY_FILE).read_text(encoding="ascii").split()
        return base64.b64decode(lines[0], validate=True) if lines else None
    except (OSError, UnicodeDecodeError, binascii.Error):
        return None


def needs_writing(held_version: int | None, held: bytes | None, hq: ChannelKey) -> bool:
    """Whether HQ's answer must be written: another version, or a file without its key."""
    return held_version != hq.key_id or held != hq.key


class StoreKeyRefresh:
    """Refreshes the store key of the device whose data is in `data_dir` through
    `client` (which this object then owns: one thread uses it)."""

    def __init__(
        self,
        data_dir: Path,
        credentials: Credentials,
        client: HqClient,
        *,
        interval: float = DEFAULT_INTERVAL,
        on_written: Callable[[ChannelKey], None] | None = None,
    ) -> None:
        if interval <= 0:
            raise ValueError("interval must be > 0")
        self._data_dir = data_dir
        self._credentials = credentials
        self._client = client
        self._interval = interval
        self._on_written = on_written
        self._thread = PeriodicThread(
            "store-key-refresh", self.refresh_once, wait=lambda: self._interval
        )
        self._failing: str | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = DEFAULT_STOP_TIMEOUT) -> None:
        self._thread.stop(timeout)
        self._client.close()

    def refresh_once(self) -> bool:
        """Ask HQ once and write the key if it changed; whether it was written."""
        try:
            answer = self._client.get_store_channel_key()
        except HqError as exc:
            self._fail(f"HQ did not give the store channel key: {exc}")
            return False
        held = self._credentials.channel_key
        written = False
        if needs_writing(None if held is None else held.key_id, held_key(self._data_dir), answer):
            try:
                write_store_key(self._data_dir, answer.key, previous=answer.previous)
                self._credentials = dataclasses.replace(self._credentials, channel_key=answer)
                save_credentials(self._data_dir, self._credentials)
            except (OSError, StoreKeyError) as exc:
                self._fail(f"cannot write the store channel key: {type(exc).__name__}")
                return False
            _log.info("store channel key now version %d", answer.key_id)
            written = True
            if self._on_written is not None:
                self._on_written(answer)
        if self._failing is not None:
            _log.info("store channel key refresh works again")
            self._failing = None
        return written

    def _fail(self, reason: str) -> None:
        if self._failing is None:
            _log.warning("%s; trying again in %.0f s", reason, self._interval)
        self._failing = reason
