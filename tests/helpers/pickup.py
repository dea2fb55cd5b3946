"""Pickup board test helpers: a running simulated board, a connected driver, an event recorder.

Plain context managers rather than fixtures, so any test module (devices,
kiosk, end-to-end) can wrap them in a fixture of its own:

    @pytest.fixture
    def board(tmp_path):
        with running_board(tmp_path) as sim:
            yield sim
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import fields
from pathlib import Path
from typing import Any, TypeVar

from devices.events import DeviceEvent, DeviceHealth, HealthStatus
from devices.pickup import PickupBoard
from devices.sim.pickup import PickupBoardSim

T = TypeVar("T")

DEFAULT_TIMEOUT = 3.0  # generous for a loaded CI machine; passing waits take milliseconds
_POLL_S = 0.002  # short enough not to add measurable time to a test


def wait_until(condition: Callable[[], T], timeout: float = DEFAULT_TIMEOUT, what: str = "") -> T:
    """Poll `condition` until it returns something truthy; return it or raise TimeoutError."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what or condition}")
        time.sleep(_POLL_S)


class EventRecorder:
    """A driver's `on_event` that records events (and when they arrived) for assertions."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._events: list[DeviceEvent] = []
        self._received_at: list[float] = []

    def __call__(self, event: DeviceEvent) -> None:
        with self._changed:
            self._events.append(event)
            self._received_at.append(time.monotonic())
            self._changed.notify_all()

    @property
    def events(self) -> list[DeviceEvent]:
        with self._changed:
            return list(self._events)

    def mark(self) -> int:
        """The index the next event will get: pass it as `since` to ignore earlier ones."""
        with self._changed:
            return len(self._events)

    def since(self, index: int) -> list[DeviceEvent]:
        with self._changed:
            return self._events[index:]

    def received_at(self, index: int) -> float:
        """time.monotonic() when event number `index` reached the recorder."""
        with self._changed:
            return self._received_at[index]

    def wait_for(
        self,
        predicate: Callable[[DeviceEvent], bool],
        timeout: float = DEFAULT_TIMEOUT,
        *,
        since: int = 0,
    ) -> int:
        """Index of the first event from `since` on that matches; raise TimeoutError."""
        deadline = time.monotonic() + timeout
        index = since
        with self._changed:
            while True:
                while index < len(self._events):
                    if predicate(self._events[index]):
                        return index
                    index += 1
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no matching event in {self._events[since:]}")
                self._changed.wait(remaining)

    def wait_for_event(
        self, expected: DeviceEvent | type[Any], timeout: float = DEFAULT_TIMEOUT, *, since: int = 0
    ) -> DeviceEvent:
        """Wait for an event equal to `expected` ignoring `at` (or of type `expected`)."""

        def matches(event: DeviceEvent) -> bool:
            if isinstance(expected, type):
                return isinstance(event, expected)
            return without_time(event) == without_time(expected)

        index = self.wait_for(matches, timeout, since=since)
        return self.events[index]

    def health(self, since: int = 0) -> list[HealthStatus]:
        """The DeviceHealth statuses reported, in order."""
        return [e.status for e in self.since(since) if isinstance(e, DeviceHealth)]


def without_time(event: DeviceEvent) -> tuple[object, ...]:
    """An event as a comparable tuple without its timestamp (and health detail)."""
    values = [getattr(event, f.name) for f in fields(event) if f.name not in ("at", "detail")]
    return (type(event).__name__, *values)


def is_health(status: HealthStatus, detail: str | None = None) -> Callable[[DeviceEvent], bool]:
    def check(event: DeviceEvent) -> bool:
        return (
            isinstance(event, DeviceHealth)
            and event.status is status
            and (detail is None or event.detail == detail)
        )

    return check


@contextmanager
def running_board(directory: Path, **options: Any) -> Iterator[PickupBoardSim]:
    """A started simulated board reachable at the symlink `directory / "pickup"`.

    Periodic STATE lines are off unless `state_interval` is given, so tests
    see only the lines they cause. The board is stopped (and the link
    removed) on exit.
    """
    options.setdefault("link", directory / "pickup")
    options.setdefault("state_interval", None)
    sim = PickupBoardSim(**options)
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


@contextmanager
def connected_driver(
    sim: PickupBoardSim, **options: Any
) -> Iterator[tuple[PickupBoard, EventRecorder]]:
    """A PickupBoard driver on `sim`'s port that has connected and taken the board's state.

    Backoff defaults are short so reconnect tests run in milliseconds.
    """
    recorder = EventRecorder()
    options.setdefault("backoff_initial", 0.01)
    options.setdefault("backoff_max", 0.05)
    board = PickupBoard(sim.port, recorder, **options)
    board.start()
    try:
        recorder.wait_for(is_health(HealthStatus.UP))
        # The reply to the driver's STATE? (or a periodic STATE) is the first
        # line it can read: pyserial flushes older input when it opens a port.
        wait_until(lambda: board.stats.lines_ok >= 1, what="first STATE")
        yield board, recorder
    finally:
        board.stop()
