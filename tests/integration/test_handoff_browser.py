"""A shopper signs up on their own phone through a kiosk's "continue on your phone" link.

A real browser (Playwright driving Debian's Chromium, at a phone's viewport)
against HQ's sign-up pages served by uvicorn on loopback, with PostgreSQL
behind them; links made by the kiosk's own code (`backend_client.handoff`).

Set HANDOFF_SCREENSHOT=/some/file.png to keep a screenshot of the empty form.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import pytest
import requests
import uvicorn
from fastapi import FastAPI
from helpers.browser import chromium
from helpers.hq import fresh_postgres_database
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from backend_client.handoff import handoff_link
from content.sample import sample_notices
from hq.api.common import utc_now
from hq.api.join import join_router
from hq.app import server_config
from hq.crm.coupon_codes import kiosk_key_from_secret
from hq.crm.handoff import enrolled_kiosks, handoff_uses
from hq.crm.notices import NoticeFile, load_notices
from hq.db import Database, consents, customers, kiosks, member_ids, metadata, stores

STORE: Final = "sh-nanjing-road"
KIOSK_ID: Final = f"{STORE}-k1"
KIOSK_NO: Final = 4711
START_TIMEOUT_S: Final = 10.0
PHONE: Final = {"width": 390, "height": 844}  # an iPhone 12-15's CSS viewport


@dataclass
class JoinHq:
    """HQ serving the sign-up pages, and what a kiosk of it holds."""

    base_url: str
    database: Database
    coupon_key: bytes  # kiosk KIOSK_NO's, as enrolment would give it
    notices_path: Path

    def link(self, now: datetime | None = None) -> str:
        made = handoff_link(
            self.base_url,
            kiosk_no=KIOSK_NO,
            coupon_key=self.coupon_key,
            now=now or datetime.now(UTC),
        )
        return made.url

    def one(self, statement: Any) -> Any:
        with self.database.read() as connection:
            return connection.execute(statement).all()


@pytest.fixture(scope="module")
def join_hq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JoinHq]:
    directory = tmp_path_factory.mktemp("join-hq")
    notices_path = directory / "notices.json"
    # The kiosk bundle's own notices.json: HQ must read the same document.
    notices_path.write_text(sample_notices().model_dump_json(by_alias=True), encoding="utf-8")
    secret = secrets.token_bytes(32)
    with fresh_postgres_database() as url:
        database = Database(url)
        try:
            metadata.create_all(database.engine)
            handoff_uses.metadata.create_all(database.engine)
            _enrol_kiosk(database)
            app = FastAPI()
            app.include_router(
                join_router(
                    database,
                    utc_now,
                    kiosks=enrolled_kiosks(database, lambda: secret),
                    notices=NoticeFile(notices_path),
                )
            )
            with _serving(app) as base_url:
                yield JoinHq(
                    base_url,
                    database,
                    kiosk_key_from_secret(secret, STORE, KIOSK_NO),
                    notices_path,
                )
        finally:
            database.dispose()


def _enrol_kiosk(database: Database) -> None:
    now = datetime.now(UTC)
    with database.write() as connection:
        connection.execute(
            stores.insert().values(store_id=STORE, created_at=now, kiosks_enrolled=1)
        )
        connection.execute(
            kiosks.insert().values(
                kiosk_id=KIOSK_ID,
                store_id=STORE,
                token_sha256="0" * 64,
                enrolled_at=now,
                contiguous_seq=0,
                highest_seq=0,
                kiosk_no=KIOSK_NO,
            )
        )


@contextmanager
def _serving(app: FastAPI) -> Iterator[str]:
    """`app` served by uvicorn on a thread, on a free loopback port (as helpers.hq does)."""
    server = uvicorn.Server(server_config(app, host="127.0.0.1", port=0))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="join-hq", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not server.started:
            assert thread.is_alive(), "the server thread ended before it served"
            assert time.monotonic() < deadline, "the server did not start in time"
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(START_TIMEOUT_S)
        sock.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    """A browser tab the size of a phone's screen, touch and all, in Chinese."""
    context = browser.new_context(
        viewport=PHONE,  # type: ignore[arg-type]
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def notice_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_a_shopper_signs_up_on_their_phone_and_the_link_then_says_it_was_used(
    join_hq: JoinHq, phone: Page, tmp_path: Path
) -> None:
    url = join_hq.link()
    opened = phone.goto(url)
    assert opened is not None
    assert opened.status == 200
    expect(phone.locator("h1")).to_have_text("注册会员")
    for box in phone.locator('input[type="checkbox"]').all():
        expect(box).not_to_be_checked()
    screenshot = os.environ.get("HANDOFF_SCREENSHOT") or str(tmp_path / "handoff-form.png")
    phone.screenshot(path=screenshot, full_page=True)

    # A mistyped number: the page comes back in Chinese, keeping what was typed.
    phone.fill("#phone", "1391234")
    phone.fill("#name", "王女士")
    with phone.expect_response(lambda answer: answer.request.method == "POST") as sent:
        phone.click("button[type=submit]")
    assert sent.value.status == 422
    expect(phone.locator("#phone-error")).to_have_text("这不是有效的手机号码，请检查位数")
    expect(phone.locator("#name")).to_have_value("王女士")
    expect(phone.locator("#phone")).to_have_value("1391234")
    expect(phone.locator("#phone")).to_have_attribute("aria-invalid", "true")
    phone.screenshot(path=screenshot.replace(".png", "-errors.png"), full_page=True)

    phone.fill("#phone", "139 1234 5678")
    phone.check("#age-ok")
    phone.check("#consent-membership")
    phone.check("#consent-marketing")
    with phone.expect_response(lambda answer: answer.request.method == "POST") as sent:
        phone.click("button[type=submit]")
    assert sent.value.status == 303
    expect(phone.locator("h1")).to_have_text("欢迎成为会员！")

    (customer,) = join_hq.one(select(customers).where(customers.c.phone_e164 == "+8613912345678"))
    assert (customer.name, customer.language, customer.first_store_id) == (
        "王女士",
        "zh-CN",
        STORE,
    )
    (member,) = join_hq.one(
        select(member_ids).where(member_ids.c.customer_id == customer.customer_id)
    )
    assert member.kiosk_id == KIOSK_ID
    decisions = {
        row.purpose: row
        for row in join_hq.one(select(consents).where(consents.c.member_id == member.member_id))
    }
    assert {purpose: row.given for purpose, row in decisions.items()} == {
        "membership": True,
        "marketing": True,
        "recognition": False,
        "personalisation": False,
    }
    notices = load_notices(join_hq.notices_path)
    for purpose, row in decisions.items():
        notice = notices.notice(purpose)
        assert row.notice_version == notice.version
        assert row.notice_sha256 == notice_hash(notice.text.zh_cn)
        assert row.kiosk_id == KIOSK_ID

    again = phone.goto(url)
    assert again is not None
    assert again.status == 410
    expect(phone.locator("h1")).to_have_text("这个链接已经用过了")


def test_the_page_switches_to_english_and_explains_problems_in_english(
    join_hq: JoinHq, phone: Page
) -> None:
    phone.goto(join_hq.link())
    phone.click("text=English")
    expect(phone.locator("h1")).to_have_text("Become a member")
    expect(phone.locator("html")).to_have_attribute("lang", "en")
    phone.fill("#name", "Ms Wang")
    phone.click("button[type=submit]")
    expect(phone.locator("#phone-error")).to_have_text("Please enter your mobile number")
    expect(phone.locator("#consent-error")).to_have_text("To sign up, tick membership")
    expect(phone.locator("#name")).to_have_value("Ms Wang")


def test_under_14_the_shopper_is_sent_to_staff_and_nothing_is_stored(
    join_hq: JoinHq, phone: Page
) -> None:
    phone.goto(join_hq.link())
    phone.fill("#phone", "13900001414")
    phone.fill("#name", "小明")
    phone.check("#age-under")
    phone.check("#consent-membership")
    phone.click("button[type=submit]")
    expect(phone.locator("h1")).to_have_text("请联系店员")
    expect(phone.locator("p")).to_contain_text("监护人同意")
    assert join_hq.one(select(customers).where(customers.c.phone_e164 == "+8613900001414")) == []


def test_an_expired_link_says_so(join_hq: JoinHq, phone: Page) -> None:
    url = join_hq.link(now=datetime.now(UTC) - timedelta(hours=1))
    answer = phone.goto(url)
    assert answer is not None
    assert answer.status == 410
    expect(phone.locator("h1")).to_have_text("这个链接已过期")


def test_a_forged_link_gets_a_friendly_refusal(join_hq: JoinHq, phone: Page) -> None:
    url = join_hq.link()
    forged = url[:-1] + ("A" if url[-1] != "A" else "B")
    answer = phone.goto(forged)
    assert answer is not None
    assert answer.status == 404
    expect(phone.locator("h1")).to_have_text("无法使用这个链接")
    answer = phone.goto(f"{join_hq.base_url}/join/not-a-link?lang=en")
    assert answer is not None
    assert answer.status == 404
    expect(phone.locator("h1")).to_have_text("This link cannot be used")


def test_pages_are_not_cached_framed_or_scripted(join_hq: JoinHq) -> None:
    answer = requests.get(join_hq.link(), timeout=10)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/html")
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
    assert "<script" not in answer.text


def test_a_body_too_large_for_the_form_is_refused_and_the_link_stays_usable(
    join_hq: JoinHq,
) -> None:
    url = join_hq.link()
    answer = requests.post(url, data={"name": "x" * 40_000}, timeout=10)
    assert answer.status_code == 413
    assert "无法使用这个链接" in answer.text
    assert requests.get(url, timeout=10).status_code == 200
