"""HQ web console pages for a large chain: how long each takes to answer.

    .venv/bin/python bench/console_pages.py [--stores 300] [--kiosks-per-store 4] [--runs 40]

Builds a chain in a fresh SQLite HQ: stores in five regions, their kiosks, ten
releases (the sample bundle, to all, regions and single stores), every kiosk's
content report (most running the newest release, some downloading, a few
failures); serves the console with uvicorn on loopback and signs in as a chain
admin over HTTP. Then asks each page (HTML and its JSON twin) `--runs` times in
a row and prints median, p95 and max in milliseconds. The rollout pages refresh
themselves every 5 s, so their time is what one open browser costs HQ.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from fastapi import FastAPI
from sqlalchemy import insert

from content.sample import write_sample_bundle
from hq import fleet
from hq.console.app import CSRF_COOKIE, console_app
from hq.console.staff import PasswordHasher, Role, add_staff
from hq.console.views.base import ContentSide
from hq.content.assets import DirectoryAssetStore
from hq.content.releases import publish_folder
from hq.content.signing import ContentKeys
from hq.db import Database, content_failures, kiosk_content_status, kiosks
from hq.migrations import migrate
from hq.settings import sqlite_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from helpers.hq import serving

PASSWORD = "bench password 2026"  # noqa: S105 (a throwaway account)
REGIONS = ("east", "north", "south", "west", "central")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stores", type=int, default=300)
    parser.add_argument("--kiosks-per-store", type=int, default=4)
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = sqlite_url(Path(tmp) / "hq.sqlite3")
        migrate(url)
        database = Database(url)
        try:
            newest = build_chain(database, Path(tmp), args.stores, args.kiosks_per_store)
            app = FastAPI()
            app.mount(
                "/console",
                console_app(
                    database,
                    secret=b"b" * 32,
                    clock=lambda: datetime.now(UTC),
                    content=ContentSide(
                        DirectoryAssetStore(Path(tmp) / "assets"), ContentKeys(Path(tmp) / "keys")
                    ),
                    secure_cookies=False,  # requests sends no Secure cookie over plain HTTP
                ),
            )
            with serving(app) as base:
                measure(base, newest, args.runs, args.stores * args.kiosks_per_store)
        finally:
            database.dispose()


def build_chain(database: Database, tmp: Path, stores: int, per_store: int) -> int:
    now = datetime.now(UTC)
    assets = DirectoryAssetStore(tmp / "assets")
    keys = ContentKeys(tmp / "keys")
    store_ids = [f"s{n:04d}" for n in range(stores)]
    for n, store_id in enumerate(store_ids):
        fleet.add_store(
            database, store_id, f"Store {n}", now=now, region=REGIONS[n % len(REGIONS)], by="bench"
        )
    kiosk_ids = [f"{store}-k{k}" for store in store_ids for k in range(1, per_store + 1)]
    with database.write() as connection:
        connection.execute(
            insert(kiosks),
            [
                {
                    "kiosk_id": kiosk_id,
                    "store_id": kiosk_id.rsplit("-k", 1)[0],
                    "token_sha256": uuid.uuid4().hex * 2,
                    "enrolled_at": now,
                    "contiguous_seq": 0,
                    "highest_seq": 0,
                }
                for kiosk_id in kiosk_ids
            ],
        )
    add_staff(
        database,
        PasswordHasher(),
        email="admin@bench.example",
        name="Admin",
        role=Role.CHAIN_ADMIN,
        stores_managed=(),
        password=PASSWORD,
        now=now,
        by="bench",
    )
    targets = ["all", "region:east", "store:s0001", "region:north", "all", "store:s0002",
               "region:south", "all", "region:west", "all"]  # fmt: skip
    newest = 0
    for n, target in enumerate(targets):
        bundle = tmp / f"bundle-{n}"
        write_sample_bundle(bundle, products=16, seed=n + 1, release=f"bench-{n}")
        newest = publish_folder(
            database, assets, keys, bundle, target=target, by="bench",
            now=now - timedelta(hours=len(targets) - n),
        ).release.release_id  # fmt: skip
    with database.write() as connection:
        rows = []
        for n, kiosk_id in enumerate(kiosk_ids):
            downloading = n % 7 == 3
            rows.append(
                {
                    "kiosk_id": kiosk_id,
                    "store_id": kiosk_id.rsplit("-k", 1)[0],
                    "active": newest - 3 if downloading or n % 11 == 5 else newest,
                    "ready": [],
                    "downloading": newest if downloading else None,
                    "bytes_done": 1000 * n if downloading else None,
                    "bytes_total": 2_500_000 if downloading else None,
                    "reported_at": now - timedelta(seconds=n % 60),
                }
            )
        connection.execute(insert(kiosk_content_status), rows)
        connection.execute(
            insert(content_failures),
            [
                {
                    "failure_id": str(uuid.uuid4()),
                    "kiosk_id": kiosk_id,
                    "store_id": kiosk_id.rsplit("-k", 1)[0],
                    "release_id": newest,
                    "reason": "asset_hash",
                    "detail": "pictures/x.jpg: the bytes do not match",
                    "occurred_at": now,
                    "received_at": now,
                }
                for kiosk_id in kiosk_ids[5::11]
            ],
        )
    return newest


def measure(base: str, newest: int, runs: int, kiosk_count: int) -> None:
    session = requests.Session()
    session.get(f"{base}/console/sign-in", timeout=30)
    signed = session.post(
        f"{base}/console/sign-in",
        data={
            "csrftoken": session.cookies[CSRF_COOKIE],
            "email": "admin@bench.example",
            "password": PASSWORD,
        },
        allow_redirects=False,
        timeout=30,
    )
    assert signed.status_code == 303, signed.text
    print(f"{kiosk_count} kiosks; {runs} requests per page, one at a time (ms)")
    print(f"{'page':44} {'median':>8} {'p95':>8} {'max':>8}")
    for path in (
        "/console/releases",
        f"/console/releases/{newest}",
        f"/console/releases/{newest}/rollout",
        "/console/rollout",
        f"/console/releases/{newest}/preview",
        "/console/audit",
    ):
        for address in (path, f"{path}.json"):
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                answer = session.get(f"{base}{address}", timeout=60)
                times.append((time.perf_counter() - started) * 1000)
                assert answer.status_code == 200, (address, answer.status_code)
            times.sort()
            p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
            print(f"{address:44} {statistics.median(times):8.1f} {p95:8.1f} {times[-1]:8.1f}")


if __name__ == "__main__":
    main()
