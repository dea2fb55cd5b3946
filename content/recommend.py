"""Which other phones to suggest beside the one a shopper holds.

Pure functions of a bundle: HQ's tables first, then sensible fill-ins from the
catalog. Arguments after `*` are keyword-only so later sources (counts of
lifts in this store, a member's personal picks) can be added without breaking
callers.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection, Iterable

from content.bundle import Bundle
from content.catalog import ProductSummary
from content.model import Product


def related(
    bundle: Bundle, sku: str, *, limit: int = 4, exclude: Collection[str] = ()
) -> tuple[Product, ...]:
    """Up to `limit` models to show beside `sku`.

    First HQ's related table (in-stock before sold-out, table order otherwise),
    then other in-stock models of the same brand, then others by closeness in
    price. Never `sku` itself, anything in `exclude`, or unknown SKUs.
    """
    if limit <= 0:
        return ()
    skip = {sku, *exclude}
    table = _in_stock_first(_known(bundle, bundle.recommendations.related.get(sku, ()), skip))
    picked = table[:limit]
    shown = bundle.product(sku)
    if len(picked) < limit and shown is not None:
        skip.update(product.sku for product in picked)
        models = {shown.name.en, *(product.name.en for product in picked)}
        picked.extend(_similar(bundle, shown, skip, models, limit - len(picked)))
    return tuple(picked)


def best_sellers(
    bundle: Bundle, *, limit: int = 4, exclude: Collection[str] = ()
) -> tuple[Product, ...]:
    """Up to `limit` of HQ's best sellers, in-stock first, skipping `exclude`."""
    if limit <= 0:
        return ()
    table = _known(bundle, bundle.recommendations.best_sellers, set(exclude))
    return tuple(_in_stock_first(table)[:limit])


def _known(bundle: Bundle, skus: Iterable[str], skip: set[str]) -> list[Product]:
    """Products for `skus` in order, once each, without unknown or skipped SKUs."""
    seen = set(skip)
    products = []
    for sku in skus:
        product = bundle.product(sku)
        if product is not None and sku not in seen:
            seen.add(sku)
            products.append(product)
    return products


def _in_stock_first(products: list[Product]) -> list[Product]:
    return sorted(products, key=lambda product: not product.in_stock)  # stable


def _similar(
    bundle: Bundle, shown: Product, skip: set[str], models: set[str], count: int
) -> list[Product]:
    """Models not in `models`, in stock first, then same brand, then near in price.

    A model is told apart by its name: another colour or storage size of the
    phone in hand is not a suggestion. Ranked by the catalog's summaries, so only
    the products suggested are built (an installed release's catalog is read on
    demand: content.catalog).
    """
    cents = int(shown.price.amount * 100)

    def key(summary: ProductSummary) -> tuple[bool, bool, int, str]:
        return (
            not summary.in_stock,
            summary.brand != shown.brand,
            abs(summary.price_cents - cents),
            summary.sku,  # ties broken the same way every time
        )

    best: dict[str, tuple[tuple[bool, bool, int, str], ProductSummary]] = {}
    for summary in bundle.summaries():
        model = summary.name_en
        if summary.sku in skip or model in models:
            continue
        ranked = (key(summary), summary)
        current = best.get(model)
        if current is None or ranked[0] < current[0]:
            best[model] = ranked
    chosen = heapq.nsmallest(count, best.values(), key=lambda r: r[0])
    products = (bundle.product(summary.sku) for _, summary in chosen)
    return [product for product in products if product is not None]
