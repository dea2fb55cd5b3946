"""Signing in and out.

    GET  /console/sign-in[?next=/console/...]   the form
    POST /console/sign-in                       email + password: 303 to `next`, or the
                                                form again (401 wrong, 429 locked)
    POST /console/sign-out                      ends the session, 303 to the form

One answer for an unknown email, a wrong password and a disabled account, so
the form does not tell who has an account. After five wrong passwords the
account waits (hq.console.lockout); the page says how long.
"""

from __future__ import annotations

import math
from typing import Final

from starlette.routing import BaseRoute

from hq.console.staff import SignInRefusal, sign_in
from hq.console.views.base import Ask, Console, Page, Redirect, routes, start_session

MAX_FIELD: Final = 300

WRONG: Final = "That email and password do not match an account."


def sign_in_page(console: Console, ask: Ask) -> Page | Redirect:
    following = _local_next(ask, ask.field("next"))
    if ask.request.method == "GET":
        if ask.actor is not None:
            return Redirect(following, {"signed_in": True, "staff": ask.actor})
        return _form(ask, following)
    email = ask.field("email")[:MAX_FIELD]
    password = ask.field("password")[:MAX_FIELD]
    outcome = sign_in(console.database, console.hasher, email, password, now=ask.now)
    if outcome.staff is not None:
        start_session(ask.request, outcome.staff, ask.now)
        return Redirect(following, {"signed_in": True, "staff": outcome.staff})
    if outcome.refusal is SignInRefusal.LOCKED:
        seconds = max(1, math.ceil(outcome.retry_after.total_seconds()))
        minutes = math.ceil(seconds / 60)
        message = (
            "Too many wrong passwords for this account. "
            f"Try again in {minutes} minute{'s' if minutes != 1 else ''}."
        )
        return _form(
            ask,
            following,
            email=email,
            error=message,
            status=429,
            headers={"Retry-After": str(seconds)},
        )
    return _form(ask, following, email=email, error=WRONG, status=401)


def sign_out(console: Console, ask: Ask) -> Redirect:
    ask.request.session.clear()
    return Redirect(f"{ask.base}/sign-in", {"signed_in": False})


def _form(
    ask: Ask,
    following: str,
    *,
    email: str = "",
    error: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Page:
    return Page(
        "signin.html",
        {"signed_in": False, "email": email, "error": error, "next": following},
        status=status,
        title="Sign in",
        headers=headers or {},
    )


def _local_next(ask: Ask, wanted: str) -> str:
    """`next` only within the console (never another site: no open redirect)."""
    home = f"{ask.base}/releases"
    if not wanted.startswith(f"{ask.base}/") or wanted.startswith("//") or "\\" in wanted:
        return home
    if wanted.split("?", 1)[0].rstrip("/") in {f"{ask.base}/sign-in", f"{ask.base}/sign-out"}:
        return home
    return wanted


def sign_in_routes(console: Console) -> list[BaseRoute]:
    return [
        *routes(console, "/sign-in", sign_in_page, methods=("GET", "POST"), public=True),
        *routes(console, "/sign-out", sign_out, methods=("POST",), public=True),
    ]
