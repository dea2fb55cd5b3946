"""The relay child's store key refresh, against a scripted HQ on loopback."""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from backend_client.channel.keys import KEY_FILE, write_store_key
from backend_client.client import HqClient
from backend_client.credentials import ChannelKey, Credentials, load_credentials, save_credentials
from backend_client.store_key_refresh import StoreKeyRefresh, held_key, needs_writing

OLD = bytes(range(32))
NEW = bytes(range(1, 33))


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


class ScriptedHq:
    """Answers GET /v1/store-channel-key with `answer` (a status and a JSON body)."""

    def __init__(self) -> None:
        self.answer: tuple[int, Any] = (200, {"key_id": 1, "key": b64(OLD), "previous": None})
        self.asked = 0
        hq = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hq.asked += 1
                status, body = hq.answer
                encoded = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(encoded)))
                self.end_headers()
                self.wfile.write(encoded)

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hq() -> Iterator[ScriptedHq]:
    scripted = ScriptedHq()
    yield scripted
    scripted.close()


def device(tmp_path: Path, hq: ScriptedHq) -> tuple[Path, Credentials]:
    data = tmp_path / "attendant"
    credentials = Credentials(
        hq_url=hq.url,
        store_id="store-a",
        kiosk_id="store-a-a1",
        token="attendant-token-0123456789",  # noqa: S106 (a test fixture)
        channel_key=ChannelKey(1, OLD),
        role="attendant",
        store_coupon_key=bytes(32),
    )
    save_credentials(data, credentials)
    write_store_key(data, OLD, keep_previous=False)
    return data, credentials


def refresher(data: Path, credentials: Credentials) -> StoreKeyRefresh:
    return StoreKeyRefresh(data, credentials, HqClient(credentials), interval=600)


def test_a_key_is_written_when_its_version_changed_or_the_file_lacks_it() -> None:
    hq_key = ChannelKey(2, NEW, OLD)
    assert needs_writing(1, OLD, hq_key)
    assert needs_writing(None, None, hq_key)
    assert needs_writing(2, OLD, hq_key)  # the file lost it (restored from a backup, say)
    assert not needs_writing(2, NEW, hq_key)


def test_the_same_version_leaves_the_file_alone(tmp_path: Path, hq: ScriptedHq) -> None:
    data, credentials = device(tmp_path, hq)
    before = (data / KEY_FILE).stat().st_mtime_ns
    refresh = refresher(data, credentials)
    try:
        assert refresh.refresh_once() is False
    finally:
        refresh.stop()
    assert hq.asked == 1
    assert (data / KEY_FILE).stat().st_mtime_ns == before


def test_a_rotated_key_is_written_with_the_old_one_kept_and_its_version_saved(
    tmp_path: Path, hq: ScriptedHq
) -> None:
    data, credentials = device(tmp_path, hq)
    hq.answer = (200, {"key_id": 2, "key": b64(NEW), "previous": b64(OLD)})
    written: list[ChannelKey] = []
    refresh = StoreKeyRefresh(
        data, credentials, HqClient(credentials), interval=600, on_written=written.append
    )
    try:
        assert refresh.refresh_once() is True
        assert refresh.refresh_once() is False  # the same answer again: nothing to do
    finally:
        refresh.stop()
    assert (data / KEY_FILE).read_text().split() == [b64(NEW), b64(OLD)]
    assert [key.key_id for key in written] == [2]
    saved = load_credentials(data)
    assert saved is not None
    assert saved.channel_key == ChannelKey(2, NEW, OLD)
    assert (saved.role, saved.store_coupon_key) == ("attendant", bytes(32))


def test_failures_are_logged_once_without_secrets_and_the_next_try_recovers(
    tmp_path: Path, hq: ScriptedHq, caplog: pytest.LogCaptureFixture
) -> None:
    data, credentials = device(tmp_path, hq)
    refresh = refresher(data, credentials)
    try:
        with caplog.at_level(logging.INFO, logger="backend_client.store_key_refresh"):
            hq.answer = (503, {"detail": "database unavailable, retry later"})
            assert refresh.refresh_once() is False
            hq.answer = (200, {"key_id": 2, "key": "not base64!", "previous": None})
            assert refresh.refresh_once() is False
            hq.answer = (200, {"key_id": 2, "key": b64(NEW), "previous": b64(OLD)})
            assert refresh.refresh_once() is True
    finally:
        refresh.stop()
    levels = [(record.levelno, record.getMessage()) for record in caplog.records]
    assert [level for level, _ in levels] == [logging.WARNING, logging.INFO, logging.INFO]
    assert "store channel key" in levels[0][1]
    text = caplog.text
    for secret in (b64(NEW), b64(OLD), credentials.token):
        assert secret not in text
    assert held_key(data) == NEW
