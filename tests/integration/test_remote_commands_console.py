"""HQ staff send a kiosk a remote command from the console (a real browser on a real HQ on
loopback) and see its result; the kiosk's side of the wire is played over HTTP, checking
HQ's signature as the kiosk does (backend_client/commands.py). `POST
/v1/commands/{id}/result` takes a result once, from the kiosk the command was for."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import pytest
import requests
from helpers.browser import chromium, sign_in
from helpers.console import CHEAP_HASHER
from helpers.hq import KioskClient, database_url_for, enrol, hq_settings, issue_code, serving
from PIL import Image
from playwright.sync_api import expect

from backend_client.commands import verify_command
from hq.app import create_app
from hq.console.staff import Role, add_staff
from hq.content.signing import ContentKeys
from hq.db import Database
from hq.fleet_health.commands import issue
from hq.migrations import migrate
from hq.settings import Settings

pytestmark = pytest.mark.slow

PASSWORD: Final = "a long staff password"  # noqa: S105 (test accounts)
BEAT: Final = {"app_version": "0.1.0", "screen": "on"}


def png(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (217, 72, 15)).save(out, "PNG")
    return out.getvalue()


def beat(kiosk: KioskClient) -> dict[str, Any]:
    answer = kiosk.session.post(f"{kiosk.base_url}/v1/heartbeat", json=BEAT, timeout=10)
    assert answer.status_code == 200, answer.text
    document: dict[str, Any] = answer.json()
    return document


def result(kiosk: KioskClient, command_id: str, body: dict[str, Any]) -> requests.Response:
    url = f"{kiosk.base_url}/v1/commands/{command_id}/result"
    return kiosk.session.post(url, json=body, timeout=10)


@pytest.fixture
def hq(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[str, Settings, Database]]:
    backend = getattr(request, "param", "sqlite")
    with database_url_for(backend, tmp_path) as url:
        settings = hq_settings(tmp_path / "hq", url)
        migrate(settings.database_url)
        database = Database(settings.database_url)
        try:
            with serving(create_app(settings)) as base_url:
                yield base_url, settings, database
        finally:
            database.dispose()


def kiosk_in(hq: tuple[str, Settings, Database], store: str) -> KioskClient:
    base_url, settings, _ = hq
    return KioskClient(base_url, enrol(base_url, issue_code(settings.database_url, store)).json())


def test_a_manager_sends_a_screenshot_command_and_sees_the_kiosks_screen(
    hq: tuple[str, Settings, Database],
) -> None:
    base_url, _, database = hq
    kiosk = kiosk_in(hq, "sh-xujiahui")
    other = kiosk_in(hq, "bj-sanlitun")
    now = datetime.now(UTC)
    for email, role, stores in (
        ("wu@hq.example", Role.STORE_MANAGER, ("sh-xujiahui",)),
        ("li@hq.example", Role.STORE_MANAGER, ("bj-sanlitun",)),
        ("ana@hq.example", Role.CONTENT_EDITOR, ()),
    ):
        add_staff(
            database, CHEAP_HASHER, email=email, name=email.split("@")[0].title(), role=role,
            stores_managed=stores, password=PASSWORD, now=now, by="test",
        )  # fmt: skip
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1440, "height": 900}, locale="en-GB")
        page.set_default_timeout(15_000)
        sign_in(page, base_url, "wu@hq.example", PASSWORD)
        page.goto(f"{base_url}/console/fleet/{kiosk.kiosk_id}")
        page.click("[data-testid=command-form] button[value=screenshot]")
        expect(page.locator("[data-testid=flash]")).to_contain_text("Screenshot sent")
        row = page.locator("table[data-testid=command-list] tr[data-command=screenshot]")
        expect(row).to_have_attribute("data-state", "pending")

        (envelope,) = beat(kiosk)["commands"]  # the kiosk's next heartbeat takes it
        assert kiosk.content_key is not None
        command = verify_command(envelope, kiosk.content_key, kiosk.kiosk_id, datetime.now(UTC))
        assert command.kind == "screenshot"
        assert beat(kiosk)["commands"] == []  # handed out once
        screen = png((1920, 1080))
        body = {
            "status": "done",
            "detail": "1920x1080 PNG",
            "file": base64.b64encode(screen).decode(),
        }
        assert result(other, command.id, body).status_code == 404  # not its command
        assert result(kiosk, command.id, body).status_code == 204
        assert result(kiosk, command.id, body).status_code == 409  # the first one stays

        page.reload()
        expect(row).to_have_attribute("data-state", "done")
        shot = row.locator("img.shot")
        expect(shot).to_be_visible()
        assert shot.evaluate("img => img.naturalWidth") == 1920  # the kiosk's PNG, decoded
        href = row.locator("a").first.get_attribute("href")
        assert page.request.get(f"{base_url}{href}").body() == screen

        # Another store's manager may not send this kiosk anything; an editor sees no form.
        page.context.clear_cookies()
        sign_in(page, base_url, "li@hq.example", PASSWORD)
        denied = page.request.post(
            f"{base_url}/console/fleet/{kiosk.kiosk_id}/commands", form={"kind": "restart"}
        )
        assert denied.status in {403, 404}
        page.context.clear_cookies()
        sign_in(page, base_url, "ana@hq.example", PASSWORD)
        page.goto(f"{base_url}/console/fleet/{kiosk.kiosk_id}")
        expect(page.locator("[data-testid=command-list]")).to_be_visible()
        expect(page.locator("[data-testid=command-form]")).to_have_count(0)
    assert beat(kiosk)["commands"] == []  # nothing was issued by the refused ones
    kiosk.close()
    other.close()


@pytest.mark.parametrize("hq", ["sqlite", "postgresql"], indirect=True)
def test_results_are_bounded_and_need_the_kiosks_token(
    hq: tuple[str, Settings, Database],
) -> None:
    _, settings, database = hq
    kiosk = kiosk_in(hq, "sh-xujiahui")
    keys = ContentKeys(settings.content_key_dir)
    command = issue(
        database, keys, kiosk_id=kiosk.kiosk_id, kind="upload-logs", actor="test",
        now=datetime.now(UTC),
    )  # fmt: skip
    assert result(kiosk, command.id, {"status": "done"}).status_code == 404  # not delivered
    (envelope,) = beat(kiosk)["commands"]
    assert beat(kiosk)["next_in"] == 60  # nothing pending: the usual pace again
    url = f"{kiosk.base_url}/v1/commands/{command.id}/result"
    assert requests.post(url, json={"status": "done"}, timeout=10).status_code == 401
    for bad in (
        {"status": "maybe"},
        {"status": "done", "file": "not base64!"},
        {"status": "done", "detail": "x" * 201},
    ):
        assert result(kiosk, command.id, bad).status_code == 422, bad
    logs = b"2026-12-06T10:00:00+0800 kiosk[1]: kiosk up in 812 ms\n"
    body = {"status": "done", "detail": "55 bytes", "file": base64.b64encode(logs).decode()}
    assert result(kiosk, command.id, body).status_code == 204
    kiosk.close()
    assert envelope["signature"]["key_id"] == keys.current().key_id
