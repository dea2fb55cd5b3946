"""A thread that does one round, waits, and goes again until stopped.

The relay child's slow chores (the content updater, the store key refresh) run this
way; each supplies its round and how long to wait after it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class PeriodicThread:
    """`work()` now, and again `wait()` seconds after each time, on a thread named `name`."""

    def __init__(self, name: str, work: Callable[[], object], wait: Callable[[], float]) -> None:
        self._name = name
        self._work = work
        self._wait = wait
        self.stopping = threading.Event()  # rounds may look at it to end a long step early
        self._woken = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("already started")
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float) -> None:
        """Ask the thread to end and wait up to `timeout` for it (a round in a request
        ends when the request does: requests have timeouts)."""
        self.stopping.set()
        self._woken.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def wake(self) -> None:
        """The next round now (after the one under way, if any), not after the wait."""
        self._woken.set()

    def _run(self) -> None:
        while not self.stopping.is_set():
            self._woken.clear()
            self._work()
            self._woken.wait(self._wait())
