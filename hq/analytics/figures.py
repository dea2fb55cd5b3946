"""The figures of the console's analytics pages, each a `Chart`: a table of exact
figures that is drawn (hq.analytics.charts) and downloadable as CSV.

Definitions (docs/console.md, "Analytics"):
- picks: lifts; put-backs: drops (the product set back on its slot); put-back rate:
  put-backs / lifts; dwell: a drop's dwell_ms (mean exact; median the lower median
  in whole seconds, 600 s standing for 10 minutes or more);
- lift -> sign-up conversion: sign-ups / kiosk sessions with a lift, both counted in
  the hour they happened (a sign-up names no session on the wire);
- interest: comparisons naming the product per 100 lifts; member lifts: lifts made in
  a recognised member's session; lifts by members who came back: a member's lifts in
  a visit after which they visited again (any store), counted at that visit;
- CSAT: the share of smiley answers scoring 3 or 4 (the top two of 1-4);
  NPS: % promoters (9-10) - % detractors (0-6) of the nps answers;
  low answers' reasons: the choices answered in a survey session that had a low
  answer (free text is the shopper's own words, possibly personal: not shown);
- coupons: issued, and redeemed (a code's first redemption, for the campaign and
  store that issued it, at the time it was redeemed);
- offers: shown, taken, texts asked for and sent, printed and redeemed per offer
  and store (hq.analytics.offers; read live, not from the rollups);
- visits: a recognised member's kiosk session (one with a lift, drop, comparison or
  recommendation tap naming the member); repeat visit: one after the member's first;
  time between visits: since the member's previous visit.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select

from hq.analytics import offers as offer_results
from hq.analytics import rollup
from hq.analytics.query import sums
from hq.crm.export import spreadsheet_cell

MAX_DAYS: Final = 366
SMILEY_TOP: Final = (3, 4)
PROMOTER_FROM: Final = 9
DETRACTOR_TO: Final = 6

ChartKind = Literal["bar", "barh", "line"]


class BadRange(ValueError):
    """A range of days the pages do not cover: the message says why."""


@dataclass(frozen=True, slots=True)
class Filters:
    first: date  # days in `zone`, both included
    last: date
    zone: ZoneInfo
    stores: tuple[str, ...] | None  # None: every store (the actor sees them all)
    product: str | None = None
    offer: str | None = None  # the offers page's filter

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise BadRange("the last day is before the first")
        if (self.last - self.first).days + 1 > MAX_DAYS:
            raise BadRange(f"at most {MAX_DAYS} days at a time")

    @property
    def begin(self) -> datetime:
        return datetime.combine(self.first, time(), self.zone).astimezone(UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(), self.zone).astimezone(UTC)

    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


@dataclass(frozen=True, slots=True)
class Chart:
    """One chart: `columns[0]` labels the rows, `plotted` names the columns drawn."""

    key: str  # in the CSV link: /console/analytics/<page>.csv?chart=<key>
    title: str
    kind: ChartKind
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    plotted: tuple[str, ...]
    unit: str = ""

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.columns)
        for row in self.rows:
            writer.writerow([_cell(value) for value in row])
        return out.getvalue()

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "columns": list(self.columns),
            "rows": [[_json(value) for value in row] for row in self.rows],
        }


def _cell(value: Any) -> Any:
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    if isinstance(value, str):
        return spreadsheet_cell(value)
    return "" if value is None else value


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def ratio(part: int, whole: int, scale: float = 100.0) -> float | None:
    return None if not whole else part * scale / whole


def lower_median(histogram: Mapping[int, int]) -> int | None:
    """The lower median of values given as {value: how many}."""
    total = sum(histogram.values())
    if not total:
        return None
    wanted = (total + 1) // 2
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= wanted:
            return value
    raise AssertionError("unreachable")


# ---------------------------------------------------------------- helpers


def _local_day(at: datetime, zone: ZoneInfo) -> date:
    return at.astimezone(zone).date()


def _per_day(
    rows: Iterable[tuple[Any, ...]], filters: Filters, width: int
) -> dict[date, list[int]]:
    """Hourly rows (at, measures...) summed per local day, every day of the range."""
    days = {day: [0] * width for day in filters.days()}
    for at, *values in rows:
        day = _local_day(at, filters.zone)
        if day in days:
            days[day] = [a + b for a, b in zip(days[day], values, strict=True)]
    return days


def _per_hour_of_day(
    rows: Iterable[tuple[Any, ...]], zone: ZoneInfo, width: int
) -> list[list[int]]:
    hours = [[0] * width for _ in range(24)]
    for at, *values in rows:
        hour = at.astimezone(zone).hour
        hours[hour] = [a + b for a, b in zip(hours[hour], values, strict=True)]
    return hours


def _where(filters: Filters) -> dict[str, Any]:
    return {"sku": filters.product} if filters.product else {}


def _range(filters: Filters) -> dict[str, Any]:
    return {"begin": filters.begin, "end": filters.end, "stores": filters.stores}


def _label(store_id: str, names: Mapping[str, str]) -> str:
    name = names.get(store_id)
    return f"{name} ({store_id})" if name and name != store_id else store_id


def _mean_s(dwell_ms: int, drops: int) -> float | None:
    return None if not drops else round(dwell_ms / drops / 1000, 3)


# ---------------------------------------------------------------- products


def products(connection: Connection, filters: Filters, names: Mapping[str, str]) -> list[Chart]:
    measures = ["lifts", "putbacks", "dwell_ms"]
    where = _where(filters)
    common = {**_range(filters), "where": where, "measures": measures}
    per_sku = sums(connection, rollup.PRODUCTS, by=["sku"], **common)
    medians: dict[str, dict[int, int]] = {}
    for sku, seconds, drops in sums(
        connection, rollup.DWELL, by=["sku", "seconds"], **_range(filters), where=where
    ):
        medians.setdefault(sku, {})[seconds] = drops
    product_rows = [
        (
            sku or "(none)",
            lifts,
            putbacks,
            ratio(putbacks, lifts),
            _mean_s(dwell, putbacks),
            lower_median(medians.get(sku, {})),
        )
        for sku, lifts, putbacks, dwell in per_sku
        if lifts or putbacks
    ]
    product_rows.sort(key=lambda row: (-row[1], row[0]))
    per_slot = [
        row for row in sums(connection, rollup.PRODUCTS, by=["slot"], **common) if row[0] != 0
    ]
    per_slot.sort()
    # Without a product, from the per-store rollup (no product rows to add up).
    store_rollup = rollup.PRODUCTS if filters.product else rollup.STORES
    store_common = common if filters.product else {**_range(filters), "measures": measures}
    per_store = sums(connection, store_rollup, by=["store_id"], **store_common)
    per_store.sort(key=lambda row: (-row[1], row[0]))
    hourly = sums(connection, store_rollup, by=["at"], **store_common)
    hours = _per_hour_of_day(hourly, filters.zone, 3)
    days = _per_day(hourly, filters, 3)
    head = ("lifts", "put-backs", "put-back %", "mean dwell s")
    return [
        Chart(
            "by-product",
            "Picks per product",
            "barh",
            ("product", *head, "median dwell s"),
            tuple(product_rows),
            ("lifts", "put-backs"),
        ),
        Chart(
            "by-hour",
            "Picks per hour of day",
            "bar",
            ("hour", *head),
            tuple(_product_row(f"{hour:02d}", *values) for hour, values in enumerate(hours)),
            ("lifts", "put-backs"),
        ),
        Chart(
            "by-day",
            "Picks per day",
            "line",
            ("day", *head),
            tuple(_product_row(day, *values) for day, values in days.items()),
            ("lifts", "put-backs"),
        ),
        Chart(
            "by-store",
            "Picks per store",
            "barh",
            ("store", *head),
            tuple(_product_row(_label(s, names), *values) for s, *values in per_store),
            ("lifts", "put-backs"),
        ),
        Chart(
            "by-slot",
            "Picks per slot",
            "bar",
            ("slot", *head),
            tuple(_product_row(slot, *values) for slot, *values in per_slot),
            ("lifts", "put-backs"),
        ),
    ]


def _product_row(label: Any, lifts: int, putbacks: int, dwell_ms: int) -> tuple[Any, ...]:
    return (label, lifts, putbacks, ratio(putbacks, lifts), _mean_s(dwell_ms, putbacks))


# ---------------------------------------------------------------- conversion and interest


def conversion(connection: Connection, filters: Filters, names: Mapping[str, str]) -> list[Chart]:
    measures = ["lift_sessions", "signups"]
    common = {**_range(filters), "measures": measures}
    per_store = sums(connection, rollup.STORES, by=["store_id"], **common)
    per_store.sort(key=lambda row: (-row[1], row[0]))
    days = _per_day(sums(connection, rollup.STORES, by=["at"], **common), filters, 2)
    interest = sums(
        connection,
        rollup.PRODUCTS,
        by=["sku"],
        **_range(filters),
        where=_where(filters),
        measures=["lifts", "compared", "member_lifts", "returned_lifts"],
    )
    interest_rows = [
        (sku or "(none)", lifts, compared, ratio(compared, lifts), member, came_back)
        for sku, lifts, compared, member, came_back in interest
        if lifts or compared or came_back
    ]
    interest_rows.sort(key=lambda row: (-row[1], row[0]))
    head = ("lift sessions", "sign-ups", "conversion %")
    return [
        Chart(
            "conversion-by-day",
            "Lift → sign-up conversion per day",
            "line",
            ("day", *head),
            tuple((day, s, u, ratio(u, s)) for day, (s, u) in days.items()),
            ("conversion %",),
            "%",
        ),
        Chart(
            "conversion-by-store",
            "Lift → sign-up conversion per store",
            "barh",
            ("store", *head),
            tuple((_label(st, names), s, u, ratio(u, s)) for st, s, u in per_store),
            ("conversion %",),
            "%",
        ),
        Chart(
            "interest",
            "Interest per product: comparisons per 100 lifts",
            "barh",
            (
                "product",
                "lifts",
                "compared",
                "compared per 100 lifts",
                "member lifts",
                "lifts by members who came back",
            ),
            tuple(interest_rows),
            ("compared per 100 lifts",),
        ),
    ]


# ---------------------------------------------------------------- surveys


@dataclass(slots=True)
class Scores:
    smiley: int = 0
    top: int = 0
    nps: int = 0
    promoters: int = 0
    detractors: int = 0

    def add(self, kind: str, score: int, answers: int) -> None:
        if kind == "smiley" and score >= 0:
            self.smiley += answers
            self.top += answers if score in SMILEY_TOP else 0
        elif kind == "nps" and score >= 0:
            self.nps += answers
            self.promoters += answers if score >= PROMOTER_FROM else 0
            self.detractors += answers if score <= DETRACTOR_TO else 0

    @property
    def csat(self) -> float | None:
        return ratio(self.top, self.smiley)

    @property
    def score(self) -> float | None:
        """NPS, from -100 to 100."""
        if not self.nps:
            return None
        return (self.promoters - self.detractors) * 100 / self.nps

    def row(self, label: Any) -> tuple[Any, ...]:
        return (label, self.smiley, self.top, self.csat, self.nps, self.promoters,
                self.detractors, self.score)  # fmt: skip


SCORE_COLUMNS: Final = (
    "smiley answers",
    "top-2",
    "CSAT %",
    "nps answers",
    "promoters",
    "detractors",
    "NPS",
)


def surveys(connection: Connection, filters: Filters, names: Mapping[str, str]) -> list[Chart]:
    common = {**_range(filters), "where": {}}
    score_measures = ["smiley_answers", "smiley_top", "nps_answers", "promoters", "detractors"]
    by_day = {
        day: Scores(*counts)
        for day, counts in _per_day(
            sums(connection, rollup.STORES, by=["at"], **_range(filters), measures=score_measures),
            filters,
            len(score_measures),
        ).items()
    }
    # Per store from the per-store rollup: no score rows to add up.
    by_store = {
        store_id: Scores(*counts)
        for store_id, *counts in sums(
            connection,
            rollup.STORES,
            by=["store_id"],
            **_range(filters),
            measures=score_measures,
        )
        if any(counts)
    }
    reasons = sums(connection, rollup.REASONS, by=["survey", "question", "choice"], **common)
    reasons.sort(key=lambda row: (-row[3], row[:3]))
    stores = sorted(by_store.items(), key=lambda item: (-(item[1].smiley + item[1].nps), item[0]))
    return [
        Chart(
            "csat-nps-by-day",
            "CSAT and NPS per day",
            "line",
            ("day", *SCORE_COLUMNS),
            tuple(scores.row(day) for day, scores in by_day.items()),
            ("CSAT %", "NPS"),
        ),
        Chart(
            "csat-nps-by-store",
            "CSAT and NPS per store",
            "barh",
            ("store", *SCORE_COLUMNS),
            tuple(scores.row(_label(s, names)) for s, scores in stores),
            ("CSAT %", "NPS"),
        ),
        Chart(
            "low-reasons",
            "Reasons given with low answers",
            "barh",
            ("reason", "survey", "question", "answers"),
            tuple((choice, survey, question, n) for survey, question, choice, n in reasons),
            ("answers",),
        ),
    ]


# ---------------------------------------------------------------- coupons and draws


def coupons(
    connection: Connection,
    filters: Filters,
    names: Mapping[str, str],
    caps: Mapping[tuple[str, str], int] | None = None,
) -> list[Chart]:
    """`caps`: each (draw, prize)'s daily cap per kiosk, as the newest release says."""
    common = {**_range(filters), "where": {}}
    per_campaign = sums(connection, rollup.COUPONS, by=["campaign"], **common)
    per_campaign.sort(key=lambda row: (-row[1], row[0]))
    per_store = [
        row
        for row in sums(
            connection,
            rollup.STORES,
            by=["store_id"],
            **_range(filters),
            measures=["coupons_issued", "coupons_redeemed"],
        )
        if row[1] or row[2]
    ]
    per_store.sort(key=lambda row: (-row[1], row[0]))
    draws = sums(connection, rollup.DRAWS, by=["draw", "prize"], **common)
    kiosk_days = _kiosk_days(connection, filters)
    draw_rows = []
    for draw, prize, count in sorted(draws):
        if not prize:
            continue
        cap = (caps or {}).get((draw, prize))
        allowed = None if cap is None else cap * kiosk_days
        draw_rows.append((f"{draw}: {prize}", count, allowed, ratio(count, allowed or 0)))
    head = ("issued", "redeemed", "redeemed %")
    return [
        Chart(
            "by-campaign",
            "Coupons issued and redeemed per campaign",
            "barh",
            ("campaign", *head),
            tuple((c, i, r, ratio(r, i)) for c, i, r in per_campaign),
            ("issued", "redeemed"),
        ),
        Chart(
            "by-store",
            "Coupons issued and redeemed per store",
            "barh",
            ("store", *head),
            tuple((_label(s, names), i, r, ratio(r, i)) for s, i, r in per_store),
            ("issued", "redeemed"),
        ),
        Chart(
            "draw-wins",
            "Draw wins against caps",
            "barh",
            ("prize", "wins", "cap (store-days x daily cap)", "of cap %"),
            tuple(draw_rows),
            ("wins", "cap (store-days x daily cap)"),
        ),
    ]


def _kiosk_days(connection: Connection, filters: Filters) -> int:
    """Store-days that drew in the range: a cap counts on the days a store drew. Read
    per UTC day: the range's local days are taken as the UTC days nearest them (a
    shop's opening hours fall in that UTC day from Europe to Asia). Counted in the
    database: a year of a chain is a few hundred thousand store-days."""
    half_day = timedelta(hours=12)
    table = rollup.DRAWS.tables["store_days"]
    days = select(table.c.at, table.c.store_id).where(
        table.c.at >= rollup.start_of(filters.begin + half_day, "day"),
        table.c.at < rollup.start_of(filters.end + half_day, "day"),
        table.c.draws > 0,
    )
    if filters.stores is not None:
        days = days.where(table.c.store_id.in_(sorted(filters.stores)))
    found = connection.execute(select(func.count()).select_from(days.distinct().subquery()))
    return int(found.scalar_one())


# ---------------------------------------------------------------- recognition


def visits(connection: Connection, filters: Filters, names: Mapping[str, str]) -> list[Chart]:
    measures = ["visits", "repeat_visits", "gap_s", "gaps"]
    common = {**_range(filters), "measures": measures}
    days = _per_day(sums(connection, rollup.STORES, by=["at"], **common), filters, 4)
    per_store = sums(connection, rollup.STORES, by=["store_id"], **common)
    per_store.sort(key=lambda row: (-row[1], row[0]))
    head = ("visits", "repeat visits", "repeat %", "mean days between visits")
    return [
        Chart(
            "visits-by-day",
            "Member visits per day",
            "line",
            ("day", *head),
            tuple(_visit_row(day, *values) for day, values in days.items()),
            ("visits", "repeat visits"),
        ),
        Chart(
            "visits-by-store",
            "Member visits per store",
            "barh",
            ("store", *head),
            tuple(_visit_row(_label(s, names), *values) for s, *values in per_store),
            ("visits", "repeat visits"),
        ),
    ]


def _visit_row(label: Any, visits: int, repeats: int, gap_s: int, gaps: int) -> tuple[Any, ...]:
    mean_days = None if not gaps else round(gap_s / gaps / 86_400, 3)
    return (label, visits, repeats, ratio(repeats, visits), mean_days)


# ---------------------------------------------------------------- member offers

OFFER_HEAD: Final = (
    "shown",
    "taken",
    "take %",
    "text requested",
    "texts sent",
    "printed",
    "redeemed",
    "redeemed %",
)


def offers(connection: Connection, filters: Filters, names: Mapping[str, str]) -> list[Chart]:
    found = offer_results.results(
        connection,
        begin=filters.begin,
        end=filters.end,
        stores=filters.stores,
        offer=filters.offer,
    )
    per_store = sorted(found, key=lambda row: (-row.shown, -row.taken, row.offer, row.store_id))
    return [
        Chart(
            "offers",
            "Offers shown, taken and redeemed",
            "barh",
            ("offer", *OFFER_HEAD),
            tuple(
                (_offer_label(row), *_offer_figures(row)) for row in offer_results.by_offer(found)
            ),
            ("shown", "taken", "redeemed"),
        ),
        Chart(
            "offers-by-store",
            "Offers per store",
            "barh",
            ("offer at store", "offer", "store", *OFFER_HEAD),
            tuple(
                (
                    # Short, for the chart's labels: the ids are the next two columns.
                    f"{row.offer} · {names.get(row.store_id or '') or row.store_id}",
                    row.offer,
                    row.store_id,
                    *_offer_figures(row),
                )
                for row in per_store
            ),
            ("shown", "taken", "redeemed"),
        ),
    ]


def _offer_label(row: offer_results.OfferResult) -> str:
    return row.offer if row.campaign is None else f"{row.offer} ({row.campaign})"


def _offer_figures(row: offer_results.OfferResult) -> tuple[Any, ...]:
    take = row.take_rate
    redeemed = row.redemption_rate
    return (
        row.shown,
        row.taken,
        None if take is None else take * 100,
        row.text_requested,
        row.sent,
        row.printed,
        row.redeemed,
        None if redeemed is None else redeemed * 100,
    )


def offers_in(connection: Connection, filters: Filters) -> list[str]:
    """The offers shown or taken in the range, for the offer filter."""
    return offer_results.offered(
        connection, begin=filters.begin, end=filters.end, stores=filters.stores
    )


PAGES: Final = {
    "products": ("Products", products),
    "conversion": ("Conversion and interest", conversion),
    "surveys": ("Surveys", surveys),
    "coupons": ("Coupons and draws", coupons),
    "offers": ("Member offers", offers),
    "visits": ("Member visits", visits),
}


def products_in(connection: Connection, filters: Filters) -> list[str]:
    """The products lifted in the range, for the product filter."""
    found = sums(connection, rollup.PRODUCTS, by=["sku"], **_range(filters), measures=["lifts"])
    return sorted(sku for sku, lifts in found if sku and lifts)


def chart_named(charts: Sequence[Chart], key: str) -> Chart | None:
    return next((chart for chart in charts if chart.key == key), None)
