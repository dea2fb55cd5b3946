"""Small hand-made catalogs for the recommendation tests: phones and a shop of them."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from content.bundle import Bundle
from content.model import (
    Catalog,
    LocalizedText,
    Manifest,
    Money,
    PhoneSpecs,
    Planogram,
    Playlist,
    PlaylistItem,
    Product,
    Recommendations,
)

SPECS = PhoneSpecs(
    display_inches=6.7,
    display_type="OLED",
    refresh_hz=120,
    chipset="Orion O8s",
    ram_gb=12,
    storage_gb=256,
    main_camera_mp=50,
    battery_mah=5000,
    charging_w=67,
    weight_g=190,
    network="5G",
    os="XingOS 5",
)


def phone(
    sku: str,
    *,
    brand: str = "Xinghe",
    price: str = "3999.00",
    model: str = "",
    in_stock: bool = True,
) -> Product:
    name = model or sku
    return Product(
        sku=sku,
        brand=brand,
        name=LocalizedText(zh_cn=name, en=name),
        colour=LocalizedText(zh_cn="黑", en="Black"),
        price=Money(amount=Decimal(price)),
        specs=SPECS,
        images=(f"images/{sku.lower()}.jpg",),
        in_stock=in_stock,
    )


def shop(
    *products: Product,
    related_table: dict[str, tuple[str, ...]] | None = None,
    best: tuple[str, ...] = (),
) -> Bundle:
    return Bundle(
        root=Path("/nonexistent"),
        manifest=Manifest(
            schema_version=1, release="t", created_at="2025-06-18T09:00:00+08:00", assets=()
        ),
        catalog=Catalog(products=products),
        planogram=Planogram(cabinet="test", slots=()),
        playlist=Playlist(items=(PlaylistItem(image="attract/a.jpg"),)),
        recommendations=Recommendations(related=related_table or {}, best_sellers=best),
    )


def skus(products: tuple[Product, ...]) -> list[str]:
    return [product.sku for product in products]
