"""HQ's API pages, /docs (Swagger UI) and /redoc, in a real browser (Playwright driving
Debian's Chromium) with no internet: every request that would leave loopback is
refused and recorded, and both pages must still render the API from HQ's own files.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final
from urllib.parse import urlsplit

import pytest
from helpers.browser import chromium
from helpers.hq import hq_settings, running_hq
from playwright.sync_api import (
    Browser,
    Page,
    Request,
    Route,
    expect,
)

LOOPBACK: Final = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def hq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_hq(hq_settings(tmp_path_factory.mktemp("docs-hq"))) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


class Offline:
    """A browser page that cannot reach past loopback, as a back office without internet."""

    def __init__(self, browser: Browser) -> None:
        self.context = browser.new_context(viewport={"width": 1440, "height": 900})
        self.outside: list[str] = []  # every request that tried to leave loopback
        self.failed: list[str] = []  # loopback requests that failed or answered >= 400
        self.context.route("**/*", self._route)
        self.page: Page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        self.blocked: list[str] = []  # refused by the page's policy before any network
        self.page.on("requestfailed", self._failed)
        self.errors: list[str] = []  # the page's own errors (a script that did not run)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on(
            "response", lambda answer: answer.status >= 400 and self.failed.append(answer.url)
        )

    def _failed(self, request: Request) -> None:
        if "BLOCKED_BY_CSP" in (request.failure or ""):
            self.blocked.append(request.url)
        elif urlsplit(request.url).hostname in LOOPBACK:
            self.failed.append(request.url)

    def _route(self, route: Route) -> None:
        url = route.request.url
        if urlsplit(url).scheme in ("data", "blob") or urlsplit(url).hostname in LOOPBACK:
            route.continue_()
        else:
            self.outside.append(url)
            route.abort("internetdisconnected")


@pytest.fixture
def offline(browser: Browser) -> Iterator[Offline]:
    opened = Offline(browser)
    yield opened
    opened.context.close()


def test_swagger_ui_at_docs_renders_the_api_offline(hq: str, offline: Offline) -> None:
    page = offline.page
    page.goto(f"{hq}/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Kiosk HQ")
    # The kiosk API's operations are listed, and open to show their parameters.
    health = page.locator(".opblock-summary-path", has_text="/v1/health").first
    expect(health).to_be_visible()
    health.click()
    expect(page.locator(".opblock-body").first).to_be_visible()
    # Swagger UI's stylesheet came too: its operation blocks are laid out, not bare text.
    assert page.locator(".opblock").first.evaluate("e => getComputedStyle(e).borderRadius") != "0px"
    assert offline.outside == []
    assert offline.blocked == []
    assert offline.failed == []
    assert offline.errors == []


def test_redoc_renders_the_api_offline(hq: str, offline: Offline) -> None:
    page = offline.page
    page.goto(f"{hq}/redoc")
    expect(page.locator("h1").first).to_contain_text("Kiosk HQ")
    expect(page.get_by_role("menuitem").first).to_be_visible()  # the side menu of operations
    assert (
        page.locator("h2", has_text="/v1/health").count() + page.get_by_text("/v1/health").count()
        > 0
    )
    assert offline.outside == []
    # Redocly's logo is the one thing ReDoc would fetch from outside: HQ's policy stops it.
    assert all(urlsplit(url).hostname not in LOOPBACK for url in offline.blocked)
    assert offline.failed == []
    assert offline.errors == []
