"""HQ's web console for tests: a chain with stores, kiosks and releases, and staff.

    chain = ConsoleChain(database, tmp_path, clock)      # stores, kiosks, a release
    client = chain.client()                               # in-process, over ASGI
    chain.add_staff("ana@hq.example", Role.CONTENT_EDITOR)
    sign_in(client, "ana@hq.example")
    client.post("/console/releases/1/revoke", data={"confirm": "1"}, csrf=True)

The console is mounted at /console in a bare FastAPI app, as hq/app.py mounts it.
Argon2 runs with cheap parameters here (the hashing itself is argon2-cffi's).
"""

from __future__ import annotations

import io
import tarfile
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import argon2
import httpx2 as httpx
from fastapi import FastAPI
from sqlalchemy import insert
from starlette.testclient import TestClient

from content.sample import write_sample_bundle
from hq import fleet
from hq.console.app import CSRF_COOKIE, console_app
from hq.console.staff import PasswordHasher, Role, Staff, add_staff
from hq.console.views.base import ContentSide
from hq.content.assets import DirectoryAssetStore
from hq.content.releases import Published, publish_folder
from hq.content.signing import ContentKeys
from hq.db import Database, content_failures, kiosk_content_status, kiosks

PASSWORD: Final = "correct horse battery"  # noqa: S105 (test accounts)
CHEAP_HASHER: Final = PasswordHasher(
    argon2.PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
)
SECRET: Final = bytes(range(32))

# The chain of the tests: two regions, a tag, three stores, five kiosks.
STORES: Final = {
    "sh-nanjing-road": ("上海南京路店", "east", ("flagship",)),
    "sh-xujiahui": ("上海徐家汇店", "east", ()),
    "bj-sanlitun": ("北京三里屯店", "north", ("flagship",)),
}
KIOSKS: Final = {
    "sh-nanjing-road": ("sh-nanjing-road-k1", "sh-nanjing-road-k2"),
    "sh-xujiahui": ("sh-xujiahui-k1",),
    "bj-sanlitun": ("bj-sanlitun-k1", "bj-sanlitun-k2"),
}


class Clock:
    """A clock the test moves."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime(2026, 12, 6, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> None:
        self.now += by


@dataclass
class ConsoleChain:
    database: Database
    directory: Path
    clock: Clock = field(default_factory=Clock)

    def __post_init__(self) -> None:
        self.assets = DirectoryAssetStore(self.directory / "assets")
        self.keys = ContentKeys(self.directory / "keys")
        now = self.clock()
        for store_id, (name, region, tags) in STORES.items():
            fleet.add_store(
                self.database, store_id, name, now=now, region=region, tags=tags, by="test"
            )
        with self.database.write() as connection:
            for store_id, kiosk_ids in KIOSKS.items():
                for kiosk_id in kiosk_ids:
                    connection.execute(
                        insert(kiosks).values(
                            kiosk_id=kiosk_id,
                            store_id=store_id,
                            token_sha256=uuid.uuid4().hex * 2,
                            enrolled_at=now,
                            contiguous_seq=0,
                            highest_seq=0,
                        )
                    )
        self._bundles = 0

    def app(self, **options: Any) -> FastAPI:
        app = FastAPI()
        app.mount(
            "/console",
            console_app(
                self.database,
                secret=SECRET,
                clock=self.clock,
                content=ContentSide(self.assets, self.keys),
                hasher=CHEAP_HASHER,
                upload_dir=self.directory / "uploads",
                **options,
            ),
        )
        return app

    def client(self) -> ConsoleClient:
        return ConsoleClient(self.app())

    def add_staff(
        self, email: str, role: Role, stores: Iterable[str] = (), password: str = PASSWORD
    ) -> Staff:
        return add_staff(
            self.database,
            CHEAP_HASHER,
            email=email,
            name=email.split("@", maxsplit=1)[0].title(),
            role=role,
            stores_managed=list(stores),
            password=password,
            now=self.clock(),
            by="test",
        )

    def bundle(self, *, products: int = 6, seed: int = 1) -> Path:
        self._bundles += 1
        folder = self.directory / f"bundle-{self._bundles}"
        write_sample_bundle(folder, products=products, seed=seed, release=f"test-{self._bundles}")
        return folder

    def publish(self, target: str = "all", **options: Any) -> Published:
        return publish_folder(
            self.database,
            self.assets,
            self.keys,
            self.bundle(),
            target=target,
            by="test",
            now=self.clock(),
            **options,
        )

    def report(
        self,
        kiosk_id: str,
        *,
        active: int | None = None,
        ready: Iterable[int] = (),
        downloading: tuple[int, int, int] | None = None,
        failure: tuple[int, str, str] | None = None,
    ) -> None:
        """Store what a kiosk reports of its content, as POST /v1/content/status would."""
        store_id = kiosk_id.rsplit("-k", 1)[0]
        with self.database.write() as connection:
            connection.execute(
                kiosk_content_status.delete().where(kiosk_content_status.c.kiosk_id == kiosk_id)
            )
            connection.execute(
                insert(kiosk_content_status).values(
                    kiosk_id=kiosk_id,
                    store_id=store_id,
                    active=active,
                    ready=list(ready),
                    downloading=None if downloading is None else downloading[0],
                    bytes_done=None if downloading is None else downloading[1],
                    bytes_total=None if downloading is None else downloading[2],
                    reported_at=self.clock(),
                )
            )
            if failure is not None:
                connection.execute(
                    insert(content_failures).values(
                        failure_id=str(uuid.uuid4()),
                        kiosk_id=kiosk_id,
                        store_id=store_id,
                        release_id=failure[0],
                        reason=failure[1],
                        detail=failure[2],
                        occurred_at=self.clock(),
                        received_at=self.clock(),
                    )
                )


class ConsoleClient(TestClient):
    """A browser-like client: cookies kept, HTTPS (the session cookie is Secure)."""

    def __init__(self, app: FastAPI) -> None:
        super().__init__(app, base_url="https://testserver", follow_redirects=False)

    def csrf_token(self) -> str:
        if CSRF_COOKIE not in self.cookies:
            self.get("/console/sign-in")
        return str(self.cookies[CSRF_COOKIE])

    def form(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> httpx.Response:
        """POST a form as the console's pages do: with the CSRF token field."""
        return self.post(path, data={"csrftoken": self.csrf_token(), **(data or {})}, **kwargs)

    def post_json(self, path: str, body: dict[str, Any]) -> httpx.Response:
        """POST JSON as a script would: the CSRF cookie's value in the x-csrftoken header."""
        return self.post(path, json=body, headers={"x-csrftoken": self.csrf_token()})


def sign_in(client: ConsoleClient, email: str, password: str = PASSWORD) -> httpx.Response:
    answer = client.form("/console/sign-in", {"email": email, "password": password})
    assert answer.status_code == 303, answer.text
    return answer


def tarball(folder: Path, *, inside: str = "bundle") -> bytes:
    """`folder` as a .tar.gz with one top-level directory (as `tar czf x.tgz bundle/`)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.add(folder, arcname=inside)
    return buffer.getvalue()
