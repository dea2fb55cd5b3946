"""kill -9 the kiosk's relay child during a download: the next child resumes with a Range
request and no byte moves twice (counted at the server)."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.bundles import sample_bundle, write_file
from helpers.content_server import ContentHq, bundle_files
from helpers.pickup import wait_until

from backend_client.credentials import save_credentials
from backend_client.relay_process import RelayProcess
from backend_client.status import ContentStatus

pytestmark = pytest.mark.slow

BLOB_BYTES = 6 * 1024 * 1024 + 12_345  # not a multiple of anything the client reads
HELD_AT = 2 * 1024 * 1024  # whole 64 KiB chunks: the client has written all it received


class ContentLines:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seen: list[ContentStatus] = []

    def __call__(self, status: ContentStatus) -> None:
        with self._lock:
            self.seen.append(status)

    def staged(self, name: str) -> bool:
        with self._lock:
            return any(name in status.staged for status in self.seen)


@pytest.fixture
def content_hq() -> Iterator[ContentHq]:
    hq = ContentHq.start()
    try:
        yield hq
    finally:
        hq.stop()


def test_a_download_killed_midway_resumes_and_no_byte_moves_twice(
    content_hq: ContentHq, tmp_path: Path
) -> None:
    bundle = sample_bundle(tmp_path / "bundle", release="hq-1")
    blob = os.urandom(BLOB_BYTES)
    write_file(bundle, "media/loop.bin", blob)  # a large asset, listed in the manifest
    content_hq.publish(bundle, release=1)
    content_hq.hold_after = HELD_AT
    data = tmp_path / "kiosk"
    save_credentials(data, content_hq.credentials())
    lines = ContentLines()
    relay = RelayProcess(data, on_content=lines, restart_delay=0.2, content_interval=0.5)
    relay.start()
    try:
        assert content_hq.held.wait(60), "the download never reached the hold"
        blob_sha = next(f["sha256"] for f in bundle_files(bundle) if f["path"] == "media/loop.bin")
        partial = data / "content" / "assets" / ".partial" / blob_sha
        wait_until(
            lambda: partial.exists() and partial.stat().st_size == HELD_AT,
            timeout=30,
            what="the received bytes on disk",
        )
        first = relay.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        wait_until(lambda: relay.pid not in (None, first), timeout=30, what="a new relay child")
        content_hq.hold_after = None
        content_hq.release_hold.set()  # the killed child's answer ends without another byte

        wait_until(lambda: lines.staged("hq-1"), timeout=60, what="release hq-1 staged")
    finally:
        relay.stop()

    blob_requests = [r for r in content_hq.asset_requests if r.sha256 == blob_sha]
    assert [(r.range_start, r.status, r.bytes_sent) for r in blob_requests] == [
        (None, 200, HELD_AT),
        (HELD_AT, 206, BLOB_BYTES - HELD_AT),
    ]
    assert blob_requests[1].if_range == f'"{blob_sha}"'
    # Across both children, every asset's bytes crossed the wire exactly once.
    for entry in bundle_files(bundle):
        assert content_hq.bytes_sent(entry["sha256"]) == entry["size"], entry["path"]
    assert (data / "content" / "releases" / "hq-1" / "media" / "loop.bin").read_bytes() == blob
    assert relay.spawned == 2
