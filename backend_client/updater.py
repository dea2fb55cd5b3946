"""The kiosk's content updater: fetches HQ's signed releases and stages them, in the relay child.

Every `interval` seconds (60, jittered ±20 % so a chain's kiosks spread out) it
asks HQ for this kiosk's manifest (`If-None-Match`: mostly a 304), verifies it
(`backend_client.release_manifest`: signature chain from the pinned key, target,
release number, expiry), downloads the assets it does not hold yet
(`backend_client.content_assets`: resumed, hash-checked), lays the release out
as hard links plus a bundle manifest and stages it (`ContentStore.stage`). It
never switches: the kiosk does, on the attract loop (content/schedule.py).

A refusal is logged once and recorded as a content report (`content.reports`);
whatever happens, the kiosk keeps showing what it shows. After each change,
and on each poll while something is going on, it tells HQ where it stands
(`POST /v1/content/status`, with the pending reports) and tells the kiosk on
the status pipe (`ContentStatus`, progress at most ~4 times a second).

The key pinned at enrolment lives in hq.json; after HQ rotates its key the
newest key reached through the endorsements is pinned in
`<data>/content-key.json` (0600), remembering which enrolment key it grew
from, so enrolling again starts from the new enrolment's key.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import random
import shutil
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from backend_client.client import HqClient, HqError, HqUnauthorized
from backend_client.content_assets import AssetMismatch, AssetStore, Stopped
from backend_client.credentials import Credentials
from backend_client.hints import HintedPace
from backend_client.periodic import PeriodicThread
from backend_client.private_files import private_dir
from backend_client.release_manifest import (
    Refused,
    ReleaseManifest,
    files_document,
    release_name,
    release_number,
    verify,
)
from backend_client.status import ContentStatus
from content import reports
from content.bundle import BundleError
from content.store import ContentStore

_log = logging.getLogger("backend_client.updater")

DEFAULT_INTERVAL: Final = 60.0  # the poll period; HQ answers most polls with a 304
JITTER: Final = 0.2  # ±20 %: kiosks started together by a power cut do not poll together
CONTENT_DIR: Final = "content"  # <data>/content: the content store's root
STAGING: Final = "staging"  # <data>/content/staging/hq-<N>: a release being laid out
PINNED_KEY_FILE: Final = "content-key.json"
PROGRESS_EVERY: Final = 0.25  # seconds between progress lines on the pipe (~4/s)
STATUS_POST_EVERY: Final = 10.0  # seconds between progress reports to HQ while downloading
DEFAULT_STOP_TIMEOUT: Final = 2.0
FAILURES_PER_REPORT: Final = 100  # HQ's limit per POST; the rest go with the next ones


@dataclass(frozen=True, slots=True)
class _Download:
    release: int
    done: int
    total: int


class ContentUpdater:
    """Keeps the kiosk whose data is in `data_dir` supplied with HQ's releases.

    `client` is this updater's own (one thread uses it). `clock` gives the
    aware time manifests are checked against, `monotonic` paces progress;
    `on_status` is called on the updater's thread with each change (the relay
    child writes it to the pipe).
    """

    def __init__(
        self,
        data_dir: Path,
        credentials: Credentials,
        client: HqClient,
        *,
        interval: float = DEFAULT_INTERVAL,
        follow_hints: bool = False,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_status: Callable[[ContentStatus], None] | None = None,
        rng: random.Random | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if interval <= 0:
            raise ValueError("interval must be > 0")
        self._data_dir = data_dir
        self._credentials = credentials
        self._client = client
        self._interval = interval
        self._pace = HintedPace(interval, clock=monotonic)
        self._follow_hints = follow_hints
        self._clock = clock
        self._on_status = on_status
        self._rng = rng or random.Random()
        self._monotonic = monotonic  # paces progress lines and reports
        self._root = data_dir / CONTENT_DIR
        self._store = ContentStore(self._root)
        self._assets = AssetStore(self._root)
        self._thread = PeriodicThread("content-updater", self._round, wait=self.next_wait)
        # What HQ said last: its ETag and the verified manifest behind it.
        self._etag: str | None = None
        self._wanted: ReleaseManifest | None = None
        self._given_up: int | None = None  # a release that failed for good (until HQ changes)
        self._said: set[tuple[int | None, str]] = set()  # refusals logged and reported
        self._download: _Download | None = None
        self._last_failure: tuple[int | None, str] | None = None
        self._last_pipe: ContentStatus | None = None
        self._last_pipe_at = 0.0
        self._last_posted: dict[str, Any] | None = None
        self._last_post_at = 0.0
        self._failing: str | None = None
        self._round_failed = False
        self._announced: int | None = None  # the release whose download was logged

    @property
    def store(self) -> ContentStore:
        return self._store

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = DEFAULT_STOP_TIMEOUT) -> None:
        self._thread.stop(timeout)
        self._client.close()

    def poll_now(self) -> None:
        """Ask HQ for this kiosk's release now (HQ staff's "fetch content now"), on the
        updater's own thread once its current round is over."""
        self._thread.wake()

    def hint(self, etag: str | None) -> None:
        """HQ's manifest ETag for this kiosk now (a heartbeat's answer, on its thread):
        a poll now if it is not the one the last poll got."""
        if self._follow_hints:
            self._pace.hinted()
        if etag != self._etag:  # a str read whole; a stale read costs one early poll
            self._thread.wake()

    def _round(self) -> None:
        try:
            self.poll_once()
        except Exception:  # a bug here must not end the relay child's other work
            _log.exception("content update round failed")

    def next_wait(self) -> float:
        """Seconds until the next poll: the interval (the backstop while HQ's hints
        come, unless the round failed) ±20 %."""
        pace = self._interval if self._round_failed else self._pace()
        return pace * self._rng.uniform(1 - JITTER, 1 + JITTER)

    # --- one round -------------------------------------------------------------------

    def poll_once(self) -> None:
        """Ask HQ once and act on the answer: verify, download, stage, report."""
        pinned = pinned_key(self._data_dir, self._credentials)
        if pinned is None:
            self._refuse(
                Refused("no_key", "enrolled without HQ's content key: enrol again to get it"),
                None,
            )
            self._report()
            return
        self._round_failed = False
        try:
            answer = self._client.get_content_manifest(self._etag)
        except HqError as exc:
            self._fail(f"cannot ask HQ for the content manifest: {exc}", unauthorised=exc)
            return
        if not answer.not_modified:
            self._etag = answer.etag
            self._wanted = None
            self._given_up = None
            if answer.body is not None:
                self._take(answer.body, pinned)
        wanted = self._wanted
        if wanted is not None and self._given_up != wanted.release:
            self._fetch_and_stage(wanted)
        self._collect()
        self._publish(force=True)  # the kiosk may have switched to a staged release
        self._report()
        if not self._round_failed:
            self._recovered()

    def _take(self, body: bytes, pinned: bytes) -> None:
        """Verify HQ's answer; keep the manifest to work on, or refuse it once."""
        try:
            verified = verify(
                body,
                pinned=pinned,
                store_id=self._credentials.store_id,
                kiosk_id=self._credentials.kiosk_id,
                highest=self._store.highest_number(),
                now=self._clock(),
            )
        except Refused as refusal:
            claimed = _claimed_release(body)
            if (
                refusal.reason == "expired"
                and claimed is not None
                and release_name(claimed) in self._store.releases()
            ):
                # A release this kiosk holds already: nothing to install, nothing wrong.
                _log.debug("HQ's manifest for release %d is expired; already held", claimed)
                return
            self._refuse(refusal, claimed)
            return
        if verified.newest_key != pinned:
            pin_key(self._data_dir, self._credentials, verified.newest_key)
            _log.info("HQ's content key rotated; the new key is pinned")
        manifest = verified.manifest
        self._store.record_highest(manifest.release)  # accepted: nothing older from now on
        self._wanted = manifest

    def _fetch_and_stage(self, manifest: ReleaseManifest) -> None:
        name = manifest.release_name
        if name in self._store.releases():
            return  # staged or shown already
        try:
            self._fetch(manifest)
        except Stopped:
            return
        except AssetMismatch as exc:
            self._given_up = manifest.release
            self._refuse(Refused("asset_hash", str(exc)), manifest.release)
            return
        except HqError as exc:
            self._download_failed(manifest.release, str(exc), exc)
            return
        except OSError as exc:  # the kiosk's disk (full, read-only): HQ should know too
            self._download_failed(manifest.release, f"cannot write: {exc.strerror}", None)
            return
        finally:
            self._download = None
        try:
            self._stage(manifest)
        except OSError as exc:
            self._download_failed(manifest.release, f"cannot stage: {exc.strerror}", None)

    def _download_failed(self, release: int, why: str, error: HqError | None) -> None:
        """Log once while it lasts, report once per release; the next round tries again."""
        detail = f"release {release}: {why}"
        self._fail(detail, unauthorised=error)
        self._last_failure = (release, "download")
        key = (release, "download")
        if key not in self._said:
            self._said.add(key)
            self._record(release, "download", detail)

    def _fetch(self, manifest: ReleaseManifest) -> None:
        """Download every asset of `manifest` not held yet (each hash once)."""
        sizes = {f.sha256: f.size for f in manifest.files}
        missing = {sha: size for sha, size in sizes.items() if not self._assets.has(sha)}
        if missing:
            adopted = self._adopt_held(missing.keys())
            missing = {sha: size for sha, size in missing.items() if sha not in adopted}
        if not missing:
            return
        total = sum(missing.values())
        done = sum(self._assets.partial_size(sha) for sha in missing)
        self._download = _Download(manifest.release, done, total)
        self._publish(force=True)
        self._report()
        if self._announced != manifest.release:
            self._announced = manifest.release
            _log.info(
                "downloading release %d: %d of %d files, %d bytes",
                manifest.release,
                len(missing),
                len(sizes),
                total - done,
            )

        def on_bytes(count: int) -> None:
            nonlocal done
            done += count  # a partial file HQ made us start again counts twice: clamp
            self._download = _Download(manifest.release, min(done, total), total)
            self._publish()
            if self._monotonic() - self._last_post_at >= STATUS_POST_EVERY:
                self._report(force=True)

        for sha, size in sorted(missing.items()):
            try:
                self._assets.download(
                    self._client,
                    sha,
                    size,
                    on_bytes=on_bytes,
                    stopping=self._thread.stopping.is_set,
                )
            except AssetMismatch as exc:
                raise AssetMismatch(f"asset {sha[:12]}…: {exc}") from None
        _log.info("release %d downloaded", manifest.release)

    def _adopt_held(self, wanted: Collection[str]) -> set[str]:
        """Assets found in releases the kiosk installed itself (a content folder, a
        release from before): linked into the asset store, not downloaded again."""
        held: dict[str, Path] = {}
        releases = self._root / "releases"
        for name in self._store.releases():
            try:
                document = json.loads((releases / name / "manifest.json").read_bytes())
                for entry in document["assets"]:
                    if entry["sha256"] in wanted:
                        held.setdefault(entry["sha256"], releases / name / entry["path"])
            except (OSError, ValueError, KeyError, TypeError):
                continue  # a damaged release: its files are not worth trusting anyway
        adopted = {sha for sha, path in held.items() if self._assets.adopt(sha, path)}
        if adopted:
            _log.info("%d file(s) of the new release were held already", len(adopted))
        return adopted

    def _stage(self, manifest: ReleaseManifest) -> None:
        """Lay the release out as hard links to the assets and stage it in the store."""
        name = manifest.release_name
        staging = self._root / STAGING / name
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        try:
            for file in manifest.files:
                target = staging / file.path
                target.parent.mkdir(parents=True, exist_ok=True)
                os.link(self._assets.path(file.sha256), target)
            document = {
                "schema_version": 1,
                "release": name,
                "created_at": manifest.created_at.isoformat(),
                "assets": files_document(manifest),
            }
            (staging / "manifest.json").write_text(json.dumps(document, indent=1) + "\n")
            try:
                self._store.stage(staging, number=manifest.release, not_before=manifest.not_before)
            except BundleError as exc:
                self._given_up = manifest.release
                problem = exc.problems[0] if exc.problems else "refused"
                self._refuse(
                    Refused(
                        "bundle_invalid",
                        f"{len(exc.problems)} problem(s); first: {problem}",
                    ),
                    manifest.release,
                )
                return
        except FileNotFoundError:
            # An asset went missing between download and staging (collected, or the
            # disk was cleaned): the next round downloads it again.
            _log.warning("release %s: an asset vanished before staging; trying again", name)
            return
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        _log.info("release %s staged (not before %s)", name, manifest.not_before or "now")
        self._store.prune()
        self._publish(force=True)

    def _collect(self) -> None:
        """Delete assets no release holds, except those of the release being worked on."""
        keep = set() if self._wanted is None else {f.sha256 for f in self._wanted.files}
        deleted = self._assets.collect(keep)
        if deleted:
            _log.info("collected %d unreferenced content asset(s)", deleted)

    # --- reports ---------------------------------------------------------------------

    def _refuse(self, refusal: Refused, release: int | None) -> None:
        """Log and report a refusal once per release and reason; the old content stays."""
        self._last_failure = (release, refusal.reason)
        key = (release, refusal.reason)
        if key in self._said:
            return
        self._said.add(key)
        _log.warning(
            "not installing release %s from HQ (%s): %s; the kiosk keeps its content",
            "?" if release is None else release,
            refusal.reason,
            refusal.detail,
        )
        self._record(release, refusal.reason, refusal.detail)
        self._publish(force=True)

    def _record(self, release: int | None, reason: str, detail: str) -> None:
        try:
            reports.record(
                self._root, release=release, reason=reason, detail=detail, now=self._clock()
            )
        except OSError as exc:
            _log.error("cannot keep a content report: %s", exc.strerror)

    def _status_body(self) -> dict[str, Any]:
        current = self._store.current_release()
        download = self._download
        return {
            "active": None if current is None else release_number(current),
            "ready": [staged.number for staged in self._store.staged()],
            "downloading": None
            if download is None
            else {
                "release": download.release,
                "bytes_done": download.done,
                "bytes_total": download.total,
            },
            "failures": [
                report.to_wire() for report in reports.pending(self._root)[:FAILURES_PER_REPORT]
            ],
        }

    def _report(self, *, force: bool = False) -> None:
        """POST the status to HQ if anything changed (or `force`); acknowledge reports."""
        body = self._status_body()
        if not force and body == self._last_posted:
            return
        self._last_post_at = self._monotonic()
        try:
            accepted = self._client.post_content_status(body)
        except HqError as exc:
            self._fail(f"cannot report content status to HQ: {exc}", unauthorised=exc)
            self._last_posted = None
            return
        reports.acknowledge(self._root, accepted)
        # What the next body holds if nothing changes: the reports HQ did not take stay.
        taken = set(accepted)
        self._last_posted = {
            **body,
            "failures": [f for f in body["failures"] if f["id"] not in taken],
        }

    def _publish(self, *, force: bool = False) -> None:
        """Tell the kiosk (the status pipe) on a change; progress at most ~4 times a second."""
        if self._on_status is None:
            return
        download = self._download
        status = ContentStatus(
            staged=tuple(staged.name for staged in self._store.staged())
            if force or self._last_pipe is None
            else self._last_pipe.staged,
            downloading=None
            if download is None
            else (download.release, download.done, download.total),
            last_failure=self._last_failure,
        )
        now = self._monotonic()
        if status == self._last_pipe:
            return
        progress_only = (
            self._last_pipe is not None
            and status.staged == self._last_pipe.staged
            and status.last_failure == self._last_pipe.last_failure
            and status.downloading is not None
            and self._last_pipe.downloading is not None
        )
        if progress_only and not force and now - self._last_pipe_at < PROGRESS_EVERY:
            return
        self._last_pipe = status
        self._last_pipe_at = now
        try:
            self._on_status(status)
        except Exception:
            _log.exception("content status listener failed")

    def _fail(self, reason: str, *, unauthorised: HqError | None = None) -> None:
        self._round_failed = True
        if self._failing is None:
            hint = (
                " (HQ does not accept this kiosk's token)"
                if isinstance(unauthorised, HqUnauthorized)
                else ""
            )
            _log.warning("%s%s; trying again in about %.0f s", reason, hint, self._interval)
        self._failing = reason

    def _recovered(self) -> None:
        if self._failing is not None:
            _log.info("HQ answers the content updater again")
            self._failing = None


def _claimed_release(body: bytes) -> int | None:
    """The release number an unverified answer claims, for the report only (never trusted)."""
    try:
        payload = base64.b64decode(json.loads(body)["payload"], validate=True)
        number = json.loads(payload)["release"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None
    return number if type(number) is int else None


# --- the pinned key ------------------------------------------------------------------


def pinned_key(data_dir: Path, credentials: Credentials) -> bytes | None:
    """The content key this kiosk trusts now: the newest pinned since enrolment, or the
    enrolment's own; None when it was enrolled without one."""
    enrolled = credentials.content_key
    if enrolled is None:
        return None
    try:
        document = json.loads((data_dir / PINNED_KEY_FILE).read_bytes())
        if base64.b64decode(document["enrolled"], validate=True) != enrolled:
            return enrolled  # enrolled again since: the new enrolment's key rules
        pinned = base64.b64decode(document["pinned"], validate=True)
    except FileNotFoundError:
        return enrolled
    except (OSError, ValueError, KeyError, TypeError, binascii.Error):
        _log.error("%s is unreadable; trusting the enrolment's content key", PINNED_KEY_FILE)
        return enrolled
    return pinned if len(pinned) == len(enrolled) else enrolled


def pin_key(data_dir: Path, credentials: Credentials, key: bytes) -> None:
    """Pin `key` (0600, written atomically) as the one to walk HQ's chain from."""
    if credentials.content_key is None:
        raise ValueError("no enrolment key to pin from")
    private_dir(data_dir)
    document = {
        "enrolled": base64.b64encode(credentials.content_key).decode(),
        "pinned": base64.b64encode(key).decode(),
    }
    path = data_dir / PINNED_KEY_FILE
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(json.dumps(document).encode())
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    dir_fd = os.open(data_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


__all__ = [
    "DEFAULT_INTERVAL",
    "PINNED_KEY_FILE",
    "ContentUpdater",
    "pin_key",
    "pinned_key",
    "release_name",
]
