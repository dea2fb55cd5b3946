"""Publishing content at a test HQ from the test process, and reading what kiosks get.

    publisher = Publisher(hq.settings)
    release = publisher.publish(bundle, "store:" + kiosk.store_id)
    payload = manifest_payload(answer.json(), kiosk.content_key)

The publisher uses HQ's own data directory (asset store, content keys) and
database, as `kiosk-hq content publish` beside a running HQ does.
"""

from __future__ import annotations

import io
import json
import tarfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hq.content import releases
from hq.content.assets import DirectoryAssetStore
from hq.content.signing import ContentKeys, verify_envelope
from hq.db import Database
from hq.settings import Settings


class Publisher:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.assets = DirectoryAssetStore(settings.assets_dir)
        self.keys = ContentKeys(settings.content_key_dir)

    def publish(self, folder: Path, target: str = "all", **kwargs: Any) -> releases.ReleaseInfo:
        kwargs.setdefault("now", datetime.now(UTC))
        kwargs.setdefault("by", "test")
        database = Database(self.settings.database_url)
        try:
            return releases.publish_folder(
                database, self.assets, self.keys, folder, target=target, **kwargs
            ).release
        finally:
            database.dispose()

    def revoke(self, release_id: int) -> releases.Revocation:
        database = Database(self.settings.database_url)
        try:
            return releases.revoke(database, release_id, by="test", now=datetime.now(UTC))
        finally:
            database.dispose()


def manifest_payload(document: dict[str, Any], pinned: bytes | None) -> dict[str, Any]:
    """The manifest inside a served envelope, checked as a kiosk checks it."""
    assert pinned is not None, "the kiosk pinned no content key at enrolment"
    payload: dict[str, Any] = json.loads(verify_envelope(document, pinned))
    return payload


def tar_gz(folder: Path, *, top: str | None = "bundle") -> bytes:
    """The folder as a .tar.gz archive, under `top`/ (or at the root)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.add(folder, arcname=top or ".")
    return buffer.getvalue()
