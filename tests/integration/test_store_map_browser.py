"""The store map in a real browser (Playwright driving Debian's Chromium) against the
console served on loopback: pins painted by the metric, a click through to the store
and on to its kiosk, and a store manager who sees their own store only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Final

import pytest
from helpers.browser import chromium, sign_in
from helpers.console import PASSWORD, ConsoleChain
from helpers.hq import hq_settings, serving
from helpers.store_data import StoreData
from playwright.sync_api import Browser, Page, expect

from hq.analytics.store_map import SCALE
from hq.console.staff import Role
from hq.db import Database
from hq.migrations import migrate
from hq.store_places import set_place

pytestmark = pytest.mark.slow

DESKTOP: Final = {"width": 1440, "height": 900}
DAY: Final = datetime(2026, 12, 5, 4, 0, tzinfo=UTC)  # noon in Shanghai
MAP: Final = "/console/map?metric=traffic&from=2026-12-05&to=2026-12-06"


def rgb(colour: str) -> str:
    return f"rgb({int(colour[1:3], 16)}, {int(colour[3:5], 16)}, {int(colour[5:7], 16)})"


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    directory = tmp_path_factory.mktemp("store-map")
    settings = hq_settings(directory / "hq")
    migrate(settings.database_url)
    database = Database(settings.database_url)
    chain = ConsoleChain(database, directory)
    now = chain.clock()
    set_place(database, "sh-nanjing-road", latitude=31.2353, longitude=121.4747, by="t", now=now)
    set_place(database, "bj-sanlitun", latitude=39.9365, longitude=116.4551, by="t", now=now)
    data = StoreData(database)
    data.lifts("sh-nanjing-road", "k1", DAY, [f"s{n}" for n in range(8)])  # 4 a day
    data.lifts("bj-sanlitun", "k1", DAY, ["s1", "s2"])  # 1 a day
    data.roll()
    chain.add_staff("ana@hq.example", Role.CHAIN_ADMIN)
    chain.add_staff("wu@hq.example", Role.STORE_MANAGER, ["bj-sanlitun"])
    try:
        with serving(chain.app(secure_cookies=False)) as base_url:
            yield base_url
    finally:
        database.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP, locale="en-GB")  # type: ignore[arg-type]
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    yield opened
    context.close()


def painted(page: Page, store_id: str) -> str:
    """The fill Chromium paints the store's pin with."""
    pin = page.locator(f'a.pin[data-store="{store_id}"] circle').last
    return str(pin.evaluate("circle => getComputedStyle(circle).fill"))


def test_pins_are_painted_by_the_metric_and_lead_to_the_store_and_its_kiosks(
    console: str, page: Page
) -> None:
    sign_in(page, console, "ana@hq.example", PASSWORD, going_to=MAP, lands_on="Store map")
    expect(page.locator("a.pin")).to_have_count(2)
    assert painted(page, "sh-nanjing-road") == rgb(SCALE[-1])  # busiest: green
    assert painted(page, "bj-sanlitun") == rgb(SCALE[0])  # quietest: red
    legend = page.get_by_test_id("legend")
    expect(legend).to_contain_text("1.0 lifts/day")
    expect(legend).to_contain_text("4.0 lifts/day")
    expect(page.get_by_test_id("unplaced")).to_contain_text("上海徐家汇店")
    # The pins sit in China's east, Beijing north of Shanghai.
    beijing = page.locator('a.pin[data-store="bj-sanlitun"]').bounding_box()
    shanghai = page.locator('a.pin[data-store="sh-nanjing-road"]').bounding_box()
    assert beijing is not None
    assert shanghai is not None
    assert beijing["y"] < shanghai["y"]

    page.locator('a.pin[data-store="sh-nanjing-road"]').click()
    expect(page.get_by_test_id("store-name")).to_have_text("上海南京路店")
    expect(page.locator("[data-metric=traffic] .value")).to_have_text("4.0 lifts/day")
    expect(page.get_by_test_id("kiosks").locator("tbody tr")).to_have_count(2)
    page.get_by_role("link", name="sh-nanjing-road-k2").click()
    expect(page.locator("h1")).to_contain_text("sh-nanjing-road-k2")


def test_a_store_manager_sees_only_their_store(console: str, page: Page) -> None:
    sign_in(page, console, "wu@hq.example", PASSWORD, going_to=MAP, lands_on="Store map")
    expect(page.locator("a.pin")).to_have_count(1)
    expect(page.locator('a.pin[data-store="bj-sanlitun"]')).to_be_visible()
    expect(page.get_by_test_id("ranking")).not_to_contain_text("上海")
    page.goto(f"{console}/console/stores/sh-nanjing-road")
    expect(page.locator("h1")).to_have_text("Not yours to see or change")
