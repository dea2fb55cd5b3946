"""Signing in and out of the console over its ASGI interface: sessions, lockout, cookies."""

from __future__ import annotations

from datetime import timedelta

from helpers.console import PASSWORD, ConsoleChain, sign_in

from hq.console.app import CSRF_COOKIE, SESSION_COOKIE
from hq.console.staff import Role, disable_staff


def test_a_page_without_a_session_sends_the_browser_to_sign_in_and_back(
    chain: ConsoleChain,
) -> None:
    chain.add_staff("ana@hq.example", Role.CONTENT_EDITOR)
    client = chain.client()
    answer = client.get("/console/rollout?x=1")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/sign-in?next=%2Fconsole%2Frollout%3Fx%3D1"
    assert client.get("/console/rollout.json").status_code == 401

    signed = client.form(
        "/console/sign-in",
        {"email": "ana@hq.example", "password": PASSWORD, "next": "/console/rollout?x=1"},
    )
    assert signed.status_code == 303
    assert signed.headers["location"] == "/console/rollout?x=1"
    page = client.get("/console/rollout")
    assert page.status_code == 200
    assert "Ana" in page.text


def test_sign_in_never_sends_the_browser_to_another_site(chain: ConsoleChain) -> None:
    chain.add_staff("ana@hq.example", Role.CONTENT_EDITOR)
    client = chain.client()
    for wanted in ("https://evil.example/", "//evil.example/x", "/elsewhere", "/console\\..\\x"):
        answer = client.form(
            "/console/sign-in", {"email": "ana@hq.example", "password": PASSWORD, "next": wanted}
        )
        assert answer.headers["location"] == "/console/releases"


def test_a_wrong_password_shows_the_form_again_with_one_message(chain: ConsoleChain) -> None:
    chain.add_staff("ana@hq.example", Role.CONTENT_EDITOR)
    client = chain.client()
    answer = client.form("/console/sign-in", {"email": "ana@hq.example", "password": "nope nope"})
    assert answer.status_code == 401
    assert "That email and password do not match an account." in answer.text
    assert 'value="ana@hq.example"' in answer.text  # kept; the password is not
    assert SESSION_COOKIE not in client.cookies


def test_after_five_wrong_passwords_the_page_says_how_long_to_wait(chain: ConsoleChain) -> None:
    chain.add_staff("ana@hq.example", Role.CONTENT_EDITOR)
    client = chain.client()
    for _ in range(4):
        client.form("/console/sign-in", {"email": "ana@hq.example", "password": "nope nope"})
    locked = client.form("/console/sign-in.json", {"email": "ana@hq.example", "password": "nope"})
    assert locked.status_code == 429
    assert locked.headers["retry-after"] == "30"
    right = client.form("/console/sign-in", {"email": "ana@hq.example", "password": PASSWORD})
    assert right.status_code == 429
    assert "Try again in 1 minute." in right.text
    chain.clock.advance(timedelta(seconds=31))
    assert sign_in(client, "ana@hq.example").status_code == 303


def test_the_session_cookie_is_signed_httponly_secure_and_for_the_console_only(
    chain: ConsoleChain,
) -> None:
    chain.add_staff("ana@hq.example", Role.CONTENT_EDITOR)
    client = chain.client()
    answer = sign_in(client, "ana@hq.example")
    cookie = next(
        header
        for header in answer.headers.get_list("set-cookie")
        if header.startswith(f"{SESSION_COOKIE}=")
    ).lower()
    for flag in ("httponly", "secure", "samesite=lax", "path=/console"):
        assert flag in cookie
    # Changing a byte of the cookie makes it worthless: signed with itsdangerous.
    value = client.cookies[SESSION_COOKIE]
    client.cookies.set(SESSION_COOKIE, value[:-2] + ("AA" if value[-2:] != "AA" else "BB"))
    assert client.get("/console/releases.json").status_code == 401


def test_signing_out_ends_the_session(chain: ConsoleChain) -> None:
    chain.add_staff("ana@hq.example", Role.CONTENT_EDITOR)
    client = chain.client()
    sign_in(client, "ana@hq.example")
    out = client.form("/console/sign-out")
    assert out.status_code == 303
    assert client.get("/console/releases.json").status_code == 401


def test_disabling_an_account_ends_its_open_sessions_at_once(chain: ConsoleChain) -> None:
    chain.add_staff("ana@hq.example", Role.CONTENT_EDITOR)
    client = chain.client()
    sign_in(client, "ana@hq.example")
    assert client.get("/console/releases.json").status_code == 200
    disable_staff(chain.database, "ana@hq.example", now=chain.clock(), by="test")
    assert client.get("/console/releases.json").status_code == 401


def test_a_session_idle_for_two_hours_is_over(chain: ConsoleChain) -> None:
    chain.add_staff("ana@hq.example", Role.CONTENT_EDITOR)
    client = chain.client()
    sign_in(client, "ana@hq.example")
    chain.clock.advance(timedelta(hours=1, minutes=50))
    assert client.get("/console/releases.json").status_code == 200  # and the idle clock moves
    chain.clock.advance(timedelta(hours=1, minutes=50))
    assert client.get("/console/releases.json").status_code == 200
    chain.clock.advance(timedelta(hours=2, minutes=1))
    assert client.get("/console/releases.json").status_code == 401


def test_every_answer_carries_the_security_headers_and_pages_are_not_cached(
    chain: ConsoleChain,
) -> None:
    client = chain.client()
    page = client.get("/console/sign-in")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    assert CSRF_COOKIE in client.cookies
    style = client.get("/console/static/console.css")
    assert style.status_code == 200
    assert "no-store" not in style.headers.get("cache-control", "")
