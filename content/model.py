"""The content a chain publishes to its kiosks, as frozen typed values.

These pydantic models are the schema of a content bundle: `bundle.py` validates
each JSON document against them, and `docs/bundle.schema.json` is generated
from them (`python -m content.schema`). Unknown fields are refused so a typo in
a document is an error, not silently ignored.
"""

from __future__ import annotations

import enum
from datetime import datetime
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

SKU_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
Sku = Annotated[str, StringConstraints(pattern=SKU_PATTERN)]

# One path segment: not empty, not "." and not "..". Written as a plain regular
# expression (no look-ahead) so pydantic checks it in Rust, which matters for
# 20,000 image paths, and so the JSON schema carries the rule too.
_SEGMENT: Final = (
    r"(?:[A-Za-z0-9_-][A-Za-z0-9._-]*|\.[A-Za-z0-9_-][A-Za-z0-9._-]*|\.\.[A-Za-z0-9._-]+)"
)
ASSET_PATH_PATTERN: Final = rf"^{_SEGMENT}(?:/{_SEGMENT})*$"
# Bundle-relative POSIX path; no absolute paths and no climbing out of the bundle.
AssetPath = Annotated[str, StringConstraints(pattern=ASSET_PATH_PATTERN, max_length=200)]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


def _check_iso_datetime(value: str) -> str:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            "must be an ISO 8601 date and time, e.g. 2025-06-18T09:30:00+08:00"
        ) from None
    return value


IsoDateTime = Annotated[str, AfterValidator(_check_iso_datetime)]


class FieldValueError(ValueError):
    """A whole-document check that can still name the offending field.

    Pydantic reports errors of a model validator at the document itself; raising
    this lets `bundle.py` point at e.g. `products[7].sku` instead.
    """

    def __init__(self, message: str, loc: tuple[str | int, ...]) -> None:
        super().__init__(message)
        self.loc = loc


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
        seen: dict[str, int] = {}
        for index, product in enumerate(self.products):
            first = seen.setdefault(product.sku, index)
            if first != index:
                raise FieldValueError(
                    f"duplicate SKU {product.sku!r} (first at products[{first}])",
                    ("products", index, "sku"),
                )
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
        seen: dict[int, int] = {}
        for index, assignment in enumerate(self.slots):
            first = seen.setdefault(assignment.slot, index)
            if first != index:
                raise FieldValueError(
                    f"slot {assignment.slot} assigned twice (first at slots[{first}])",
                    ("slots", index, "slot"),
                )
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
    release: Annotated[str, StringConstraints(pattern=SKU_PATTERN)]  # same shape as a SKU
    created_at: IsoDateTime
    assets: tuple[AssetEntry, ...]

    @model_validator(mode="after")
    def _supported(self) -> Manifest:
        if self.schema_version != SCHEMA_VERSION:
            raise FieldValueError(
                f"schema_version {self.schema_version} is not supported"
                f" (expected {SCHEMA_VERSION})",
                ("schema_version",),
            )
        return self
