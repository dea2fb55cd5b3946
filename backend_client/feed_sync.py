"""Keeps the kiosk's member directory in step with HQ's member feed, on a thread of its own.

Every `interval` seconds (a minute by default), and whenever a heartbeat's answer
says the feed moved (`hint`; then every 15 minutes as a backstop), `FeedSync` asks
HQ for the feed's changes after the version the directory holds and applies them
page by page until HQ says there are no more (`sync_once`). A member who withdraws consent
at any kiosk, or is erased at HQ, is gone from every kiosk's directory within
about a minute of HQ learning it.

When HQ cannot be reached it backs off as the sync relay does (`retry_delay`:
full jitter, exponential, capped, never sooner than `Retry-After`). A failure is
logged once and the recovery once. Logs carry counts and versions only: never a
member id, name or tag hash.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from sqlalchemy.exc import SQLAlchemyError

from backend_client.client import (
    DEFAULT_FEED_PAGE,
    MAX_FEED_PAGE,
    HqClient,
    HqRefused,
    HqUnauthorized,
    HqUnavailable,
)
from backend_client.hints import HintedPace
from backend_client.members import MemberDirectory, MemberDirectoryError
from backend_client.sync import DEFAULT_BASE_DELAY, DEFAULT_MAX_DELAY, retry_delay

__all__ = ["DEFAULT_INTERVAL", "FeedSync", "FeedSyncStatus", "FeedSynced"]

_log = logging.getLogger("backend_client.feed_sync")

DEFAULT_INTERVAL: Final = 60.0
"""Seconds between syncs: how long a withdrawn consent may still be recognised here."""

DEFAULT_STOP_TIMEOUT: Final = 5.0

MAX_PAGES_PER_SYNC: Final = 10_000
# 50 million changes at the default page size: only an HQ that keeps answering
# `more` without end gets there. Stop, and try again at the next interval.


@dataclass(frozen=True, slots=True)
class FeedSynced:
    """What one `sync_once` did."""

    pages: int
    upserts: int
    removed: int
    reset: bool  # a full snapshot came (and was swapped in)
    version: int  # the directory's version afterwards
    members: int  # tags the directory knows afterwards


@dataclass(frozen=True, slots=True)
class FeedSyncStatus:
    version: int
    members: int
    last_success: datetime | None  # UTC
    failing: str | None  # what is failing, while it is
    retry_in: float | None  # seconds until the next try, while backing off


def _no_status(_status: FeedSyncStatus) -> None:
    pass


class FeedSync:
    """Syncs the member directory at `directory_path` from HQ through `client` (which
    this object then owns: one thread uses it)."""

    def __init__(
        self,
        directory_path: Path,
        client: HqClient,
        *,
        interval: float = DEFAULT_INTERVAL,
        follow_hints: bool = False,
        page_limit: int = DEFAULT_FEED_PAGE,
        base_delay: float = DEFAULT_BASE_DELAY,
        max_delay: float = DEFAULT_MAX_DELAY,
        on_status: Callable[[FeedSyncStatus], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if interval <= 0 or base_delay <= 0 or max_delay < base_delay:
            raise ValueError("need interval > 0 and 0 < base_delay <= max_delay")
        if not 1 <= page_limit <= MAX_FEED_PAGE:
            raise ValueError(f"page_limit must be 1 to {MAX_FEED_PAGE}, got {page_limit}")
        self._path = directory_path
        self._client = client
        self._pace = HintedPace(interval)
        self._follow_hints = follow_hints
        self._page_limit = page_limit
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._on_status = on_status or _no_status
        self._rng = rng or random.Random()
        self._condition = threading.Condition()  # guards _woken, _stopping
        self._woken = False
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._status: FeedSyncStatus | None = None
        # Owned by the sync thread (or the caller of sync_once):
        self._directory: MemberDirectory | None = None
        self._attempt = 0
        self._trouble: str | None = None
        self._trouble_since = 0.0
        self._last_success: datetime | None = None

    @property
    def status(self) -> FeedSyncStatus | None:
        return self._status

    def start(self) -> None:
        with self._condition:
            if self._thread is not None or self._stopping:
                raise RuntimeError("a FeedSync starts once")
            self._thread = threading.Thread(target=self._run, name="member-feed-sync", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        """Sync now instead of at the end of the interval (a backoff runs its course)."""
        with self._condition:
            self._woken = True
            self._condition.notify_all()

    def hint(self, version: int) -> None:
        """The feed's version at HQ now (a heartbeat's answer, on its thread): a sync
        now if the directory holds another. With `follow_hints`, hints stretch the
        interval to a backstop (backend_client/hints.py)."""
        if self._follow_hints:
            self._pace.hinted()
        status = self._status
        if status is None or status.version != version:
            self.wake()

    def stop(self, timeout: float = DEFAULT_STOP_TIMEOUT) -> bool:
        """Stop the thread; False if it is still in a request after `timeout` (it ends
        when that does: requests have timeouts)."""
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                _log.warning("member feed sync still busy %.1f s after stop()", timeout)
                return False
        self._close_directory()
        self._client.close()
        return True

    def sync_once(self) -> FeedSynced:
        """Pull pages until HQ has no more and apply each; what was done.

        Raises what the client raises (HqUnavailable, HqUnauthorized, HqRefused) and
        what the directory raises; pages applied before a failure stay applied.
        """
        directory = self._open_directory()
        pages = upserts = removed = 0
        reset = False
        while pages < MAX_PAGES_PER_SYNC and not self._stop_requested():
            page = self._client.get_member_feed(directory.version, self._page_limit)
            applied = directory.apply(page)
            pages += 1
            upserts += applied.upserts
            removed += applied.removed
            reset = reset or applied.swapped
            if applied.restart:
                _log.warning("member feed: HQ's tag key changed; fetching a full snapshot")
                continue
            if not page.more:
                break
        return FeedSynced(pages, upserts, removed, reset, directory.version, directory.count())

    # --- the thread -----------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stop_requested():
                pause = self._round()
                if not self._sleep(pause):
                    break
        finally:
            self._close_directory()

    def _round(self) -> float:
        """One sync; the pause before the next."""
        try:
            synced = self.sync_once()
        except HqUnavailable as exc:
            return self._back_off("unavailable", exc.reason, exc.retry_after)
        except HqUnauthorized:
            return self._back_off(
                "unauthorised",
                "HQ does not accept this kiosk's token (revoked?); enrol the kiosk again",
                None,
                level=logging.ERROR,
            )
        except HqRefused as exc:
            return self._back_off(f"refused {exc.status}", str(exc), None, level=logging.ERROR)
        except (SQLAlchemyError, OSError, MemberDirectoryError) as exc:
            self._close_directory()  # a fresh connection recovers from states a failed one keeps
            return self._back_off("directory", f"member directory unusable: {exc}", None)
        except Exception as exc:  # a bug: log it, keep the directory, keep serving
            return self._back_off("bug", f"unexpected {type(exc).__name__}", None, exc_info=True)
        self._succeeded(synced)
        return self._pace()

    def _succeeded(self, synced: FeedSynced) -> None:
        if self._trouble is not None:
            _log.info(
                "member feed sync recovered after %.0f s", time.monotonic() - self._trouble_since
            )
            self._trouble = None
        first = self._last_success is None
        self._attempt = 0
        self._last_success = datetime.now(UTC)
        level = logging.INFO if first or synced.reset else logging.DEBUG
        _log.log(
            level,
            "member feed synced: %d pages, %d upserts, %d removals%s; %d tags, version %d",
            synced.pages,
            synced.upserts,
            synced.removed,
            " (full snapshot)" if synced.reset else "",
            synced.members,
            synced.version,
        )
        self._publish(
            FeedSyncStatus(synced.version, synced.members, self._last_success, None, None)
        )

    def _back_off(
        self,
        trouble: str,
        reason: str,
        retry_after: float | None,
        *,
        level: int = logging.WARNING,
        exc_info: bool = False,
    ) -> float:
        delay = retry_delay(
            self._attempt, retry_after, base=self._base_delay, cap=self._max_delay, rng=self._rng
        )
        self._attempt += 1
        if trouble != self._trouble:
            if self._trouble is None:
                self._trouble_since = time.monotonic()
            self._trouble = trouble
            _log.log(
                level,
                "member feed sync failing, retrying with backoff: %s",
                reason,
                exc_info=exc_info,
            )
        else:
            _log.debug("member feed sync still failing (%s); next try in %.1f s", reason, delay)
        last = self._status
        self._publish(
            FeedSyncStatus(
                version=last.version if last else 0,
                members=last.members if last else 0,
                last_success=self._last_success,
                failing=trouble,
                retry_in=delay,
            )
        )
        return delay

    def _publish(self, status: FeedSyncStatus) -> None:
        self._status = status
        try:
            self._on_status(status)
        except Exception:
            _log.exception("on_status listener failed")

    def _open_directory(self) -> MemberDirectory:
        if self._directory is None:
            self._directory = MemberDirectory(self._path)
        return self._directory

    def _close_directory(self) -> None:
        if self._directory is not None:
            directory, self._directory = self._directory, None
            try:
                directory.close()
            except Exception:
                _log.debug("closing the member directory failed", exc_info=True)

    def _stop_requested(self) -> bool:
        with self._condition:
            return self._stopping

    def _sleep(self, seconds: float) -> bool:
        """Pause up to `seconds`, less if woken (not while backing off: see `wake`);
        False when stopping."""
        deadline = time.monotonic() + seconds
        wakeable = self._trouble is None
        with self._condition:
            while not self._stopping:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return True
                if wakeable and self._woken:
                    self._woken = False
                    return True
                self._condition.wait(remaining)
            return False
