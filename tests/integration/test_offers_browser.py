"""HQ staff read member offers' results in a real browser (Playwright driving Debian's
Chromium) against HQ on loopback: the chart and its figures, the offer and store
filters, the CSV, a store manager's stores only, and a member's offers on their
customer page.

A month of a chain's offers is stored as HQ's projections store it
(tests/helpers/offers.py); one kiosk's member is shown an offer, takes it and
prints it today, over HTTP through the real ingest path.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import pytest
from helpers.browser import chromium, sign_in
from helpers.console import CHEAP_HASHER, PASSWORD
from helpers.hq import (
    KioskClient,
    coupon_issued_payload,
    enrol,
    hq_settings,
    issue_code,
    running_hq,
    signup_payload,
)
from helpers.offers import generate_offers, load_offers, offer_printed_payload
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from hq import fleet
from hq.console.staff import Role, add_staff
from hq.db import Database, member_ids

DESKTOP: Final = {"width": 1440, "height": 900}
STORES: Final = {"sh-nanjing-road": "上海南京路店", "bj-sanlitun": "北京三里屯店"}
ZONE_OFFSET: Final = timedelta(hours=8)  # the console's default zone, Asia/Shanghai

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def hq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data_dir = tmp_path_factory.mktemp("offers-hq")
    settings = hq_settings(data_dir)
    with running_hq(settings) as base_url:
        database = Database(settings.database_url)
        now = datetime.now(UTC)
        try:
            for store_id, name in STORES.items():
                fleet.add_store(database, store_id, name, now=now, by="test")
            for email, role, stores in (
                ("ana@hq.example", Role.CHAIN_ADMIN, []),
                ("wu@hq.example", Role.STORE_MANAGER, ["bj-sanlitun"]),
            ):
                add_staff(database, CHEAP_HASHER, email=email, name=email.split("@")[0].title(),
                          role=role, stores_managed=stores, password=PASSWORD, now=now,
                          by="test")  # fmt: skip
            kiosks = {store_id: f"{store_id}-k9" for store_id in STORES}
            start = (now + ZONE_OFFSET).replace(hour=0, minute=0, second=0, microsecond=0)
            data = generate_offers(
                kiosks, start=start - ZONE_OFFSET - timedelta(days=20), days=20, seed=9
            )
            load_offers(database, data)
        finally:
            database.dispose()
        enrolled = enrol(base_url, issue_code(settings.database_url, "sh-nanjing-road"))
        kiosk = KioskClient(base_url, enrolled.json())
        member = str(uuid.uuid4())
        code = kiosk.coupon(1, campaign_no=5)
        at = (now - timedelta(minutes=5)).isoformat()
        signed_up = signup_payload(member, "+8613812345678", name="陈静")
        sent = kiosk.post(
            [
                kiosk.event(1, "member_signup", signed_up, occurred_at=at),
                kiosk.event(2, "offer_shown", {"session": "s1", "offer": "today-only",
                                               "member_id": member, "campaign": "phone-50"},
                            occurred_at=at),
                kiosk.event(3, "coupon_issued", coupon_issued_payload(
                    code, "phone-50", reason="offer", offer="today-only", member_id=member),
                            occurred_at=at),
                kiosk.event(4, "offer_printed",
                            offer_printed_payload(code, "today-only", "phone-50", member),
                            occurred_at=at),
            ]
        )  # fmt: skip
        assert {r["status"] for r in sent.json()["results"]} == {"accepted"}, sent.text
        kiosk.close()
        database = Database(settings.database_url)
        try:
            with database.read() as connection:
                customer = connection.execute(
                    select(member_ids.c.customer_id).where(member_ids.c.member_id == member)
                ).scalar_one()
        finally:
            database.dispose()
        yield {"url": base_url, "data": data, "customer": customer, "code": code.text}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP, locale="en-GB", accept_downloads=True)  # type: ignore[arg-type]
    opened = context.new_page()
    # A first chart imports matplotlib: seconds on a busy machine.
    opened.set_default_timeout(30_000)
    yield opened
    context.close()


def test_an_admin_reads_each_offers_results_narrows_them_and_downloads_them(
    hq: dict[str, Any], page: Page, tmp_path: Path
) -> None:
    base = hq["url"]
    sign_in(page, base, "ana@hq.example", PASSWORD, going_to="/console/analytics/products",
            lands_on="Analytics: Products")  # fmt: skip
    page.get_by_test_id("analytics-pages").get_by_role("link", name="Member offers").click()
    expect(page.locator("h1")).to_have_text("Analytics: Member offers")
    totals = page.get_by_test_id("chart-offers")
    expect(totals.locator("svg")).to_contain_text("birthday-gift (bday-100)")  # labels are text
    expect(totals.locator("svg")).to_contain_text("today-only (phone-50)")  # today's, by HTTP
    totals.locator("summary").click()
    today = totals.locator("tbody tr", has_text="today-only")
    expect(today.locator("td")).to_have_text(
        ["today-only (phone-50)", "1", "1", "100.0", "0", "0", "1", "0", "0.0"]
    )

    page.select_option("[data-testid=offer]", "birthday-gift")
    page.select_option("[data-testid=store]", "bj-sanlitun")
    page.click("button:has-text('Show')")
    per_store = page.get_by_test_id("chart-offers-by-store")
    expect(per_store.locator("header p")).to_have_text("1 rows")
    with page.expect_download() as download:
        page.get_by_test_id("csv-offers-by-store").click()
    saved = tmp_path / "offers.csv"
    download.value.save_as(saved)
    [row] = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8"))))
    counts = hq["data"].counts
    assert row["offer at store"] == "birthday-gift · 北京三里屯店"
    assert (row["offer"], row["store"]) == ("birthday-gift", "bj-sanlitun")
    for column, figure in (("shown", "shown"), ("taken", "taken"), ("texts sent", "sent"),
                           ("printed", "printed"), ("redeemed", "redeemed")):  # fmt: skip
        assert row[column] == str(counts[("birthday-gift", "bj-sanlitun", figure)]), column


def test_a_store_manager_sees_only_their_stores_offers(hq: dict[str, Any], page: Page) -> None:
    base = hq["url"]
    sign_in(page, base, "wu@hq.example", PASSWORD, going_to="/console/analytics/offers",
            lands_on="Analytics: Member offers")  # fmt: skip
    chart = page.get_by_test_id("chart-offers-by-store").locator("svg")
    expect(chart).to_contain_text("北京三里屯店")
    expect(chart).not_to_contain_text("上海南京路店")
    refused = page.request.get(f"{base}/console/analytics/offers.json?store=sh-nanjing-road")
    assert refused.status == 403


def test_a_members_offers_are_on_their_customer_page_without_the_code(
    hq: dict[str, Any], page: Page
) -> None:
    base = hq["url"]
    sign_in(page, base, "ana@hq.example", PASSWORD, going_to=f"/console/customers/{hq['customer']}",
            lands_on="陈静")  # fmt: skip
    timeline = page.get_by_test_id("timeline")
    expect(timeline).to_contain_text("shown offer today-only")
    expect(timeline).to_contain_text(f"took offer today-only (coupon …{hq['code'][-4:]})")
    expect(timeline).to_contain_text("printed offer today-only")
    expect(timeline).not_to_contain_text(hq["code"])
