"""HQ staff read the analytics pages in a real browser (Playwright driving Debian's
Chromium) against HQ on loopback: charts drawn, filters that narrow them, a chart's
CSV, and a store manager who sees only their store.

The chain's months of events are generated (tests/helpers/analytics_data.py) and
stored as ingest stores them; a kiosk's lifts of today come in over HTTP through
the real ingest path, and `kiosk-hq analytics rollup` rolls them all up.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import pytest
from helpers.analytics_data import generate, load_coupons, load_events
from helpers.browser import chromium, sign_in
from helpers.console import CHEAP_HASHER, PASSWORD
from helpers.hq import KIOSK_HQ, KioskClient, enrol, hq_settings, issue_code, running_hq
from playwright.sync_api import Browser, Page, expect

from hq import fleet
from hq.console.staff import Role, add_staff
from hq.db import Database

DESKTOP: Final = {"width": 1440, "height": 900}
STORES: Final = {"sh-nanjing-road": "上海南京路店", "bj-sanlitun": "北京三里屯店"}
RANGE: Final = "from=2026-06-01&to=2026-06-30"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def hq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("analytics-hq")
    settings = hq_settings(data_dir)
    with running_hq(settings) as base_url:
        database = Database(settings.database_url)
        try:
            now = datetime.now(UTC)
            for store_id, name in STORES.items():
                fleet.add_store(database, store_id, name, now=now, by="test")
            for email, role, stores in (
                ("ana@hq.example", Role.CHAIN_ADMIN, []),
                ("wu@hq.example", Role.STORE_MANAGER, ["bj-sanlitun"]),
            ):
                add_staff(database, CHEAP_HASHER, email=email, name=email.split("@")[0].title(),
                          role=role, stores_managed=stores, password=PASSWORD, now=now,
                          by="test")  # fmt: skip
            data = generate(stores=STORES, days=30, sessions=4)
            load_events(database, data)
            load_coupons(database, data)
        finally:
            database.dispose()
        answer = enrol(base_url, issue_code(settings.database_url, "sh-nanjing-road"))
        kiosk = KioskClient(base_url, answer.json())
        # The generated events are this kiosk's first ones (it is <store>-k1).
        after = max(e.seq for e in data.events if e.kiosk_id == kiosk.kiosk_id)
        lifts = [{"session": "today-1", "slot": 3, "sku": "PHONE-03"}] * 2
        sent = kiosk.post(
            [
                kiosk.event(seq, "lift", body, occurred_at="2026-06-30T03:00:00Z")
                for seq, body in enumerate(lifts, after + 1)
            ]
        )
        assert {r["status"] for r in sent.json()["results"]} == {"accepted"}, sent.text
        kiosk.close()
        env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_HQ_")}
        rolled = subprocess.run(
            [str(KIOSK_HQ), "--data-dir", str(data_dir), "analytics", "rollup", "--json"],
            capture_output=True, text=True, timeout=60, check=True, env=env,
        )  # fmt: skip
        assert json.loads(rolled.stdout)["events"] == len(data.events) + 2
        yield base_url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP, locale="en-GB", accept_downloads=True)  # type: ignore[arg-type]
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    yield opened
    context.close()


def test_an_admin_reads_the_charts_narrows_them_and_downloads_one(
    hq: str, page: Page, tmp_path: Path
) -> None:
    sign_in(page, hq, "ana@hq.example", PASSWORD, going_to=f"/console/analytics/products?{RANGE}",
            lands_on="Analytics: Products")  # fmt: skip
    pictures = page.locator("figure.chart-picture svg")
    expect(pictures).to_have_count(5)
    bars = page.get_by_test_id("chart-by-product").locator("svg path[fill='#2563eb']")
    assert bars.count() == 12 + 1  # a bar per phone and the legend, in the chart colour
    colour = bars.first.evaluate("bar => getComputedStyle(bar).fill")
    assert colour == "rgb(37, 99, 235)"
    stores = page.get_by_test_id("chart-by-store")
    expect(stores.locator("svg")).to_contain_text("上海南京路店")  # the labels are text
    expect(stores.locator("svg")).to_contain_text("北京三里屯店")
    expect(page.get_by_test_id("rolled-up-to")).to_contain_text("Figures up to")

    page.select_option("[data-testid=product]", "PHONE-03")
    page.select_option("[data-testid=store]", "sh-nanjing-road")
    page.click("button:has-text('Show')")
    products = page.get_by_test_id("chart-by-product")
    expect(products.locator("header p")).to_have_text("1 rows")
    expect(stores.locator("svg")).not_to_contain_text("北京三里屯店")
    with page.expect_download() as download:
        page.get_by_test_id("csv-by-store").click()
    saved = tmp_path / "by-store.csv"
    download.value.save_as(saved)
    table = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8"))))
    assert [row["store"] for row in table] == ["上海南京路店 (sh-nanjing-road)"]
    shown = page.request.get(f"{hq}/console/analytics/products.json?{RANGE}"
                             "&product=PHONE-03&store=sh-nanjing-road").json()  # fmt: skip
    lifts = next(c for c in shown["charts"] if c["key"] == "by-store")["rows"][0][1]
    assert table[0]["lifts"] == str(lifts)

    headings = ("Conversion and interest", "Surveys", "Coupons and draws", "Member visits")
    for heading in headings:
        page.get_by_test_id("analytics-pages").get_by_role("link", name=heading).click()
        expect(page.locator("h1")).to_have_text(f"Analytics: {heading}")
        expect(page.locator("figure.chart-picture svg").first).to_be_visible()


def test_a_store_manager_sees_only_their_store(hq: str, page: Page) -> None:
    sign_in(page, hq, "wu@hq.example", PASSWORD, going_to=f"/console/analytics/products?{RANGE}",
            lands_on="Analytics: Products")  # fmt: skip
    options = page.locator("[data-testid=store] option")
    expect(options).to_have_count(2)  # "All your stores" and theirs
    expect(options.nth(1)).to_have_attribute("value", "bj-sanlitun")
    chart = page.get_by_test_id("chart-by-store").locator("svg")
    expect(chart).to_contain_text("北京三里屯店")
    expect(chart).not_to_contain_text("上海南京路店")
    refused = page.request.get(f"{hq}/console/analytics/products.json?store=sh-nanjing-road")
    assert refused.status == 403
