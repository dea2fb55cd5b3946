"""The store map's drawing decisions, pure: where a store lands, its colour, pins of one
city fanned out, names that never cover another pin or name."""

from __future__ import annotations

import itertools
import math

from hq.analytics.store_map import (
    NO_DATA,
    PIN_RADIUS,
    SCALE,
    WIDTH,
    colour,
    draw,
    load_outline,
    text_width,
)
from hq.analytics.store_metrics import Metric
from hq.store_places import Place

SHANGHAI = [
    Place("sh-nanjing-road", "上海南京东路旗舰店", "east", 31.2353, 121.4747),
    Place("sh-xujiahui", "上海徐家汇店", "east", 31.1955, 121.4368),
    Place("sh-lujiazui", "上海陆家嘴店", "east", 31.2397, 121.4998),
]
URUMQI = Place("xj-urumqi", "乌鲁木齐店", "west", 43.8256, 87.6168)
HARBIN = Place("hl-harbin", "哈尔滨中央大街店", "north", 45.7736, 126.6169)
SANYA = Place("hi-sanya", "三亚店", "south", 18.2528, 109.5119)
NOWHERE = Place("km-nanping-street", "昆明南屏街店", "west", None, None)
SWAPPED = Place("cd-swapped", "成都店", "west", 104.08 - 90, 30.65)  # lon typed as lat, less 90


def href(store_id: str) -> str:
    return f"/console/stores/{store_id}"


def test_stores_land_where_they_are_in_china_and_unplaced_ones_get_no_pin() -> None:
    picture = draw([*SHANGHAI, URUMQI, HARBIN, SANYA, NOWHERE, SWAPPED], {}, Metric.CSAT, href=href)
    pins = {pin.store_id: pin for pin in picture.pins}
    assert NOWHERE.store_id not in pins
    assert picture.outside == ("cd-swapped",)  # listed beside the map, not drawn off it
    assert pins["xj-urumqi"].x < pins["sh-nanjing-road"].x  # west
    assert pins["hl-harbin"].y < pins["sh-nanjing-road"].y < pins["hi-sanya"].y  # north to south
    for pin in pins.values():
        assert 0 < pin.x < picture.width
        assert 0 < pin.y < picture.height
        assert pin.colour == NO_DATA
        assert pin.text == "no data"
    assert len(load_outline().provinces) == 34  # 31, Taiwan, Hong Kong, Macau


def test_colours_run_from_the_lowest_value_shown_to_the_highest() -> None:
    assert colour(0.02, 0.02, 0.08) == SCALE[0]
    assert colour(0.05, 0.02, 0.08) == SCALE[1]
    assert colour(0.08, 0.02, 0.08) == SCALE[2]
    assert colour(0.5, 0.5, 0.5) == SCALE[1]  # one value: the middle
    assert colour(None, 0.02, 0.08) == NO_DATA
    picture = draw(
        SHANGHAI, {"sh-nanjing-road": 0.02, "sh-xujiahui": 0.08}, Metric.CONVERSION, href=href
    )
    by_store = {pin.store_id: pin for pin in picture.pins}
    assert (by_store["sh-nanjing-road"].text, by_store["sh-nanjing-road"].colour) == (
        "2.0%",
        SCALE[0],
    )
    assert by_store["sh-lujiazui"].colour == NO_DATA
    assert [text for _, text in picture.legend.ticks] == ["2.0%", "5.0%", "8.0%"]


def test_stores_of_one_city_are_fanned_out_so_each_pin_can_be_clicked() -> None:
    pins = draw(SHANGHAI, {}, Metric.TRAFFIC, href=href).pins
    assert all(pin.fanned for pin in pins)
    for one, other in itertools.combinations(pins, 2):
        assert math.dist((one.x, one.y), (other.x, other.y)) >= 2 * PIN_RADIUS
        assert math.dist((one.at_x, one.at_y), (other.at_x, other.at_y)) < PIN_RADIUS


def test_names_cover_no_other_name_and_stay_in_the_picture() -> None:
    pins = draw([*SHANGHAI, URUMQI, HARBIN, SANYA], {}, Metric.TRAFFIC, href=href).pins
    boxes = []
    for pin in pins:
        if pin.label is None:
            continue
        width = text_width(pin.label)
        left = {"start": pin.label_x, "end": pin.label_x - width}.get(
            pin.label_anchor, pin.label_x - width / 2
        )
        assert left >= 0
        assert left + width <= WIDTH
        boxes.append((left, pin.label_y - 12, left + width, pin.label_y))
    assert len(boxes) >= 5  # room for most names, even in Shanghai
    for a, b in itertools.combinations(boxes, 2):
        assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3])
