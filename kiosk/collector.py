"""Python's cycle collector, run on the GUI thread only.

Automatic collection runs in whichever thread's allocation crosses the threshold. When
that frees a cycle holding Qt widgets (a screen and its layouts are such cycles) on the
outbox writer's, the reward desk's or a driver's thread, Qt aborts the process: seen in
the test suite, a window from an earlier test freed by the desk thread. So automatic
collection is switched off, and a timer on the GUI thread collects with Python's own
generational thresholds (qutebrowser does the same, for the same reason).
"""

from __future__ import annotations

import gc
from typing import Final

from PySide6.QtCore import QObject, QTimer

# Often enough that garbage never piles up (a lift allocates a few thousand objects),
# rarely enough to cost nothing when there is none.
INTERVAL_MS: Final = 500


class GuiThreadCollector(QObject):
    """Owns `gc` while it lives: collects on the timer, hands automatic collection
    back as it found it on `stop()`."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self._was_enabled = gc.isenabled()
        self._thresholds = gc.get_threshold()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.collect_due)
        self._timer.start(interval_ms)

    def collect_due(self) -> int:
        """Collect the oldest generation over its threshold, as Python would have;
        returns how many unreachable objects were found."""
        counts = gc.get_count()
        if counts[0] <= self._thresholds[0]:
            return 0
        for generation in (2, 1):
            if counts[generation] > self._thresholds[generation]:
                return gc.collect(generation)
        return gc.collect(0)

    def stop(self) -> None:
        """Collect what is left here, on the GUI thread, then give `gc` back."""
        self._timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()
