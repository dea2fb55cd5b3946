"""Each kiosk's signed manifest (docs/content-releases.md), rendered once and cached.

A manifest names the release a kiosk gets (hq.content.targeting), every file
of it with hash and size (its own planogram as planogram.json when the release
has one for it), its store and kiosk, `not_before` and `expires`; the envelope
carries it as exact bytes with HQ's Ed25519 signature and the key chain.

Every part is a function of things that do not change between polls: the
release's files and planograms never change once published, the payload has
a fixed key order and no clock in it, and Ed25519 signatures are deterministic.
`expires` is the release's own, or else rolls forward in steps: 30 days after the
release was made, moved on by 15 days whenever fewer than 15 are left. So the
same kiosk gets the same bytes, and the same ETag, from any HQ process and
after restarts, until its release, HQ's key or its 15-day step changes: polls
are answered 304 Not Modified.

The cache keeps the rendered body per kiosk with what it depends on; a poll
reads the kiosk's store labels and the releases covering it (two small queries)
and renders only when the answer changed.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Connection, select

from hq.api.common import json_bytes
from hq.content import selection
from hq.content.signing import ContentKeys, envelope
from hq.db import Database, content_releases
from hq.enrollment import KioskIdentity
from hq.wire import utc_text

FORMAT: Final = 1
PLANOGRAM: Final = "planogram.json"
DEFAULT_VALIDITY: Final = timedelta(days=30)
RENEW_WITHIN: Final = timedelta(days=15)
# A kiosk offline for two weeks still accepts the manifest it gets on its return
# (the next poll after renewal has 15 to 30 days left); playback never depends on it.
MAX_CACHED: Final = 100_000  # kiosks; a few kB each


@dataclass(frozen=True, slots=True)
class RenderedManifest:
    body: bytes
    etag: str  # quoted, as sent: "<sha256 hex of the body>"
    release_id: int


@dataclass(frozen=True, slots=True)
class _Release:
    """What the payload takes from a release row (never changes once published)."""

    name: str
    created_at: datetime
    not_before: datetime | None
    expires: datetime | None
    bundle_release: str


@dataclass(frozen=True, slots=True)
class _Cached:
    key: tuple[Any, ...]
    rendered: RenderedManifest


def default_expires(created_at: datetime, now: datetime) -> datetime:
    """30 days after `created_at`, moved on by 15-day steps until at least 15 are left."""
    expires = created_at + DEFAULT_VALIDITY
    short = now + RENEW_WITHIN - expires
    if short <= timedelta(0):
        return expires
    return expires + math.ceil(short / RENEW_WITHIN) * RENEW_WITHIN


def payload_bytes(
    *,
    release_id: int,
    release: _Release,
    bundle_release: str,
    store_id: str,
    kiosk_id: str,
    expires: datetime,
    files: list[tuple[str, str, int]],
) -> bytes:
    document = {
        "format": FORMAT,
        "release": release_id,
        "name": release.name,
        "store": store_id,
        "kiosk": kiosk_id,
        "created_at": utc_text(release.created_at),
        "not_before": utc_text(release.not_before),
        "expires": utc_text(expires),
        "bundle_release": bundle_release,
        "files": [{"path": path, "sha256": sha256, "size": size} for path, sha256, size in files],
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


class ManifestService:
    """Renders and caches manifests for one HQ process (thread-safe)."""

    def __init__(self, database: Database, keys: ContentKeys) -> None:
        self._database = database
        self._keys = keys
        self._lock = threading.Lock()
        self._by_kiosk: dict[str, _Cached] = {}
        self._releases: dict[int, _Release] = {}
        self._files: dict[int, list[tuple[str, str, int]]] = {}

    def for_kiosk(self, kiosk: KioskIdentity, *, now: datetime) -> RenderedManifest | None:
        """The kiosk's manifest now; None when no release is for it."""
        with self._database.read() as connection:
            return self.for_kiosk_on(connection, kiosk, now=now)

    def for_kiosk_on(
        self, connection: Connection, kiosk: KioskIdentity, *, now: datetime
    ) -> RenderedManifest | None:
        """`for_kiosk` on a connection the caller holds (the API's, which checked the token)."""
        chosen = selection.kiosk_release(connection, kiosk.store_id)
        if chosen is None:
            return None
        release = self._release(connection, chosen.release_id)
        # A revocation carries the files, and so the bundle, of an earlier release.
        source = self._release(connection, chosen.content_release_id)
        chain = self._keys.chain()
        expires = release.expires or default_expires(release.created_at, now)
        key = (chosen.release_id, chosen.content_release_id, chain[-1].key_id, expires)
        with self._lock:
            cached = self._by_kiosk.get(kiosk.kiosk_id)
        if cached is not None and cached.key == key:
            return cached.rendered
        files = list(self._files_of(connection, chosen.content_release_id))
        planogram = selection.planogram_of(connection, chosen.content_release_id, kiosk.kiosk_id)
        if planogram is not None:
            files = sorted(
                [entry for entry in files if entry[0] != PLANOGRAM] + [(PLANOGRAM, *planogram)]
            )
        payload = payload_bytes(
            release_id=chosen.release_id,
            release=release,
            bundle_release=source.bundle_release,
            store_id=kiosk.store_id,
            kiosk_id=kiosk.kiosk_id,
            expires=expires,
            files=files,
        )
        signature, signed_chain = self._keys.sign(payload)
        body = json_bytes(envelope(payload, signature, signed_chain))
        rendered = RenderedManifest(
            body, f'"{hashlib.sha256(body).hexdigest()}"', chosen.release_id
        )
        with self._lock:
            if len(self._by_kiosk) >= MAX_CACHED:
                self._by_kiosk.clear()  # rare: far more kiosks than a chain has
            self._by_kiosk[kiosk.kiosk_id] = _Cached(key, rendered)
        return rendered

    def _release(self, connection: Connection, release_id: int) -> _Release:
        with self._lock:
            found = self._releases.get(release_id)
        if found is not None:
            return found
        row = connection.execute(
            select(
                content_releases.c.name,
                content_releases.c.created_at,
                content_releases.c.not_before,
                content_releases.c.expires,
                content_releases.c.bundle_release,
            ).where(content_releases.c.release_id == release_id)
        ).one()
        found = _Release(row.name, row.created_at, row.not_before, row.expires, row.bundle_release)
        with self._lock:
            self._releases[release_id] = found
        return found

    def _files_of(self, connection: Connection, release_id: int) -> list[tuple[str, str, int]]:
        with self._lock:
            found = self._files.get(release_id)
        if found is None:
            found = selection.files_of(connection, release_id)
            with self._lock:
                if len(self._files) > 1_000:
                    self._files.clear()
                self._files[release_id] = found
        return found
