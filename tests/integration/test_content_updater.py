"""The kiosk's content updater against HQ's content endpoints over real HTTP on loopback.

Each refusal of the issue's proof list: the release is not staged, the content
the kiosk shows stays as it was, and the reason reaches HQ in the status POST.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers.bundles import edit_json, flip_byte, product_picture, sample_bundle, write_file
from helpers.content_server import NOW, ContentHq, ContentKeys, bundle_files, manifest_payload

from backend_client.client import HqClient
from backend_client.content_assets import AssetStore
from backend_client.release_manifest import release_name
from backend_client.status import ContentStatus
from backend_client.updater import PINNED_KEY_FILE, ContentUpdater, pinned_key
from content import reports
from content.store import ContentStore


@pytest.fixture
def content_hq() -> Iterator[ContentHq]:
    hq = ContentHq.start()
    try:
        yield hq
    finally:
        hq.stop()


class Kiosk:
    """A kiosk's data directory with a local release showing, and its updater."""

    def __init__(self, data_dir: Path, hq: ContentHq, **credentials: Any) -> None:
        self.data_dir = data_dir
        self.hq = hq
        self.now = NOW
        self.seconds = 0.0  # the monotonic clock pacing progress lines
        self.pipe: list[ContentStatus] = []
        self.credentials = hq.credentials(**credentials)
        self.updater = self.make_updater()
        self.store = ContentStore(data_dir / "content")

    def make_updater(self) -> ContentUpdater:
        return ContentUpdater(
            self.data_dir,
            self.credentials,
            HqClient(self.credentials),
            clock=lambda: self.now,
            on_status=self.pipe.append,
            monotonic=lambda: self.seconds,
        )

    def show_local_release(self, source: Path) -> None:
        self.store.install(source)

    def poll(self) -> None:
        self.updater.poll_once()

    def to_download(self, bundle: Path) -> list[dict[str, Any]]:
        """The files of `bundle` the kiosk's own releases do not hold (those it downloads)."""
        held = {
            entry["sha256"]
            for name in self.store.releases()
            for entry in bundle_files(self.store.root / "releases" / name)
        }
        return [entry for entry in bundle_files(bundle) if entry["sha256"] not in held]

    def failures_at_hq(self) -> list[tuple[int | None, str]]:
        return [(f["release"], f["reason"]) for s in self.hq.statuses for f in s["failures"]]


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    return sample_bundle(tmp_path / "bundle", release="hq-1")


@pytest.fixture
def kiosk(tmp_path: Path, content_hq: ContentHq) -> Kiosk:
    kiosk = Kiosk(tmp_path / "data", content_hq)
    # Another catalog and other pictures than HQ's: nothing of it is reused.
    kiosk.show_local_release(sample_bundle(tmp_path / "local", seed=2, release="local-1"))
    return kiosk


def relabel(bundle: Path, number: int) -> Path:
    edit_json(bundle, "manifest.json", lambda m: m.update(release=release_name(number)))
    return bundle


def test_a_published_release_is_downloaded_and_staged_not_shown(kiosk: Kiosk, bundle: Path) -> None:
    kiosk.hq.publish(bundle, release=1, not_before=NOW + timedelta(hours=3))

    kiosk.poll()

    assert kiosk.store.current_release() == "local-1"  # the switch is the kiosk's to make
    (staged,) = kiosk.store.staged()
    assert (staged.name, staged.number, staged.not_before) == ("hq-1", 1, NOW + timedelta(hours=3))
    assert kiosk.store.highest_number() == 1
    assert kiosk.hq.statuses[-1]["ready"] == [1]
    assert kiosk.hq.statuses[-1]["active"] is None  # a local release, not one of HQ's
    assert kiosk.pipe[-1].staged == ("hq-1",)
    assert any(s.downloading is not None for s in kiosk.pipe)  # progress was shown
    assert kiosk.pipe[-1].downloading is None
    # Hard links into the asset store: one copy on disk.
    release = kiosk.store.root / "releases" / "hq-1"
    for entry in bundle_files(bundle):
        held = kiosk.store.root / "assets" / entry["sha256"]
        assert (release / entry["path"]).stat().st_ino == held.stat().st_ino


def test_files_of_a_release_the_kiosk_installed_itself_are_not_downloaded(
    tmp_path: Path, content_hq: ContentHq, bundle: Path
) -> None:
    kiosk = Kiosk(tmp_path / "data", content_hq)
    kiosk.show_local_release(sample_bundle(tmp_path / "local", release="local-1"))
    changed = product_picture(bundle, 0)
    flipped = bytearray((bundle / changed).read_bytes())
    flipped[-3] ^= 0x01
    write_file(bundle, changed, bytes(flipped))
    content_hq.publish(bundle, release=1)

    kiosk.poll()

    assert [s.name for s in kiosk.store.staged()] == ["hq-1"]
    assert content_hq.bytes_sent() == len(flipped)
    assert {r.sha256 for r in content_hq.asset_requests} == {hashlib.sha256(flipped).hexdigest()}


def test_a_held_file_that_no_longer_matches_is_downloaded_not_adopted(
    tmp_path: Path, content_hq: ContentHq, bundle: Path
) -> None:
    kiosk = Kiosk(tmp_path / "data", content_hq)
    kiosk.show_local_release(sample_bundle(tmp_path / "local", release="local-1"))
    picture = product_picture(bundle, 1)
    flip_byte(kiosk.store.root / "releases" / "local-1", picture)  # rotted on disk
    content_hq.publish(bundle, release=1)

    kiosk.poll()

    assert [s.name for s in kiosk.store.staged()] == ["hq-1"]
    assert content_hq.bytes_sent() == (bundle / picture).stat().st_size


def test_progress_lines_are_paced_to_four_a_second(kiosk: Kiosk, bundle: Path) -> None:
    kiosk.hq.publish(bundle, release=1)

    def each_chunk(status: ContentStatus) -> None:
        kiosk.pipe.append(status)
        kiosk.seconds += 0.05  # every line is 50 ms after the one before

    kiosk.updater = ContentUpdater(
        kiosk.data_dir,
        kiosk.credentials,
        HqClient(kiosk.credentials),
        clock=lambda: kiosk.now,
        on_status=each_chunk,
        monotonic=lambda: kiosk.seconds,
    )
    kiosk.poll()

    progress = [s.downloading for s in kiosk.pipe if s.downloading is not None]
    chunks = sum(-(-r.bytes_sent // (64 * 1024)) for r in kiosk.hq.asset_requests)
    assert chunks > 20  # many chunks, many chances to report
    # The first line, then one per 0.25 s of the 0.05 s that pass per line shown:
    assert len(progress) <= 1 + chunks // 5 + 1
    assert progress[-1][1] <= progress[-1][2]


def test_nothing_changed_is_a_304_and_no_byte_moves(kiosk: Kiosk, bundle: Path) -> None:
    kiosk.hq.publish(bundle, release=1)
    kiosk.poll()
    sent = kiosk.hq.bytes_sent()
    posts = len(kiosk.hq.statuses)

    kiosk.poll()

    assert kiosk.hq.manifest_answers == [200, 304]
    assert kiosk.hq.bytes_sent() == sent
    assert len(kiosk.hq.statuses) == posts  # nothing new to tell HQ either


def test_a_new_release_moves_only_the_changed_picture(
    kiosk: Kiosk, bundle: Path, tmp_path: Path
) -> None:
    kiosk.hq.publish(bundle, release=1)
    kiosk.poll()
    second = relabel(sample_bundle(tmp_path / "second", release="hq-2"), 2)
    changed = product_picture(second, 0)
    flipped = bytearray((second / changed).read_bytes())
    flipped[-3] ^= 0x01  # inside the JPEG's last scan: still a picture, other bytes
    write_file(second, changed, bytes(flipped))
    before = kiosk.hq.bytes_sent()

    kiosk.hq.publish(second, release=2)
    kiosk.poll()

    assert [s.name for s in kiosk.store.staged()] == ["hq-2"]  # hq-1, never shown, superseded
    assert kiosk.hq.bytes_sent() - before == len(flipped)
    new_requests = [
        r for r in kiosk.hq.asset_requests if r.sha256 == hashlib.sha256(flipped).hexdigest()
    ]
    assert len(new_requests) == 1


def refused(kiosk: Kiosk, reason: str, release: int | None) -> None:
    """The release was refused for `reason`: nothing staged, HQ told, the local release shows."""
    assert kiosk.store.staged() == []
    assert kiosk.store.current_release() == "local-1"
    assert kiosk.store.current() is not None
    assert (release, reason) in kiosk.failures_at_hq()
    assert reports.pending(kiosk.store.root) == []  # HQ acknowledged it
    assert kiosk.pipe[-1].last_failure == (release, reason)


def test_a_tampered_asset_is_refused_and_reported(kiosk: Kiosk, bundle: Path) -> None:
    kiosk.hq.publish(bundle, release=1)
    victim = kiosk.to_download(bundle)[0]["sha256"]
    original = kiosk.hq.assets[victim].read_bytes()
    kiosk.hq.served_bytes[victim] = bytes([original[0] ^ 0xFF]) + original[1:]

    kiosk.poll()

    refused(kiosk, "asset_hash", 1)
    assert not AssetStore(kiosk.store.root).has(victim)
    assert not (kiosk.store.root / "assets" / ".partial" / victim).exists()


def test_a_tampered_manifest_is_refused_and_reported(kiosk: Kiosk, bundle: Path) -> None:
    kiosk.hq.publish(bundle, release=1)
    assert kiosk.hq.envelope is not None
    envelope = json.loads(kiosk.hq.envelope)
    payload = json.loads(base64.b64decode(envelope["payload"]))
    payload["files"][0]["sha256"] = "0" * 64
    envelope["payload"] = base64.b64encode(json.dumps(payload).encode()).decode()
    kiosk.hq.envelope = json.dumps(envelope).encode()

    kiosk.poll()

    refused(kiosk, "signature", 1)
    assert kiosk.hq.asset_requests == []  # not a byte fetched for an unsigned list


def test_a_manifest_signed_by_a_wrong_key_is_refused(
    tmp_path: Path, content_hq: ContentHq, bundle: Path
) -> None:
    kiosk = Kiosk(tmp_path / "data", content_hq, content_key=ContentKeys().first_public)
    kiosk.show_local_release(sample_bundle(tmp_path / "local", release="local-1"))
    content_hq.publish(bundle, release=1)

    kiosk.poll()

    refused(kiosk, "signature", 1)


def test_an_older_release_is_refused_as_a_rollback(
    kiosk: Kiosk, bundle: Path, tmp_path: Path
) -> None:
    kiosk.store.record_highest(5)
    kiosk.hq.publish(bundle, release=1)

    kiosk.poll()

    refused(kiosk, "rollback", 1)


def test_an_expired_manifest_is_refused(kiosk: Kiosk, bundle: Path) -> None:
    kiosk.hq.publish(bundle, release=1, expires=NOW - timedelta(seconds=1))

    kiosk.poll()

    refused(kiosk, "expired", 1)


def test_another_stores_release_is_refused(kiosk: Kiosk, bundle: Path) -> None:
    kiosk.hq.publish(bundle, release=1, store="S002", kiosk="S002-k1")

    kiosk.poll()

    refused(kiosk, "wrong_target", 1)


def test_a_release_the_loader_refuses_is_reported_invalid(kiosk: Kiosk, bundle: Path) -> None:
    edit_json(bundle, "catalog.json", lambda c: c["products"][0]["price"].update(amount="-1"))
    kiosk.hq.publish(bundle, release=1)

    kiosk.poll()

    refused(kiosk, "bundle_invalid", 1)


def test_hq_unavailable_mid_release_is_reported_once_and_the_next_poll_finishes(
    kiosk: Kiosk, bundle: Path, caplog: pytest.LogCaptureFixture
) -> None:
    kiosk.hq.publish(bundle, release=1)
    kiosk.hq.unavailable = True

    kiosk.poll()
    kiosk.poll()

    assert kiosk.store.staged() == []
    assert kiosk.failures_at_hq() == [(1, "download")]
    assert kiosk.pipe[-1].last_failure == (1, "download")
    assert (
        sum(
            "503" in r.getMessage()
            for r in caplog.records
            if r.name.startswith("backend_client.updater")
        )
        == 1
    )
    kiosk.hq.unavailable = False
    kiosk.poll()
    assert [s.name for s in kiosk.store.staged()] == ["hq-1"]


def test_a_refusal_is_reported_once_not_every_poll(kiosk: Kiosk, bundle: Path) -> None:
    kiosk.hq.publish(bundle, release=1, store="S002")
    kiosk.poll()
    kiosk.poll()
    kiosk.hq.envelope = kiosk.hq.envelope + b" "  # HQ renders again: a new ETag
    kiosk.poll()

    assert kiosk.failures_at_hq() == [(1, "wrong_target")]


def test_a_kiosk_enrolled_without_a_content_key_installs_nothing(
    tmp_path: Path, content_hq: ContentHq, bundle: Path, caplog: pytest.LogCaptureFixture
) -> None:
    kiosk = Kiosk(tmp_path / "data", content_hq, content_key=None)
    content_hq.publish(bundle, release=1)

    kiosk.poll()
    kiosk.poll()

    assert content_hq.manifest_answers == []
    assert kiosk.failures_at_hq() == [(None, "no_key")]
    assert sum("no_key" in r.getMessage() for r in caplog.records) == 1


def test_a_rotated_key_is_pinned_and_the_retired_one_refused(
    kiosk: Kiosk, bundle: Path, tmp_path: Path
) -> None:
    keys = kiosk.hq.keys
    old = keys.private[0]
    keys.rotate()
    kiosk.hq.publish(bundle, release=1)

    kiosk.poll()

    assert [s.name for s in kiosk.store.staged()] == ["hq-1"]
    assert pinned_key(kiosk.data_dir, kiosk.credentials) == keys.newest_public
    assert stat.S_IMODE((kiosk.data_dir / PINNED_KEY_FILE).stat().st_mode) == 0o600
    # Whoever holds only the retired key cannot sign for this kiosk any more.
    second = relabel(sample_bundle(tmp_path / "second", release="hq-2"), 2)
    kiosk.hq.add_assets(second)
    keys.private, keys.endorsements = [old], [b""]
    kiosk.hq.envelope = keys.envelope(manifest_payload(bundle_files(second), release=2))
    kiosk.poll()
    assert (2, "signature") in kiosk.failures_at_hq()


def test_a_partial_download_resumes_with_a_range_request(kiosk: Kiosk, bundle: Path) -> None:
    kiosk.hq.publish(bundle, release=1)
    files = kiosk.to_download(bundle)
    big = max(files, key=lambda f: f["size"])
    data = (bundle / big["path"]).read_bytes()
    partial = kiosk.store.root / "assets" / ".partial"
    partial.mkdir(parents=True)
    (partial / big["sha256"]).write_bytes(data[: len(data) // 2])

    kiosk.poll()

    (request,) = [r for r in kiosk.hq.asset_requests if r.sha256 == big["sha256"]]
    assert (request.status, request.range_start) == (206, len(data) // 2)
    assert request.if_range == f'"{big["sha256"]}"'
    assert request.bytes_sent == len(data) - len(data) // 2
    assert kiosk.hq.bytes_sent() == sum(f["size"] for f in files) - len(data) // 2
    assert [s.name for s in kiosk.store.staged()] == ["hq-1"]


def test_a_whole_file_instead_of_the_rest_starts_the_file_again(kiosk: Kiosk, bundle: Path) -> None:
    kiosk.hq.publish(bundle, release=1)
    kiosk.hq.ignore_ranges = True
    big = max(kiosk.to_download(bundle), key=lambda f: f["size"])
    data = (bundle / big["path"]).read_bytes()
    partial = kiosk.store.root / "assets" / ".partial"
    partial.mkdir(parents=True)
    (partial / big["sha256"]).write_bytes(b"x" * (len(data) // 3))  # not even its bytes

    kiosk.poll()

    assert [s.name for s in kiosk.store.staged()] == ["hq-1"]
    assert (kiosk.store.root / "assets" / big["sha256"]).read_bytes() == data


def test_a_complete_partial_file_with_wrong_bytes_is_dropped(kiosk: Kiosk, bundle: Path) -> None:
    kiosk.hq.publish(bundle, release=1)
    small = min(kiosk.to_download(bundle), key=lambda f: f["size"])
    data = (bundle / small["path"]).read_bytes()
    # Right length but wrong bytes: "complete" yet not this asset.
    partial = kiosk.store.root / "assets" / ".partial"
    partial.mkdir(parents=True)
    (partial / small["sha256"]).write_bytes(b"\0" * len(data))

    kiosk.poll()  # the complete-but-wrong partial is an asset_hash failure, deleted

    assert (1, "asset_hash") in kiosk.failures_at_hq()
    kiosk.hq.envelope = kiosk.hq.envelope + b" "  # HQ renders again; the kiosk tries again
    kiosk.poll()
    assert [s.name for s in kiosk.store.staged()] == ["hq-1"]


def test_unreferenced_assets_are_collected(kiosk: Kiosk, bundle: Path, tmp_path: Path) -> None:
    kiosk.hq.publish(bundle, release=1)
    kiosk.poll()
    stray = kiosk.store.root / "assets" / ("cd" * 32)
    stray.write_bytes(b"left by an older release")

    kiosk.poll()

    assert not stray.exists()
    assert all(AssetStore(kiosk.store.root).has(f["sha256"]) for f in bundle_files(bundle))


def test_reports_of_other_writers_ride_along_and_are_acknowledged(
    kiosk: Kiosk, bundle: Path
) -> None:
    kiosk.hq.publish(bundle, release=1)
    reports.record(kiosk.store.root, release=1, reason="video_failed", detail="x", now=NOW)

    kiosk.poll()

    assert (1, "video_failed") in kiosk.failures_at_hq()
    assert reports.pending(kiosk.store.root) == []


def test_a_refused_release_raises_no_high_water_mark(kiosk: Kiosk, bundle: Path) -> None:
    kiosk.hq.publish(bundle, release=7, store="S002")

    kiosk.poll()

    assert kiosk.store.highest_number() == 0
    assert not os.path.exists(kiosk.store.root / "high-water")


def test_a_long_backlog_of_reports_reaches_hq_in_posts_it_accepts(kiosk: Kiosk) -> None:
    for _ in range(150):
        reports.record(kiosk.store.root, release=1, reason="crashed", detail="x", now=NOW)

    kiosk.poll()  # HQ has no release for this kiosk: nothing but the backlog to say
    kiosk.poll()

    assert [len(s["failures"]) for s in kiosk.hq.statuses] == [100, 50]
    assert reports.pending(kiosk.store.root) == []


def test_jittered_interval_stays_within_twenty_percent(kiosk: Kiosk) -> None:
    waits = [kiosk.updater.next_wait() for _ in range(500)]
    assert 48 <= min(waits) < 52
    assert 68 < max(waits) <= 72
