"""A scripted HQ over real HTTP on loopback, for fault injection in kiosk-side tests.

It speaks docs/hq-api.md well enough for the relay and the enrol command (tokens,
one-time codes, per-event verdicts, duplicates by event id, contiguous_seq), and
can be told to misbehave:

    with running_fake_hq() as hq:
        credentials = hq.add_kiosk()
        hq.answer_next(2, 503, headers={"Retry-After": "1"})   # then normal again
        hq.reject(event_id, "payload.slot: must be >= 1")     # that event: "rejected"
        hq.refuse_batches_with(event_id)                         # any batch holding it: 422
        hq.delay = 0.5                                           # before every answer
        hq.go_down(); ...; hq.come_up()                          # stop / resume listening

`running_fake_hq(tls_directory)` serves https with a self-signed certificate for
127.0.0.1; `hq.ca_bundle` is the file a client must trust to verify it.

Every request is recorded (arrival time, path, size, token, seqs) for assertions.
The real HQ is tested against the same contract in hq/'s own tests.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import secrets
import socket
import ssl
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from backend_client.credentials import Credentials

STORE_ID = "sh-nanjing-road"
KIOSK_ID = "sh-nanjing-road-k1"
CODE_REFUSED = "enrolment code is unknown, already used or expired"


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    at: float  # time.monotonic() on arrival
    method: str
    path: str
    size: int  # bytes of body
    token: str | None  # the bearer token sent, if any
    seqs: tuple[int, ...] = ()  # for /v1/events: the seqs of the events, in order


@dataclass(frozen=True, slots=True)
class ScriptedAnswer:
    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


def _normalise_code(code: str) -> str:
    return "".join(code.split()).replace("-", "").upper()


class FakeHq:
    """HQ on 127.0.0.1 and a free port; `url` is its base URL."""

    def __init__(self, tls_directory: Path | None = None) -> None:
        self.ca_bundle: Path | None = None
        self._tls: ssl.SSLContext | None = None
        if tls_directory is not None:
            self.ca_bundle, key = self_signed_certificate(tls_directory)
            self._tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self._tls.load_cert_chain(self.ca_bundle, key)
        self._lock = threading.Lock()
        self._port = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()
        self._connections: set[socket.socket] = set()
        self._tokens: dict[str, tuple[str, str]] = {}
        self._codes: dict[str, tuple[str, str]] = {}
        self._script: dict[str, deque[ScriptedAnswer]] = {}
        self._rejections: dict[str, str] = {}
        self._refusals: set[str] = set()
        self._seq_owner: dict[tuple[str, int], str] = {}  # (kiosk, seq) -> event id
        self.events: dict[str, dict[str, Any]] = {}  # event id -> event, in arrival order
        self.requests: list[RecordedRequest] = []
        self.enrolled_names: list[str | None] = []
        self.kiosk_numbers = 0  # the last kiosk_no handed out
        self.delay = 0.0  # seconds to wait before answering any request

    # --- running ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        scheme = "http" if self._tls is None else "https"
        return f"{scheme}://127.0.0.1:{self._port}"

    def start(self) -> None:
        self.come_up()

    def come_up(self) -> None:
        """Listen (again, on the same port)."""
        assert self._server is None, "already up"
        server = _Server(("127.0.0.1", self._port), self)
        if self._tls is not None:
            server.socket = self._tls.wrap_socket(server.socket, server_side=True)
        self._port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def go_down(self) -> None:
        """Stop listening and cut open connections: clients get 'connection refused'."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._server = self._thread = None
        server.shutdown()
        server.server_close()
        thread.join(5)
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._closing.set()
        self.go_down()

    # --- kiosks ----------------------------------------------------------------------

    def add_kiosk(
        self, store_id: str = STORE_ID, kiosk_id: str = KIOSK_ID, token: str | None = None
    ) -> Credentials:
        """Credentials HQ accepts, as if the kiosk had enrolled."""
        token = token or secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = (store_id, kiosk_id)
        return Credentials(self.url, store_id, kiosk_id, token)

    def revoke(self, token: str) -> None:
        with self._lock:
            self._tokens.pop(token, None)

    def restore(self, credentials: Credentials) -> None:
        """Accept a revoked token again."""
        with self._lock:
            self._tokens[credentials.token] = (credentials.store_id, credentials.kiosk_id)

    def issue_code(self, store_id: str = STORE_ID, kiosk_id: str = KIOSK_ID) -> str:
        raw = secrets.token_hex(6).upper()
        code = f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"
        with self._lock:
            self._codes[_normalise_code(code)] = (store_id, kiosk_id)
        return code

    # --- scripting -------------------------------------------------------------------

    def answer_next(
        self,
        count: int,
        status: int,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | Mapping[str, Any] | None = None,
        path: str = "/v1/events",
    ) -> None:
        """Answer the next `count` requests to `path` like this, then normally again."""
        if body is None:
            body = {"detail": f"scripted {status}"}
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        with self._lock:
            queue = self._script.setdefault(path, deque())
            queue.extend(ScriptedAnswer(status, dict(headers or {}), raw) for _ in range(count))

    def reject(self, event_id: uuid.UUID | str, reason: str) -> None:
        """Answer this event as rejected, with `reason`, whenever it comes."""
        with self._lock:
            self._rejections[str(event_id)] = reason

    def refuse_batches_with(self, event_id: uuid.UUID | str) -> None:
        """Answer 422 to any batch holding this event, as HQ does for a malformed one."""
        with self._lock:
            self._refusals.add(str(event_id))

    # --- what happened ---------------------------------------------------------------

    def stored_seqs(self) -> list[int]:
        with self._lock:
            return [event["seq"] for event in self.events.values()]

    def event_requests(self) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == "/v1/events"]

    # --- answering (called on the server's threads) ----------------------------------

    def _track(self, connection: socket.socket, *, open_: bool) -> None:
        with self._lock:
            if open_:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def _answer(self, path: str, token: str | None, body: bytes) -> ScriptedAnswer:
        seqs = _seqs_of(body) if path == "/v1/events" else ()
        with self._lock:
            self.requests.append(
                RecordedRequest(time.monotonic(), "POST", path, len(body), token, seqs)
            )
            delay = self.delay
        if delay:
            self._closing.wait(delay)
        with self._lock:
            script = self._script.get(path)
            if script:
                return script.popleft()
            if path == "/v1/enroll":
                return self._enroll(body)
            if path == "/v1/events":
                return self._events(token, body)
        return _json_answer(404, {"detail": "Not Found"})

    def _enroll(self, body: bytes) -> ScriptedAnswer:
        try:
            document = json.loads(body)
            code = _normalise_code(document["code"])
        except (ValueError, KeyError, TypeError, AttributeError):
            return _invalid(["body", "code"], "Field required")
        identity = self._codes.pop(code, None)
        if identity is None:
            return _json_answer(403, {"detail": CODE_REFUSED})
        self.enrolled_names.append(document.get("name"))
        token = secrets.token_urlsafe(32)
        self._tokens[token] = identity
        store_id, kiosk_id = identity
        self.kiosk_numbers += 1
        answer = {
            "store_id": store_id,
            "kiosk_id": kiosk_id,
            "token": token,
            "kiosk_no": self.kiosk_numbers,
            "coupon_key": base64.b64encode(secrets.token_bytes(32)).decode(),
        }
        return _json_answer(200, answer)

    def _events(self, token: str | None, body: bytes) -> ScriptedAnswer:
        identity = self._tokens.get(token or "")
        if identity is None:
            return _json_answer(401, {"detail": "missing, unknown or revoked token"})
        try:
            events = _checked_events(json.loads(body))
        except (ValueError, KeyError, TypeError) as exc:
            return _invalid(["body", "events"], str(exc))
        if any((e["store_id"], e["kiosk_id"]) != identity for e in events):
            return _json_answer(403, {"detail": "an event names another store or kiosk"})
        for index, event in enumerate(events):
            if event["event_id"] in self._refusals:
                return _invalid(["body", "events", index, "payload"], "scripted refusal")
        kiosk = identity[1]
        results = []
        for event in events:
            event_id, seq = event["event_id"], event["seq"]
            status, reason = "accepted", None
            owner = self._seq_owner.get((kiosk, seq))
            if event_id in self._rejections:
                status, reason = "rejected", self._rejections[event_id]
                self._seq_owner.setdefault((kiosk, seq), event_id)
            elif event_id in self.events:
                status = "duplicate"
            elif owner is not None and owner != event_id:
                status, reason = "rejected", f"seq {seq} already used by another event"
            else:
                self.events[event_id] = event
                self._seq_owner[(kiosk, seq)] = event_id
            results.append({"event_id": event_id, "seq": seq, "status": status, "reason": reason})
        contiguous = 0
        while (kiosk, contiguous + 1) in self._seq_owner:
            contiguous += 1
        return _json_answer(200, {"results": results, "contiguous_seq": contiguous})


def _checked_events(document: Any) -> list[dict[str, Any]]:
    events = document["events"]
    if not isinstance(events, list) or not 1 <= len(events) <= 500:
        raise ValueError("events must be a list of 1 to 500")
    for event in events:
        uuid.UUID(event["event_id"])
        for name in ("store_id", "kiosk_id", "kind"):
            if not isinstance(event[name], str):
                raise TypeError(f"{name} must be a string")
        if not isinstance(event["seq"], int) or event["seq"] < 1:
            raise ValueError("seq must be an integer >= 1")
        if not isinstance(event["schema_version"], int):
            raise TypeError("schema_version must be an integer")
        if datetime.fromisoformat(event["occurred_at"]).utcoffset() is None:
            raise ValueError("occurred_at needs a UTC offset")
        if not isinstance(event["payload"], dict):
            raise TypeError("payload must be an object")
    return events


def _seqs_of(body: bytes) -> tuple[int, ...]:
    try:
        return tuple(int(event["seq"]) for event in json.loads(body)["events"])
    except (ValueError, KeyError, TypeError):
        return ()


def _json_answer(status: int, document: Any) -> ScriptedAnswer:
    return ScriptedAnswer(status, {}, json.dumps(document).encode())


def _invalid(loc: list[str | int], msg: str) -> ScriptedAnswer:
    return _json_answer(422, {"detail": [{"loc": loc, "msg": msg, "type": "value_error"}]})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True  # come_up() binds the same port again at once

    def __init__(self, address: tuple[str, int], fake: FakeHq) -> None:
        self.fake = fake
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client or go_down() cutting a connection is part of the script


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real HQ behind uvicorn does
    server: _Server

    @property
    def fake(self) -> FakeHq:
        return self.server.fake

    def setup(self) -> None:
        super().setup()
        self.fake._track(self.connection, open_=True)

    def finish(self) -> None:
        self.fake._track(self.connection, open_=False)
        with suppress(OSError):
            super().finish()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        authorization = self.headers.get("Authorization") or ""
        token = (
            authorization.removeprefix("Bearer ") if authorization.startswith("Bearer ") else None
        )
        answer = self.fake._answer(self.path, token, body)
        try:
            self.send_response(answer.status)
            headers = {"Content-Type": "application/json", **answer.headers}
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)
        except OSError:
            self.close_connection = True  # the client or go_down() cut the line

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests read `requests` instead


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key: (cert.pem, key.pem)."""
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake HQ")])
    now = datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@contextmanager
def running_fake_hq(tls_directory: Path | None = None) -> Iterator[FakeHq]:
    """A started FakeHq; https with a throwaway certificate in `tls_directory` if given."""
    hq = FakeHq(tls_directory)
    hq.start()
    try:
        yield hq
    finally:
        hq.close()
