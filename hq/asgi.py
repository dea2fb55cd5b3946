"""HQ under a multi-process server: gunicorn with uvicorn workers (deploy/hq/).

    gunicorn --config deploy/hq/gunicorn.conf.py 'hq.asgi:app_from_environment()'

Each worker calls `app_from_environment()` after the fork: its own engine and
connection pool, settings from the environment (`KIOSK_HQ_DATA_DIR`,
`KIOSK_HQ_DATABASE_URL`, ...; hq/settings.py). Nothing here migrates: the
deployment runs `kiosk-hq migrate` once before the workers start (the unit's
ExecStartPre, compose's `migrate` service), so N workers never race to upgrade.

Any worker can answer any request (tests/integration/test_hq_deploy_workers.py):
what HQ keeps outside the database is files of the data directory that the first
worker writes whole and the others read (admin token and console secret at start,
content keys and notices again whenever they change); everything else is in the
database (kiosks, sign-in failures, one-time links); the only per-process state is
caches keyed on what they cache (hq/content/manifest.py).
"""

from __future__ import annotations

from typing import Any, ClassVar

from fastapi import FastAPI
from uvicorn_worker import UvicornWorker

from hq.app import GRACEFUL_SHUTDOWN_S, create_app
from hq.settings import Settings


def app_from_environment() -> FastAPI:
    """HQ for the settings in the environment (a factory: called in each worker)."""
    return create_app(Settings.load())


class Worker(UvicornWorker):  # type: ignore[misc]  # uvicorn-worker has no type hints
    """uvicorn as `kiosk-hq serve` runs it (hq.app.server_config), under gunicorn.

    gunicorn's own settings give the rest: keepalive (hq.app.KEEP_ALIVE_S in
    deploy/hq/gunicorn.conf.py), the worker timeout and forwarded_allow_ips.
    """

    CONFIG_KWARGS: ClassVar[dict[str, Any]] = {
        **UvicornWorker.CONFIG_KWARGS,
        # HQ's AccessLog middleware logs each request without its query string;
        # uvicorn's own line would carry `?phone=...`.
        "access_log": False,
        "ws": "none",
        "lifespan": "on",
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_S,
        # X-Forwarded-For and -Proto from the proxy in front (nginx), from the
        # addresses gunicorn's forwarded_allow_ips names.
        "proxy_headers": True,
    }
