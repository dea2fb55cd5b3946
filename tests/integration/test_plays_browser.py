"""HQ staff read proof of play in the console, in a real browser (Playwright driving
Debian's Chromium) against HQ on loopback, with kiosks' counts sent over HTTP.

A chain admin picks a date range and sees each campaign's shows, time on screen
and lift rate, per store and per day; narrows to one campaign per hour; downloads
the CSV. A store manager sees their own store's plays only.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import pytest
from helpers.browser import chromium, sign_in
from helpers.console import CHEAP_HASHER, PASSWORD
from helpers.hq import KioskClient, enrol, hq_settings, issue_code, running_hq
from playwright.sync_api import Browser, Page, expect

from hq import fleet
from hq.console.staff import Role, add_staff
from hq.db import Database

DESKTOP: Final = {"width": 1440, "height": 900}
NANJING_ROAD, SANLITUN = "sh-nanjing-road", "bj-sanlitun"

pytestmark = pytest.mark.slow


def counts(hour: str, *rows: tuple[str, str | None, int, int, int]) -> dict[str, Any]:
    return {
        "from": f"2026-11-23T{hour}:00:00Z",
        "to": f"2026-11-23T{hour}:05:00Z",
        "rows": [
            {
                "hour": f"2026-11-23T{hour}:00:00Z",
                "item": item,
                "campaign": campaign,
                "shows": shows,
                "ms": ms,
                "lifted": lifted,
            }
            for item, campaign, shows, ms, lifted in rows
        ],
    }


@pytest.fixture(scope="module")
def hq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = hq_settings(tmp_path_factory.mktemp("plays-hq"))
    with running_hq(settings) as base_url:
        database = Database(settings.database_url)
        try:
            for store_id, name in ((NANJING_ROAD, "上海南京路店"), (SANLITUN, "北京三里屯店")):
                fleet.add_store(database, store_id, name, now=datetime.now(UTC), by="test")
            for email, role, stores in (
                ("ana@hq.example", Role.CHAIN_ADMIN, []),
                ("wu@hq.example", Role.STORE_MANAGER, [SANLITUN]),
            ):
                add_staff(
                    database,
                    CHEAP_HASHER,
                    email=email,
                    name=email.split("@")[0].title(),
                    role=role,
                    stores_managed=stores,
                    password=PASSWORD,
                    now=datetime.now(UTC),
                    by="test",
                )
        finally:
            database.dispose()
        for store_id, events in (
            (
                NANJING_ROAD,
                [
                    counts(
                        "01",
                        ("x1-poster", "x1-launch", 4, 32_000, 2),
                        ("slides/welcome.jpg", None, 2, 12_000, 0),
                    ),
                    counts("02", ("case-poster", "case-promo", 2, 10_000, 1)),
                ],
            ),
            (SANLITUN, [counts("16", ("x1-poster", "x1-launch", 2, 16_000, 0))]),
        ):
            answer = enrol(base_url, issue_code(settings.database_url, store_id))
            answer.raise_for_status()
            kiosk = KioskClient(base_url, answer.json())
            sent = kiosk.post(
                [kiosk.event(seq, "play_counts", body) for seq, body in enumerate(events, 1)]
            )
            assert {r["status"] for r in sent.json()["results"]} == {"accepted"}, sent.text
            kiosk.close()
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


def cells(page: Page, selector: str) -> list[list[str]]:
    rows = page.locator(f"{selector} tbody tr")
    return [
        [cell.strip() for cell in rows.nth(n).locator("td").all_inner_texts()]
        for n in range(rows.count())
    ]


def test_an_admin_reads_each_campaigns_plays_and_downloads_them(
    hq: str, page: Page, tmp_path: Path
) -> None:
    sign_in(
        page, hq, "ana@hq.example", PASSWORD, going_to="/console/plays", lands_on="Proof of play"
    )
    page.fill("input[name=from]", "2026-11-23")
    page.fill("input[name=to]", "2026-11-24")
    page.click("button:has-text('Show')")
    expect(page.get_by_test_id("shows-total")).to_have_text("10")
    assert [row[:4] for row in cells(page, "[data-testid=campaigns]")] == [
        ["x1-launch", "6", "0:00:48", "2"],
        ["case-promo", "2", "0:00:10", "1"],
        ["No campaign\nhouse content", "2", "0:00:12", "0"],
    ]
    launch = page.get_by_test_id("campaign-x1-launch")
    # Stores busiest first; days in the stores' zone (16:00 UTC is the next day there).
    stores = cells(page, "[data-testid=campaign-x1-launch] [data-testid=stores]")
    assert [(row[0].split()[-1], *row[1:3]) for row in stores] == [
        (NANJING_ROAD, "4", "0:00:32"),
        (SANLITUN, "2", "0:00:16"),
    ]
    expect(launch.get_by_test_id("times").locator("tbody tr")).to_have_count(2)
    expect(launch.locator("[data-store=sh-nanjing-road]")).to_contain_text("50.0%")

    page.select_option("select[name=campaign]", "x1-launch")
    page.select_option("select[name=per]", "hour")
    page.click("button:has-text('Show')")
    assert cells(page, "[data-testid=campaign-x1-launch] [data-testid=times]") == [
        ["2026-11-23 09:00", "4", "0:00:32", "50.0%"],
        ["2026-11-24 00:00", "2", "0:00:16", "0.0%"],
    ]
    with page.expect_download() as download:
        page.get_by_test_id("csv").click()
    saved = tmp_path / "plays.csv"
    download.value.save_as(saved)
    table = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8"))))
    assert [(line["store_id"], line["shows"], line["seconds"]) for line in table] == [
        (SANLITUN, "2", "16.000"),
        (NANJING_ROAD, "4", "32.000"),
    ]


def test_a_store_manager_sees_only_their_stores_plays(hq: str, page: Page) -> None:
    sign_in(
        page, hq, "wu@hq.example", PASSWORD, going_to="/console/plays", lands_on="Proof of play"
    )
    answer = page.request.get(f"{hq}/console/plays.json?from=2026-11-23&to=2026-11-24")
    assert answer.status == 200
    found = answer.json()
    assert [(c["campaign"], c["shows"]) for c in found["campaigns"]] == [("x1-launch", 2)]
    assert [s["store_id"] for s in found["campaigns"][0]["stores"]] == [SANLITUN]
    asked = page.request.get(
        f"{hq}/console/plays.json?from=2026-11-23&to=2026-11-24&store={NANJING_ROAD}"
    )
    assert asked.json()["campaigns"] == []  # another store's plays: none to see
    refused = page.request.get(f"{hq}/console/plays.json?from=2026-11-24&to=2026-11-23")
    assert refused.status == 422
