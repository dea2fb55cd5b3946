"""What each screen shows, worked out from the session state and the bundle (pure, no Qt).

The screens only lay these values out; every wording, ordering and choice of
recommendation is decided here, so it is tested without a display.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from content.bundle import Bundle
from content.model import Language, Product
from content.recommend import best_sellers, related
from kiosk.i18n import format_price, tr
from kiosk.session import CompareView, LocateNotice, MemberVisit, ProductView, SessionState
from kiosk.specs import CompareRow, compare, spec_values

SHELF_SIZE: Final = 3  # cards per shelf: three stay legible at 1920 px next to each other
WELCOME_SHELF_SIZE: Final = 4  # the welcome has the whole width for each row
PRODUCT_SPECS: Final = (
    "spec.display",
    "spec.refresh",
    "spec.chipset",
    "spec.memory",
    "spec.storage",
    "spec.camera",
    "spec.battery",
    "spec.charging",
)


@dataclass(frozen=True, slots=True)
class Card:
    sku: str
    name: str
    price: str
    slot: int | None
    image: Path


@dataclass(frozen=True, slots=True)
class ProductPage:
    sku: str
    language: Language
    brand: str
    title: str
    colour: str
    price: str
    in_stock: bool
    specs: tuple[tuple[str, str], ...]  # (label, value)
    images: tuple[Path, ...]
    related: tuple[Card, ...]
    best_sellers: tuple[Card, ...]
    hint: str
    notice: str | None


@dataclass(frozen=True, slots=True)
class CompareSide:
    sku: str
    brand: str
    title: str
    image: Path


@dataclass(frozen=True, slots=True)
class ComparePage:
    language: Language
    left: CompareSide
    right: CompareSide
    rows: tuple[tuple[str, CompareRow], ...]  # (label, row)


@dataclass(frozen=True, slots=True)
class WelcomePage:
    language: Language
    greeting: str
    subtitle: str
    last_viewed_title: str
    last_viewed: tuple[Card, ...]  # empty when none of them is in this store's catalog
    picks_title: str
    picks: tuple[Card, ...]


def _card(bundle: Bundle, product: Product, language: Language) -> Card:
    return Card(
        sku=product.sku,
        name=product.name.get(language),
        price=format_price(product.price),
        slot=bundle.slot_of(product.sku),
        image=bundle.asset(product.images[0]),
    )


def notice_text(notice: LocateNotice | None, state: SessionState) -> str | None:
    if notice is None:
        return None
    if notice.slot is None:
        return tr(state.language, "locate.ask_staff")
    if any(p.slot == notice.slot for p in state.picks):
        return tr(state.language, "locate.in_hand")
    return tr(state.language, "locate.on_slot", slot=notice.slot)


def product_page(bundle: Bundle, view: ProductView, state: SessionState) -> ProductPage | None:
    product = bundle.product(view.sku)
    if product is None:
        return None
    language = state.language
    # Phones already in the shopper's hands are not recommended back to them.
    in_hand = tuple(p.sku for p in state.picks if p.sku is not None)
    alike = related(bundle, view.sku, limit=SHELF_SIZE, exclude=in_hand)
    shown = (view.sku, *in_hand, *(p.sku for p in alike))
    best = best_sellers(bundle, limit=SHELF_SIZE, exclude=shown)
    specs = {v.label_key: v.text for v in spec_values(product.specs)}
    return ProductPage(
        sku=product.sku,
        language=language,
        brand=product.brand,
        title=product.name.get(language),
        colour=product.colour.get(language),
        price=format_price(product.price),
        in_stock=product.in_stock,
        specs=tuple((tr(language, key), specs[key]) for key in PRODUCT_SPECS),
        images=tuple(bundle.asset(path) for path in product.images),
        related=tuple(_card(bundle, p, language) for p in alike),
        best_sellers=tuple(_card(bundle, p, language) for p in best),
        hint=tr(language, "product.compare_hint") if view.in_hand else "",
        notice=notice_text(state.notice, state),
    )


def compare_page(bundle: Bundle, view: CompareView, state: SessionState) -> ComparePage | None:
    left, right = bundle.product(view.left), bundle.product(view.right)
    if left is None or right is None:
        return None
    language = state.language

    def side(product: Product) -> CompareSide:
        return CompareSide(
            product.sku,
            product.brand,
            product.name.get(language),
            bundle.asset(product.images[0]),
        )

    rows = tuple((tr(language, row.label_key), row) for row in compare(left, right))
    return ComparePage(language, side(left), side(right), rows)


def welcome_page(bundle: Bundle, member: MemberVisit, state: SessionState) -> WelcomePage:
    """The member's welcome: what they looked at last time (those this store sells) and
    picks drawn from them, filled up with best sellers."""
    language = state.language
    distinct = dict.fromkeys(member.last_viewed)  # in order, each once
    seen = tuple(p for p in map(bundle.product, distinct) if p is not None)
    seen = seen[:WELCOME_SHELF_SIZE]
    shown = [p.sku for p in seen]
    picks: list[Product] = []
    # Round robin over what they looked at, most recent first: each visit counts.
    alike = [related(bundle, p.sku, limit=WELCOME_SHELF_SIZE, exclude=shown) for p in seen]
    for rank in range(WELCOME_SHELF_SIZE):
        for row in alike:
            if rank < len(row) and row[rank].sku not in shown:
                picks.append(row[rank])
                shown.append(row[rank].sku)
    picks = picks[:WELCOME_SHELF_SIZE]
    if len(picks) < WELCOME_SHELF_SIZE:
        picks += best_sellers(bundle, limit=WELCOME_SHELF_SIZE - len(picks), exclude=shown)
    name = member.greeting_name
    return WelcomePage(
        language=language,
        greeting=tr(language, "welcome.named", name=name) if name else tr(language, "welcome"),
        subtitle=tr(language, "welcome.subtitle" if seen else "welcome.subtitle_new"),
        last_viewed_title=tr(language, "welcome.last_viewed"),
        last_viewed=tuple(_card(bundle, p, language) for p in seen),
        picks_title=tr(language, "welcome.picks"),
        picks=tuple(_card(bundle, p, language) for p in picks),
    )
