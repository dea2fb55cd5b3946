"""Carries proof-of-play counts (kiosk/play_counts.py) from the attract loop to the outbox.

On the GUI thread, and cheap there: each input is a few dictionary updates, and a
record (every few minutes) is handed to the outbox's `append`, which only queues it
for the relay child (backend_client/data_link.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from PySide6.QtCore import QObject, QTimer

from backend_client.records import OutboxRecord
from kiosk import play_counts
from kiosk.play_counts import Counted, ItemShown, LoopStopped, PhoneLifted, PlayEvent, PlayItem

log = logging.getLogger("kiosk.play_log")


def utc_now() -> datetime:
    return datetime.now(UTC)


class PlayLog(QObject):
    def __init__(
        self,
        append_record: Callable[[OutboxRecord], None],
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        super().__init__()
        self._append = append_record
        self._clock = clock
        self._counts = play_counts.start(clock())
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._on_deadline)
        self._closed = False
        self._schedule()

    def shown(self, item: PlayItem) -> None:
        self._feed(ItemShown(item))

    def stopped(self) -> None:
        self._feed(LoopStopped())

    def lifted(self) -> None:
        self._feed(PhoneLifted())

    def close(self) -> None:
        """A clean stop: the counts so far go to the outbox (call before closing it)."""
        if self._closed:
            return
        self._timer.stop()
        self._apply(play_counts.advance(self._counts, self._clock(), final=True))
        self._closed = True

    def _feed(self, event: PlayEvent) -> None:
        if not self._closed:
            self._apply(play_counts.step(self._counts, event, self._clock()))

    def _on_deadline(self) -> None:
        if not self._closed:
            self._apply(play_counts.advance(self._counts, self._clock()))

    def _apply(self, counted: Counted) -> None:
        self._counts = counted.counts
        if counted.record is not None:
            try:
                self._append(
                    OutboxRecord.new(
                        play_counts.PLAY_COUNTS_KIND,
                        counted.record,
                        occurred_at=self._clock(),
                        schema_version=play_counts.PLAY_COUNTS_SCHEMA,
                    )
                )
            except Exception:
                # Counts lost are a few minutes of a report; the loop must go on.
                log.exception("proof-of-play record not handed to the outbox")
        self._schedule()

    def _schedule(self) -> None:
        if self._closed:
            return
        delay = play_counts.next_deadline(self._counts) - self._clock()
        self._timer.start(max(0, round(delay.total_seconds() * 1000) + 1))
