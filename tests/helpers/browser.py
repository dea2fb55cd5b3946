"""Debian's Chromium under Playwright, for the tests of HQ's web pages."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

CHROMIUM: Final = Path("/usr/bin/chromium")


@contextmanager
def chromium() -> Iterator[Browser]:
    """Chromium launched headless (the test is skipped, saying why, where it is missing)."""
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    playwright: Playwright = sync_playwright().start()
    try:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        launched.close()
    finally:
        playwright.stop()


def sign_in(
    page: Page,
    base_url: str,
    email: str,
    password: str,
    *,
    going_to: str = "/console/releases",
    lands_on: str = "Releases",
) -> None:
    """Sign in to HQ's console through its form as staff do: on the way to `going_to`,
    sent to sign in first, then back there (its heading `lands_on`)."""
    page.goto(base_url + going_to)
    expect(page.locator("h1")).to_have_text("Sign in")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text(lands_on)
