"""A CRM's API on loopback for the CRM connectors' tests: replays recorded answers,
records every request. The SMS providers' tests (hq/sms) use it the same way, with
the answers in tests/data/sms (`recorded(..., data=SMS_DATA)`).

Answers are the recorded responses in tests/data/crm/<crm>/<name>.json, each
`{"status": 200, "headers": {...}, "body": ...}`; `{{key}}` in a file is replaced
by the value given for it (a customer id HQ made up).

    with CrmServer() as crm:
        crm.script("POST", "/crm/v3/objects/contacts/search", recorded("hubspot", "search_none"))
        crm.script("POST", "/crm/v3/objects/contacts/batch/upsert",
                   recorded("hubspot", "rate_limited"), times=1)     # then the default
        crm.script("POST", "/crm/v3/objects/contacts/batch/upsert", echo_upsert)  # a function
        ...
        crm.received                       # every request: method, path, query, headers, body

A route is a method and a path prefix (the longest scripted prefix wins). Scripted
answers with `times` are used up first, in order; the last one without is the
default. A request nothing answers gets 599 and fails the test loudly.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

DATA: Final = Path(__file__).resolve().parents[1] / "data" / "crm"
SMS_DATA: Final = DATA.parent / "sms"


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None


@dataclass(frozen=True, slots=True)
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any  # JSON, a form as a dict, or None

    @property
    def json_inputs(self) -> list[dict[str, Any]]:
        inputs: list[dict[str, Any]] = self.body["inputs"]
        return inputs


Responder = Answer | Callable[[Received], Answer]


def recorded(crm: str, name: str, *, data: Path = DATA, **values: str) -> Answer:
    """The recorded answer tests/data/crm/<crm>/<name>.json (or under `data`),
    `{{key}}` filled in."""
    text = (data / crm / f"{name}.json").read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    document = json.loads(text)
    return Answer(document["status"], document.get("headers", {}), document.get("body"))


class CrmServer:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self._scripted: dict[tuple[str, str], deque[tuple[Responder, int | None]]] = {}
        self._defaults: dict[tuple[str, str], Responder] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        # A short poll: shutdown() waits for it, at the end of every test.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> CrmServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def script(
        self, method: str, path: str, answer: Responder, *, times: int | None = None
    ) -> None:
        with self._lock:
            if times is None:
                self._defaults[(method, path)] = answer
            else:
                self._scripted.setdefault((method, path), deque()).append((answer, times))

    def requests_to(self, method: str, path: str) -> list[Received]:
        return [r for r in self.received if r.method == method and r.path.startswith(path)]

    def forget(self) -> None:
        with self._lock:
            self.received.clear()

    def _answer(self, request: Received) -> Answer:
        with self._lock:
            self.received.append(request)
            routes = [
                key
                for key in {*self._scripted, *self._defaults}
                if key[0] == request.method and request.path.startswith(key[1])
            ]
            if not routes:
                return Answer(599, body={"error": f"unscripted {request.method} {request.path}"})
            route = max(routes, key=lambda key: len(key[1]))
            queue = self._scripted.get(route)
            responder: Responder | None = None
            if queue:
                responder, times = queue[0]
                if times is not None and times <= 1:
                    queue.popleft()
                elif times is not None:
                    queue[0] = (responder, times - 1)
            else:
                responder = self._defaults.get(route)
            if responder is None:
                return Answer(
                    599, body={"error": f"no answer left for {request.method} {request.path}"}
                )
        return responder(request) if callable(responder) else responder

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else headers and body wait for a delayed ACK

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                content_type = self.headers.get("Content-Type") or ""
                body: Any = None
                if raw and "json" in content_type:
                    body = json.loads(raw)
                elif raw and "form" in content_type:
                    body = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                split = urlsplit(self.path)
                request = Received(
                    self.command,
                    split.path,
                    parse_qs(split.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                answer = server._answer(request)
                data = b"" if answer.body is None else json.dumps(answer.body).encode()
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                if data:
                    self.send_header("Content-Type", "application/json;charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
