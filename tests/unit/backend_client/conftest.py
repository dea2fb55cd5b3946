"""A scripted member feed over real HTTP on loopback, for the client's and FeedSync's tests.

    def test_...(feed_hq: Any) -> None:          # FeedHq; conftest is not importable
        feed_hq.publish(entries)                 # the feed HQ answers from
        feed_hq.answer_next(503, headers=...)    # then normal again

It answers `GET /v1/members/feed` like HQ does from `feed_hq.feed` (one version
per change, `limit` per page, reset for since 0) unless an answer was scripted,
and records each request's `since`, `limit` and token. The real HQ is tested
against the same contract in tests/integration.
"""

from __future__ import annotations

import base64
import json
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from backend_client.credentials import Credentials

KEY = bytes(range(32))
TOKEN = "kiosk-token-0123456789"  # noqa: S105 (a test fixture)


@dataclass
class FeedRequest:
    since: str | None
    limit: str | None
    token: str | None


@dataclass
class FeedHq:
    """The feed as a list of changes, oldest first: (tag hash, entry or None for a removal)."""

    changes: list[tuple[str, dict[str, Any] | None]] = field(default_factory=list)
    key: bytes = KEY
    requests: list[FeedRequest] = field(default_factory=list)
    scripted: deque[tuple[int, dict[str, str], bytes]] = field(default_factory=deque)
    url: str = ""

    def credentials(self) -> Credentials:
        return Credentials(self.url, "sh-nanjing-road", "sh-nanjing-road-k1", TOKEN)

    def upsert(self, tag_hash: str, member_id: str, **fields: Any) -> None:
        entry = {
            "tag_hash": tag_hash,
            "member_id": member_id,
            "greeting_name": None,
            "last_viewed": [],
            **fields,
        }
        self.changes.append((tag_hash, entry))

    def remove(self, tag_hash: str) -> None:
        self.changes.append((tag_hash, None))

    def answer_next(
        self, status: int, body: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body or {"detail": "x"}).encode()
        self.scripted.append((status, headers or {}, raw))

    def page(self, since: int, limit: int) -> dict[str, Any]:
        version = len(self.changes)
        reset = since == 0 or since > version
        latest: dict[str, tuple[int, dict[str, Any] | None]] = {}
        for number, (tag_hash, entry) in enumerate(self.changes, start=1):
            latest[tag_hash] = (number, entry)
        rows = sorted(
            (number, tag_hash, entry)
            for tag_hash, (number, entry) in latest.items()
            if number > (0 if reset else since) and not (reset and entry is None)
        )
        more = len(rows) > limit
        rows = rows[:limit]
        return {
            "version": rows[-1][0] if more else version,
            "more": more,
            "reset": reset,
            "tag_key": base64.b64encode(self.key).decode(),
            "upserts": [entry for _, _, entry in rows if entry is not None],
            "removed": [tag_hash for _, tag_hash, entry in rows if entry is None],
        }


def _handler(hq: FeedHq) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
            authorization = self.headers.get("Authorization", "")
            token = authorization.removeprefix("Bearer ") if authorization else None
            hq.requests.append(FeedRequest(query.get("since"), query.get("limit"), token))
            if hq.scripted:
                status, headers, body = hq.scripted.popleft()
            elif parts.path != "/v1/members/feed" or token != TOKEN:
                status, headers, body = 401, {}, b'{"detail": "no"}'
            else:
                page = hq.page(int(query.get("since", "0")), int(query.get("limit", "5000")))
                status, headers, body = 200, {}, json.dumps(page).encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def feed_hq() -> Iterator[FeedHq]:
    hq = FeedHq()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(hq))
    hq.url = f"http://127.0.0.1:{server.server_address[1]}"
    # A short poll: shutdown() waits for the loop to notice.
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield hq
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
