"""HQ's content endpoints, small and real, on loopback: for the kiosk updater's tests and bench.

Serves the contract of docs/content-releases.md (plan: /work/issue16-plan.md):
the signed manifest with ETag / 304, assets by SHA-256 with Range / If-Range /
416, and the kiosk's status POST; it counts every byte of every asset answer,
so a test can tell that nothing moved twice.

    hq = ContentHq.start()
    hq.publish(bundle_dir, release=1)       # signed by hq.keys, for hq.store/hq.kiosk
    ...
    hq.asset_requests                       # (sha, range start, status, bytes sent) each
    hq.statuses                             # the bodies kiosks POSTed
    hq.stop()

`ContentKeys` is HQ's signing key chain (rotate: a new key endorsed by the old).
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from backend_client.credentials import Credentials
from backend_client.release_manifest import ENDORSEMENT_PREFIX, key_id

TOKEN: Final = "content-kiosk-token-0123"  # noqa: S105 (a test fixture)
STORE: Final = "S001"
KIOSK: Final = "S001-k1"
NOW: Final = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
_CHUNK: Final = 64 * 1024


def raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass
class ContentKeys:
    """HQ's content signing keys, oldest first; the last one signs."""

    private: list[Ed25519PrivateKey] = field(default_factory=lambda: [Ed25519PrivateKey.generate()])
    endorsements: list[bytes] = field(default_factory=lambda: [b""])

    @property
    def first_public(self) -> bytes:
        return raw_public(self.private[0])

    @property
    def newest_public(self) -> bytes:
        return raw_public(self.private[-1])

    def rotate(self) -> None:
        new = Ed25519PrivateKey.generate()
        self.endorsements.append(self.private[-1].sign(ENDORSEMENT_PREFIX + raw_public(new)))
        self.private.append(new)

    def chain(self) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = []
        for index, key in enumerate(self.private):
            raw = raw_public(key)
            entries.append(
                {
                    "key": base64.b64encode(raw).decode(),
                    "key_id": key_id(raw),
                    "endorsed_by": None
                    if index == 0
                    else key_id(raw_public(self.private[index - 1])),
                    "endorsement": base64.b64encode(self.endorsements[index]).decode(),
                }
            )
        return entries

    def envelope(self, payload: bytes, *, signer: Ed25519PrivateKey | None = None) -> bytes:
        """The envelope HQ serves for `payload`, signed by the newest key (or `signer`)."""
        key = signer or self.private[-1]
        return json.dumps(
            {
                "payload": base64.b64encode(payload).decode(),
                "signature": {
                    "key_id": key_id(raw_public(key)),
                    "sig": base64.b64encode(key.sign(payload)).decode(),
                },
                "keys": self.chain(),
            }
        ).encode()


def bundle_files(bundle: Path) -> list[dict[str, Any]]:
    """The `files` of a manifest for `bundle`: its manifest.json's assets."""
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    return [dict(asset) for asset in manifest["assets"]]


def manifest_payload(
    files: list[dict[str, Any]],
    *,
    release: int,
    store: str = STORE,
    kiosk: str = KIOSK,
    created_at: datetime = NOW,
    not_before: datetime | None = None,
    expires: datetime | None = None,
    bundle_release: str = "sample",
) -> bytes:
    return json.dumps(
        {
            "format": 1,
            "release": release,
            "name": f"release {release}",
            "store": store,
            "kiosk": kiosk,
            "created_at": created_at.isoformat(),
            "not_before": None if not_before is None else not_before.isoformat(),
            "expires": (expires or created_at + timedelta(days=30)).isoformat(),
            "bundle_release": bundle_release,
            "files": files,
        },
        indent=1,
    ).encode()


@dataclass
class AssetRequest:
    sha256: str
    range_start: int | None
    if_range: str | None
    status: int
    bytes_sent: int = 0


@dataclass
class ContentHq:
    """The server's state; tests change it between polls."""

    keys: ContentKeys = field(default_factory=ContentKeys)
    envelope: bytes | None = None  # what GET /v1/content/manifest answers (None: 404)
    assets: dict[str, Path] = field(default_factory=dict)  # sha256 -> file with its bytes
    served_bytes: dict[str, bytes] = field(default_factory=dict)  # sha256 -> other bytes to serve
    asset_requests: list[AssetRequest] = field(default_factory=list)
    manifest_answers: list[int] = field(default_factory=list)  # status of each manifest GET
    statuses: list[dict[str, Any]] = field(default_factory=list)
    unavailable: bool = False  # answer 503 to asset requests
    ignore_ranges: bool = False  # answer 200 with the whole file to every Range request
    # Hold an asset answer after this many body bytes until `release_hold` is set;
    # then close without another byte (`held` is set once it is holding).
    hold_after: int | None = None
    held: threading.Event = field(default_factory=threading.Event)
    release_hold: threading.Event = field(default_factory=threading.Event)
    url: str = ""
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def start(cls, keys: ContentKeys | None = None) -> ContentHq:
        hq = cls(keys=keys or ContentKeys())
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(hq))
        server.daemon_threads = True
        hq.url = f"http://127.0.0.1:{server.server_address[1]}"
        hq._server = server
        hq._thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
        hq._thread.start()
        return hq

    def stop(self) -> None:
        self.release_hold.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    def credentials(self, *, content_key: bytes | str | None = "first") -> Credentials:
        key = self.keys.first_public if content_key == "first" else content_key
        assert key is None or isinstance(key, bytes)
        return Credentials(self.url, STORE, KIOSK, TOKEN, content_key=key)

    def add_assets(self, bundle: Path) -> list[dict[str, Any]]:
        files = bundle_files(bundle)
        for entry in files:
            self.assets[entry["sha256"]] = bundle / entry["path"]
        return files

    def publish(self, bundle: Path, *, release: int, **manifest: Any) -> bytes:
        """Serve `bundle` as release `release` for this kiosk; returns the payload."""
        payload = manifest_payload(self.add_assets(bundle), release=release, **manifest)
        self.envelope = self.keys.envelope(payload)
        return payload

    def bytes_sent(self, sha256: str | None = None) -> int:
        return sum(r.bytes_sent for r in self.asset_requests if sha256 in (None, r.sha256))


def _handler(hq: ContentHq) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _authorised(self) -> bool:
            if self.headers.get("Authorization") == f"Bearer {TOKEN}":
                return True
            self._answer(401, b'{"detail": "unknown token"}')
            return False

        def _answer(
            self, status: int, body: bytes = b"", headers: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if status != 304:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body:
                self.wfile.write(body)

        def do_GET(self) -> None:
            if not self._authorised():
                return
            if self.path == "/v1/content/manifest":
                self._manifest()
            elif self.path.startswith("/v1/content/assets/"):
                self._asset(self.path.removeprefix("/v1/content/assets/"))
            else:
                self._answer(404, b'{"detail": "Not Found"}')

        def _manifest(self) -> None:
            body = hq.envelope
            if body is None:
                hq.manifest_answers.append(404)
                self._answer(404, b'{"detail": "no release for this kiosk"}')
                return
            etag = f'"{hashlib.sha256(body).hexdigest()}"'
            if self.headers.get("If-None-Match") == etag:
                hq.manifest_answers.append(304)
                self._answer(304, headers={"ETag": etag})
                return
            hq.manifest_answers.append(200)
            self._answer(
                200,
                body,
                {"ETag": etag, "Content-Type": "application/json", "Cache-Control": "no-cache"},
            )

        def _asset(self, sha256: str) -> None:
            if hq.unavailable:
                self._answer(503, b'{"detail": "busy"}', {"Retry-After": "30"})
                return
            if sha256 not in hq.assets:
                self._answer(404, b'{"detail": "unknown asset"}')
                return
            data = hq.served_bytes.get(sha256)
            if data is None:
                data = hq.assets[sha256].read_bytes()
            etag = f'"{sha256}"'
            wanted = self.headers.get("Range")
            if_range = self.headers.get("If-Range")
            start: int | None = None
            if wanted and wanted.startswith("bytes=") and wanted.endswith("-"):
                start = int(wanted.removeprefix("bytes=").removesuffix("-"))
            request = AssetRequest(sha256, start, if_range, 200)
            with hq.lock:
                hq.asset_requests.append(request)
            headers = {
                "ETag": etag,
                "Accept-Ranges": "bytes",
                "Content-Type": "application/octet-stream",
            }
            use_range = start is not None and not hq.ignore_ranges and if_range in (None, etag)
            if use_range and start is not None and start >= len(data):
                request.status = 416
                self._answer(416, b"", {"Content-Range": f"bytes */{len(data)}"})
                return
            body = data
            if use_range and start is not None:
                request.status = 206
                headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
                body = data[start:]
            self.send_response(request.status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            view = memoryview(body)
            sent = 0
            try:
                while sent < len(body):
                    if hq.hold_after is not None and request.bytes_sent >= hq.hold_after:
                        hq.held.set()
                        hq.release_hold.wait()
                        return  # the connection closes without another byte
                    step = min(_CHUNK, len(body) - sent)
                    if hq.hold_after is not None:
                        step = min(step, hq.hold_after - request.bytes_sent)
                    self.wfile.write(view[sent : sent + step])
                    sent += step
                    request.bytes_sent = sent
            except (BrokenPipeError, ConnectionResetError):
                return

        def do_POST(self) -> None:
            if not self._authorised():
                return
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length))
            if self.path != "/v1/content/status":
                self._answer(404, b'{"detail": "Not Found"}')
                return
            hq.statuses.append(body)
            accepted = [failure["id"] for failure in body.get("failures", [])]
            self._answer(
                200,
                json.dumps({"accepted": accepted}).encode(),
                {"Content-Type": "application/json"},
            )

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
