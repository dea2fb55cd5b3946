"""A chain admin reviews a likely duplicate, merges it and undoes the merge, in a real
browser (Playwright driving Debian's Chromium) against HQ on loopback (SQLite)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers.browser import chromium, sign_in
from helpers.console import CHEAP_HASHER, PASSWORD
from helpers.customers import add_demo_customers
from helpers.hq import hq_settings, running_hq
from playwright.sync_api import Page, expect

from hq.console.staff import Role, add_staff
from hq.db import Database
from hq.migrations import migrate

pytestmark = pytest.mark.slow


@pytest.fixture
def page(tmp_path: Path) -> Iterator[tuple[Page, str, dict[str, str]]]:
    settings = hq_settings(tmp_path / "hq")
    migrate(settings.database_url)
    database = Database(settings.database_url)
    try:
        ids = add_demo_customers(database, datetime.now(UTC))
        add_staff(
            database,
            CHEAP_HASHER,
            email="ana@hq.example",
            name="Ana",
            role=Role.CHAIN_ADMIN,
            stores_managed=[],
            password=PASSWORD,
            now=datetime.now(UTC),
            by="test",
        )
    finally:
        database.dispose()
    with running_hq(settings, migrate_first=False) as base_url, chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
        opened = context.new_page()
        opened.set_default_timeout(15_000)
        yield opened, base_url, ids
        context.close()


def test_review_merge_and_undo_a_duplicate(page: tuple[Page, str, dict[str, str]]) -> None:
    browser, base_url, ids = page
    sign_in(
        browser,
        base_url,
        "ana@hq.example",
        PASSWORD,
        going_to="/console/customers/duplicates",
        lands_on="Likely duplicates",
    )
    pairs = browser.get_by_test_id("pair")
    expect(pairs).to_have_count(3)
    phone_pair = pairs.filter(has_text="same phone number")
    expect(phone_pair).to_contain_text("+86 138****5678")
    expect(phone_pair).not_to_contain_text("13812345678")
    phone_pair.get_by_test_id("review").click()

    expect(browser.locator("h1")).to_have_text("Merge two records?")
    expect(browser.get_by_test_id("effects")).to_contain_text("Consent to recognition is withdrawn")
    browser.get_by_test_id("merge").click()
    expect(browser.locator("h1")).to_have_text("Merge history")
    expect(browser.get_by_test_id("flash")).to_contain_text("1 sign-up(s) moved")

    browser.goto(f"{base_url}/console/customers/{ids['wang']}")
    expect(browser.locator(".page-head p").first).to_contain_text("2 sign-ups")
    expect(browser.get_by_test_id("consents")).to_contain_text("withdrawn")
    browser.goto(f"{base_url}/console/customers/{ids['wang-old']}")
    expect(browser.get_by_test_id("merged")).to_be_visible()

    browser.goto(f"{base_url}/console/customers/merges")
    browser.get_by_test_id("undo").click()
    expect(browser.get_by_test_id("flash")).to_contain_text("undone")
    expect(browser.get_by_test_id("merges")).to_contain_text("undone")
    expect(browser.get_by_test_id("undo")).to_have_count(0)
    browser.goto(f"{base_url}/console/customers/{ids['wang']}")
    expect(browser.locator(".page-head p").first).to_contain_text("1 sign-up ")

    # Two people sharing an e-mail: not the same person, then taken back.
    browser.goto(f"{base_url}/console/customers/duplicates")
    pairs.filter(has_text="same e-mail").get_by_test_id("dismiss").click()
    expect(browser.get_by_test_id("flash")).to_contain_text("Marked as two people")
    expect(pairs).to_have_count(2)
    expect(pairs.filter(has_text="same e-mail")).to_have_count(0)
    browser.goto(f"{base_url}/console/customers/merges")
    expect(browser.get_by_test_id("dismissals")).to_contain_text("same e-mail")
    browser.get_by_test_id("undismiss").click()
    expect(browser.get_by_test_id("flash")).to_contain_text("Dismissal undone")
    browser.goto(f"{base_url}/console/customers/duplicates")
    expect(pairs).to_have_count(3)
