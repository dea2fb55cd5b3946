"""Key specs as rows a shopper reads, and how two phones differ (pure, no Qt)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from content.model import PhoneSpecs, Product
from kiosk.i18n import format_price


class Better(enum.IntEnum):
    """Which way a difference favours a phone."""

    NEITHER = 0
    HIGHER = 1
    LOWER = -1


@dataclass(frozen=True, slots=True)
class SpecValue:
    label_key: str  # an i18n key, e.g. "spec.battery"
    text: str  # as shown, with units
    number: float | None  # what to compare, when a difference can be better or worse
    better: Better


@dataclass(frozen=True, slots=True)
class CompareRow:
    label_key: str
    left: str
    right: str
    differs: bool
    winner: int  # -1 left is better, +1 right is better, 0 neither or no difference


def _storage(gb: int) -> str:
    return f"{gb // 1024} TB" if gb >= 1024 and gb % 1024 == 0 else f"{gb} GB"


def spec_values(specs: PhoneSpecs) -> list[SpecValue]:
    """The rows in the order shoppers ask about them."""
    s = specs
    return [
        SpecValue("spec.display", f'{s.display_inches:g}" {s.display_type}', None, Better.NEITHER),
        SpecValue("spec.refresh", f"{s.refresh_hz} Hz", s.refresh_hz, Better.HIGHER),
        SpecValue("spec.chipset", s.chipset, None, Better.NEITHER),
        SpecValue("spec.memory", f"{s.ram_gb} GB", s.ram_gb, Better.HIGHER),
        SpecValue("spec.storage", _storage(s.storage_gb), s.storage_gb, Better.HIGHER),
        SpecValue("spec.camera", f"{s.main_camera_mp} MP", s.main_camera_mp, Better.HIGHER),
        SpecValue("spec.battery", f"{s.battery_mah:,} mAh", s.battery_mah, Better.HIGHER),
        SpecValue("spec.charging", f"{s.charging_w} W", s.charging_w, Better.HIGHER),
        SpecValue("spec.weight", f"{s.weight_g} g", s.weight_g, Better.LOWER),
        SpecValue("spec.network", s.network, None, Better.NEITHER),
        SpecValue("spec.os", s.os, None, Better.NEITHER),
    ]


def compare(left: Product, right: Product) -> list[CompareRow]:
    """Price first, then every spec; rows that differ are flagged, better sides named."""
    price = CompareRow(
        "compare.price",
        format_price(left.price),
        format_price(right.price),
        differs=left.price != right.price,
        winner=_winner(float(left.price.amount), float(right.price.amount), Better.LOWER),
    )
    rows = [price]
    for a, b in zip(spec_values(left.specs), spec_values(right.specs), strict=True):
        winner = 0
        if a.number is not None and b.number is not None:
            winner = _winner(a.number, b.number, a.better)
        rows.append(CompareRow(a.label_key, a.text, b.text, a.text != b.text, winner))
    return rows


def _winner(left: float, right: float, better: Better) -> int:
    if left == right or better is Better.NEITHER:
        return 0
    left_higher = left > right
    left_wins = left_higher if better is Better.HIGHER else not left_higher
    return -1 if left_wins else 1
