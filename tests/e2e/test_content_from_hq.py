"""HQ publishes, the kiosk's relay child downloads and stages: a real `kiosk-hq serve`,
a real enrolment (HQ's content key pinned) and the relay child as the kiosk runs it."""

from __future__ import annotations

import io
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from helpers.bundles import edit_json, sample_bundle
from helpers.hq_process import HqProcess
from helpers.pickup import wait_until

from backend_client.client import enroll
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
