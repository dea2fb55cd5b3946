"""Which other phones to suggest beside the one a shopper holds.

Pure functions of a bundle: HQ's tables first, then sensible fill-ins from the
catalog. Arguments after `*` are keyword-only so later sources can be added
without breaking callers.

Where the bundle carries HQ's trained model (recommender.json, docs/bundle.md),
the shelves rank by it, mixed with two live signals:

- `store`: this store's own recent lifts per SKU (`LiftTally` below, kept by the
  kiosk's session machine), so a phone this store's shoppers pick up more than
  the chain's rises here;
- `shopper`: a recognised member's history (what they looked at last time), used
  only when they consented to personalised recommendations. Without that consent
  nothing of it is read: the shelves are exactly an anonymous shopper's.

The model's lists lead; HQ's hand table in recommendations.json fills in for SKUs the
model does not know (a phone launched since it was trained), then the catalog.
Without a model, the hand tables rank as before and the live signals are unused.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Final

from content.bundle import Bundle
from content.catalog import ProductSummary
from content.model import Product, RecommendationModel

STORE_SHARE: Final = 0.3
# How much this store's own lifts move the model's "goes with" order: enough to
# swap neighbours of near score, not to put an unrelated local hit beside a phone.
STORE_SHARE_BEST: Final = 0.5
# Best sellers are about this store as much as the chain: an even mix.
PERSONAL_SHARE: Final = 0.3
# What goes with the member's own history: a nudge beside the phone in hand, which
# stays the main reason for the shelf.
HISTORY_FADE: Final = 0.8
# Each older SKU of the member's history counts this much of the one after it.
HISTORY_LENGTH: Final = 6  # HQ's feed carries their last six (hq.crm.recognition)


@dataclass(frozen=True, slots=True)
class Shopper:
    """A recognised member as the shelves may see them.

    `history`: SKUs they looked at, newest first; `personalised`: they consented to
    personalised recommendations. Without it, `history` is never read."""

    history: tuple[str, ...] = ()
    personalised: bool = False


def personal_history(shopper: Shopper | None) -> tuple[str, ...]:
    """The history the shelves may use: none without personalisation consent."""
    if shopper is None or not shopper.personalised:
        return ()
    return shopper.history[:HISTORY_LENGTH]


def related(
    bundle: Bundle,
    sku: str,
    *,
    limit: int = 4,
    exclude: Collection[str] = (),
    store: Mapping[str, float] | None = None,
    shopper: Shopper | None = None,
) -> tuple[Product, ...]:
    """Up to `limit` models to show beside `sku`.

    With HQ's model: its neighbours of `sku` mixed with the store's lifts and the
    member's consented history (module docstring), in-stock first. Then HQ's related
    table (in-stock before sold-out, table order otherwise), then other in-stock
    models of the same brand, then others by closeness in price. Never `sku` itself,
    anything in `exclude`, unknown SKUs, or another colour of a model already shown.
    """
    if limit <= 0:
        return ()
    skip = {sku, *exclude}
    shown = bundle.product(sku)
    picked: list[Product] = []
    model = bundle.recommender
    if model is not None and sku in model.neighbours:
        ranked = _mixed(model, model.neighbours[sku], STORE_SHARE, store, shopper)
        names = {shown.name.en} if shown is not None else set()
        picked = _pick(_each_known(bundle, ranked, skip), names, limit)
        skip.update(product.sku for product in picked)
    if len(picked) < limit:
        table = bundle.recommendations.related.get(sku, ())
        taken = {product.name.en for product in picked}
        if shown is not None:
            taken.add(shown.name.en)
        hand = _in_stock_first(_known(bundle, table, skip))
        if picked:  # after the model: one card per model, as the model's own
            hand = _pick(hand, taken, limit - len(picked))
        picked.extend(hand[: limit - len(picked)])
    if len(picked) < limit and shown is not None:
        skip.update(product.sku for product in picked)
        models = {shown.name.en, *(product.name.en for product in picked)}
        picked.extend(_similar(bundle, shown, skip, models, limit - len(picked)))
    return tuple(picked)


def best_sellers(
    bundle: Bundle,
    *,
    limit: int = 4,
    exclude: Collection[str] = (),
    store: Mapping[str, float] | None = None,
    shopper: Shopper | None = None,
) -> tuple[Product, ...]:
    """Up to `limit` best sellers, in-stock first, skipping `exclude`: with HQ's model,
    its popularity mixed evenly with the store's lifts (and the member's consented
    history); else HQ's best-seller table."""
    if limit <= 0:
        return ()
    model = bundle.recommender
    if model is None or not model.interest:
        table = _known(bundle, bundle.recommendations.best_sellers, set(exclude))
        return tuple(_in_stock_first(table)[:limit])
    ranked = _mixed(model, model.interest, STORE_SHARE_BEST, store, shopper, open_to_store=True)
    picked = _pick(_each_known(bundle, ranked, set(exclude)), set(), limit)
    if len(picked) < limit:  # the model's SKUs are sold out or excluded here: HQ's table
        skip = {*exclude, *(product.sku for product in picked)}
        picked += _in_stock_first(_known(bundle, bundle.recommendations.best_sellers, skip))
    return tuple(picked[:limit])


def _mixed(
    model: RecommendationModel,
    base: Mapping[str, float],
    store_share: float,
    store: Mapping[str, float] | None,
    shopper: Shopper | None,
    *,
    open_to_store: bool = False,
) -> Iterator[str]:
    """SKUs by (1 - store_share) * base + store_share * the store's lift share
    + PERSONAL_SHARE * what goes with the member's consented history, best first.

    Candidates: `base`'s SKUs (best first, as the model lists them), those that go
    with the history, and, with `open_to_store`, any SKU the store lifts (a local hit
    the chain has not seen). Lazy: only the SKUs the live signals move are sorted; the
    rest keep the model's order and are merged in as the caller reads on, so a shelf
    of 3 reads a few dozen of a 10,000-SKU popularity list, not all of it."""
    keep = 1 - store_share
    moved: dict[str, float] = {}
    history = personal_history(shopper)
    if history:
        weight = PERSONAL_SHARE
        for seen in history:
            for candidate, score in model.neighbours.get(seen, {}).items():
                before = moved.get(candidate, keep * base.get(candidate, 0.0))
                moved[candidate] = before + weight * score
            weight *= HISTORY_FADE
    if store:
        top = max(store.values())
        if top > 0:
            for candidate, lifts in store.items():
                if open_to_store or candidate in base or candidate in moved:
                    before = moved.get(candidate, keep * base.get(candidate, 0.0))
                    moved[candidate] = before + store_share * lifts / top
    ahead = sorted(moved.items(), key=itemgetter(1), reverse=True)  # stable
    rest = ((sku, keep * score) for sku, score in base.items() if sku not in moved)
    # heapq.merge is stable too: on a tie, the model's own order comes first.
    for sku, _ in heapq.merge(rest, ahead, key=itemgetter(1), reverse=True):
        yield sku


def _pick(products: Iterable[Product], names: set[str], limit: int) -> list[Product]:
    """Up to `limit` of `products` in order, in-stock ones first, one per model (name)
    and none named in `names`. Reads `products` only as far as it needs to."""
    taken = set(names)
    in_stock: list[Product] = []
    sold_out: list[Product] = []
    for product in products:
        if product.name.en in taken:
            continue
        taken.add(product.name.en)
        (in_stock if product.in_stock else sold_out).append(product)
        if len(in_stock) == limit:
            break
    return (in_stock + sold_out)[:limit]


def _each_known(bundle: Bundle, skus: Iterable[str], skip: set[str]) -> Iterable[Product]:
    """Products for `skus` in order, without unknown or skipped SKUs, built as read."""
    for sku in skus:
        if sku not in skip:
            product = bundle.product(sku)
            if product is not None:
                yield product


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


# --- this store's lifts -------------------------------------------------------------
#
# The session machine adds each confirmed lift (`tally_lift(tally, sku, now)`, `now`
# its monotonic clock) and, when a session ends, hands the pages `lift_shares(tally)`:
# each SKU's lifts over the most lifted SKU's, in 0..1. The shares change only
# between sessions, so the product panels prepared during the attract loop stay the
# pages a lift shows.
#
# A lift counts 2 ** (-age / TALLY_HALF_LIFE) as it ages. Rather than shrinking every
# count at each lift, a new lift is added with weight 2 ** (t / TALLY_HALF_LIFE) from
# the tally's origin: only ratios are used, and they come out the same. The counts
# start again when the kiosk starts (HQ's model carries the chain's popularity
# meanwhile).

TALLY_HALF_LIFE: Final = 7 * 24 * 3600.0
# A week: this week's launch and this month's promotion show, last month's fade.
_REBASE_ABOVE: Final = 1e12  # weights are brought back to 1 long before floats mind


@dataclass(frozen=True, slots=True)
class LiftTally:
    weights: Mapping[str, float] = field(default_factory=dict)
    origin: float | None = None  # the clock's time at which a lift weighs 1


def tally_lift(tally: LiftTally, sku: str, now: float) -> LiftTally:
    origin = now if tally.origin is None else tally.origin
    weight = 2.0 ** ((now - origin) / TALLY_HALF_LIFE)
    weights = dict(tally.weights)
    if weight > _REBASE_ABOVE:
        weights = {each: value / weight for each, value in weights.items()}
        origin, weight = now, 1.0
    weights[sku] = weights.get(sku, 0.0) + weight
    return LiftTally(weights, origin)


def lift_shares(tally: LiftTally) -> dict[str, float]:
    """SKU -> its lifts over the most lifted SKU's (the most lifted is 1)."""
    top = max(tally.weights.values(), default=0.0)
    if top <= 0:
        return {}
    return {sku: weight / top for sku, weight in tally.weights.items()}
