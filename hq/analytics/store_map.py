"""The store map: the chain's stores on China's provinces, coloured by a metric. Pure.

    picture = draw(places, values, Metric.CSAT, href=lambda store_id: ...)

Everything the console's template needs to draw an inline SVG, worked out here:
province outlines (shipped in data/china-provinces.json, Natural Earth, see the
README there) projected with an Albers equal-area conic (standard parallels 25°N
and 47°N, central meridian 105°E, as maps of China commonly use), one pin per
located store coloured on a red-amber-green scale from the lowest value shown
to the highest, pins of one city fanned out so each stays clickable, and labels
placed where they do not overlap (the table beside the map names every store).
Nothing is fetched at run time.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

from hq.analytics.store_metrics import Metric
from hq.store_places import Place

OUTLINE: Final = Path(__file__).resolve().parent / "data" / "china-provinces.json"
WIDTH: Final = 960.0
MARGIN: Final = 24.0
PIN_RADIUS: Final = 9.0
CLUSTER_DISTANCE: Final = 2.2 * PIN_RADIUS  # pins closer than this would hide each other
FAN_SPACING: Final = 2.6 * PIN_RADIUS  # between the fanned-out pins of one cluster
MAX_FAN: Final = 8  # a larger crowd of pins is left as it is
SCALE: Final = ("#d0533f", "#f2b33d", "#2e9e62")  # low, middle, high: red, amber, green
NO_DATA: Final = "#9aa5b1"
LABEL_FONT: Final = 16.0
# In the picture's units: the console's map column draws it at about 4/5, 13 px.
LABEL_CLEARANCE: Final = 5.0  # a name keeps this far from other pins: whose name is it?

# Albers equal-area conic for China.
_PARALLELS: Final = (math.radians(25.0), math.radians(47.0))
_MERIDIAN: Final = math.radians(105.0)
_N: Final = (math.sin(_PARALLELS[0]) + math.sin(_PARALLELS[1])) / 2
_C: Final = math.cos(_PARALLELS[0]) ** 2 + 2 * _N * math.sin(_PARALLELS[0])
_RHO0: Final = math.sqrt(_C) / _N  # the origin's parallel: the equator


def albers(longitude: float, latitude: float) -> tuple[float, float]:
    """Longitude and latitude (degrees) on the unit sphere's Albers plane, y up."""
    rho = math.sqrt(max(_C - 2 * _N * math.sin(math.radians(latitude)), 0.0)) / _N
    theta = _N * (math.radians(longitude) - _MERIDIAN)
    return rho * math.sin(theta), _RHO0 - rho * math.cos(theta)


@dataclass(frozen=True, slots=True)
class Frame:
    """From the Albers plane to the picture's pixels: China's provinces fill the width."""

    left: float
    top: float
    scale: float
    height: float

    def point(self, longitude: float, latitude: float) -> tuple[float, float]:
        x, y = albers(longitude, latitude)
        return (x - self.left) * self.scale + MARGIN, (self.top - y) * self.scale + MARGIN


@dataclass(frozen=True, slots=True)
class Shape:
    """A province (or a neighbouring country) as a path, with where its name goes."""

    id: str
    name: str
    name_zh: str
    d: str
    label_x: float
    label_y: float
    labelled: bool  # big enough to carry its name


@dataclass(frozen=True, slots=True)
class Outline:
    frame: Frame
    provinces: tuple[Shape, ...]
    neighbours: tuple[Shape, ...]


@dataclass(frozen=True, slots=True)
class Pin:
    store_id: str
    name: str
    href: str
    x: float  # where the pin is drawn
    y: float
    at_x: float  # where the store is (differs when fanned out of a cluster)
    at_y: float
    value: float | None
    text: str  # the value as read: "4.2%", "31.5 lifts/day", "no data"
    colour: str
    label: str | None = None  # the name drawn beside the pin, if it fits
    label_x: float = 0.0
    label_y: float = 0.0
    label_anchor: str = "start"

    @property
    def fanned(self) -> bool:
        return (self.x, self.y) != (self.at_x, self.at_y)


@dataclass(frozen=True, slots=True)
class Legend:
    low: float | None
    high: float | None
    stops: tuple[tuple[float, str], ...]  # offset 0-1, colour
    ticks: tuple[tuple[float, str], ...]  # offset 0-1, text


@dataclass(frozen=True, slots=True)
class StoreMap:
    width: float
    height: float
    provinces: tuple[Shape, ...]
    neighbours: tuple[Shape, ...]
    pins: tuple[Pin, ...]
    legend: Legend
    metric: Metric
    outside: tuple[str, ...] = ()  # stores placed beyond the map's frame

    def as_json(self) -> dict[str, Any]:
        """What the page shows, without the outlines: for scripts and tests."""
        return {
            "metric": self.metric.value,
            "outside": list(self.outside),
            "legend": {
                "low": self.legend.low,
                "high": self.legend.high,
                "ticks": [text for _, text in self.legend.ticks],
            },
            "pins": [
                {
                    "store_id": pin.store_id,
                    "value": pin.value,
                    "text": pin.text,
                    "colour": pin.colour,
                    "x": round(pin.x, 1),
                    "y": round(pin.y, 1),
                }
                for pin in self.pins
            ],
        }


def draw(
    places: Sequence[Place],
    values: Mapping[str, float],
    metric: Metric,
    *,
    href: Callable[[str], str],
) -> StoreMap:
    """The map of the located `places`, each coloured by its value of `metric` (a store
    missing from `values` has none)."""
    outline = load_outline()
    located = [place for place in places if place.located]
    shown = [values[place.store_id] for place in located if place.store_id in values]
    low, high = (min(shown), max(shown)) if shown else (None, None)
    pins, outside = [], []
    for place in located:
        assert place.latitude is not None
        assert place.longitude is not None
        x, y = outline.frame.point(place.longitude, place.latitude)
        if not (0 <= x <= WIDTH and 0 <= y <= outline.frame.height):
            outside.append(place.store_id)  # abroad, or latitude and longitude swapped
            continue
        value = values.get(place.store_id)
        pins.append(
            Pin(
                store_id=place.store_id,
                name=place.name or place.store_id,
                href=href(place.store_id),
                x=x,
                y=y,
                at_x=x,
                at_y=y,
                value=value,
                text=value_text(metric, value),
                colour=colour(value, low, high),
            )
        )
    placed = label_pins(fan_out(pins))
    return StoreMap(
        width=WIDTH,
        height=outline.frame.height,
        provinces=outline.provinces,
        neighbours=outline.neighbours,
        pins=tuple(placed),
        legend=legend(metric, low, high),
        metric=metric,
        outside=tuple(outside),
    )


def value_text(metric: Metric, value: float | None) -> str:
    if value is None:
        return "no data"
    if metric is Metric.TRAFFIC:
        return f"{value:,.1f} lifts/day"
    return f"{value * 100:.1f}%"


# ---------------------------------------------------------------- colours


def colour(value: float | None, low: float | None, high: float | None) -> str:
    """`value`'s colour on the scale from `low` (red) through amber to `high` (green)."""
    if value is None or low is None or high is None:
        return NO_DATA
    share = 0.5 if high == low else (value - low) / (high - low)
    return scale_colour(min(max(share, 0.0), 1.0))


def scale_colour(share: float) -> str:
    """The scale's colour `share` of the way (0-1) from its low end to its high end."""
    position = share * (len(SCALE) - 1)
    index = min(int(position), len(SCALE) - 2)
    start, end = _rgb(SCALE[index]), _rgb(SCALE[index + 1])
    part = position - index
    mixed = (round(a + (b - a) * part) for a, b in zip(start, end, strict=True))
    return "#" + "".join(f"{channel:02x}" for channel in mixed)


def _rgb(text: str) -> tuple[int, int, int]:
    return int(text[1:3], 16), int(text[3:5], 16), int(text[5:7], 16)


def legend(metric: Metric, low: float | None, high: float | None) -> Legend:
    stops = tuple((n / 10, scale_colour(n / 10)) for n in range(11))
    if low is None or high is None:
        return Legend(None, None, stops, ())
    if low == high:
        return Legend(low, high, stops, ((0.5, value_text(metric, low)),))
    ticks = tuple(
        (share, value_text(metric, low + (high - low) * share)) for share in (0.0, 0.5, 1.0)
    )
    return Legend(low, high, stops, ticks)


# ---------------------------------------------------------------- pins


def fan_out(pins: Sequence[Pin]) -> list[Pin]:
    """Pins that would cover each other (two stores in one city) spread on a small
    circle around where they are, each then drawn with a line to its spot. A crowd
    of more than MAX_FAN stays where it is: a wheel of fifty pins would cover a
    province (the table beside the map lists every store)."""
    out = []
    for cluster in _clusters(pins):
        if len(cluster) == 1 or len(cluster) > MAX_FAN:
            out.extend(cluster)
            continue
        centre_x = sum(pin.x for pin in cluster) / len(cluster)
        centre_y = sum(pin.y for pin in cluster) / len(cluster)
        radius = max(FAN_SPACING * len(cluster) / (2 * math.pi), FAN_SPACING * 0.75)
        for n, pin in enumerate(sorted(cluster, key=lambda p: p.store_id)):
            angle = -math.pi / 2 + 2 * math.pi * n / len(cluster)
            out.append(
                replace(
                    pin,
                    x=centre_x + radius * math.cos(angle),
                    y=centre_y + radius * math.sin(angle),
                )
            )
    return sorted(out, key=lambda pin: pin.store_id)


def _clusters(pins: Sequence[Pin]) -> list[list[Pin]]:
    """Pins joined when closer than CLUSTER_DISTANCE, and chains of such (union-find
    over a grid of that size, so a thousand stores take milliseconds)."""
    parent = list(range(len(pins)))

    def root(n: int) -> int:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    cells: dict[tuple[int, int], list[int]] = {}
    for n, pin in enumerate(pins):
        cx, cy = int(pin.x // CLUSTER_DISTANCE), int(pin.y // CLUSTER_DISTANCE)
        for dx, dy in itertools.product((-1, 0, 1), repeat=2):
            for other in cells.get((cx + dx, cy + dy), ()):
                near = math.dist((pin.x, pin.y), (pins[other].x, pins[other].y))
                if near < CLUSTER_DISTANCE:
                    parent[root(n)] = root(other)
        cells.setdefault((cx, cy), []).append(n)
    groups: dict[int, list[Pin]] = {}
    for n, pin in enumerate(pins):
        groups.setdefault(root(n), []).append(pin)
    return list(groups.values())


def text_width(text: str, size: float = LABEL_FONT) -> float:
    """About how wide `text` draws: CJK characters are square, Latin ones about half."""
    return sum(size if ord(char) >= 0x2E80 else size * 0.56 for char in text)


Box = tuple[float, float, float, float]  # left, top, right, bottom


def label_pins(pins: Sequence[Pin]) -> list[Pin]:
    """Name each pin on its right, or else its left, a corner, above or below, where
    the name covers no other pin or name; the best values are placed first. A name
    that fits nowhere is left off the map (the table beside it lists every store)."""
    clear = PIN_RADIUS + LABEL_CLEARANCE
    taken = _Boxes()
    for pin in pins:
        taken.add((pin.x - clear, pin.y - clear, pin.x + clear, pin.y + clear))
    labelled: dict[str, Pin] = {}
    order = sorted(pins, key=lambda pin: (pin.value is None, -(pin.value or 0), pin.store_id))
    for pin in order:
        width = text_width(pin.name)
        gap = PIN_RADIUS + 4
        own = (pin.x - clear, pin.y - clear, pin.x + clear, pin.y + clear)
        rise = PIN_RADIUS + LABEL_FONT * 0.4
        for anchor, x, y in (
            ("start", pin.x + gap, pin.y),  # right
            ("end", pin.x - gap, pin.y),  # left
            ("start", pin.x + gap * 0.7, pin.y - rise),  # up right
            ("start", pin.x + gap * 0.7, pin.y + rise),  # down right
            ("end", pin.x - gap * 0.7, pin.y - rise),  # up left
            ("end", pin.x - gap * 0.7, pin.y + rise),  # down left
            ("middle", pin.x, pin.y - gap - LABEL_FONT * 0.4),  # above
            ("middle", pin.x, pin.y + gap + LABEL_FONT * 0.6),  # below
        ):
            left = {"start": x, "end": x - width, "middle": x - width / 2}[anchor]
            box = (left, y - LABEL_FONT * 0.75, left + width, y + LABEL_FONT * 0.5)
            if left < 0 or left + width > WIDTH:
                continue
            if not taken.hits(box, but=own):
                taken.add(box)
                labelled[pin.store_id] = replace(
                    pin,
                    label=pin.name,
                    label_x=x,
                    label_y=y + LABEL_FONT * 0.35,
                    label_anchor=anchor,
                )
                break
    return [labelled.get(pin.store_id, pin) for pin in pins]


class _Boxes:
    """Boxes on a grid of cells, so that asking what a box hits looks only nearby."""

    CELL: Final = 64.0

    def __init__(self) -> None:
        self._cells: dict[tuple[int, int], list[Box]] = {}

    def _cells_of(self, box: Box) -> Iterator[tuple[int, int]]:
        left, top, right, bottom = (int(edge // self.CELL) for edge in box)
        return itertools.product(range(left, right + 1), range(top, bottom + 1))

    def add(self, box: Box) -> None:
        for cell in self._cells_of(box):
            self._cells.setdefault(cell, []).append(box)

    def hits(self, box: Box, *, but: Box) -> bool:
        return any(
            other != but and _overlap(box, other)
            for cell in self._cells_of(box)
            for other in self._cells.get(cell, ())
        )


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


# ---------------------------------------------------------------- the outline


@functools.cache
def load_outline(path: Path = OUTLINE) -> Outline:
    """The shipped outline, projected once per process (it never changes while HQ runs)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    projected = [
        albers(x, y)
        for province in data["provinces"]
        for ring in province["polygons"]
        for x, y in ring
    ]
    left = min(x for x, _ in projected)
    right = max(x for x, _ in projected)
    top = max(y for _, y in projected)
    bottom = min(y for _, y in projected)
    scale = (WIDTH - 2 * MARGIN) / (right - left)
    frame = Frame(left, top, scale, (top - bottom) * scale + 2 * MARGIN)
    provinces = tuple(
        _shape(frame, item, labelled=not item.get("small")) for item in data["provinces"]
    )
    neighbours = tuple(_shape(frame, item, labelled=False) for item in data["neighbours"])
    return Outline(frame, provinces, neighbours)


def _shape(frame: Frame, item: Mapping[str, Any], *, labelled: bool) -> Shape:
    parts = []
    for ring in item["polygons"]:
        points = [frame.point(x, y) for x, y in ring]
        parts.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in points) + "Z")
    label_x, label_y = frame.point(*item["label"]) if "label" in item else (0.0, 0.0)
    return Shape(
        id=item["id"],
        name=item["name"],
        name_zh=item.get("name_zh", ""),
        d="".join(parts),
        label_x=label_x,
        label_y=label_y,
        labelled=labelled,
    )
