"""FeedSync keeps the member directory in step with a (scripted) HQ feed, and backs off."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from backend_client.client import HqClient, HqUnavailable
from backend_client.feed_sync import FeedSync, FeedSynced, FeedSyncStatus
from backend_client.members import MEMBERS_FILE, MemberDirectory

NAME = "王芳"


def tag(n: int) -> str:
    return f"{n:064x}"


def wait_for(condition: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := condition():
            return found
        time.sleep(0.01)
    raise AssertionError("condition not met in time")


class Statuses:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: list[FeedSyncStatus] = []

    def __call__(self, status: FeedSyncStatus) -> None:
        with self.lock:
            self.seen.append(status)

    def last(self) -> FeedSyncStatus | None:
        with self.lock:
            return self.seen[-1] if self.seen else None


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / MEMBERS_FILE


@pytest.fixture
def syncs(feed_hq: Any, path: Path) -> Iterator[Callable[..., FeedSync]]:
    """Makes FeedSyncs on the scripted HQ; all are stopped after the test."""
    made: list[FeedSync] = []

    def make(**kwargs: Any) -> FeedSync:
        options = {"base_delay": 0.01, "max_delay": 0.05, **kwargs}
        sync = FeedSync(path, HqClient(feed_hq.credentials(), timeout=(1.0, 2.0)), **options)
        made.append(sync)
        return sync

    yield make
    for sync in made:
        sync.stop()


def held(path: Path, *numbers: int) -> set[int]:
    with MemberDirectory(path) as directory:
        return {n for n in numbers if directory.lookup(tag(n)) is not None}


def test_a_sync_pulls_every_page_and_applies_each(
    feed_hq: Any, syncs: Callable[..., FeedSync], path: Path
) -> None:
    for n in range(5):
        feed_hq.upsert(tag(n), f"m-{n}", greeting_name=NAME)
    sync = syncs(page_limit=2)
    assert sync.sync_once() == FeedSynced(
        pages=3, upserts=5, removed=0, reset=True, version=5, members=5
    )
    assert [request.since for request in feed_hq.requests] == ["0", "2", "4"]
    assert held(path, *range(5)) == set(range(5))


def test_the_next_sync_asks_for_the_changes_only_and_drops_removed_members(
    feed_hq: Any, syncs: Callable[..., FeedSync], path: Path
) -> None:
    feed_hq.upsert(tag(1), "m-1")
    feed_hq.upsert(tag(2), "m-2")
    sync = syncs()
    sync.sync_once()
    feed_hq.remove(tag(1))
    feed_hq.upsert(tag(2), "m-2", last_viewed=["P-1"])
    synced = sync.sync_once()
    assert (synced.reset, synced.upserts, synced.removed, synced.version) == (False, 1, 1, 4)
    assert feed_hq.requests[-1].since == "2"
    assert held(path, 1, 2) == {2}


def test_a_page_that_fails_leaves_the_pages_before_it_applied(
    feed_hq: Any, syncs: Callable[..., FeedSync], path: Path
) -> None:
    for n in range(4):
        feed_hq.upsert(tag(n), f"m-{n}")
    sync = syncs(page_limit=2)
    sync.sync_once()
    for n in range(4, 8):
        feed_hq.upsert(tag(n), f"m-{n}")
    first = feed_hq.page(4, 2)
    feed_hq.answer_next(200, first)
    feed_hq.answer_next(503)
    with pytest.raises(HqUnavailable):
        sync.sync_once()
    assert held(path, *range(8)) == set(range(6))
    sync.sync_once()
    assert feed_hq.requests[-2].since == "6"
    assert held(path, *range(8)) == set(range(8))


def test_while_hq_is_down_the_thread_backs_off_logs_once_and_recovers(
    feed_hq: Any, syncs: Callable[..., FeedSync], path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="backend_client.feed_sync")
    feed_hq.upsert(tag(1), "m-1")
    for _ in range(4):
        feed_hq.answer_next(503)
    statuses = Statuses()
    sync = syncs(on_status=statuses, interval=60)
    sync.start()
    wait_for(lambda: (last := statuses.last()) and last.failing is None)
    failures = [status for status in statuses.seen if status.failing]
    assert [status.failing for status in failures] == ["unavailable"] * 4
    assert all(status.retry_in is not None for status in failures)
    assert held(path, 1) == {1}
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "503" in warnings[0].getMessage()
    assert "recovered" in caplog.text


def test_retry_after_is_honoured(feed_hq: Any, syncs: Callable[..., FeedSync]) -> None:
    feed_hq.answer_next(429, headers={"Retry-After": "120"})
    statuses = Statuses()
    sync = syncs(on_status=statuses)
    sync.start()
    status = wait_for(statuses.last)
    assert status.failing == "unavailable"
    assert status.retry_in >= 120
    started = time.monotonic()
    assert sync.stop()
    assert time.monotonic() - started < 2  # stop does not wait out the backoff


def test_a_token_hq_refuses_is_an_error_logged_once(
    feed_hq: Any, syncs: Callable[..., FeedSync], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="backend_client.feed_sync")
    for _ in range(3):
        feed_hq.answer_next(401)
    statuses = Statuses()
    syncs(on_status=statuses).start()
    wait_for(lambda: len(statuses.seen) >= 3)
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "enrol the kiosk again" in errors[0].getMessage()
    assert statuses.seen[0].failing == "unauthorised"


def test_wake_syncs_before_the_interval_is_over(
    feed_hq: Any, syncs: Callable[..., FeedSync], path: Path
) -> None:
    statuses = Statuses()
    sync = syncs(on_status=statuses, interval=600)
    sync.start()
    wait_for(statuses.last)
    feed_hq.upsert(tag(3), "m-3")
    sync.wake()
    wait_for(lambda: held(path, 3))
    assert len(feed_hq.requests) == 2


def test_the_log_carries_counts_never_members(
    feed_hq: Any, syncs: Callable[..., FeedSync], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    feed_hq.upsert(tag(7), "member-7", greeting_name=NAME, last_viewed=["SKU-SECRET"])
    statuses = Statuses()
    syncs(on_status=statuses).start()
    wait_for(statuses.last)
    assert "member feed synced: 1 pages, 1 upserts" in caplog.text
    for secret in (tag(7), "member-7", NAME, "SKU-SECRET"):
        assert secret not in caplog.text
