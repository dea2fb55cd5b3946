"""Wiring only: the console's ASGI app, mounted by hq/app.py at `/console`.

    app.mount("/console", console_app(database, secret=..., clock=..., content=...))

Middleware, outermost first:
- security headers on every answer (no framing, same-origin everything, no
  caching of pages: they show who may do what);
- Starlette's SessionMiddleware: the session in a cookie signed with itsdangerous
  (HttpOnly, Secure, SameSite=Lax, path /console, one working day);
- asgi-csrf: a signed token in a cookie that every form and every POST must
  repeat (field `csrftoken`, first in the form, or header `x-csrftoken`); a POST
  without it is refused with 403 before any view runs, cookies or not.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

import jinja2
from asgi_csrf import Errors, asgi_csrf
from fastapi import FastAPI
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hq.api.common import Clock
from hq.console import csrf_multipart
from hq.console.secret import derived_key
from hq.console.staff import PasswordHasher
from hq.console.views import (
    analytics,
    audit,
    customers,
    fleet_health,
    plays,
    preview,
    publish,
    releases,
    revoke,
    rollout,
    signin,
    staff,
    store_map,
)
from hq.console.views.base import Ask, Console, ContentSide, jsonable, render
from hq.content import upload
from hq.db import Database
from hq.private_files import private_dir

HERE: Final = Path(__file__).resolve().parent
STATIC: Final = HERE / "static"

SESSION_COOKIE: Final = "hq_console"
CSRF_COOKIE: Final = "hq_console_csrf"
SESSION_MAX_AGE_S: Final = 12 * 3600  # a working day; idle sessions end sooner (base.py)
MAX_UPLOAD_BYTES: Final = upload.MAX_ARCHIVE_BYTES
# A bundle is uploaded whole (a catalog with attract videos); the admin API takes
# the same, the rest of HQ keeps its 8 MB limit.
ENV_TIMEZONE: Final = "KIOSK_HQ_CONSOLE_TIMEZONE"
DEFAULT_TIMEZONE: Final = "Asia/Shanghai"
# The zone the console shows times in and reads scheduled times in: the stores'.


def console_app(
    database: Database,
    *,
    secret: bytes,
    clock: Clock,
    content: ContentSide,
    hasher: PasswordHasher | None = None,
    timezone: str | None = None,
    upload_dir: Path | None = None,
    secure_cookies: bool = True,
) -> FastAPI:
    """The console for `database`. `secure_cookies=False` only for tests over plain HTTP
    to a name no browser treats as secure (browsers send Secure cookies to loopback)."""
    csrf_multipart.install()
    if upload_dir is not None:
        private_dir(upload_dir)  # bundles being unpacked: HQ's eyes only
    zone = ZoneInfo(timezone or os.environ.get(ENV_TIMEZONE) or DEFAULT_TIMEZONE)
    console = Console(
        database=database,
        clock=clock,
        hasher=hasher or PasswordHasher(),
        templates=template_environment(zone),
        content=content,
        zone=zone,
        upload_dir=upload_dir,
    )
    app = FastAPI(
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        max_body_size=MAX_UPLOAD_BYTES,
    )
    app.router.routes.append(Route("/", _home, methods=["GET"]))
    for make in (
        signin.sign_in_routes,
        releases.release_routes,
        publish.publish_routes,
        preview.preview_routes,
        rollout.rollout_routes,
        revoke.revoke_routes,
        audit.audit_routes,
        staff.staff_routes,
        plays.plays_routes,
        analytics.analytics_routes,
        fleet_health.fleet_health_routes,
        customers.customer_routes,
        store_map.store_map_routes,
    ):
        app.router.routes.extend(make(console))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(
        _csrf_middleware,
        signing_secret=derived_key(secret, "csrf"),
        secure=secure_cookies,
        failed=_csrf_failed(console),
    )
    app.add_middleware(
        SessionMiddleware,
        secret_key=derived_key(secret, "session"),
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE_S,
        path="/console",
        same_site="lax",
        https_only=secure_cookies,
    )
    app.add_middleware(SecurityHeaders)
    return app


def _csrf_middleware(
    app: ASGIApp,
    *,
    signing_secret: str,
    secure: bool,
    failed: Callable[[Scope, Send, Errors], Any],
) -> ASGIApp:
    wrapped: ASGIApp = asgi_csrf(
        app,
        cookie_name=CSRF_COOKIE,
        signing_secret=signing_secret,
        signing_namespace="hq-console",
        always_protect=_EveryPath(),
        cookie_path="/console",
        cookie_secure=secure,
        cookie_samesite="Lax",
        send_csrf_failed=failed,
    )
    return wrapped


class _EveryPath:
    """asgi-csrf lets a POST without cookies through unless its path is "always
    protected"; here every path is, so a forged sign-in (login CSRF) is refused too."""

    def __contains__(self, _path: object) -> bool:
        return True


def _csrf_failed(console: Console) -> Callable[[Scope, Send, Errors], Any]:
    async def failed(scope: Scope, send: Send, _error: Errors) -> None:
        request = Request(scope)
        as_json = request.url.path.endswith(".json")
        message = (
            "This form had expired or did not come from the console. "
            "Go back, reload the page and send it again."
        )
        response: Response
        if as_json:
            from starlette.responses import JSONResponse  # noqa: PLC0415

            response = JSONResponse(
                {
                    "detail": "CSRF token missing or wrong: send the csrftoken cookie's value "
                    "in the x-csrftoken header"
                },
                status_code=403,
            )
        else:
            from starlette.responses import HTMLResponse  # noqa: PLC0415

            ask = Ask(request, None, False, console.clock())
            response = HTMLResponse(
                render(
                    console,
                    ask,
                    "refused.html",
                    {
                        "status": 403,
                        "heading": "The form could not be accepted",
                        "message": message,
                        "problems": [],
                    },
                    title="Refused",
                ),
                status_code=403,
            )
        await response(scope, _no_body, send)

    return failed


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _home(request: Request) -> Response:
    return RedirectResponse(f"{request.scope.get('root_path', '')}/releases", status_code=303)


class SecurityHeaders:
    """Headers on every console answer; pages are never cached (static files may be)."""

    PAGE: Final = (
        (
            b"content-security-policy",
            b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
        ),
        (b"x-frame-options", b"DENY"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
    )

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith(f"{scope.get('root_path', '')}/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), *self.PAGE]
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


# ---------------------------------------------------------------- templates


def template_environment(zone: ZoneInfo) -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["when"] = lambda moment: _when(moment, zone)
    environment.filters["when_input"] = lambda moment: _when_input(moment, zone)
    environment.filters["size"] = _size
    environment.filters["jsonable"] = jsonable
    environment.globals["zone_name"] = str(zone)
    return environment


def _moment(value: datetime | str | None) -> datetime | None:
    """Views hand templates datetimes or the JSON twin's ISO text; both read here."""
    if isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value


def _when(value: datetime | str | None, zone: ZoneInfo) -> str:
    moment = _moment(value)
    if moment is None:
        return "—"
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _when_input(value: datetime | str | None, zone: ZoneInfo) -> str:
    """For `<input type=datetime-local>`."""
    moment = _moment(value)
    return "" if moment is None else moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M")


def _size(count: int) -> str:
    size = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"
