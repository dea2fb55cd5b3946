"""Content polling: 1,000 enrolled kiosks asking one HQ for their manifest every 60 s.

    .venv/bin/python bench/content_poll.py [--minutes 3] [--kiosks 1000] [--postgres]

Starts a real `kiosk-hq serve` (uvicorn, one process) on SQLite in a fresh data
directory (`--postgres`: a fresh PostgreSQL database on KIOSK_TEST_POSTGRES_URL's
server), adds 20 stores in two regions and the kiosks (rows with their own tokens,
as enrolment leaves them), publishes the sample bundle to every store with
`kiosk-hq content publish`, lets every kiosk fetch its manifest once (kiosks that
run hold theirs), then measures; half way through, a second release goes to one
store (its 50 kiosks get a 200 each). Each kiosk (its own
requests.Session and connection, as a kiosk's relay child has) polls
`GET /v1/content/manifest` every 60 s jittered by +-20 %, first at a random
moment of the first minute, with `If-None-Match` once it holds an ETag; after a
200 it posts its status as a kiosk does. Mostly 304s, then.

Prints the manifest requests' latency (median, p95, p99, max; measured at the
client, and HQ's own from its access log) and the share of 304s. Target: p99
under 50 ms. The load runs on the same machine as HQ (and PostgreSQL).
"""

from __future__ import annotations

import argparse
import heapq
import random
import re
import secrets
import statistics
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from harness import CACHE, percentile, sample_bundle  # noqa: E402
from helpers.hq import fresh_postgres_database  # noqa: E402
from helpers.hq_process import HqProcess  # noqa: E402

STORES = 20
POLL_S = 60.0
JITTER = 0.2
WORKERS = 32  # requests in flight at most; a poll takes milliseconds
_ACCESS = re.compile(r"GET /v1/content/manifest (\d{3}) ([0-9.]+) ms")


@dataclass
class Kiosk:
    kiosk_id: str
    token: str
    session: requests.Session = field(default_factory=requests.Session)
    etag: str | None = None


@dataclass
class Results:
    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies_ms: list[float] = field(default_factory=list)
    by_status: dict[int, list[float]] = field(default_factory=dict)
    status_posts_ms: list[float] = field(default_factory=list)
    errors: int = 0

    def add(self, status: int, elapsed_ms: float) -> None:
        with self.lock:
            self.latencies_ms.append(elapsed_ms)
            self.by_status.setdefault(status, []).append(elapsed_ms)


def enrol(hq: HqProcess, count: int) -> list[Kiosk]:
    """Stores in two regions, then `count` kiosks as enrolment leaves them: a row each
    with the hash of its own token. (Made in one transaction: enrolling 1,000 over
    HTTP takes minutes on a busy 2-core machine, and is not what is measured.)"""
    from hq.db import Database, kiosks  # noqa: PLC0415
    from hq.enrollment import sha256_hex  # noqa: PLC0415
    from hq.fleet import add_store  # noqa: PLC0415

    database = Database(hq.database_url or f"sqlite:///{hq.data_dir / 'hq.sqlite3'}")
    now = datetime.now(UTC)
    for number in range(STORES):
        region = "east" if number % 2 == 0 else "west"
        add_store(database, f"bench-{number:02d}", None, now=now, region=region)
    made = []
    rows = []
    for index in range(count):
        store = f"bench-{index % STORES:02d}"
        kiosk_id = f"{store}-k{index // STORES + 1}"
        token = secrets.token_urlsafe(32)
        made.append(Kiosk(kiosk_id, token))
        rows.append(
            {
                "kiosk_id": kiosk_id,
                "store_id": store,
                "token_sha256": sha256_hex(token),
                "enrolled_at": now,
                "contiguous_seq": 0,
                "highest_seq": 0,
                "kiosk_no": 100_000 + index,
                "role": "kiosk",
            }
        )
    try:
        with database.write() as connection:
            connection.execute(kiosks.insert(), rows)
    finally:
        database.dispose()
    for kiosk in made:
        kiosk.session.headers["Authorization"] = f"Bearer {kiosk.token}"
    return made


def poll(hq: HqProcess, kiosk: Kiosk, results: Results) -> None:
    headers = {} if kiosk.etag is None else {"If-None-Match": kiosk.etag}
    started = time.perf_counter()
    try:
        answer = kiosk.session.get(
            f"{hq.base_url}/v1/content/manifest", headers=headers, timeout=30
        )
    except requests.RequestException:
        with results.lock:
            results.errors += 1
        return
    elapsed = (time.perf_counter() - started) * 1000
    results.add(answer.status_code, elapsed)
    if answer.status_code == 200:
        kiosk.etag = answer.headers["ETag"]
        started = time.perf_counter()
        kiosk.session.post(
            f"{hq.base_url}/v1/content/status",
            json={"active": None, "ready": [], "downloading": None, "failures": []},
            timeout=30,
        )
        with results.lock:
            results.status_posts_ms.append((time.perf_counter() - started) * 1000)


def warm_up(hq: HqProcess, kiosks: list[Kiosk]) -> Results:
    """Every kiosk fetches its manifest once, as kiosks that run already hold it."""
    results = Results()
    with ThreadPoolExecutor(8) as pool:
        for kiosk in kiosks:
            pool.submit(poll, hq, kiosk, results)
    return results


def run(hq: HqProcess, kiosks: list[Kiosk], seconds: float, bundle: Path) -> Results:
    results = Results()
    rng = random.Random(16)
    start = time.monotonic()
    due = [(start + rng.uniform(0, POLL_S), index) for index in range(len(kiosks))]
    heapq.heapify(due)
    republished = False
    with ThreadPoolExecutor(WORKERS) as pool:
        while due:
            at, index = heapq.heappop(due)
            if at - start > seconds:
                break
            if not republished and at - start > seconds / 2:
                # A new release for one store: its kiosks get one 200 each, then 304s.
                pool.submit(
                    hq.cli,
                    "content",
                    "publish",
                    str(bundle),
                    "--to",
                    "store:bench-00",
                    "--name",
                    "bench second",
                )
                republished = True
            pause = at - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            pool.submit(poll, hq, kiosks[index], results)
            heapq.heappush(due, (at + POLL_S * rng.uniform(1 - JITTER, 1 + JITTER), index))
    return results


def server_latencies(log: Path, offset: int) -> list[float]:
    with log.open("rb") as file:
        file.seek(offset)
        text = file.read().decode(errors="replace")
    return [float(match.group(2)) for match in _ACCESS.finditer(text)]


def line(name: str, values: list[float]) -> str:
    if not values:
        return f"{name}: none"
    return (
        f"{name}: n={len(values)} median {statistics.median(values):.1f} ms, "
        f"p95 {percentile(values, 95):.1f} ms, p99 {percentile(values, 99):.1f} ms, "
        f"max {max(values):.1f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0, help="how long the kiosks poll")
    parser.add_argument("--kiosks", type=int, default=1000)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--database-url", help="with --postgres: the server to use")
    args = parser.parse_args()

    bundle = sample_bundle(16)
    data_dir = CACHE / f"hq-content-poll-{uuid.uuid4().hex[:8]}"
    databases: AbstractContextManager[str | None] = (
        fresh_postgres_database(args.database_url) if args.postgres else nullcontext(None)
    )
    with databases as database_url:
        hq = HqProcess(data_dir, database_url)
        hq.cli("migrate")
        hq.start()
        try:
            started = time.monotonic()
            kiosks = enrol(hq, args.kiosks)
            print(f"{len(kiosks)} kiosks enrolled in {time.monotonic() - started:.0f} s")
            print(
                hq.cli("content", "publish", str(bundle), "--to", "all", "--name", "bench").strip()
            )
            first = warm_up(hq, kiosks)
            print(
                line("first fetch of each kiosk's manifest (rendered, signed)", first.latencies_ms)
            )
            log_start = (data_dir / "hq.log").stat().st_size
            results = run(hq, kiosks, args.minutes * 60, bundle)
        finally:
            hq.stop()
    latencies = results.latencies_ms
    not_modified = len(results.by_status.get(304, []))
    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(
        f"{args.kiosks} kiosks polling every {POLL_S:.0f} s (+-{JITTER:.0%}) for "
        f"{args.minutes:g} min, one `kiosk-hq serve` on {backend}:"
    )
    print(line("  manifest GET, at the client", latencies))
    for status, values in sorted(results.by_status.items()):
        print(line(f"    {status}", values))
    server = server_latencies(data_dir / "hq.log", log_start)
    print(line("  manifest GET, HQ's own time (access log)", server))
    print(line("  status POST after a 200", results.status_posts_ms))
    share = not_modified / len(latencies) if latencies else 0.0
    print(
        f"  304 Not Modified: {not_modified} of {len(latencies)} ({share:.1%}); "
        f"errors: {results.errors}"
    )
    p99 = percentile(latencies, 99) if latencies else float("inf")
    print(f"  target p99 < 50 ms: {'met' if p99 < 50 else 'NOT met'} ({p99:.1f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
