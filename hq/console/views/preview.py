"""A product screen of a release, as a kiosk shows it, before (or after) it goes out.

    GET /console/releases/{n}/preview[.json][?sku=SKU&lang=zh|en]
    GET /console/releases/{n}/assets/{sha256}      a picture of the release

Picture, name, colour, price and stock, the key specs, and the related models
the kiosk would suggest (`content.recommend.related`, the kiosk's own rule),
all read from HQ's asset store. Only files of that release are served, to whom
may see the release.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from starlette.responses import FileResponse
from starlette.routing import BaseRoute

from content.model import PhoneSpecs, Product
from content.recommend import best_sellers, related
from hq.console.permissions import Action
from hq.console.reach import read_fleet
from hq.console.release_docs import ReleaseUnreadable, preview_bundle
from hq.console.views.base import Ask, BadRequest, Console, NotFound, Page, file_route, routes
from hq.console.views.shared import find_release
from hq.content.releases import release_files

SHA256: Final = re.compile(r"^[0-9a-f]{64}$")
RELATED: Final = 3  # the kiosk shows three of each
_CURRENCY: Final = {"CNY": "¥", "USD": "$", "EUR": "€", "HKD": "HK$"}

# The kiosk's own words for its spec rows (kiosk/i18n.py), in the order it shows them.
SPEC_LABELS: Final = {
    "display": ("屏幕", "Display"),
    "refresh": ("刷新率", "Refresh rate"),
    "chipset": ("处理器", "Chipset"),
    "memory": ("运行内存", "Memory"),
    "storage": ("存储容量", "Storage"),
    "camera": ("主摄像头", "Main camera"),
    "battery": ("电池", "Battery"),
    "charging": ("快充", "Charging"),
}
WORDS: Final = {
    "in_stock": ("有现货", "In stock"),
    "sold_out": ("暂时缺货", "Out of stock"),
    "related": ("相关机型", "Related models"),
    "best_sellers": ("本店热销", "Best sellers here"),
    "slot": ("{} 号位", "Slot {}"),
    "signup": ("注册会员", "Join"),
    "survey": ("评价有礼", "Feedback"),
    "hint": ("再拿起一部，即可对比", "Lift another phone to compare"),
}


def preview_page(console: Console, ask: Ask) -> Page:
    ask.signed_in()
    info = find_release(console.database, int(ask.params["number"]))
    with console.database.read() as connection:
        fleet = read_fleet(connection)
    ask.require(Action.VIEW, fleet.reach(info.target))
    if info.reverts is not None:
        raise BadRequest(
            "A rollback has no content of its own: preview the release its kiosks go back to."
        )
    try:
        bundle, files = preview_bundle(
            console.database, console.content.assets, info.release_id, info.bundle_release
        )
    except ReleaseUnreadable as error:
        raise NotFound(str(error)) from None
    english = ask.field("lang") == "en"
    products = bundle.catalog.products
    wanted = ask.field("sku") or _first_on_shelf(bundle.planogram.slots, products)
    shown = bundle.product(wanted)
    if shown is None:
        raise NotFound(f"Release {info.release_id} has no product {wanted!r}.")
    picture = f"{ask.base}/releases/{info.release_id}/assets/"

    def card(product: Product) -> dict[str, Any]:
        return {
            "sku": product.sku,
            "name": product.name.en if english else product.name.zh_cn,
            "price": price_text(product.price.amount, product.price.currency),
            "picture": picture + files[product.images[0]][0],
            "slot": bundle.slot_of(product.sku),
        }

    return Page(
        "preview.html",
        {
            "release": info.as_json(),
            "lang": "en" if english else "zh",
            "words": {key: pair[1 if english else 0] for key, pair in WORDS.items()},
            "product": {
                **card(shown),
                "brand": shown.brand,
                "colour": shown.colour.en if english else shown.colour.zh_cn,
                "in_stock": shown.in_stock,
                "pictures": [picture + files[image][0] for image in shown.images],
                "specs": [
                    {"label": SPEC_LABELS[key][1 if english else 0], "value": value}
                    for key, value in spec_rows(shown.specs)
                ],
            },
            "related": [card(product) for product in related(bundle, shown.sku, limit=RELATED)],
            "best_sellers": [
                card(product)
                for product in best_sellers(bundle, limit=RELATED, exclude={shown.sku})
            ],
            "products": [
                {
                    "sku": product.sku,
                    "name": product.name.en if english else product.name.zh_cn,
                    "price": price_text(product.price.amount, product.price.currency),
                    "in_stock": product.in_stock,
                }
                for product in products
            ],
        },
        title=f"Preview of release {info.release_id}",
        section="releases",
    )


def spec_rows(specs: PhoneSpecs) -> list[tuple[str, str]]:
    """The kiosk's key specs (kiosk/specs.py), the eight its product screen shows."""
    storage = (
        f"{specs.storage_gb // 1024} TB"
        if specs.storage_gb >= 1024 and specs.storage_gb % 1024 == 0
        else f"{specs.storage_gb} GB"
    )
    return [
        ("display", f'{specs.display_inches:g}" {specs.display_type}'),
        ("refresh", f"{specs.refresh_hz} Hz"),
        ("chipset", specs.chipset),
        ("memory", f"{specs.ram_gb} GB"),
        ("storage", storage),
        ("camera", f"{specs.main_camera_mp} MP"),
        ("battery", f"{specs.battery_mah:,} mAh"),
        ("charging", f"{specs.charging_w} W"),
    ]


def price_text(amount: Decimal, currency: str) -> str:
    sign = _CURRENCY.get(currency, currency + " ")
    whole = amount == amount.to_integral_value()
    return f"{sign}{amount:,.0f}" if whole else f"{sign}{amount:,.2f}"


def _first_on_shelf(slots: Any, products: Any) -> str:
    ordered = sorted(slots, key=lambda assignment: assignment.slot)
    return str(ordered[0].sku if ordered else products[0].sku)


def preview_routes(console: Console) -> list[BaseRoute]:
    return [
        *routes(console, "/releases/{number:int}/preview", preview_page),
        file_route(console, "/releases/{number:int}/assets/{sha256}", release_asset),
    ]


def release_asset(console: Console, ask: Ask) -> FileResponse:
    """A file of the release, by hash (the pictures the preview shows)."""
    ask.signed_in()
    info = find_release(console.database, int(ask.params["number"]))
    with console.database.read() as connection:
        fleet = read_fleet(connection)
    ask.require(Action.VIEW, fleet.reach(info.target))
    sha256 = str(ask.params["sha256"])
    if not SHA256.fullmatch(sha256):
        raise NotFound()
    held = {sha for sha, _size in release_files(console.database, info.release_id).values()}
    path = console.content.assets.local_path(sha256) if sha256 in held else None
    if path is None:
        raise NotFound()
    return FileResponse(
        path,
        media_type=_media_type(path),
        headers={"Cache-Control": "private, max-age=3600"},
    )


def _media_type(path: Path) -> str:
    with path.open("rb") as file:
        head = file.read(12)
    if head.startswith(b"\x89PNG"):
        return "image/png"
    if head.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if head[4:8] == b"ftyp":
        return "video/mp4"
    return "application/octet-stream"
