"""Whether a BLE member tag is at the kiosk: RSSI smoothing, hysteresis, away timeouts.

Pure logic with the clock passed in: `observe` takes each advertisement's
RSSI with the time it arrived, `tick` is called periodically to notice tags
that fell silent. Both answer with the events to send on. No I/O, no threads;
one `Presence` is used from one thread.

Per tag:

- Smoothing: the median of the last `median_window` readings (one wild
  reflection cannot move it), then the mean of the last `average_window`
  medians (steadies the step a median makes). With fewer readings the windows
  hold what there is, so a single strong first advertisement enters at once:
  the welcome screen should not wait for a window to fill.
- Hysteresis: a tag enters when the smoothed RSSI reaches `enter_dbm` and
  leaves only when it falls below `exit_dbm`; in between nothing changes, so a
  shopper standing at the edge does not flap the screen.
- Quick entry: a tag also enters when its last `enter_readings` advertisements
  all reached `enter_dbm`. Smoothing remembers the approach from afar for
  several advertisements; the welcome must come within one advertising
  interval of the shopper stepping up. One strong reflection alone still never
  brings a tag in. On a quick entry the smoothing restarts from those readings,
  so leaving is judged on where the tag is now, not on the approach.
- Away timeout: a tag that stops advertising leaves after
  max(`away_floor_s`, `away_intervals` x its advertising interval), the
  interval being the median of its recent gaps between advertisements, so a
  fast tag is missed quickly and a slow one is not dropped between beacons.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from dataclasses import dataclass, field
from typing import Final

from devices.events import TagAway, TagId, TagSeen

GAP_WINDOW: Final = 8
"""Gaps between advertisements kept to learn a tag's interval. Eight is enough
for the median to ignore a couple of advertisements the scanner missed while
still following a tag that changes its rate (many slow down when still)."""


@dataclass(frozen=True, slots=True)
class PresenceConfig:
    """Tuning for one kiosk; the defaults suit a tag carried by a person at arm's length.

    `enter_dbm` of -65 is about a metre from a typical coin-cell tag;
    `exit_dbm` 10 dB lower is about three times that distance, comfortably
    more than the swing of a body turning between the tag and the antenna.
    `away_floor_s` must exceed the advertising interval of the slowest tag
    expected: a tag silent longer than the floor before its interval has been
    learned is away between two of its own advertisements.
    """

    enter_dbm: float = -65.0
    exit_dbm: float = -75.0
    median_window: int = 5
    average_window: int = 3
    enter_readings: int = 2
    away_floor_s: float = 3.0
    away_intervals: float = 4.0
    reader: str = "ble"

    def __post_init__(self) -> None:
        for name in ("enter_dbm", "exit_dbm", "away_floor_s", "away_intervals"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"{name} must be a finite number")
        if not self.exit_dbm < self.enter_dbm:
            raise ValueError(
                f"exit_dbm ({self.exit_dbm}) must be below enter_dbm ({self.enter_dbm})"
            )
        if self.median_window < 1 or self.average_window < 1 or self.enter_readings < 1:
            raise ValueError("median_window, average_window and enter_readings must be at least 1")
        if self.away_floor_s <= 0:
            raise ValueError("away_floor_s must be positive")
        if self.away_intervals < 1:
            raise ValueError("away_intervals must be at least 1 (one interval per advertisement)")


@dataclass(slots=True)
class _Track:
    """What is known about one tag that has been heard recently."""

    readings: deque[float]
    medians: deque[float]
    last_heard: float
    smoothed: float = 0.0
    present: bool = False
    gaps: deque[float] = field(default_factory=lambda: deque(maxlen=GAP_WINDOW))


class Presence:
    """Tags near one reader, decided from their advertisements; see the module docstring."""

    def __init__(self, config: PresenceConfig | None = None) -> None:
        self.config = config if config is not None else PresenceConfig()
        self._tracks: dict[TagId, _Track] = {}

    def observe(self, tag: TagId, rssi: float, now: float) -> list[TagSeen | TagAway]:
        """One advertisement of `tag` at `rssi` dBm heard at `now`; returns what changed.

        A reading that is not a finite number is ignored. A tag whose last
        advertisement is older than its away timeout is treated as gone first
        (as `tick` would have), so the answer does not depend on tick timing.
        """
        if not math.isfinite(rssi):
            return []
        events: list[TagSeen | TagAway] = []
        track = self._tracks.get(tag)
        if track is not None and now - track.last_heard > self._timeout(track):
            events.extend(self._forget(tag, track, now))
            track = None
        if track is None:
            config = self.config
            track = _Track(
                readings=deque(maxlen=config.median_window),
                medians=deque(maxlen=config.average_window),
                last_heard=now,
            )
            self._tracks[tag] = track
        else:
            gap = now - track.last_heard
            if gap > 0:  # two readings at one instant say nothing about the interval
                track.gaps.append(gap)
            track.last_heard = max(track.last_heard, now)

        track.readings.append(rssi)
        track.medians.append(statistics.median(track.readings))
        track.smoothed = statistics.fmean(track.medians)
        if not track.present and self._stepped_up(track):
            recent = list(track.readings)[-self.config.enter_readings :]
            track.readings = deque(recent, maxlen=self.config.median_window)
            track.medians = deque([statistics.median(recent)], maxlen=self.config.average_window)
            track.smoothed = track.medians[0]

        if not track.present and track.smoothed >= self.config.enter_dbm:
            track.present = True
            events.append(TagSeen(tag, self.config.reader, now, rssi=track.smoothed))
        elif track.present and track.smoothed < self.config.exit_dbm:
            track.present = False
            events.append(TagAway(tag, self.config.reader, now))
        return events

    def tick(self, now: float) -> list[TagAway]:
        """Tags silent for longer than their away timeout: present ones leave, all are forgotten."""
        events: list[TagAway] = []
        for tag, track in list(self._tracks.items()):
            if now - track.last_heard > self._timeout(track):
                events.extend(self._forget(tag, track, now))
        return events

    def present(self) -> set[TagId]:
        """Tags that have entered and not left."""
        return {tag for tag, track in self._tracks.items() if track.present}

    def smoothed_rssi(self, tag: TagId) -> float | None:
        """The tag's smoothed RSSI (dBm), or None if it has not been heard recently."""
        track = self._tracks.get(tag)
        return None if track is None else track.smoothed

    def away_timeout(self, tag: TagId) -> float | None:
        """How long the tag may stay silent before it is away, or None if it is not tracked."""
        track = self._tracks.get(tag)
        return None if track is None else self._timeout(track)

    def __len__(self) -> int:
        """Tags being tracked (present or heard recently)."""
        return len(self._tracks)

    def _stepped_up(self, track: _Track) -> bool:
        """The last `enter_readings` advertisements all reached the enter threshold."""
        wanted = self.config.enter_readings
        if len(track.readings) < wanted:
            return False
        return all(r >= self.config.enter_dbm for r in list(track.readings)[-wanted:])

    def _timeout(self, track: _Track) -> float:
        if not track.gaps:
            return self.config.away_floor_s
        interval = statistics.median(track.gaps)
        return max(self.config.away_floor_s, self.config.away_intervals * interval)

    def _forget(self, tag: TagId, track: _Track, now: float) -> list[TagAway]:
        del self._tracks[tag]
        return [TagAway(tag, self.config.reader, now)] if track.present else []
