"""HQ staff watch the fleet in a real browser (Playwright driving Debian's Chromium):
kiosks report over HTTP to a real HQ on loopback whose clock the test moves; the Fleet
page shows each kiosk's state, filters the trouble, lists the open alerts, and a
kiosk's page has its history. A store manager sees their own store's kiosks only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import pytest
from helpers.browser import chromium, sign_in
from helpers.console import CHEAP_HASHER
from helpers.hq import KioskClient, enrol, hq_settings, issue_code, serving
from playwright.sync_api import Page, expect

from hq.app import create_app
from hq.console.staff import Role, add_staff
from hq.db import Database
from hq.fleet_health.sweeper import AlertSweeper
from hq.migrations import migrate

pytestmark = pytest.mark.slow

DESKTOP: Final = {"width": 1440, "height": 900}
PASSWORD: Final = "a long staff password"  # noqa: S105 (test accounts)


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


def heartbeat(kiosk: KioskClient, *, rfid: str = "up", backlog: int = 3) -> None:
    body: dict[str, Any] = {
        "app_version": "0.1.0",
        "content_release": "hq-12",
        "devices": [
            {"name": "pickup", "state": "up", "detail": "open"},
            {"name": "rfid", "state": rfid, "detail": "" if rfid == "up" else "no port"},
        ],
        "outbox": {"backlog": backlog, "dead_letters": 0, "state": "idle"},
        "disk": {"free_bytes": 21 << 30, "total_bytes": 58 << 30},
        "uptime_s": 26_000,
        "screen": "on",
    }
    answer = kiosk.session.post(f"{kiosk.base_url}/v1/heartbeat", json=body, timeout=10)
    assert answer.status_code == 200, answer.text


@pytest.fixture
def page() -> Iterator[Page]:
    with chromium() as browser:
        context = browser.new_context(viewport=DESKTOP, locale="en-GB")  # type: ignore[arg-type]
        opened = context.new_page()
        opened.set_default_timeout(15_000)
        yield opened
        context.close()


def test_staff_see_the_silent_and_the_failed_kiosks_and_a_kiosks_history(
    tmp_path: Path, page: Page
) -> None:
    settings = hq_settings(tmp_path / "hq")
    migrate(settings.database_url)
    clock = Clock()
    database = Database(settings.database_url)
    with serving(create_app(settings, clock=clock)) as base_url:
        kiosks = {
            name: KioskClient(
                base_url, enrol(base_url, issue_code(settings.database_url, store)).json()
            )
            for name, store in (
                ("well", "sh-xujiahui"),
                ("reader", "sh-xujiahui"),
                ("quiet", "bj-sanlitun"),
            )
        }
        for email, role, stores in (
            ("ana@hq.example", Role.CONTENT_EDITOR, ()),
            ("wu@hq.example", Role.STORE_MANAGER, ("bj-sanlitun",)),
        ):
            add_staff(
                database,
                CHEAP_HASHER,  # verified as cheaply: the hash names its parameters
                email=email,
                name=email.split("@")[0].title(),
                role=role,
                stores_managed=stores,
                password=PASSWORD,
                now=clock(),
                by="test",
            )
        for kiosk in kiosks.values():
            heartbeat(kiosk)
        clock.now += timedelta(minutes=3)  # "quiet" says nothing more: silent
        heartbeat(kiosks["well"])
        heartbeat(kiosks["reader"], rfid="down")
        AlertSweeper(database, clock).sweep_once()

        sign_in(page, base_url, "ana@hq.example", PASSWORD)
        page.click("nav >> text=Fleet")
        expect(page.locator("h1")).to_have_text("Fleet")
        rows = page.locator("table[data-testid=fleet] tbody tr")
        expect(rows).to_have_count(3)
        for name, state in (("well", "OK"), ("reader", "Trouble"), ("quiet", "Silent")):
            row = page.locator(f"tr[data-kiosk='{kiosks[name].kiosk_id}']")
            expect(row.locator("[data-testid=state]")).to_have_text(state)
        quiet = page.locator(f"tr[data-kiosk='{kiosks['quiet'].kiosk_id}']")
        expect(quiet.locator("[data-testid=age]")).to_have_text("3 min ago")
        reader = page.locator(f"tr[data-kiosk='{kiosks['reader'].kiosk_id}']")
        expect(reader.locator("[data-device=rfid]")).to_have_text("rfid down")
        alerts = page.locator("table[data-testid=alerts] tbody tr")
        expect(alerts).to_have_count(2)
        expect(page.locator("tr[data-alert=silent]")).to_contain_text(kiosks["quiet"].kiosk_id)
        expect(page.locator("tr[data-alert=device]")).to_contain_text("rfid down: no port")

        page.click(".filters >> text=Trouble")
        expect(rows).to_have_count(2)
        page.click(".filters >> text=Silent")
        expect(rows).to_have_count(1)
        expect(rows.first).to_have_attribute("data-kiosk", kiosks["quiet"].kiosk_id)
        page.click(".filters >> text=Device failed")
        expect(rows).to_have_count(1)
        expect(rows.first).to_have_attribute("data-kiosk", kiosks["reader"].kiosk_id)

        page.click(f"text={kiosks['reader'].kiosk_id}")
        expect(page.locator("h1")).to_contain_text(kiosks["reader"].kiosk_id)
        expect(page.locator("table[data-testid=history] tbody tr")).to_have_count(2)
        expect(page.locator("table[data-testid=alerts] tr[data-alert=device]")).to_contain_text(
            "open"
        )

        # A store manager: their store's kiosk, nothing of the others.
        page.context.clear_cookies()
        sign_in(page, base_url, "wu@hq.example", PASSWORD)
        page.goto(f"{base_url}/console/fleet")
        expect(rows).to_have_count(1)
        expect(rows.first).to_have_attribute("data-kiosk", kiosks["quiet"].kiosk_id)
        answer = page.goto(f"{base_url}/console/fleet/{kiosks['reader'].kiosk_id}")
        assert answer is not None
        assert answer.status == 403
        for kiosk in kiosks.values():
            kiosk.close()
    database.dispose()
