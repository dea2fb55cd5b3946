"""What is active now: pure decisions over content and a `now` passed in.

Dayparting: a playlist entry may play only in some hours (`"09:00-12:00"`, the
kiosk's local time; `"22:00-02:00"` runs over midnight) and on some days
(`weekdays`, ISO 1-7, Monday is 1). `playing_now` decides which entries the
attract loop plays at a given local time; the kiosk asks again as time passes.

The content switch: `switch_due` decides when the kiosk switches to a release staged
from HQ (newer than the one shown, its `not_before` come, the attract loop on screen).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time
from typing import Protocol, TypeVar

from content.model import Playlist, PlaylistItem


class Dayparted(Protocol):
    """Anything that plays at some hours on some days (a playlist entry, a kiosk's slide)."""

    @property
    def hours(self) -> str | None: ...

    @property
    def weekdays(self) -> tuple[int, ...] | None: ...


_D = TypeVar("_D", bound=Dayparted)


def playing_now(playlist: Playlist, local_now: datetime) -> tuple[PlaylistItem, ...]:
    """The entries of `playlist` that play at `local_now`, in playlist order.

    `local_now` is the kiosk's wall-clock time: its date and time fields are read
    as local time (a time zone, if it has one, is not converted).
    """
    return dayparted(playlist.items, local_now)


def dayparted(items: Sequence[_D], local_now: datetime) -> tuple[_D, ...]:
    """The `items` that play at `local_now`, in order; never empty when `items` is not.

    An entry without `hours` and `weekdays` plays all the time. When every entry
    is dayparted out (say, only breakfast and evening entries, at 15:00), the
    loop plays all of them rather than a dark screen: a kiosk in a lit store
    always shows something, and the publisher sees their content.
    """
    playing = tuple(item for item in items if plays_at(item, local_now))
    return playing if playing or not items else tuple(items)


def plays_at(item: Dayparted, local_now: datetime) -> bool:
    """Whether `item` plays at `local_now` (start of `hours` included, end excluded).

    Hours over midnight belong to the day they start on: `"22:00-02:00"` with
    weekdays `[5]` plays from Friday 22:00 to Saturday 02:00.
    """
    day = local_now.isoweekday()
    clock = local_now.time().replace(tzinfo=None)
    if item.hours is None:
        return item.weekdays is None or day in item.weekdays
    start, end = _parse_hours(item.hours)
    if start < end:
        return start <= clock < end and (item.weekdays is None or day in item.weekdays)
    # Over midnight: the evening part is today's, the early hours are yesterday's.
    if clock >= start:
        return item.weekdays is None or day in item.weekdays
    if clock < end:
        yesterday = 7 if day == 1 else day - 1
        return item.weekdays is None or yesterday in item.weekdays
    return False


def _parse_hours(hours: str) -> tuple[time, time]:
    """`"HH:MM-HH:MM"` (checked by the model) as two times of day."""
    first, _, second = hours.partition("-")
    return time.fromisoformat(first), time.fromisoformat(second)


class Staged(Protocol):
    """A release downloaded and staged, not yet shown (content.store.StagedRelease)."""

    @property
    def name(self) -> str: ...

    @property
    def number(self) -> int: ...

    @property
    def not_before(self) -> datetime | None: ...


def switch_due(
    staged: Sequence[Staged], active_number: int | None, now: datetime, on_attract: bool
) -> str | None:
    """The staged release to switch to now, or None.

    Only on the attract loop (never under a shopper's hands), only a release newer
    than the one shown (`active_number`; None: a local or no release, any HQ release
    is newer), and only once its `not_before` has come. Of several due, the newest:
    a newer release supersedes an older one.
    """
    if not on_attract:
        return None
    due = [release for release in _newer(staged, active_number) if _come(release, now)]
    return max(due, key=lambda release: release.number).name if due else None


def next_switch_at(
    staged: Sequence[Staged], active_number: int | None, now: datetime
) -> datetime | None:
    """When a staged release that is newer but scheduled later becomes due (to wake then)."""
    later = [
        release.not_before
        for release in _newer(staged, active_number)
        if release.not_before is not None and not _come(release, now)
    ]
    return min(later, default=None)


def _newer(staged: Sequence[Staged], active_number: int | None) -> list[Staged]:
    return [r for r in staged if active_number is None or r.number > active_number]


def _come(release: Staged, now: datetime) -> bool:
    return release.not_before is None or release.not_before <= now
