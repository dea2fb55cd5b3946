"""What is active now: pure decisions over content and a `now` passed in.

Dayparting: a playlist entry may play only in some hours (`"09:00-12:00"`, the
kiosk's local time; `"22:00-02:00"` runs over midnight) and on some days
(`weekdays`, ISO 1-7, Monday is 1). `playing_now` decides which entries the
attract loop plays at a given local time; the kiosk asks again as time passes.
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
