"""Wiring only: the FastAPI application for one set of settings.

    app = create_app(Settings.load())

The database must be migrated first (`hq.migrations.migrate`; `kiosk-hq serve`
does it). The app owns its engine and disposes of it at shutdown.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Final

import anyio.to_thread
import uvicorn
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi_offline import FastAPIOffline
from sqlalchemy.exc import DBAPIError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hq.allow_header import AllowEveryMethod
from hq.analytics.crm.job import CrmSyncJob
from hq.api.admin import admin_router
from hq.api.common import Clock, database_error_handler, utc_now, validation_error_handler
from hq.api.join import join_router
from hq.api.kiosk import kiosk_router
from hq.api.openapi import install_truthful_openapi
from hq.console.app import console_app
from hq.console.secret import load_secret, secret_path
from hq.console.views.base import ContentSide
from hq.content.api import content_admin_router, content_router
from hq.content.assets import DirectoryAssetStore
from hq.content.manifest import ManifestService
from hq.content.signing import ContentKeys
from hq.crm import coupons, handoff
from hq.crm.notices import NoticeFile
from hq.crm.residue import Residue
from hq.db import Database
from hq.fleet_health.api import heartbeat_router
from hq.fleet_health.sweeper import AlertSweeper
from hq.logs import path_for_log
from hq.settings import Settings, ensure_data_dir, resolve_admin_token
from hq.sms.sender import SmsSender

MAX_BODY_BYTES: Final = 8 * 1024 * 1024
# A full batch of 500 events is 150-300 kB; 8 MB leaves room for big payloads and
# stops a client from making HQ buffer arbitrary amounts of memory.

KEEP_ALIVE_S: Final = 65
# How long the server keeps an idle connection: longer than a kiosk's pause between
# batches. With uvicorn's default of 5 s, a kiosk posting every 5 s now and then
# sent its batch into a connection HQ was closing, and got a reset.

GRACEFUL_SHUTDOWN_S: Final = 10
# On SIGTERM, requests in flight get this long to finish (a batch takes well under
# a second); without a bound, one stuck client would keep HQ from stopping.

WORKER_THREADS: Final = 6
# Sync endpoints run on this many threads. A worker's Python runs one at a time (the
# GIL): more threads only wait for it, and their hand-offs cost CPU. With 40 (one per
# pooled connection), 5,000 simulated kiosks took HQ 106 CPU s in 90 s and queued
# for seconds; with 6, 89 s and p99 0.4 s (bench/fleet_sim.py, 2 workers, 2 cores).

DOCS_STATIC_URL: Final = "/docs-static"  # Swagger UI's and ReDoc's files
DOCS_PAGES: Final = frozenset({"/docs", "/redoc"})
DOCS_POLICY: Final = (
    # Nothing from outside HQ: ReDoc would still fetch Redocly's logo from a CDN.
    # Swagger UI's page starts it with an inline script; both inject inline styles,
    # and ReDoc searches in a blob: worker.
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; connect-src 'self'"
)

_access_log = logging.getLogger("hq.access")


def create_app(settings: Settings, *, clock: Clock = utc_now) -> FastAPI:
    ensure_data_dir(settings)  # closes up a directory left open to others
    database = Database(settings.database_url)
    admin_token = resolve_admin_token(settings)
    residue = Residue(database)
    content_keys = ContentKeys(settings.content_key_dir)
    content_keys.current()  # made now if new: enrolment hands it out
    assets = DirectoryAssetStore(settings.assets_dir)
    # Members' "send to my phone" (hq/sms/): texted from the sweeper's rounds.
    texts = SmsSender(database, settings.sms, clock=clock)
    sweeper = AlertSweeper(database, clock, texts=texts)  # raises silence alerts (hq/fleet_health/)
    manifests = ManifestService(database, content_keys)  # polls and heartbeats share its cache
    # External CRMs (hq/analytics/crm/): one worker at a time runs a round (a lease).
    crm_job = None if settings.crm is None else CrmSyncJob(database, settings.crm, residue=residue)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = WORKER_THREADS
        sweeper.start()
        if crm_job is not None:
            crm_job.start()
        try:
            yield
        finally:
            if crm_job is not None:
                crm_job.stop()
            sweeper.stop()
            texts.close()
            residue.close()  # a VACUUM still pending after erasures runs now
            database.dispose()

    # /docs and /redoc load Swagger UI and ReDoc from HQ itself (fastapi-offline ships
    # them), not from a CDN: a store's back office may have no internet.
    app = FastAPIOffline(
        title="Kiosk HQ",
        version="1",
        summary="The chain's central service: kiosk enrolment, event ingest, customers.",
        lifespan=lifespan,
        max_body_size=MAX_BODY_BYTES,
        static_url=DOCS_STATIC_URL,
        # Swagger UI would otherwise ask validator.swagger.io for a badge.
        swagger_ui_parameters={"validatorUrl": None},
    )
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(DBAPIError, database_error_handler)
    app.include_router(kiosk_router(database, clock, residue, content_keys=content_keys))
    app.include_router(heartbeat_router(database, clock, manifests))
    app.include_router(admin_router(database, admin_token, clock, residue))
    app.include_router(content_router(database, assets, manifests, clock))
    app.include_router(
        content_admin_router(
            database,
            assets=assets,
            keys=content_keys,
            admin_token=admin_token,
            clock=clock,
            scratch=settings.scratch_dir,
        )
    )
    app.include_router(
        join_router(
            database,
            clock,
            kiosks=handoff.enrolled_kiosks(database, lambda: coupons.coupon_secret(database)),
            notices=NoticeFile(settings.notices_file),
            region=settings.default_region,
        )
    )
    app.mount(
        "/console",  # HQ staff's web console (hq/console/): its own sessions and CSRF
        console_app(
            database,
            secret=load_secret(secret_path(settings.data_dir)),
            clock=clock,
            content=ContentSide(assets, content_keys),
            upload_dir=settings.scratch_dir,
        ),
    )
    install_truthful_openapi(app)  # every route's, whoever adds it (hq/api/openapi.py)
    app.add_middleware(DocsPolicy)
    app.add_middleware(AllowEveryMethod, router=app.router)
    app.add_middleware(AccessLog)
    # AccessLog replaces uvicorn's access log (which logs the query string), under any
    # server that runs this app: `serve`, or gunicorn's uvicorn workers.
    logging.getLogger("uvicorn.access").disabled = True
    return app


def server_config(
    app: FastAPI,
    *,
    host: str,
    port: int,
    ssl_certfile: Path | None = None,
    ssl_keyfile: Path | None = None,
) -> uvicorn.Config:
    """How uvicorn serves HQ (for `kiosk-hq serve` and the tests' in-process HQ).

    With a certificate and key HQ serves HTTPS itself, as kiosks require of any HQ
    that is not on their loopback; else plain HTTP (loopback, or behind a proxy).
    """
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
        # AccessLog below logs requests; uvicorn's own line has the query string,
        # and `/v1/admin/customers?phone=...` carries a phone number.
        access_log=False,
        log_config=None,  # logging is the caller's: `serve` sets it up, tests have pytest's
        ws="none",
        lifespan="on",
        timeout_keep_alive=KEEP_ALIVE_S,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    return config


class DocsPolicy:
    """/docs and /redoc may load nothing from outside HQ (Content-Security-Policy)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in DOCS_PAGES:
            await self.app(scope, receive, send)
            return

        async def send_with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", [])]
                headers.append((b"content-security-policy", DOCS_POLICY.encode("ascii")))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_policy)


class AccessLog:
    """One line per request: client address, method, path, status, time. Never the query
    string: `/v1/admin/customers?phone=...` carries a phone number; the path
    percent-encoded, without tag hashes and sign-up tokens (hq/logs.py). Behind nginx the
    address is the one nginx saw (X-Forwarded-For, trusted by the server only from the
    proxy: deploy/hq/gunicorn.conf.py); a shopper's phone on the sign-up pages is not
    logged by its address, which is theirs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # if the app fails before answering

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            client = scope.get("client")
            shopper = scope["path"].startswith("/join/")
            _access_log.info(
                "%s %s %s %d %.1f ms",
                client[0] if client and not shopper else "-",
                scope["method"],
                path_for_log(scope["path"]),
                status,
                (time.perf_counter() - started) * 1000,
            )
