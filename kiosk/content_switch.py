"""The live switch: a release staged by the relay child becomes the one on screen.

The relay child downloads and stages releases (backend_client.updater) and tells the
kiosk on its status pipe (`ContentStatus`, on the supervisor thread). Here:

- the supervisor thread reads the staged releases from disk (`ContentStore.staged`)
  and hands them to the GUI thread with a queued signal;
- the GUI thread decides (content.schedule.switch_due: newer than the one shown, its
  `not_before` come, and the session on the attract loop) and, when due, a worker
  thread activates the release (fsync) and loads it (parsing), reads the store's
  planogram edits and decodes the first slide;
- back on the GUI thread the prepared content is swapped in (`apply`, wired in
  kiosk.app) if the session is still on the attract loop, else when it returns there.

A release that does not load is refused (`load_failed`, reported for HQ) and the old
content stays. A minute after each start or switch the release on screen is marked
good (content.store: the crash rollback's target). Nothing here parses or fsyncs on
the GUI thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, Generic, TypeVar

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from backend_client.status import ContentStatus
from content import reports
from content.bundle import Bundle, BundleError
from content.schedule import next_switch_at, switch_due
from content.store import GOOD_AFTER_S, RELEASES, ContentStore, StagedRelease
from kiosk.channel_feed import ContentUpdate
from kiosk.trace import Trace

log = logging.getLogger("kiosk.content")

Prepared = TypeVar("Prepared")  # what kiosk.app prepares off the GUI thread for the swap
_LONGEST_TIMER_MS: Final = 24 * 3600 * 1000  # a scheduled release further off: look again


def _wall_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ReadyContent(Generic[Prepared]):
    """A release activated and loaded on the worker, waiting for the GUI thread."""

    name: str
    number: int | None
    bundle: Bundle
    prepared: Prepared


@dataclass(frozen=True, slots=True)
class _LoadFailed:
    name: str
    detail: str


class ContentSwitch(QObject, Generic[Prepared]):
    """Switches the running kiosk to a due staged release, only on the attract loop."""

    switched = Signal(object)  # ReadyContent, once swapped in (GUI thread)
    progress = Signal(object)  # ContentUpdate | None, when the update under way changes
    _status_arrived = Signal(object)  # ContentStatus, from the supervisor thread
    _staged_read = Signal(object)  # list[StagedRelease], from the worker
    _loaded = Signal(object)  # ReadyContent | _LoadFailed

    def __init__(
        self,
        store: ContentStore,
        bundle: Bundle | None,
        *,
        trace: Trace,
        clock: Callable[[], datetime] = _wall_clock,
    ) -> None:
        """`bundle`: the release on screen at start (None: no content)."""
        super().__init__()
        self._store = store
        self._bundle = bundle
        self._number = None if bundle is None else store.number(bundle.release)
        self._on_attract: Callable[[], bool] = lambda: False  # until connect_kiosk
        self._prepare: Callable[[Bundle], Prepared] | None = None
        self._ahead: Callable[[Path], object] | None = None
        self._apply: Callable[[ReadyContent[Prepared]], None] = lambda _ready: None
        self._trace = trace
        self._clock = clock
        self._staged: list[StagedRelease] = []
        self._busy = False  # a release is being activated on the worker
        self._waiting: ReadyContent[Prepared] | None = None  # loaded while a shopper was on
        self._update: ContentUpdate | None = None
        self._held = False  # a release is due, but a shopper is on
        self._next_at: datetime | None = None  # a scheduled release's not_before
        self._pool: ThreadPoolExecutor | None = None  # made at the first job
        self._beside: ThreadPoolExecutor | None = None  # `ahead`, beside the load
        self._lock = threading.Lock()
        self._closed = False
        self._wake = QTimer(self)  # a scheduled release's not_before
        self._wake.setSingleShot(True)
        self._wake.timeout.connect(self.consider)
        self._good = QTimer(self)
        self._good.setSingleShot(True)
        self._good.timeout.connect(self._mark_good)
        self._told_staged: tuple[str, ...] | None = None  # supervisor thread only
        self._status_arrived.connect(self._show_progress, Qt.ConnectionType.QueuedConnection)
        self._staged_read.connect(self._on_staged, Qt.ConnectionType.QueuedConnection)
        self._loaded.connect(self._on_loaded, Qt.ConnectionType.QueuedConnection)

    def connect_kiosk(
        self,
        *,
        on_attract: Callable[[], bool],
        prepare: Callable[[Bundle], Prepared],
        apply: Callable[[ReadyContent[Prepared]], None],
        ahead: Callable[[Path], object] | None = None,
    ) -> None:
        """`on_attract`: whether the session is on the attract loop now; `prepare` runs on
        the worker once the release loaded; `apply` swaps it in on the GUI thread.
        `ahead` runs on a second thread while the release loads, with its folder: work
        that needs no loaded release (decoding the first slide), done before `prepare`."""
        self._on_attract, self._prepare, self._apply = on_attract, prepare, apply
        self._ahead = ahead

    @property
    def bundle(self) -> Bundle | None:
        """The release on screen (any thread: replaced whole at a switch)."""
        return self._bundle

    @property
    def shown(self) -> str | None:
        return None if self._bundle is None else self._bundle.release

    @property
    def held_for_attract(self) -> bool:
        """A release is due (or loaded) and waits for the session to end."""
        return self._held or self._waiting is not None

    @property
    def next_switch_at(self) -> datetime | None:
        """When a staged release scheduled for later becomes due (None: none is)."""
        return self._next_at

    def start(self) -> None:
        """At start (GUI thread): mark the release good after a minute; look at what is staged."""
        if self._bundle is not None:
            self._good.start(round(GOOD_AFTER_S * 1000))
        self.refresh()

    def refresh(self) -> None:
        """Read the staged releases again (on the worker) and switch if one is due."""
        self._submit(lambda: self._staged_read.emit(usable_staged(self._store)))

    def on_content(self, status: ContentStatus) -> None:
        """The relay child's content status (supervisor thread; never blocks it).

        The progress goes to the GUI thread at once; the staged releases are read
        from disk on the worker when the relay names others than last time (the
        store's lock may be held a while by the updater staging the next one).
        """
        if self._closed:
            return
        self._status_arrived.emit(status)
        if status.staged != self._told_staged:
            self._told_staged = status.staged
            self.refresh()

    def session_changed(self, _state: object) -> None:
        """The session's state changed (GUI thread): back on the attract loop, switch."""
        if self._waiting is not None or self._staged:
            self.consider()

    def consider(self) -> None:
        """Switch now if a release is due (GUI thread)."""
        if self._closed or self._busy or self._prepare is None:
            return
        if self._waiting is not None:
            if self._on_attract():
                ready, self._waiting = self._waiting, None
                self._swap(ready)
            return
        now = self._clock()
        on_attract = self._on_attract()
        name = switch_due(self._staged, self._number, now, on_attract)
        if name is None:
            self._held = (
                not on_attract and switch_due(self._staged, self._number, now, True) is not None
            )
            self._next_at = next_switch_at(self._staged, self._number, now)
            self._wake_at(self._next_at, now)
            return
        self._held = False
        self._busy = True
        log.info("switching to release %s", name)
        self._submit(lambda: self._activate(name))

    def close(self) -> None:
        self._closed = True
        self._wake.stop()
        self._good.stop()
        with self._lock:
            pools, self._pool, self._beside = (self._pool, self._beside), None, None
        for pool in pools:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)

    # -- GUI thread --

    def _on_staged(self, staged: list[StagedRelease]) -> None:
        self._staged = [release for release in staged if release.name != self.shown]
        self.consider()

    def _show_progress(self, status: ContentStatus) -> None:
        update = _update_of(status)
        if update != self._update:
            self._update = update
            self.progress.emit(update)

    def _on_loaded(self, outcome: ReadyContent[Prepared] | _LoadFailed) -> None:
        self._busy = False
        if self._closed:
            return
        if isinstance(outcome, _LoadFailed):
            self._trace.emit("content", status="load_failed", release=outcome.name)
            self._staged = [release for release in self._staged if release.name != outcome.name]
            self.consider()  # an older staged one may still be due
            return
        if self._on_attract():
            self._swap(outcome)
        else:  # a shopper came while it loaded: `current` is switched, the screen waits
            self._waiting = outcome

    def _swap(self, ready: ReadyContent[Prepared]) -> None:
        old = [self._bundle]  # the last reference, once the screens have let go of it
        try:
            self._apply(ready)
        except Exception:
            # The screen keeps whatever it managed; the next start loads `current` whole.
            log.exception("swapping in release %s failed", ready.name)
        self._bundle, self._number = ready.bundle, ready.number
        self._staged = [r for r in self._staged if r.name != ready.name]
        self._trace.emit("content", status="switched", release=ready.name)
        log.info("showing release %s", ready.name)
        self._good.start(round(GOOD_AFTER_S * 1000))
        # The old release is freed on the worker, not here: tens of thousands of objects
        # for a large catalog read whole (e.g. the one installed at start).
        self._submit(lambda: _free(old))
        self.switched.emit(ready)
        self.consider()  # a newer one may have been staged meanwhile

    def _wake_at(self, moment: datetime | None, now: datetime) -> None:
        if moment is None:
            self._wake.stop()
            return
        delay_ms = max(0, round((moment - now).total_seconds() * 1000) + 1)
        self._wake.start(min(delay_ms, _LONGEST_TIMER_MS))

    def _mark_good(self) -> None:
        name = self.shown
        if name is not None:
            self._submit(lambda: self._store.mark_good(name))

    # -- worker --

    def _submit(self, job: Callable[[], object]) -> None:
        with self._lock:
            if self._closed:
                return
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="content-switch")
            pool = self._pool

        def run() -> None:
            try:
                job()
            except Exception:
                log.exception("content switch job failed")

        pool.submit(run)

    def _activate(self, name: str) -> None:
        prepare = self._prepare
        assert prepare is not None, "consider() activates only once connect_kiosk ran"
        beside = self._start_ahead(name)
        try:
            bundle = self._store.activate(name)
            if beside is not None:
                beside.result()  # its errors are its own: logged there, never raised here
            prepared = prepare(bundle)
        except (BundleError, OSError) as error:
            detail = _first_problem(error)
            log.error("release %s does not load, keeping the content shown: %s", name, detail)
            try:
                self._store.refuse(name, "load_failed")
                reports.record(
                    self._store.root,
                    release=self._store.number(name),
                    reason="load_failed",
                    detail=detail,
                    now=self._clock(),
                )
            except OSError:
                log.exception("cannot record that release %s failed to load", name)
            self._loaded.emit(_LoadFailed(name, detail))
            return
        except Exception:  # a bug, not the release's fault: not refused, tried at next start
            log.exception("switching to release %s failed", name)
            self._loaded.emit(_LoadFailed(name, "internal error"))
            return
        self._loaded.emit(ReadyContent(name, self._store.number(name), bundle, prepared))

    def _start_ahead(self, name: str) -> Future[None] | None:
        """`ahead` on the second thread, for the staged release `name` (None: no `ahead`)."""
        ahead = self._ahead
        if ahead is None:
            return None
        with self._lock:
            if self._closed:
                return None
            if self._beside is None:
                self._beside = ThreadPoolExecutor(1, thread_name_prefix="content-ahead")
            beside = self._beside
        folder = self._store.root / RELEASES / name

        def run() -> None:
            try:
                ahead(folder)
            except Exception:  # a slide decoded late is decoded at its first paint instead
                log.exception("preparing release %s ahead failed", name)

        return beside.submit(run)


def _free(old: list[Bundle | None]) -> None:
    """Drop the old release (on the worker) and give its memory back to the OS (glibc
    keeps freed heap otherwise: measured ~7 MB more RSS per switch with 10,000 products)."""
    old.clear()
    import ctypes  # noqa: PLC0415 - only after a switch

    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return  # not glibc
    libc.malloc_trim(0)


def _update_of(status: ContentStatus) -> ContentUpdate | None:
    if status.downloading is not None:
        number, done, total = status.downloading
        return ContentUpdate("downloading", number, min(done, total), total)
    if status.staged:
        return ContentUpdate("ready")
    if status.last_failure is not None:
        failed, reason = status.last_failure
        return ContentUpdate("failed", failed, reason=reason)
    return None


def _first_problem(error: BundleError | OSError) -> str:
    if isinstance(error, BundleError):
        text = f"{len(error.problems)} problem(s); first: {error.problems[0]}"
    else:
        text = f"disk: {error.strerror or type(error).__name__}"
    return text[:300]


def usable_staged(store: ContentStore) -> list[StagedRelease]:
    """The staged releases the kiosk may still switch to (not given up on)."""
    return [release for release in store.staged() if not store.is_refused(release.name)]
