"""HQ publishes, the kiosk's relay child downloads and stages: a real `kiosk-hq serve`,
a real enrolment (HQ's content key pinned) and the relay child as the kiosk runs it."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import signal
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from helpers.bundles import edit_json, sample_bundle, write_file
from helpers.hq_process import HqProcess
from helpers.pickup import wait_until
from helpers.wire_proxy import WireProxy

from backend_client.client import enroll
from backend_client.content_assets import PARTIAL
from backend_client.credentials import load_credentials, save_credentials
from backend_client.relay_process import RelayProcess
from backend_client.status import ContentStatus
from content.store import ContentStore

pytestmark = pytest.mark.slow

STORE = "store-content"


@pytest.fixture(scope="module")
def hq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HqProcess]:
    process = HqProcess(tmp_path_factory.mktemp("hq"))
    process.start()
    yield process
    process.stop()


class ContentLines:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seen: list[ContentStatus] = []

    def __call__(self, status: ContentStatus) -> None:
        with self._lock:
            self.seen.append(status)

    def last(self) -> ContentStatus | None:
        with self._lock:
            return self.seen[-1] if self.seen else None


def publish(hq: HqProcess, bundle: Path, to: str) -> dict[str, Any]:
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        for path in sorted(bundle.rglob("*")):
            if path.is_file():
                tar.add(path, arcname=str(path.relative_to(bundle)))
    token = (hq.data_dir / "admin-token").read_text().strip()
    answer = requests.post(
        f"{hq.base_url}/v1/admin/content/releases",
        params={"to": to, "by": "e2e"},
        data=archive.getvalue(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/x-tar"},
        timeout=60,
    )
    assert answer.status_code == 201, answer.text
    release: dict[str, Any] = answer.json()["release"]
    return release


def test_a_release_is_fetched_when_a_heartbeat_says_the_manifest_moved(
    hq: HqProcess, tmp_path: Path
) -> None:
    """At the relay's own pace the manifest is polled at start, then only every 15
    minutes while heartbeats come: the release published after start arrives because
    the heartbeat's answer carries another ETag than the kiosk holds."""
    data = tmp_path / "kiosk"
    data.mkdir()
    store_id = "store-hinted"
    save_credentials(data, enroll(hq.base_url, hq.enroll_code(store_id)))
    lines = ContentLines()
    relay = RelayProcess(data, on_content=lines, heartbeat_interval=0.3)
    relay.start()
    try:
        wait_until(lambda: lines.last() is not None, timeout=60, what="the first poll")
        release = publish(hq, sample_bundle(tmp_path / "bundle"), f"store:{store_id}")
        name = f"hq-{release['release']}"
        wait_until(  # well before the relay's own next poll (48 s at the soonest)
            lambda: (last := lines.last()) is not None and name in last.staged,
            timeout=40,
            what=f"{name} staged",
        )
    finally:
        relay.stop()


def rollout(hq: HqProcess, release: int) -> dict[str, Any]:
    token = (hq.data_dir / "admin-token").read_text().strip()
    answer = requests.get(
        f"{hq.base_url}/v1/admin/content/releases/{release}/rollout",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def test_a_release_published_at_hq_is_downloaded_and_staged_by_the_relay_child(
    hq: HqProcess, tmp_path: Path
) -> None:
    data = tmp_path / "kiosk"
    data.mkdir()
    save_credentials(data, enroll(hq.base_url, hq.enroll_code(STORE)))
    credentials = load_credentials(data)
    assert credentials is not None
    assert credentials.content_key is not None  # pinned at enrolment
    first = publish(hq, sample_bundle(tmp_path / "first"), f"store:{STORE}")

    lines = ContentLines()
    relay = RelayProcess(data, on_content=lines, content_interval=0.5)
    relay.start()
    try:
        name = f"hq-{first['release']}"
        wait_until(
            lambda: (last := lines.last()) is not None and name in last.staged,
            timeout=60,
            what=f"{name} staged",
        )
        store = ContentStore(data / "content")
        assert [s.name for s in store.staged()] == [name]
        assert store.current_release() is None  # staged, not switched: that is the kiosk's
        wait_until(
            lambda: rollout(hq, first["release"])["kiosks"][0]["ready"] == [first["release"]],
            timeout=30,
            what="HQ to hear the release is ready",
        )

        # A second release where one price changes: one small document moves.
        second_bundle = sample_bundle(tmp_path / "second")
        edit_json(
            second_bundle,
            "catalog.json",
            lambda c: c["products"][0]["price"].update(amount="1.00"),
        )
        edit_json(second_bundle, "manifest.json", lambda m: m.update(release="sample-2"))
        second = publish(hq, second_bundle, f"store:{STORE}")
        name = f"hq-{second['release']}"
        wait_until(
            lambda: (last := lines.last()) is not None and name in last.staged,
            timeout=60,
            what=f"{name} staged",
        )
        assert [s.name for s in store.staged()] == [name]  # the unshown first one superseded
        assert store.highest_number() == second["release"]
    finally:
        relay.stop()


BLOB_BYTES = 8 * 1024 * 1024 + 4321
KILLED_AFTER = 3 * 1024 * 1024
SLACK = 256 * 1024  # headers, the manifest, status answers, the feed; far below KILLED_AFTER


def dead(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state == "Z"


def test_a_relay_child_killed_mid_download_resumes_from_hq_with_a_range_request(
    hq: HqProcess, tmp_path: Path
) -> None:
    bundle = sample_bundle(tmp_path / "bundle")
    blob = os.urandom(BLOB_BYTES)
    write_file(bundle, "media/loop.bin", blob)
    edit_json(bundle, "manifest.json", lambda m: m.update(release="sample-kill"))
    store_id = "store-content-kill"
    # Paced at 4 MB/s so the kiosk keeps up: what it received is what it wrote.
    proxy = WireProxy(hq.port, record_requests=True, to_kiosk_rate=4_000_000)
    data = tmp_path / "kiosk"
    data.mkdir()
    save_credentials(data, enroll(f"http://127.0.0.1:{proxy.port}", hq.enroll_code(store_id)))
    published = publish(hq, bundle, f"store:{store_id}")
    total = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file())
    total -= (bundle / "manifest.json").stat().st_size
    blob_sha = hashlib.sha256(blob).hexdigest()
    partial = data / "content" / "assets" / PARTIAL / blob_sha
    lines = ContentLines()
    relay = RelayProcess(data, on_content=lines, restart_delay=2.0, content_interval=0.5)
    proxy.take()
    relay.start()
    try:
        wait_until(
            lambda: partial.exists() and partial.stat().st_size >= KILLED_AFTER,
            timeout=60,
            what="the big asset half downloaded",
        )
        first = relay.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        wait_until(lambda: dead(first), timeout=10, what="the child gone")
        held = partial.stat().st_size
        assets = data / "content" / "assets"
        kept = held + sum(p.stat().st_size for p in assets.iterdir() if p.is_file())
        # What the first child's connections carried ends with them; count the next child's.
        wait_until(lambda: proxy.connections() == 0, timeout=10, what="its connections closed")
        first_run = proxy.take()
        name = f"hq-{published['release']}"
        wait_until(
            lambda: (last := lines.last()) is not None and name in last.staged,
            timeout=60,
            what=f"{name} staged",
        )
    finally:
        relay.stop()
        proxy.close()

    asked = proxy.requests().decode("latin-1")
    blob_gets = re.findall(
        rf"GET /v1/content/assets/{blob_sha} HTTP/1.1\r\n(.*?)\r\n\r\n", asked, re.S
    )
    assert len(blob_gets) == 2
    assert "range:" not in blob_gets[0].lower()
    assert f"range: bytes={held}-" in blob_gets[1].lower()
    assert f'if-range: "{blob_sha}"' in blob_gets[1].lower()
    # The next child fetched the rest and nothing it had: a restart from zero would
    # move the held 3 MB again. (The first child's bytes in flight at the kill, read
    # by no one, are the only ones HQ sends twice.)
    second_run = proxy.take()
    assert total - kept <= second_run < total - kept + SLACK
    assert first_run >= held
    assert relay.spawned == 2


def test_the_kiosk_follows_hqs_cli_through_publish_key_rotation_and_revoke(
    hq: HqProcess, tmp_path: Path
) -> None:
    store_id = "store-content-cli"
    data = tmp_path / "kiosk"
    data.mkdir()
    save_credentials(data, enroll(hq.base_url, hq.enroll_code(store_id)))
    enrolled_key = load_credentials(data).content_key  # type: ignore[union-attr]
    lines = ContentLines()
    relay = RelayProcess(data, on_content=lines, content_interval=0.3)
    store = ContentStore(data / "content")

    def published(output: str) -> str:
        match = re.match(r"release (\d+) published", output)
        assert match is not None, output
        return f"hq-{match.group(1)}"

    def staged(name: str) -> None:
        wait_until(
            lambda: (last := lines.last()) is not None and name in last.staged,
            timeout=60,
            what=f"{name} staged",
        )

    first_bundle = sample_bundle(tmp_path / "first")
    first = published(hq.cli("content", "publish", str(first_bundle), "--to", f"store:{store_id}"))
    relay.start()
    try:
        staged(first)
        # The kiosk switches to it (H3's switch does this on the attract loop).
        (store.root / "releases" / first / ".boots").write_text("1")
        os.symlink(Path("releases") / first, store.root / "current.new")
        os.replace(store.root / "current.new", store.root / "current")

        hq.cli("content", "rotate-key")
        second_bundle = sample_bundle(tmp_path / "second")
        edit_json(second_bundle, "manifest.json", lambda m: m.update(release="sample-cli-2"))
        edit_json(
            second_bundle, "catalog.json", lambda c: c["products"][1]["price"].update(amount="9.00")
        )
        second = published(
            hq.cli("content", "publish", str(second_bundle), "--to", f"store:{store_id}")
        )
        staged(second)
        pinned = json.loads((data / "content-key.json").read_text())["pinned"]
        assert base64.b64decode(pinned) != enrolled_key  # the endorsed new key is pinned

        held = {p.name for p in (store.root / "assets").iterdir() if p.is_file()}
        answer = hq.cli("content", "revoke", second.removeprefix("hq-"))
        replacement = "hq-" + re.findall(r"release (\d+)", answer)[-1]
        staged(replacement)
        # The replacement carries the first release's files, all held: nothing new fetched.
        assert {p.name for p in (store.root / "assets").iterdir() if p.is_file()} <= held
        assert store.current_release() == first
        assert store.highest_number() == int(replacement.removeprefix("hq-"))
    finally:
        relay.stop()
