"""Analytics: charts of what the chain's shoppers did, from the rollups (hq.analytics).

    GET /console/analytics                       -> the products page
    GET /console/analytics/<page>[.json][?from=DAY&to=DAY&store=ID&product=SKU]
    GET /console/analytics/<page>.csv?chart=KEY[&same filters]   one chart's figures

    GET /console/analytics/offers[.json][?...&offer=ID]   member offers' results

Pages: products, conversion, surveys, coupons, offers, visits (figures.PAGES).
Each chart is an SVG drawn here (hq.analytics.charts) above its table, with a
"Download CSV" link of exactly the figures drawn. A store manager sees their
stores only: their figures are always read per store, for their stores.
The JSON twin carries the figures without the pictures.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, Final
from urllib.parse import urlencode

from sqlalchemy import select
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from hq.analytics import figures
from hq.analytics.caps import draw_caps
from hq.console.permissions import Action, Reach, permission_allowed
from hq.console.staff import Role
from hq.console.views.base import (
    Ask,
    BadRequest,
    Console,
    Forbidden,
    NotFound,
    Page,
    file_route,
    routes,
)
from hq.console.views.shared import figures_up_to
from hq.db import stores

DEFAULT_DAYS: Final = 30
MAX_PRODUCT: Final = 100
PRODUCT_PAGES: Final = frozenset({"products", "conversion"})  # the ones a product narrows
OFFER_PAGE: Final = "offers"  # the one an offer narrows
MAX_OFFER: Final = 40  # an offer id is a slug (hq.wire)


def _filters(console: Console, ask: Ask, page: str) -> tuple[figures.Filters, dict[str, str]]:
    """The filters asked for, limited to what the actor may see, and the visible stores' names."""
    actor = ask.require(Action.VIEW)
    with console.database.read() as connection:
        names = {
            store_id: name or store_id
            for store_id, name in connection.execute(select(stores.c.store_id, stores.c.name))
        }
    visible = {
        store_id: name
        for store_id, name in names.items()
        if permission_allowed(actor, Action.VIEW, Reach.store(store_id))
    }
    today = ask.now.astimezone(console.zone).date()
    last = _day(ask.field("to"), "to") or today
    first = _day(ask.field("from"), "from") or last - timedelta(days=DEFAULT_DAYS - 1)
    chosen = ask.field("store")
    if chosen and chosen not in visible:
        raise Forbidden("That store is not one of yours.")
    # Pages without products ignore the filter (it stays in the links between pages).
    product = (ask.field("product").strip() or None) if page in PRODUCT_PAGES else None
    if product is not None and len(product) > MAX_PRODUCT:
        raise BadRequest(f"product: a product id of at most {MAX_PRODUCT} characters")
    offer = (ask.field("offer").strip() or None) if page == OFFER_PAGE else None
    if offer is not None and len(offer) > MAX_OFFER:
        raise BadRequest(f"offer: an offer id of at most {MAX_OFFER} characters")
    if chosen:
        seen: tuple[str, ...] | None = (chosen,)
    elif actor.role == Role.STORE_MANAGER:
        seen = tuple(sorted(visible))
    else:
        seen = None  # every store: read from the chain-wide rollups
    try:
        found = figures.Filters(first, last, console.zone, seen, product, offer)
    except figures.BadRange as problem:
        raise BadRequest(str(problem)) from None
    return found, visible


def _day(text: str, name: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"{name}: a date YYYY-MM-DD") from None


def _charts(
    console: Console, page: str, found: figures.Filters, names: dict[str, str]
) -> list[figures.Chart]:
    _, build = figures.PAGES[page]
    with console.database.snapshot() as connection:
        if page == "coupons":  # draws' wins against the caps of the content published
            caps = draw_caps(connection, console.content.assets)
            return figures.coupons(connection, found, names, caps.caps)
        return build(connection, found, names)


def _query(ask: Ask, **more: str) -> str:
    asked = {name: ask.field(name) for name in ("from", "to", "store", "product", "offer")}
    return urlencode({k: v for k, v in {**asked, **more}.items() if v})


def page_view(page: str) -> Callable[[Console, Ask], Page]:
    title, _ = figures.PAGES[page]

    def view(console: Console, ask: Ask) -> Page:
        found, visible = _filters(console, ask, page)
        charts = _charts(console, page, found, visible)
        with console.database.read() as connection:
            products = figures.products_in(connection, found) if page in PRODUCT_PAGES else []
            offers = figures.offers_in(connection, found) if page == OFFER_PAGE else []
        data: dict[str, Any] = {
            "page": page,
            "from": found.first.isoformat(),
            "to": found.last.isoformat(),
            "zone": str(found.zone),
            "store": ask.field("store"),
            "product": found.product or "",
            "offer": found.offer or "",
            "rolled_up_to": figures_up_to(console.database),
            "charts": [chart.as_json() for chart in charts],
        }
        if not ask.as_json:
            from hq.analytics.charts import svg  # noqa: PLC0415 (matplotlib: on a page's first draw)

            data = {
                **data,
                "pages": [(name, label) for name, (label, _) in figures.PAGES.items()],
                "pictures": [svg(chart) for chart in charts],
                "csv_urls": [
                    f"{ask.base}/analytics/{page}.csv?{_query(ask, chart=chart.key)}"
                    for chart in charts
                ],
                "choices": {
                    "stores": sorted(visible.items()),
                    "products": products,
                    "offers": offers,
                },
                "query": _query(ask),
            }
        return Page("analytics.html", data, title=f"Analytics: {title}", section="analytics")

    return view


def csv_view(page: str) -> Callable[[Console, Ask], Response]:
    def view(console: Console, ask: Ask) -> Response:
        found, visible = _filters(console, ask, page)
        key = ask.field("chart")
        chart = figures.chart_named(_charts(console, page, found, visible), key)
        if chart is None:
            raise NotFound(f"no chart {key!r} on this page")
        name = f"{page}-{chart.key}-{found.first.isoformat()}-{found.last.isoformat()}.csv"
        return Response(
            chart.csv(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    return view


def analytics_routes(console: Console) -> list[BaseRoute]:
    found: list[BaseRoute] = [
        Route("/analytics", lambda request: RedirectResponse(
            f"{request.scope.get('root_path', '')}/analytics/products", status_code=303
        )),
    ]  # fmt: skip
    for page in figures.PAGES:
        found.append(file_route(console, f"/analytics/{page}.csv", csv_view(page)))
        found.extend(routes(console, f"/analytics/{page}", page_view(page)))
    return found
