"""The store map and a store's page: where the chain's stores are and how each does.

    GET /console/map[.json][?metric=conversion|csat|traffic&from=DAY&to=DAY]
    GET /console/stores/{store_id}[.json][?from=DAY&to=DAY]

The map draws every store the actor may see on China's provinces (an inline SVG,
no script, nothing fetched: hq.analytics.store_map), coloured by the chosen metric
over the range (days of the stores' zone; hq.analytics.store_metrics, from the
analytics rollups: the page says how recent they are, as the analytics pages do); each pin
links to the store's page. Stores without coordinates are listed beside the map.
A store's page shows its name, region, place, its figures for the range and its
kiosks, each linking to the kiosk's fleet page. A store manager sees their stores
only; another store's page is 403.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from starlette.routing import BaseRoute

from hq.analytics.store_map import NO_DATA, colour, draw, value_text
from hq.analytics.store_metrics import Metric, figures
from hq.console.permissions import Action, Reach
from hq.console.reach import read_fleet
from hq.console.views.base import Ask, BadRequest, Console, NotFound, Page, routes
from hq.console.views.shared import figures_up_to
from hq.fleet_health.store import read_fleet_health
from hq.store_places import places

DEFAULT_DAYS: Final = 30
MAX_DAYS: Final = 366  # a year, as the other reports


def map_page(console: Console, ask: Ask) -> Page:
    actor = ask.require(Action.VIEW)
    metric = _metric(ask)
    first, last = _days(console, ask)
    start, end = _bounds(first, last, console.zone)
    with console.database.snapshot() as connection:
        store_ids = sorted(read_fleet(connection).for_actor(actor).labels)
        found = places(connection, store_ids)
        counts = figures(connection, start, end, store_ids, only=metric)
    values = {
        store_id: value
        for store_id, fig in counts.items()
        if (value := fig.value(metric)) is not None
    }
    query = urlencode({"from": first.isoformat(), "to": last.isoformat()})
    picture = draw(
        found, values, metric, href=lambda store_id: f"{ask.base}/stores/{store_id}?{query}"
    )
    low, high = picture.legend.low, picture.legend.high
    ranked = sorted(
        found,
        key=lambda p: (p.store_id not in values, -values.get(p.store_id, 0.0), p.store_id),
    )
    listed = [
        {
            "store_id": place.store_id,
            "name": place.name or place.store_id,
            "region": place.region,
            "latitude": place.latitude,
            "longitude": place.longitude,
            "value": values.get(place.store_id),
            "text": value_text(metric, values.get(place.store_id)),
            "colour": colour(values.get(place.store_id), low, high),
        }
        for place in ranked
    ]
    data: dict[str, Any] = {
        "metric": metric.value,
        "metric_label": metric.label,
        "metrics": [{"value": m.value, "label": m.label} for m in Metric],
        "from": first.isoformat(),
        "to": last.isoformat(),
        "zone": str(console.zone),
        "map": picture,
        "stores": listed,
        "unplaced": [
            s["store_id"]
            for s in listed
            if s["latitude"] is None or s["store_id"] in picture.outside
        ],
        "rolled_up_to": figures_up_to(console.database),
        "no_data_colour": NO_DATA,
        "store_query": query,
    }
    return Page("store_map.html", data, title="Store map", section="map")


def store_page(console: Console, ask: Ask) -> Page:
    ask.signed_in()
    store_id = str(ask.params["store_id"])
    first, last = _days(console, ask)
    start, end = _bounds(first, last, console.zone)
    with console.database.snapshot() as connection:
        found = places(connection, [store_id])
        if not found:
            raise NotFound(f"There is no store {store_id}.")
        ask.require(Action.VIEW, Reach.store(store_id))
        kiosks = read_fleet_health(connection, ask.now, store_ids=[store_id])
        counts = figures(connection, start, end, [store_id])[store_id]
    place = found[0]
    # A locator: the store alone on the map (one value, so the scale's middle colour).
    locator = (
        draw([place], {store_id: 1.0}, Metric.TRAFFIC, href=lambda _: "#")
        if place.located
        else None
    )
    data: dict[str, Any] = {
        "store": {
            "store_id": place.store_id,
            "name": place.name or place.store_id,
            "region": place.region,
            "latitude": place.latitude,
            "longitude": place.longitude,
        },
        "from": first.isoformat(),
        "to": last.isoformat(),
        "zone": str(console.zone),
        "figures": counts,
        "rolled_up_to": figures_up_to(console.database),
        "metrics": [
            {"value": m.value, "label": m.label, "text": value_text(m, counts.value(m))}
            for m in Metric
        ],
        "kiosks": [kiosk.as_json() for kiosk in kiosks],
        "map_query": urlencode({"from": first.isoformat(), "to": last.isoformat()}),
        "locator": locator,
    }
    return Page("store.html", data, title=place.name or place.store_id, section="map")


def _metric(ask: Ask) -> Metric:
    text = ask.field("metric", Metric.CONVERSION.value) or Metric.CONVERSION.value
    try:
        return Metric(text)
    except ValueError:
        raise BadRequest(f"metric: one of {', '.join(m.value for m in Metric)}") from None


def _days(console: Console, ask: Ask) -> tuple[date, date]:
    today = ask.now.astimezone(console.zone).date()
    last = _day(ask.field("to"), "to") or today
    first = _day(ask.field("from"), "from") or last - timedelta(days=DEFAULT_DAYS - 1)
    if last < first:
        raise BadRequest("from: the first day is after the last")
    if (last - first).days + 1 > MAX_DAYS:
        raise BadRequest(f"from, to: at most {MAX_DAYS} days at a time")
    return first, last


def _day(text: str, name: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"{name}: a date YYYY-MM-DD") from None


def _bounds(first: date, last: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants the days from `first` to `last` of `zone` run between."""
    begin = datetime.combine(first, time(), zone).astimezone(UTC)
    return begin, datetime.combine(last + timedelta(days=1), time(), zone).astimezone(UTC)


def store_map_routes(console: Console) -> list[BaseRoute]:
    return [
        *routes(console, "/map", map_page),
        *reversed(routes(console, "/stores/{store_id}", store_page)),
    ]
