"""The content a chain publishes to its kiosks, as frozen typed values.

These pydantic models are the schema of a content bundle: `bundle.py` validates
each JSON document against them, and `docs/bundle.schema.json` is generated
from them (`python -m content.schema`). Unknown fields are refused so a typo in
a document is an error, not silently ignored.
"""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Annotated, Final

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

SCHEMA_VERSION: Final = 1

Sku = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]


def _check_asset_path(path: str) -> str:
    if path.startswith("/") or ".." in path.split("/") or "" in path.split("/"):
        raise ValueError("must be a relative path inside the bundle")
    return path


# Bundle-relative POSIX path; no absolute paths and no climbing out of the bundle.
AssetPath = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9._/-]{1,200}$"),
    AfterValidator(_check_asset_path),
]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class Language(enum.StrEnum):
    """Shopper-facing languages; the first is the default for every new session."""

    ZH_CN = "zh-CN"
    EN = "en"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class LocalizedText(_Frozen):
    zh_cn: str = Field(alias="zh-CN", min_length=1)
    en: str = Field(min_length=1)

    def get(self, language: Language) -> str:
        return self.zh_cn if language is Language.ZH_CN else self.en


class Money(_Frozen):
    amount: Decimal = Field(ge=0, max_digits=12, decimal_places=2)
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "CNY"


class PhoneSpecs(_Frozen):
    """Key specs a shopper compares; units are fixed so screens can format them."""

    display_inches: float = Field(gt=0, lt=20)
    display_type: str = Field(min_length=1)
    refresh_hz: int = Field(gt=0, le=1000)
    chipset: str = Field(min_length=1)
    ram_gb: int = Field(gt=0, le=128)
    storage_gb: int = Field(gt=0, le=8192)
    main_camera_mp: int = Field(gt=0, le=1000)
    battery_mah: int = Field(gt=0, le=50000)
    charging_w: int = Field(gt=0, le=1000)
    weight_g: int = Field(gt=0, le=2000)
    network: str = Field(min_length=1)
    os: str = Field(min_length=1)


class Product(_Frozen):
    sku: Sku
    brand: str = Field(min_length=1)
    name: LocalizedText
    colour: LocalizedText
    price: Money
    specs: PhoneSpecs
    images: tuple[AssetPath, ...] = Field(min_length=1)
    tags: tuple[str, ...] = ()
    in_stock: bool = True


class Catalog(_Frozen):
    products: tuple[Product, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_skus(self) -> Catalog:
        seen: set[str] = set()
        for product in self.products:
            if product.sku in seen:
                raise ValueError(f"duplicate SKU {product.sku!r}")
            seen.add(product.sku)
        return self


class SlotAssignment(_Frozen):
    slot: int = Field(ge=1, le=256)
    sku: Sku


class Planogram(_Frozen):
    """Which SKU sits on which pickup slot of this kiosk's cabinet."""

    cabinet: str = Field(min_length=1)
    slots: tuple[SlotAssignment, ...]

    @model_validator(mode="after")
    def _unique_slots(self) -> Planogram:
        seen: set[int] = set()
        for assignment in self.slots:
            if assignment.slot in seen:
                raise ValueError(f"slot {assignment.slot} assigned twice")
            seen.add(assignment.slot)
        return self


class PlaylistItem(_Frozen):
    image: AssetPath
    seconds: float = Field(default=8.0, ge=1, le=600)
    caption: LocalizedText | None = None


class Playlist(_Frozen):
    items: tuple[PlaylistItem, ...] = Field(min_length=1)


class Recommendations(_Frozen):
    related: dict[Sku, tuple[Sku, ...]] = {}
    best_sellers: tuple[Sku, ...] = ()


class AssetEntry(_Frozen):
    path: AssetPath
    sha256: Sha256
    size: int = Field(ge=0)


class Manifest(_Frozen):
    schema_version: int
    release: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    created_at: str
    assets: tuple[AssetEntry, ...]

    @model_validator(mode="after")
    def _supported(self) -> Manifest:
        if self.schema_version != SCHEMA_VERSION:
            raise ValueError(
                f"schema_version {self.schema_version} is not supported (expected {SCHEMA_VERSION})"
            )
        return self
