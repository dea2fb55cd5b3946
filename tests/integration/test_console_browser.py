"""HQ staff use the web console in a real browser (Playwright driving Debian's Chromium)
against a real `kiosk-hq serve` on loopback, with kiosks reporting over HTTP.

A content editor signs in, uploads a bundle for the east region, watches the
rollout page count a kiosk as it reports running the release (the page updates
itself), then rolls the release back. A store manager signs in, is refused
another store's release (403 as a page and as JSON over HTTP), is offered only
their own store to publish to, and is refused when forging a post to another
store's release; a post without the CSRF token is refused (403).
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest
import requests
from helpers.browser import chromium, sign_in
from helpers.console import tarball
from helpers.hq import KioskClient, enrol
from helpers.hq_process import HqProcess
from playwright.sync_api import Browser, Page, expect

from content.sample import write_sample_bundle

DESKTOP: Final = {"width": 1440, "height": 900}
PASSWORD: Final = "a long staff password"  # noqa: S105 (test accounts)

pytestmark = pytest.mark.slow


def cli(hq: HqProcess, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*hq._global_args(), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def kiosk_of(hq: HqProcess, store_id: str) -> KioskClient:
    answer = enrol(hq.base_url, hq.cli("kiosk", "enroll-code", store_id).strip())
    answer.raise_for_status()
    return KioskClient(hq.base_url, answer.json())


def report(kiosk: KioskClient, body: dict[str, object]) -> None:
    answer = kiosk.session.post(f"{kiosk.base_url}/v1/content/status", json=body, timeout=30)
    assert answer.status_code == 200, answer.text


@pytest.fixture(scope="module")
def hq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HqProcess]:
    served = HqProcess(tmp_path_factory.mktemp("console-hq"))
    served.cli("store", "add", "sh-xujiahui", "--name", "上海徐家汇店", "--region", "east")
    served.cli("store", "add", "bj-sanlitun", "--name", "北京三里屯店", "--region", "north")
    for email, role, stores in (
        ("ana@hq.example", "content_editor", []),
        ("wu@hq.example", "store_manager", ["--store", "bj-sanlitun"]),
    ):
        added = cli(
            served,
            "console-staff",
            "add",
            "--email",
            email,
            "--name",
            email.split("@")[0].title(),
            "--role",
            role,
            *stores,
            "--password-stdin",
            stdin=PASSWORD + "\n",
        )
        assert added.returncode == 0, added.stderr
    served.start()
    yield served
    served.stop()


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


def test_an_editor_publishes_an_upload_watches_it_roll_out_and_rolls_it_back(
    hq: HqProcess, page: Page, tmp_path: Path
) -> None:
    kiosk = kiosk_of(hq, "sh-xujiahui")
    bundle = tmp_path / "bundle"
    write_sample_bundle(bundle, products=6, release="browser-spring")
    archive = tmp_path / "spring.tgz"
    archive.write_bytes(tarball(bundle))

    # A wrong password first: the page says so and keeps the email.
    page.goto(f"{hq.base_url}/console/sign-in")
    page.fill("#email", "ana@hq.example")
    page.fill("#password", "not the password")
    page.click("button[type=submit]")
    expect(page.locator("#sign-in-error")).to_have_text(
        "That email and password do not match an account."
    )
    expect(page.locator("#email")).to_have_value("ana@hq.example")
    sign_in(page, hq.base_url, "ana@hq.example", PASSWORD)

    page.click("text=Publish a release")
    page.set_input_files("#bundle", str(archive))
    page.fill("#name", "Spring launch")
    page.check("#target-region")
    page.select_option("select[name=region]", "east")
    page.click("button:has-text('Check, sign and publish')")
    expect(page.locator("[data-testid=flash]")).to_contain_text("published to region:east")
    expect(page.locator("h1")).to_contain_text("Spring launch")
    number = int(page.url.rstrip("/").split("/")[-2])
    expect(page.locator("[data-testid=running]")).to_have_text("0 of 1")

    # The kiosk downloads it and switches: the open page counts it without a reload.
    report(
        kiosk,
        {
            "active": None,
            "ready": [],
            "downloading": {"release": number, "bytes_done": 10, "bytes_total": 40},
            "failures": [],
        },
    )
    report(kiosk, {"active": number, "ready": [], "downloading": None, "failures": []})
    expect(page.locator("[data-testid=running]")).to_have_text("1 of 1", timeout=20_000)
    expect(page.locator(f"tr[data-kiosk='{kiosk.kiosk_id}']")).to_have_attribute(
        "data-state", "running"
    )

    # Roll it back: the button stays off until the number is typed.
    page.goto(f"{hq.base_url}/console/releases/{number}")
    page.click("text=Roll back…")
    button = page.locator("button:has-text('Roll back release')")
    expect(button).to_be_disabled()
    page.fill("#confirm", str(number))
    expect(button).to_be_enabled()
    button.click()
    expect(page.locator("[data-testid=flash]")).to_contain_text(f"Release {number} revoked.")
    listed = json.loads(hq.cli("content", "list", "--json"))
    by_number = {entry["release"]: entry for entry in listed}
    assert by_number[number]["revoked_at"] is not None
    assert by_number[number + 1]["reverts"] == number
    page.goto(f"{hq.base_url}/console/releases")
    expect(page.locator(f"tr[data-release='{number}'] .badge")).to_have_text("Revoked")


def test_a_store_manager_cannot_see_or_publish_to_another_store(
    hq: HqProcess, page: Page, tmp_path: Path
) -> None:
    bundle = tmp_path / "bundle"
    write_sample_bundle(bundle, products=4, release=f"east-{uuid.uuid4().hex[:6]}")
    published = cli(hq, "content", "publish", str(bundle), "--to", "store:sh-xujiahui")
    assert published.returncode == 0, published.stderr
    theirs = max(entry["release"] for entry in json.loads(hq.cli("content", "list", "--json")))

    sign_in(page, hq.base_url, "wu@hq.example", PASSWORD)
    expect(page.locator(f"tr[data-release='{theirs}']")).to_have_count(0)
    answer = page.goto(f"{hq.base_url}/console/releases/{theirs}")
    assert answer is not None
    assert answer.status == 403
    expect(page.locator("[data-testid=refused] h1")).to_have_text("Not yours to see or change")

    # On the HTTP API, with the same session: 403 for the page's JSON and for a post.
    assert page.request.get(f"{hq.base_url}/console/releases/{theirs}.json").status == 403
    assert page.request.get(f"{hq.base_url}/console/releases/{theirs}/rollout.json").status == 403
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "hq_console_csrf")
    forged = page.request.post(
        f"{hq.base_url}/console/releases/{theirs}/revoke.json",
        data=json.dumps({"confirm": theirs}),
        headers={"content-type": "application/json", "x-csrftoken": token},
    )
    assert forged.status == 403
    # A post without the CSRF token is refused whatever it asks.
    tokenless = page.request.post(f"{hq.base_url}/console/sign-out", form={"nothing": "here"})
    assert tokenless.status == 403

    # The publish form offers their own store only.
    page.goto(f"{hq.base_url}/console/publish")
    expect(page.locator("input[name=target_kind]")).to_have_count(1)
    expect(page.locator("select[name=store] option")).to_have_text(["北京三里屯店 · bj-sanlitun"])

    # And HQ's API without the console's cookies knows nobody.
    assert requests.get(f"{hq.base_url}/console/releases.json", timeout=10).status_code == 401
