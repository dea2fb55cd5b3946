"""Proof of play: what the attract loop showed, counted per hour, item and campaign.

Pure (no Qt, no I/O): `step(counts, event, now)` and `advance(counts, now)` return
the next counts and, when one is due, the record to append to the outbox
(`PLAY_COUNTS_KIND`); `next_deadline(counts)` says when to call `advance`.
`now` is the wall clock, timezone-aware; hours are UTC hours.

What is counted, per (UTC hour, item id, campaign id or none):
- `shows`: an entry came on screen (counted in the hour it came on; an entry
  that stays, the only one playing, is one show for as long as it stays);
- `ms`: milliseconds it was on screen, split at hour boundaries;
- `lifted`: shows followed by a lift: a phone was lifted while the entry was on
  screen or at most `LIFT_WINDOW` after it left (a shopper who saw a poster walks
  to the cabinet); counted once per show, in the hour the show began. A lift may
  follow two shows (the one that just left and the one now on screen).

Exactly once, losing little: each record carries the counts since the one before
(HQ stores each record once, by its event id, and sums them per hour). A record is
made every `RECORD_EVERY`, at every hour boundary and at a clean stop
(`advance(counts, now, final=True)`), so a crash loses at most `RECORD_EVERY` of
counts. A lift up to `LIFT_WINDOW` after a record can add a `lifted` to a show the
record already carried: the next record adds it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final

PLAY_COUNTS_KIND: Final = "play_counts"
PLAY_COUNTS_SCHEMA: Final = 1

RECORD_EVERY: Final = timedelta(minutes=5)
# At most this much of counts is lost to a crash; a record every 5 minutes is
# ~300 small outbox records a day per kiosk, nothing beside the shoppers' events.
LIFT_WINDOW: Final = timedelta(seconds=10)
# A few steps from the screen to the cabinet and a hand on a phone: longer than
# that, and the lift says more about the shopper than about the poster.

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_HOUR_MS: Final = 3_600_000


@dataclass(frozen=True, slots=True)
class PlayItem:
    """An attract entry as counted: its id (content.model.PlaylistItem.play_id) and campaign."""

    item: str
    campaign: str | None = None


# -- inputs


@dataclass(frozen=True, slots=True)
class ItemShown:
    """`item` came on screen (it replaces whatever showed before)."""

    item: PlayItem


@dataclass(frozen=True, slots=True)
class LoopStopped:
    """Nothing of the loop is on screen any more (a shopper took over, no content)."""


@dataclass(frozen=True, slots=True)
class PhoneLifted:
    """A phone left its slot."""


PlayEvent = ItemShown | LoopStopped | PhoneLifted


# -- counts


@dataclass(frozen=True, slots=True)
class Tally:
    shows: int = 0
    ms: int = 0
    lifted: int = 0


Key = tuple[int, str, str | None]  # (hour as epoch ms, item, campaign)


@dataclass(frozen=True, slots=True)
class _Show:
    item: PlayItem
    began: int  # epoch ms
    counted_to: int  # epoch ms: its time on screen up to here is in the tallies
    lifted: bool = False
    ended: int | None = None


@dataclass(frozen=True, slots=True)
class PlayCounts:
    """The counts since the last record, and the shows a lift may still follow."""

    since: int  # epoch ms of the last record (or of the start)
    tallies: Mapping[Key, Tally] = field(default_factory=dict)
    showing: _Show | None = None
    recent: tuple[_Show, ...] = ()  # ended within LIFT_WINDOW


@dataclass(frozen=True, slots=True)
class Counted:
    counts: PlayCounts
    record: dict[str, Any] | None = None  # a PLAY_COUNTS_KIND payload, when one is due


def start(now: datetime) -> PlayCounts:
    return PlayCounts(since=_ms(now))


def step(counts: PlayCounts, event: PlayEvent, now: datetime) -> Counted:
    """The counts after `event`; a record too if one fell due before it."""
    due = advance(counts, now)
    counts, at = due.counts, _ms(now)
    tallies = dict(counts.tallies)
    match event:
        case ItemShown(item):
            counts = _end_showing(counts, tallies, at)
            _add(tallies, (_hour(at), item.item, item.campaign), shows=1)
            counts = replace(counts, showing=_Show(item, at, at))
        case LoopStopped():
            counts = _end_showing(counts, tallies, at)
        case PhoneLifted():
            counts = _lift(counts, tallies, at)
    return Counted(replace(counts, tallies=tallies), due.record)


def advance(counts: PlayCounts, now: datetime, *, final: bool = False) -> Counted:
    """At a deadline (or `final`: a clean stop): the record of the counts since the last."""
    at = _ms(now)
    deadline = next_deadline(counts)
    # A clock set back (before the last record) makes one now: else none would come
    # until the clock caught up again.
    if not final and counts.since <= at < _ms(deadline):
        return Counted(counts)
    tallies = dict(counts.tallies)
    showing = counts.showing
    if showing is not None:
        _accrue(tallies, showing, at)
        showing = replace(showing, counted_to=max(showing.counted_to, at))
    recent = tuple(
        show for show in counts.recent if show.ended is not None and show.ended >= at - _LIFT_MS
    )
    after = PlayCounts(since=at, showing=showing, recent=recent)
    return Counted(after, _record(tallies, counts.since, at) if tallies else None)


def next_deadline(counts: PlayCounts) -> datetime:
    """When the next record is due: `RECORD_EVERY` after the last, or the next hour."""
    every = counts.since + RECORD_EVERY // timedelta(milliseconds=1)
    return _datetime(min(every, _hour(counts.since) + _HOUR_MS))


_LIFT_MS: Final = LIFT_WINDOW // timedelta(milliseconds=1)


def _end_showing(counts: PlayCounts, tallies: dict[Key, Tally], at: int) -> PlayCounts:
    showing = counts.showing
    if showing is None:
        return counts
    _accrue(tallies, showing, at)
    ended = replace(showing, counted_to=max(showing.counted_to, at), ended=at)
    recent = tuple(s for s in counts.recent if s.ended is not None and s.ended >= at - _LIFT_MS)
    return replace(counts, showing=None, recent=(*recent, ended))


def _lift(counts: PlayCounts, tallies: dict[Key, Tally], at: int) -> PlayCounts:
    def followed(show: _Show) -> _Show:
        if show.lifted:
            return show
        _add(tallies, (_hour(show.began), show.item.item, show.item.campaign), lifted=1)
        return replace(show, lifted=True)

    recent = tuple(
        followed(show) if show.ended is not None and show.ended >= at - _LIFT_MS else show
        for show in counts.recent
    )
    showing = None if counts.showing is None else followed(counts.showing)
    return replace(counts, showing=showing, recent=recent)


def _accrue(tallies: dict[Key, Tally], show: _Show, at: int) -> None:
    """Add `show`'s time on screen since it was last counted, split at hour boundaries.
    A clock set back counts nothing for the time it went back."""
    begin = show.counted_to
    while begin < at:
        hour = _hour(begin)
        end = min(at, hour + _HOUR_MS)
        _add(tallies, (hour, show.item.item, show.item.campaign), ms=end - begin)
        begin = end


def _add(
    tallies: dict[Key, Tally], key: Key, *, shows: int = 0, ms: int = 0, lifted: int = 0
) -> None:
    was = tallies.get(key, Tally())
    tallies[key] = Tally(was.shows + shows, was.ms + ms, was.lifted + lifted)


def _record(tallies: Mapping[Key, Tally], since: int, at: int) -> dict[str, Any]:
    rows = [
        {
            "hour": _iso(hour),
            "item": item,
            "campaign": campaign,
            "shows": tally.shows,
            "ms": tally.ms,
            "lifted": tally.lifted,
        }
        for (hour, item, campaign), tally in sorted(
            tallies.items(), key=lambda entry: (entry[0][0], entry[0][1], entry[0][2] or "")
        )
    ]
    return {"from": _iso(since), "to": _iso(at), "rows": rows}


def _ms(moment: datetime) -> int:
    # Whole milliseconds since the epoch: sums of differences stay exact.
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def _hour(ms: int) -> int:
    return ms - ms % _HOUR_MS


def _datetime(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


def _iso(ms: int) -> str:
    return _datetime(ms).isoformat(timespec="milliseconds").replace("+00:00", "Z")
