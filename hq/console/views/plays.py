"""Proof of play: what the kiosks' attract loops showed, per campaign (hq.plays).

    GET /console/plays[.json][?from=DAY&to=DAY&per=day|hour&campaign=ID&store=ID]
    GET /console/plays.csv[?same filters]     every kiosk's hourly rows

What advertisers and brand partners pay for: per campaign the shows, the time on
screen and the share of shows a lift followed, per store and per day or hour of
the stores' time zone. `campaign=-` picks entries in no campaign (house content).
A store manager sees their stores only.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Final

from starlette.responses import Response
from starlette.routing import BaseRoute

from hq import plays
from hq.console.permissions import Action
from hq.console.reach import read_fleet
from hq.console.views.base import Ask, BadRequest, Console, Page, file_route, routes

DEFAULT_DAYS: Final = 7
NO_CAMPAIGN_PARAM: Final = "-"


def plays_page(console: Console, ask: Ask) -> Page:
    found, stores, names = _report(console, ask)
    every = plays.campaigns_in(
        console.database, first=found.first, last=found.last, zone=console.zone, stores=stores
    )
    totals = sum((c.total for c in found.campaigns), plays.NOTHING)
    data: dict[str, Any] = {
        **found.as_json(),
        "totals": totals.as_json(),
        "campaign": ask.field("campaign"),
        "store": ask.field("store"),
        "choices": {"campaigns": every, "stores": sorted(names.items())},
        "store_names": names,
    }
    return Page("plays.html", data, title="Proof of play", section="plays")


def plays_csv(console: Console, ask: Ask) -> Response:
    found, stores, _ = _filters(console, ask)
    first, last, _, campaign = found
    try:
        text = plays.csv_rows(
            console.database,
            first=first,
            last=last,
            zone=console.zone,
            stores=stores,
            campaign=campaign,
        )
    except plays.BadRange as problem:
        raise BadRequest(str(problem)) from None
    name = f"proof-of-play-{first.isoformat()}-{last.isoformat()}.csv"
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _report(console: Console, ask: Ask) -> tuple[plays.PlayReport, list[str], dict[str, str]]:
    (first, last, per, campaign), stores, names = _filters(console, ask)
    try:
        found = plays.report(
            console.database,
            first=first,
            last=last,
            zone=console.zone,
            per=per,
            stores=stores,
            campaign=campaign,
        )
    except plays.BadRange as problem:
        raise BadRequest(str(problem)) from None
    return found, stores, names


def _filters(
    console: Console, ask: Ask
) -> tuple[tuple[date, date, plays.Per, str | None], list[str], dict[str, str]]:
    """(first, last, per, campaign), the stores asked about that the actor may see,
    and the names of all the stores they may see."""
    actor = ask.require(Action.VIEW)
    with console.database.read() as connection:
        fleet = read_fleet(connection).for_actor(actor)
    names = {store: fleet.store_names.get(store) or store for store in fleet.labels}
    today = ask.now.astimezone(console.zone).date()
    last = _day(ask.field("to"), "to") or today
    first = _day(ask.field("from"), "from") or last - timedelta(days=DEFAULT_DAYS - 1)
    per_text = ask.field("per", "day")
    if per_text not in ("day", "hour"):
        raise BadRequest("per: day or hour")
    per: plays.Per = "hour" if per_text == "hour" else "day"
    chosen = ask.field("campaign")
    campaign = plays.NO_CAMPAIGN if chosen == NO_CAMPAIGN_PARAM else (chosen or None)
    store = ask.field("store")
    stores = sorted(names) if not store else [store] if store in names else []
    return (first, last, per, campaign), stores, names


def _day(text: str, name: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"{name}: a date YYYY-MM-DD") from None


def plays_routes(console: Console) -> list[BaseRoute]:
    return [file_route(console, "/plays.csv", plays_csv), *routes(console, "/plays", plays_page)]
