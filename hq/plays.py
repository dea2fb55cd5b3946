"""Proof of play: what kiosks' attract loops showed, per campaign, store, hour and day.

Kiosks count every attract entry they show (kiosk/play_counts.py) and send the
counts since their previous record as `play_counts` events. Ingest validates
them (hq.wire.PlayCountsPayload) and, for each event stored for the first time,
`project` adds its rows to `play_hours` (one row per kiosk, UTC hour, item and
campaign): an event sent twice is stored once, so it is counted once.

`report` answers what advertisers and brand partners pay for: per campaign the
shows, the seconds on screen and the share of shows a lift followed, per store
and per day or hour of the stores' time zone, for a range of days. The console
(hq/console/views/plays.py) and `kiosk-hq plays` show it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Final, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select

from hq.crm.export import spreadsheet_cell
from hq.crm.facts import Origin, PlayCount, PlaysCounted
from hq.db import Database, play_hours

if TYPE_CHECKING:
    from hq.wire import PlayCountsPayload

NO_CAMPAIGN: Final = ""  # play_hours.campaign of an entry in no campaign (house content)
MAX_REPORT_DAYS: Final = 366
# A year of hours is ~8,800 groups per campaign: enough for any contract period,
# small enough to answer within a request.

Per = Literal["day", "hour"]


def counted(origin: Origin, payload: PlayCountsPayload) -> PlaysCounted:
    """The fact a validated `play_counts` payload states."""
    return PlaysCounted(
        origin,
        tuple(
            PlayCount(row.hour, row.item, row.campaign, row.shows, row.ms, row.lifted)
            for row in payload.rows
        ),
    )


def project(database: Database, connection: Connection, facts: Sequence[PlaysCounted]) -> None:
    """Add the facts' counts to `play_hours`, in one statement."""
    summed: dict[tuple[str, datetime, str, str], list[Any]] = {}
    for fact in facts:
        for row in fact.rows:
            key = (fact.origin.kiosk_id, row.hour, row.item, row.campaign or NO_CAMPAIGN)
            # Two events of one batch may name the same hour: one row, or the
            # statement would update a row twice (PostgreSQL refuses that).
            tally = summed.setdefault(key, [fact.origin.store_id, 0, 0, 0])
            tally[1] += row.shows
            tally[2] += row.ms
            tally[3] += row.lifted
    rows = [
        {
            "kiosk_id": kiosk_id,
            "hour": hour,
            "item": item,
            "campaign": campaign,
            "store_id": store_id,
            "shows": shows,
            "ms": ms,
            "lifted": lifted,
        }
        for (kiosk_id, hour, item, campaign), (store_id, shows, ms, lifted) in summed.items()
    ]

    def add_up(statement: Any) -> Any:
        new = statement.excluded
        return statement.on_conflict_do_update(
            index_elements=["kiosk_id", "hour", "item", "campaign"],
            set_={
                "shows": play_hours.c.shows + new.shows,
                "ms": play_hours.c.ms + new.ms,
                "lifted": play_hours.c.lifted + new.lifted,
            },
        )

    database.insert_rows(connection, play_hours, rows, on_conflict=add_up)


# ---------------------------------------------------------------- the report


@dataclass(frozen=True, slots=True)
class Plays:
    """Shows, time on screen and shows followed by a lift, of one group."""

    shows: int
    ms: int
    lifted: int

    @property
    def seconds(self) -> float:
        return self.ms / 1000

    @property
    def lift_rate(self) -> float | None:
        """The share of shows a lift followed (None: no shows)."""
        return self.lifted / self.shows if self.shows else None

    def __add__(self, other: Plays) -> Plays:
        return Plays(self.shows + other.shows, self.ms + other.ms, self.lifted + other.lifted)

    def as_json(self) -> dict[str, Any]:
        return {
            "shows": self.shows,
            "seconds": self.seconds,
            "lifted": self.lifted,
            "lift_rate": self.lift_rate,
        }


NOTHING: Final = Plays(0, 0, 0)


@dataclass(frozen=True, slots=True)
class CampaignPlays:
    campaign: str | None  # None: entries in no campaign
    total: Plays
    by_store: tuple[tuple[str, Plays], ...]  # store id, its plays; busiest first
    by_time: tuple[tuple[datetime, Plays], ...]  # start of the day or hour (zone), in order

    def as_json(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign,
            **self.total.as_json(),
            "stores": [{"store_id": s, **p.as_json()} for s, p in self.by_store],
            "times": [{"start": t.isoformat(), **p.as_json()} for t, p in self.by_time],
        }


@dataclass(frozen=True, slots=True)
class PlayReport:
    first: date  # the range's first and last day, in `zone`
    last: date
    per: Per
    zone: ZoneInfo
    campaigns: tuple[CampaignPlays, ...]  # by shows, most first; no campaign last

    def as_json(self) -> dict[str, Any]:
        return {
            "from": self.first.isoformat(),
            "to": self.last.isoformat(),
            "per": self.per,
            "zone": str(self.zone),
            "campaigns": [campaign.as_json() for campaign in self.campaigns],
        }


class BadRange(ValueError):
    """A range of days the report does not cover: the message says why."""


def check_range(first: date, last: date) -> None:
    if last < first:
        raise BadRange("the last day is before the first")
    if (last - first).days + 1 > MAX_REPORT_DAYS:
        raise BadRange(f"at most {MAX_REPORT_DAYS} days at a time")


def report(
    database: Database,
    *,
    first: date,
    last: date,
    zone: ZoneInfo,
    per: Per = "day",
    stores: Iterable[str] | None = None,
    campaign: str | None = None,
) -> PlayReport:
    """Plays from `first` to `last` (days in `zone`, both included); only `stores`
    (None: every store) and only `campaign` (None: every one; "" entries in none)."""
    check_range(first, last)
    begin, end = _bounds(first, last, zone)
    shows = func.sum(play_hours.c.shows)
    ms = func.sum(play_hours.c.ms)
    lifted = func.sum(play_hours.c.lifted)
    where = [play_hours.c.hour >= begin, play_hours.c.hour < end]
    if stores is not None:
        where.append(play_hours.c.store_id.in_(sorted(stores)))
    if campaign is not None:
        where.append(play_hours.c.campaign == campaign)
    with database.snapshot() as connection:
        per_store = connection.execute(
            select(play_hours.c.campaign, play_hours.c.store_id, shows, ms, lifted)
            .where(*where)
            .group_by(play_hours.c.campaign, play_hours.c.store_id)
        ).all()
        per_hour = connection.execute(
            select(play_hours.c.campaign, play_hours.c.hour, shows, ms, lifted)
            .where(*where)
            .group_by(play_hours.c.campaign, play_hours.c.hour)
        ).all()
    store_plays: dict[str, dict[str, Plays]] = {}
    for name, store_id, *counts in per_store:
        store_plays.setdefault(name, {})[store_id] = _plays(counts)
    time_plays: dict[str, dict[datetime, Plays]] = {}
    for name, hour, *counts in per_hour:
        start = _start(hour, zone, per)
        times = time_plays.setdefault(name, {})
        times[start] = times.get(start, NOTHING) + _plays(counts)
    campaigns = [
        CampaignPlays(
            name or None,
            sum(by_store.values(), NOTHING),
            tuple(sorted(by_store.items(), key=lambda entry: (-entry[1].shows, entry[0]))),
            tuple(sorted(time_plays.get(name, {}).items())),
        )
        for name, by_store in store_plays.items()
    ]
    campaigns.sort(key=lambda c: (c.campaign is None, -c.total.shows, c.campaign or ""))
    return PlayReport(first, last, per, zone, tuple(campaigns))


def campaigns_in(
    database: Database,
    *,
    first: date,
    last: date,
    zone: ZoneInfo,
    stores: Iterable[str] | None = None,
) -> list[str]:
    """The campaigns shown from `first` to `last` ("" for entries in none), sorted."""
    check_range(first, last)
    begin, end = _bounds(first, last, zone)
    query = select(play_hours.c.campaign).distinct()
    query = query.where(play_hours.c.hour >= begin, play_hours.c.hour < end)
    if stores is not None:
        query = query.where(play_hours.c.store_id.in_(sorted(stores)))
    with database.read() as connection:
        return sorted(name for (name,) in connection.execute(query))


def _bounds(first: date, last: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants the days from `first` to `last` of `zone` run between."""
    begin = datetime.combine(first, time(), zone).astimezone(UTC)
    return begin, datetime.combine(last + timedelta(days=1), time(), zone).astimezone(UTC)


def _plays(counts: Sequence[Any]) -> Plays:
    return Plays(*(int(count or 0) for count in counts))


def _start(hour: datetime, zone: ZoneInfo, per: Per) -> datetime:
    local = hour.astimezone(zone)
    if per == "hour":
        return local
    return datetime.combine(local.date(), time(), zone)


CSV_HEADER: Final = (
    "campaign",
    "store_id",
    "kiosk_id",
    "item",
    "hour_utc",
    "shows",
    "seconds",
    "lifted",
)


def csv_rows(
    database: Database,
    *,
    first: date,
    last: date,
    zone: ZoneInfo,
    stores: Iterable[str] | None = None,
    campaign: str | None = None,
) -> str:
    """Every `play_hours` row of the range, as CSV: for spreadsheets and invoices."""
    check_range(first, last)
    begin, end = _bounds(first, last, zone)
    query = select(
        play_hours.c.campaign,
        play_hours.c.store_id,
        play_hours.c.kiosk_id,
        play_hours.c.item,
        play_hours.c.hour,
        play_hours.c.shows,
        play_hours.c.ms,
        play_hours.c.lifted,
    ).where(play_hours.c.hour >= begin, play_hours.c.hour < end)
    if stores is not None:
        query = query.where(play_hours.c.store_id.in_(sorted(stores)))
    if campaign is not None:
        query = query.where(play_hours.c.campaign == campaign)
    query = query.order_by(
        play_hours.c.campaign, play_hours.c.store_id, play_hours.c.kiosk_id, play_hours.c.hour
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    with database.read() as connection:
        for name, store_id, kiosk_id, item, hour, shown, ms, lifted in connection.execute(query):
            stamp = hour.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")
            writer.writerow(
                (
                    name,
                    store_id,
                    kiosk_id,
                    spreadsheet_cell(item),
                    stamp,
                    shown,
                    f"{ms / 1000:.3f}",
                    lifted,
                )
            )
    return out.getvalue()
