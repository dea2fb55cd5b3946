"""HQ test helpers: HQ served on loopback in this process, fresh databases, a kiosk's side.

Plain context managers and classes (fixtures live in the conftest files):

    with fresh_postgres_database() as url:          # skips the test if no server
        settings = hq_settings(tmp_path, url)
        with running_hq(settings) as base_url:      # migrates, serves, stops
            kiosk = enrolled_kiosk(base_url, url, "sh-nanjing-road")
            kiosk.post([kiosk.event(1)])

- `running_hq(settings)`: uvicorn on a thread, on a free 127.0.0.1 port.
- `fresh_postgres_database()`, `database_url_for(backend, dir)`: empty databases;
  `MigratedDatabases`: fresh databases at the newest schema, fast (one per session).
- `Hq`, `KioskClient`, `event_json`, `signup_payload`, `consent_payload`: talking
  to HQ over HTTP as kiosks and staff do; `KioskClient.coupon(...)` issues a coupon
  code under the kiosk's own key, `coupon_issued_payload`, `coupon_redeemed_payload`,
  `survey_answer_payload` build those events.

PostgreSQL comes from KIOSK_TEST_POSTGRES_URL, default
postgresql+psycopg://postgres@127.0.0.1:5432/test: a database on a server where
the user may CREATE DATABASE. Each fresh database is hq_test_<random>, dropped
WITH (FORCE) afterwards.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import psycopg
import pytest
import requests
import uvicorn
from fastapi import FastAPI
from psycopg import sql
from sqlalchemy import func, make_url, select
from sqlalchemy.engine import URL

from hq.app import create_app, server_config
from hq.crm.coupon_codes import CouponCode
from hq.crm.coupon_codes import issue as issue_coupon_code
from hq.db import Database, metadata
from hq.enrollment import issue_code as issue_enrolment_code
from hq.fleet import add_store
from hq.migrations import migrate
from hq.settings import Settings, sqlite_url

POSTGRES_URL_ENV: Final = "KIOSK_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL: Final = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ADMIN_TOKEN: Final = "test-admin-token-0123456789"  # noqa: S105 (a test fixture)
KIOSK_HQ: Final = Path(sys.executable).parent / "kiosk-hq"
START_TIMEOUT: Final = 10.0  # seconds; HQ is up in well under one on a quiet machine
CONNECT_TIMEOUT_S: Final = 3


def hq_settings(data_dir: Path, database_url: str | None = None) -> Settings:
    """Settings for a test HQ in `data_dir` (SQLite there unless a URL is given)."""
    return Settings(
        data_dir=data_dir,
        database_url=database_url or sqlite_url(data_dir / "hq.sqlite3"),
        admin_token=ADMIN_TOKEN,
    )


@contextmanager
def running_hq(settings: Settings, *, migrate_first: bool = True) -> Iterator[str]:
    """HQ served by uvicorn on a thread, on a free loopback port; yields its base URL."""
    if migrate_first:
        migrate(settings.database_url)
    with serving(create_app(settings)) as base_url:
        yield base_url


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """`app` served by uvicorn on a thread, on a free loopback port; yields its base URL."""
    config = server_config(app, host="127.0.0.1", port=0)
    server = uvicorn.Server(config)
    # Bound here, so the port is known before the server starts and no one can take it.
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say TCP, and
    # without it every answer waits 40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="hq-server", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("HQ's server thread ended before it started serving")
            if time.monotonic() > deadline:
                raise TimeoutError(f"HQ did not start serving within {START_TIMEOUT} s")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(START_TIMEOUT)
        sock.close()


def postgres_server_url(url: str | None = None) -> URL:
    """The maintenance database URL (argument, else KIOSK_TEST_POSTGRES_URL, else default)."""
    chosen = url or os.environ.get(POSTGRES_URL_ENV) or DEFAULT_POSTGRES_URL
    parsed = make_url(chosen)
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _libpq(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def fresh_postgres_database(
    server_url: str | None = None, *, template: str | None = None
) -> Iterator[str]:
    """A new database hq_test_<random> (empty, or a copy of `template`); yields its
    SQLAlchemy URL and drops it afterwards.

    Skips the calling test (pytest.skip) if the server cannot be reached.
    """
    server = postgres_server_url(server_url)
    try:
        admin = psycopg.connect(_libpq(server), autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
    except psycopg.OperationalError as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else "unreachable"
        pytest.skip(
            f"no PostgreSQL at {server.render_as_string(hide_password=True)} "
            f"(set {POSTGRES_URL_ENV}): {reason}"
        )
    name = f"hq_test_{secrets.token_hex(6)}"
    create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template is not None:
        create = sql.SQL("{} TEMPLATE {}").format(create, sql.Identifier(template))
    try:
        admin.execute(create)
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    finally:
        admin.close()


@contextmanager
def database_url_for(backend: str, directory: Path) -> Iterator[str]:
    """A fresh, empty database of `backend` ("sqlite" or "postgresql")."""
    if backend == "sqlite":
        directory.mkdir(parents=True, exist_ok=True)
        yield sqlite_url(directory / f"hq-{secrets.token_hex(4)}.sqlite3")
    elif backend == "postgresql":
        with fresh_postgres_database() as url:
            yield url
    else:
        raise ValueError(f"unknown database backend {backend!r}")


class MigratedDatabases:
    """Fresh databases at the newest schema, without migrating each one (which would
    take most of a quick test's time).

    SQLite: a copy of one migrated template file. PostgreSQL: one migrated database
    for the session, emptied (TRUNCATE) before each use; used by one test at a time,
    a second use at once gets a copy made from it (CREATE DATABASE ... TEMPLATE).

        with MigratedDatabases(tmp) as databases:          # once per session
            with databases.fresh("postgresql", directory) as url:
                ...
    """

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._sqlite_template: Path | None = None
        self._postgres: str | None = None
        self._postgres_in_use = False
        self._closing = contextlib.ExitStack()

    def __enter__(self) -> MigratedDatabases:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._closing.close()

    @contextmanager
    def fresh(self, backend: str, directory: Path) -> Iterator[str]:
        if backend == "sqlite":
            directory.mkdir(parents=True, exist_ok=True)
            path = directory / f"hq-{secrets.token_hex(4)}.sqlite3"
            shutil.copyfile(self._sqlite(), path)
            yield sqlite_url(path)
        elif backend == "postgresql":
            url = self._postgres_database()
            if self._postgres_in_use:
                with fresh_postgres_database(template=make_url(url).database) as copy:
                    yield copy
                return
            _empty_postgres(url)
            self._postgres_in_use = True
            try:
                yield url
            finally:
                self._postgres_in_use = False
        else:
            raise ValueError(f"unknown database backend {backend!r}")

    def _sqlite(self) -> Path:
        if self._sqlite_template is None:
            self._directory.mkdir(parents=True, exist_ok=True)
            template = self._directory / "template.sqlite3"
            migrate(sqlite_url(template))  # disposed after: no -wal file is left
            self._sqlite_template = template
        return self._sqlite_template

    def _postgres_database(self) -> str:
        if self._postgres is None:
            url = self._closing.enter_context(fresh_postgres_database())
            migrate(url)
            self._postgres = url
        return self._postgres


def _empty_postgres(url: str) -> None:
    tables = sql.SQL(", ").join(sql.Identifier(name) for name in metadata.tables)
    with psycopg.connect(_libpq(make_url(url)), autocommit=True) as connection:
        connection.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(tables))


# ---------------------------------------------------------------- talking to HQ like a kiosk

OCCURRED_AT: Final = datetime(2026, 11, 23, 9, 14, 3, 120000, tzinfo=UTC)


LIFT: Final = {"session": "s1", "slot": 3, "sku": "SKU-0003"}


def event_json(
    store_id: str,
    kiosk_id: str,
    seq: int,
    kind: str = "lift",
    payload: dict[str, Any] | None = None,
    /,
    **envelope: Any,
) -> dict[str, Any]:
    """An event as a kiosk sends it (a lift unless told otherwise)."""
    return {
        "event_id": str(uuid.uuid4()),
        "store_id": store_id,
        "kiosk_id": kiosk_id,
        "seq": seq,
        "kind": kind,
        "schema_version": 1,
        "occurred_at": OCCURRED_AT.isoformat(),
        "payload": dict(LIFT) if payload is None else payload,
        **envelope,
    }


def signup_payload(member_id: str, phone: str, **changes: Any) -> dict[str, Any]:
    return {
        "member_id": member_id,
        "phone": phone,
        "region": "CN",
        "name": None,
        "email": None,
        "language": "zh-CN",
        **changes,
    }


def consent_payload(
    member_id: str, purpose: str, *, given: bool, channel: str | None = None
) -> dict[str, Any]:
    return {
        "member_id": member_id,
        "purpose": purpose,
        "channel": channel,
        "notice_version": "2026-11",
        "notice_sha256": "5e" * 32,
        "given": given,
    }


def survey_answer_payload(
    session: str, survey: str, question: str, kind: str, **answer: Any
) -> dict[str, Any]:
    """A `survey_answer` payload; `answer` gives score, choices, text, member_id, low."""
    return {"session": session, "survey": survey, "question": question, "kind": kind, **answer}


def coupon_issued_payload(
    issued: CouponCode, /, campaign: str = "phone-50", **changes: Any
) -> dict[str, Any]:
    return {
        "session": "s1",
        "code": issued.text,
        "campaign": campaign,
        "campaign_no": issued.campaign_no,
        "serial": issued.serial,
        "expires_on": issued.expires_on.isoformat(),
        "reason": "survey",
        **changes,
    }


def coupon_redeemed_payload(
    code: str, redeemed_at: datetime = OCCURRED_AT, by: str = "till-1"
) -> dict[str, Any]:
    return {"code": code, "redeemed_at": redeemed_at.isoformat(), "by": by}


class KioskClient:
    """A kiosk's side of the wire, for tests: its ids, token, coupon number and key,
    and a requests.Session."""

    def __init__(self, base_url: str, enrolment: dict[str, Any]) -> None:
        self.base_url = base_url
        self.store_id: str = enrolment["store_id"]
        self.kiosk_id: str = enrolment["kiosk_id"]
        self.token: str = enrolment["token"]
        self.kiosk_no: int | None = enrolment.get("kiosk_no")
        key = enrolment.get("coupon_key")
        self.coupon_key: bytes | None = None if key is None else base64.b64decode(key)
        pinned = enrolment.get("content_key")  # HQ's content signing key, pinned
        self.content_key: bytes | None = None if pinned is None else base64.b64decode(pinned)
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {self.token}"

    def coupon(
        self, serial: int, *, campaign_no: int = 7, expires_on: date | None = None
    ) -> CouponCode:
        """A code as this kiosk issues it, under its own coupon key (good for 30 days
        unless told otherwise)."""
        assert self.coupon_key is not None
        assert self.kiosk_no is not None
        return issue_coupon_code(
            self.coupon_key,
            campaign_no=campaign_no,
            kiosk_no=self.kiosk_no,
            serial=serial,
            expires_on=expires_on or date.today() + timedelta(days=30),
        )

    def close(self) -> None:
        self.session.close()

    def event(
        self, seq: int, kind: str = "lift", payload: dict[str, Any] | None = None, **envelope: Any
    ) -> dict[str, Any]:
        """One event of this kiosk; `envelope` overrides any envelope field."""
        return event_json(self.store_id, self.kiosk_id, seq, kind, payload, **envelope)

    def post(self, events: list[dict[str, Any]], **kwargs: Any) -> requests.Response:
        return self.session.post(
            f"{self.base_url}/v1/events", json={"events": events}, timeout=30, **kwargs
        )

    def post_raw(self, body: bytes) -> requests.Response:
        return self.session.post(
            f"{self.base_url}/v1/events",
            data=body,
            headers={"Content-Type": "application/json"},
            timeout=30,
        )


def enrol(base_url: str, code: str, name: str | None = None) -> requests.Response:
    body: dict[str, Any] = {"code": code}
    if name is not None:
        body["name"] = name
    return requests.post(f"{base_url}/v1/enroll", json=body, timeout=30)


def admin_get(base_url: str, path: str, **params: Any) -> requests.Response:
    return requests.get(
        f"{base_url}{path}",
        params=params,
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=30,
    )


def issue_code(database_url: str, store_id: str, **kwargs: Any) -> str:
    """An enrolment code for `store_id`, adding the store if needed (HQ's Python API)."""
    database = Database(database_url)
    try:
        now = kwargs.pop("now", datetime.now(UTC))
        add_store(database, store_id, None, now=now, exist_ok=True)
        return issue_enrolment_code(database, store_id, now=now, **kwargs)
    finally:
        database.dispose()


def enrolled_kiosk(base_url: str, database_url: str, store_id: str) -> KioskClient:
    """A kiosk enrolled over HTTP in `store_id` (made if needed); close() it after use."""
    answer = enrol(base_url, issue_code(database_url, store_id))
    answer.raise_for_status()
    return KioskClient(base_url, answer.json())


class Hq:
    """A running test HQ: where it answers, its settings, and shortcuts for tests."""

    def __init__(self, base_url: str, settings: Settings) -> None:
        self.base_url = base_url
        self.settings = settings
        self._kiosks: list[KioskClient] = []

    @property
    def database_url(self) -> str:
        return self.settings.database_url

    def kiosk(self, store_id: str | None = None) -> KioskClient:
        """A newly enrolled kiosk, in `store_id` or a store of its own."""
        client = enrolled_kiosk(self.base_url, self.database_url, store_id or new_store_id())
        self._kiosks.append(client)
        return client

    def close_kiosks(self) -> None:
        for client in self._kiosks:
            client.close()
        self._kiosks.clear()

    def admin_get(self, path: str, **params: Any) -> requests.Response:
        return admin_get(self.base_url, path, **params)

    def admin_post(self, path: str, body: Any = None) -> requests.Response:
        """POST to the admin API, with `body` as JSON if given."""
        return requests.post(
            f"{self.base_url}{path}",
            json=body,
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            timeout=30,
        )

    def admin_delete(self, path: str) -> requests.Response:
        return requests.delete(
            f"{self.base_url}{path}",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            timeout=30,
        )

    def kiosk_stats(self, kiosk_id: str) -> dict[str, Any]:
        answer = self.admin_get("/v1/admin/stats")
        answer.raise_for_status()
        kiosks: list[dict[str, Any]] = answer.json()["kiosks"]
        (found,) = [kiosk for kiosk in kiosks if kiosk["kiosk_id"] == kiosk_id]
        return found

    def count(self, table: Any, **where: Any) -> int:
        """Rows of `table` (an hq.db Table) whose columns equal `where`."""
        database = Database(self.database_url)
        try:
            statement = select(func.count()).select_from(table)
            for name, value in where.items():
                statement = statement.where(table.c[name] == value)
            with database.read() as connection:
                return int(connection.execute(statement).scalar_one())
        finally:
            database.dispose()


@contextmanager
def hq_of_its_own(data_dir: Path, database_url: str | None = None) -> Iterator[Hq]:
    """An HQ for one test (its own data directory and database); its kiosks closed after."""
    settings = hq_settings(data_dir, database_url)
    with running_hq(settings) as base_url:
        running = Hq(base_url, settings)
        try:
            yield running
        finally:
            running.close_kiosks()


def new_store_id() -> str:
    return f"store-{uuid.uuid4().hex[:10]}"


def members_cli(hq: Hq, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """`kiosk-hq members ARGS` as staff run it beside the running `hq`."""
    return hq_cli(hq, "members", *args, stdin=stdin)


def hq_cli(hq: Hq, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """`kiosk-hq ARGS` as staff run it beside the running `hq` (its data directory;
    no KIOSK_HQ_* variable from the test's environment)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("KIOSK_HQ_")}
    return subprocess.run(
        [
            str(KIOSK_HQ),
            "--data-dir",
            str(hq.settings.data_dir),
            "--database-url",
            hq.database_url,
            *args,
        ],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
