"""The pace of the content and member feed polls, set by HQ's hints.

Each heartbeat's answer (once a minute) carries the manifest's ETag and the member
feed's version at HQ now (`HqHints`). The content updater and the feed sync fetch as
soon as one of them moved, and otherwise poll only as a backstop: a fleet of 5,000
kiosks sends HQ two requests a kiosk a minute fewer, and a change still arrives
within a heartbeat. Without fresh hints (heartbeats failing, or an HQ that sends
none) each polls at its own interval again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

BACKSTOP_S: Final = 900.0
"""Seconds between polls while hints come: in case a hint was lost or wrong."""

FRESH_S: Final = 300.0
"""A hint older than this (five heartbeats missed) no longer sets the pace."""


class HintedPace:
    """Seconds until a poll's next round: `interval`, or `BACKSTOP_S` while HQ's hints
    keep coming. Thread-safe enough: one float written by the heartbeat's thread, read
    by the poll's."""

    def __init__(self, interval: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = interval
        self._clock = clock
        self._hinted_at: float | None = None

    def hinted(self) -> None:
        """A heartbeat's answer carried hints just now."""
        self._hinted_at = self._clock()

    def __call__(self) -> float:
        at = self._hinted_at
        if at is not None and self._clock() - at < FRESH_S:
            return max(self._interval, BACKSTOP_S)
        return self._interval
