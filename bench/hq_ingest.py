"""HQ ingest on PostgreSQL, beside what PostgreSQL itself takes in the same run.

    .venv/bin/python bench/hq_ingest.py [--database-url URL] [--seconds 10] [--kiosks 10]
        [--processes 2] [--only insert,copy,store,http,target] [--members 0]

On a fresh PostgreSQL database, 10 kiosks post 500-event batches of `lift` events
back to back (closed loop), from two load processes (a thread per kiosk inside).
The events table is emptied before each phase, so each starts alike. The lifts are
anonymous, or with `--members N` each batch one of N members' (so HQ also writes
their timeline and refreshes the member feed; raw INSERT and COPY do not):

1. raw INSERT: psycopg, one multi-row `INSERT INTO events (...) VALUES (...), ...`
   per batch and transaction, rows made beforehand: the baseline.
2. raw COPY: psycopg, one `COPY events (...) FROM STDIN` per batch and transaction.
3. HQ, store() path: all HQ does for `POST /v1/events` but HTTP and the token
   check: the body (JSON bytes, made beforehand) validated as an `EventBatch`,
   `ingest.decide()`, `ingest.store()`; each load process is an HQ worker.
4. HQ over HTTP, end to end: `kiosk-hq serve` (one process) answering the kiosks'
   requests; the load processes make each body as they go, as kiosks do.

Each line gives events/s, the ratio to raw INSERT and to COPY, the batch's latency
(median, p99), and the CPU time each event cost: in the load processes (HQ's own in
the store() path), in HQ's server process, in PostgreSQL's backends (read from
/proc, so only for a server on this machine). Target: HQ's store() path at >= 40,000
events/s with 10 kiosks, in COPY's class. Then, as before, the open loop: 50 kiosks
over HTTP together offering 5,000 events/s (each a 500-event batch every 5 s,
staggered): sustained, p99 request latency < 250 ms. Everything shares the
machine's two cores: events/s follow whatever else runs, CPU per event much less.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing as mp
import os
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import psycopg
import requests
from psycopg.types.json import Jsonb
from sqlalchemy import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from harness import CACHE, percentile  # noqa: E402
from helpers.hq import fresh_postgres_database  # noqa: E402
from helpers.hq_process import HqProcess  # noqa: E402

from hq import ingest  # noqa: E402
from hq.db import Database  # noqa: E402
from hq.enrollment import KioskIdentity, issue_code, redeem_code  # noqa: E402
from hq.fleet import add_store  # noqa: E402
from hq.migrations import migrate  # noqa: E402
from hq.wire import EventBatch  # noqa: E402

BATCH = 500
LOAD_PROCESSES = 2  # default; --processes
TARGET_RATE = 5000  # events/s offered in the open-loop phase
TARGET_KIOSKS = 50
PHASE_SEQS = 10_000_000  # seq range per phase, more than any kiosk posts in one
MADE_FOR_RATE = 80_000  # events/s the batches made beforehand last a phase at
COLUMNS = (
    "event_id, kiosk_id, store_id, seq, kind, schema_version, occurred_at, received_at, payload"
)


@dataclass(frozen=True, slots=True)
class KioskLogin:
    store_id: str
    kiosk_id: str
    token: str


MEMBERS: list[str] = []  # --members: the members whose lifts these are (else anonymous)


def lift_events(login: KioskLogin, first_seq: int, now: str) -> list[dict[str, Any]]:
    member = {"member_id": MEMBERS[first_seq % len(MEMBERS)]} if MEMBERS else {}
    return [
        {
            "event_id": str(uuid.uuid4()),
            "store_id": login.store_id,
            "kiosk_id": login.kiosk_id,
            "seq": seq,
            "kind": "lift",
            "schema_version": 1,
            "occurred_at": now,
            "payload": {
                "session": "bench-1",
                "slot": 1 + seq % 16,
                "sku": f"SKU-{seq % 16:04d}",
                **member,
            },
        }
        for seq in range(first_seq, first_seq + BATCH)
    ]


def batch_body(login: KioskLogin, first_seq: int, now: str) -> bytes:
    """`lift_events` as json.dumps writes them (compact), made from pieces written once
    per batch: the load processes share the machine's two cores with HQ and PostgreSQL,
    and json.dumps plus a uuid4() per event cost a kiosk 7 us of them an event."""
    compact = {"separators": (",", ":")}
    member = {"member_id": MEMBERS[first_seq % len(MEMBERS)]} if MEMBERS else {}
    sender = json.dumps({"store_id": login.store_id, "kiosk_id": login.kiosk_id}, **compact)
    kind = json.dumps({"kind": "lift", "schema_version": 1, "occurred_at": now}, **compact)
    payloads = [
        json.dumps(
            {"session": "bench-1", "slot": 1 + slot, "sku": f"SKU-{slot:04d}", **member}, **compact
        )
        for slot in range(16)
    ]
    events = ",".join(
        f'{{"event_id":"{event_id}",{sender[1:-1]},"seq":{seq},{kind[1:-1]},'
        f'"payload":{payloads[seq % 16]}}}'
        for event_id, seq in zip(
            uuid4_texts(BATCH), range(first_seq, first_seq + BATCH), strict=True
        )
    )
    return f'{{"events":[{events}]}}'.encode()


_VARIANT: Final = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def uuid4_texts(count: int) -> list[str]:
    """`count` random (version 4) UUIDs as str(uuid.uuid4()) writes them, from one
    os.urandom() call: a fifth of uuid4()'s time."""
    digits = os.urandom(16 * count).hex()
    return [
        f"{d[:8]}-{d[8:12]}-4{d[13:16]}-{_VARIANT[d[16]]}{d[17:20]}-{d[20:]}"
        for d in (digits[start : start + 32] for start in range(0, 32 * count, 32))
    ]


def batch_rows(login: KioskLogin, first_seq: int, now: str) -> list[tuple[Any, ...]]:
    """The rows HQ would store for the batch, as a raw writer hands them to psycopg."""
    moment = datetime.fromisoformat(now)
    return [
        (
            event["event_id"],
            login.kiosk_id,
            login.store_id,
            event["seq"],
            "lift",
            1,
            moment,
            moment,
            Jsonb(event["payload"]),
        )
        for event in lift_events(login, first_seq, now)
    ]


@dataclass(frozen=True, slots=True)
class Phase:
    """One measured run: how kiosks post, when it starts and stops."""

    method: str  # "insert", "copy", "store", "http"
    target: str  # database URL or HQ's base URL
    seconds: float
    interval: float | None  # None: back to back (closed loop)
    stagger: float  # kiosk i starts i * stagger after start_at
    first_seq: int
    batches: int  # made beforehand per kiosk (not for "http")


Sample = tuple[float, float, int]  # sent at, latency, events stored


def raw_insert(connection: psycopg.Connection[Any]) -> Callable[[Any], int]:
    values = ",".join(["(%s,%s,%s,%s,%s,%s,%s,%s,%s)"] * BATCH)
    statement = f"INSERT INTO events ({COLUMNS}) VALUES {values}"  # noqa: S608 (constants)

    def post(rows: list[tuple[Any, ...]]) -> int:
        with connection.transaction():
            connection.execute(statement, [value for row in rows for value in row])
        return len(rows)

    return post


def raw_copy(connection: psycopg.Connection[Any]) -> Callable[[Any], int]:
    def post(rows: list[tuple[Any, ...]]) -> int:
        with (
            connection.transaction(),
            connection.cursor() as cursor,
            cursor.copy(f"COPY events ({COLUMNS}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return len(rows)

    return post


def hq_store(database: Database, login: KioskLogin) -> Callable[[Any], int]:
    kiosk = KioskIdentity(login.kiosk_id, login.store_id)

    def post(body: bytes) -> int:
        plan = ingest.decide(kiosk, EventBatch.model_validate_json(body))
        assert isinstance(plan, ingest.Plan)
        outcome = ingest.store(database, kiosk, plan, received_at=datetime.now(UTC))
        return sum(result.status == "accepted" for result in outcome.results)

    return post


def hq_http(base_url: str, login: KioskLogin) -> Callable[[Any], int]:
    session = requests.Session()
    session.headers.update(
        {"Authorization": f"Bearer {login.token}", "Content-Type": "application/json"}
    )

    def post(body: bytes) -> int:
        answer = session.post(f"{base_url}/v1/events", data=body, timeout=30)
        answer.raise_for_status()
        return sum(r["status"] == "accepted" for r in answer.json()["results"])

    return post


@dataclass(frozen=True, slots=True)
class Poster:
    """One kiosk of a load process: how it posts, and what (None: made as it goes)."""

    login: KioskLogin
    offset: float  # after the phase's start
    post: Callable[[Any], int]  # a batch -> events stored
    made: list[Any] | None


def kiosk_loop(phase: Phase, start_at: float, poster: Poster, results: list[Sample]) -> None:
    """Post batches until the phase ends (or the batches made beforehand run out)."""
    login, offset, post, made = poster.login, poster.offset, poster.post, poster.made
    seq = phase.first_seq
    now = datetime.now(UTC).isoformat()
    next_at = start_at + offset
    stop_at = start_at + phase.seconds
    for number in range(len(made) if made is not None else sys.maxsize):
        batch = made[number] if made is not None else batch_body(login, seq, now)
        seq += BATCH
        wait = max(0.0, next_at - time.monotonic())
        time.sleep(wait)
        if phase.interval is not None:
            next_at += phase.interval
        sent = time.monotonic()
        if sent >= stop_at:
            return
        stored = post(batch)
        results.append((sent, time.monotonic() - sent, stored))


def load_process(
    phase: Phase, logins: list[tuple[int, KioskLogin]], start: Any, done: Any, out: Any
) -> None:
    """One load process: a thread per kiosk, each with its own connection; the
    batches made, it says so and waits for the phase's start (time.monotonic())."""
    results: list[Sample] = []
    database = Database(phase.target) if phase.method == "store" else None
    connections: list[psycopg.Connection[Any]] = []
    posters: list[Poster] = []
    now = datetime.now(UTC).isoformat()
    for i, login in logins:
        made: list[Any] | None = None
        first = phase.first_seq
        seqs = range(first, first + phase.batches * BATCH, BATCH)
        if phase.method in {"insert", "copy"}:
            connection = psycopg.connect(phase.target.replace("+psycopg", ""))
            connections.append(connection)
            post = (raw_insert if phase.method == "insert" else raw_copy)(connection)
            made = [batch_rows(login, seq, now) for seq in seqs]
        elif phase.method == "store":
            assert database is not None
            post = hq_store(database, login)
            made = [batch_body(login, seq, now) for seq in seqs]
        else:
            post = hq_http(phase.target, login)
        posters.append(Poster(login, i * phase.stagger, post, made))
    # As HQ's processes do once started (`kiosk-hq serve`, gunicorn's post_worker_init):
    # what set-up made stays out of the garbage collector's full passes. Without it the
    # store() path paid a full pass over every module and batch made (~100 ms, every
    # 30-odd batches) that HQ's workers do not.
    gc.freeze()
    out.put("ready")
    with start.get_lock():
        pass
    start_at = start.value
    threads = [
        threading.Thread(target=kiosk_loop, args=(phase, start_at, poster, results))
        for poster in posters
    ]
    cpu_before = time.process_time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out.put((results, time.process_time() - cpu_before))
    done.wait()  # the parent reads PostgreSQL's CPU time before the connections close
    for connection in connections:
        connection.close()
    if database is not None:
        database.dispose()


def run_phase(
    method: str,
    target: str,
    logins: list[KioskLogin],
    seconds: float,
    first_seq: int,
    *,
    database: str,
    server: int | None = None,
    interval: float | None = None,
    processes: int = LOAD_PROCESSES,
) -> dict[str, float]:
    """Run one phase; `database` names the database whose PostgreSQL backends' CPU
    time is counted, `server` is HQ's process (None: not in the path)."""
    batches = 0 if method == "http" else int(MADE_FOR_RATE * seconds / BATCH / len(logins)) + 1
    # Open-loop kiosks start evenly spread over one interval.
    stagger = (interval or 0.0) / len(logins)
    phase = Phase(method, target, seconds, interval, stagger, first_seq, batches)
    context = mp.get_context("fork")
    out: Any = context.Queue()
    start: Any = context.Value("d", 0.0)
    done: Any = context.Event()
    numbered = list(enumerate(logins))
    with start.get_lock():  # held until every load process is ready
        loaders = [
            context.Process(
                target=load_process, args=(phase, numbered[part::processes], start, done, out)
            )
            for part in range(min(processes, len(logins)))
        ]
        for loader in loaders:
            loader.start()
        for _ in loaders:
            assert out.get() == "ready"
        postgres_before = cpu_seconds(backends(database))
        server_before = cpu_seconds([server]) if server else {}
        start_at = start.value = time.monotonic() + 0.2
    results: list[Sample] = []
    load_cpu = 0.0
    for _ in loaders:
        samples, cpu = out.get()
        results.extend(samples)
        load_cpu += cpu
    postgres_cpu = spent(postgres_before, cpu_seconds(backends(database)))
    server_cpu = spent(server_before, cpu_seconds([server])) if server else None
    done.set()
    for loader in loaders:
        loader.join()
    if not results:
        raise SystemExit(f"{method}: no batch was posted (machine too busy to start in time?)")
    latencies = [latency * 1000 for _, latency, _ in results]
    finished = max(sent + latency for sent, latency, _ in results)
    events = sum(stored for *_, stored in results)
    ran_out = batches and len(results) >= batches * len(logins)
    return {
        "kiosks": len(logins),
        "requests": len(results),
        "events": events,
        "events_per_s": events / (finished - start_at),
        "median_ms": statistics.median(latencies),
        "p99_ms": percentile(latencies, 99),
        "max_ms": max(latencies),
        "ran_out": bool(ran_out),
        # CPU time per event stored: the load processes' (HQ's own in the store()
        # path), HQ's server process's, PostgreSQL's backends'.
        "load_us": load_cpu / max(events, 1) * 1e6,
        "server_us": -1.0 if server_cpu is None else server_cpu / max(events, 1) * 1e6,
        "postgres_us": postgres_cpu / max(events, 1) * 1e6,
    }


def backends(database: str) -> list[int]:
    """The processes of PostgreSQL serving `database`, if on this machine."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if title.startswith(b"postgres: ") and f" {database} ".encode() in title:
                found.append(int(entry.name))
    return found


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User and system CPU time of each process still there."""
    ticks = os.sysconf("SC_CLK_TCK")
    times = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        times[pid] = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return times


def spent(before: dict[int, float], after: dict[int, float]) -> float:
    # A backend that started in the phase started at zero.
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def enrol(database: Database, count: int) -> list[KioskLogin]:
    now = datetime.now(UTC)
    logins = []
    for i in range(count):
        store = f"bench-{i // 10:02d}"  # ten kiosks a store
        add_store(database, store, None, now=now, exist_ok=True)
        enrolment = redeem_code(database, issue_code(database, store, now=now), None, now=now)
        logins.append(KioskLogin(enrolment.store_id, enrolment.kiosk_id, enrolment.token))
    return logins


def emptied(database_url: str) -> None:
    """Empty the events, rejections and timeline tables: every phase starts alike."""
    with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as connection:
        connection.execute("TRUNCATE events, rejections, interactions")
        connection.execute("VACUUM ANALYZE events")


def cpu_parts(method: str, found: dict[str, float]) -> str:
    load = "HQ's workers" if method == "store" else "kiosks" if method == "http" else "client"
    parts = [f"{load} {found['load_us']:.1f} us"]
    if found["server_us"] >= 0:
        parts.insert(0, f"HQ {found['server_us']:.1f} us")
    return ", ".join([*parts, f"PostgreSQL {found['postgres_us']:.1f} us"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="PostgreSQL server to make a fresh database on")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each phase")
    parser.add_argument("--kiosks", type=int, default=10, help="kiosks posting at once")
    parser.add_argument(
        "--processes", type=int, default=LOAD_PROCESSES, help="load processes (HQ's workers)"
    )
    parser.add_argument(
        "--only", default="insert,copy,store,http,target", help="phases to run, in order"
    )
    parser.add_argument(
        "--members",
        type=int,
        default=0,
        help="make each batch's lifts one of this many members' (CRM projections run)",
    )
    args = parser.parse_args()
    MEMBERS.extend(str(uuid.uuid4()) for _ in range(args.members))

    only = args.only.split(",")
    with fresh_postgres_database(args.database_url) as database_url:
        migrate(database_url)
        database = Database(database_url)
        try:
            logins = enrol(database, max(args.kiosks, TARGET_KIOSKS))
        finally:
            database.dispose()  # before the load processes fork
        hq = HqProcess(CACHE / f"hq-ingest-{uuid.uuid4().hex[:8]}", database_url)
        hq.start()
        assert hq.process is not None
        server = hq.process.pid
        database_name = str(make_url(database_url).database)
        whose = f", each batch one of {args.members} members' lifts" if MEMBERS else ""
        try:
            print(
                f"{args.kiosks} kiosks, {BATCH}-event batches back to back, "
                f"{args.seconds:.0f} s a phase, the events table emptied before each"
                f"{whose}:"
            )
            figures: dict[str, dict[str, float]] = {}
            names = {
                "insert": "raw INSERT (psycopg, multi-row)",
                "copy": "raw COPY (psycopg)",
                "store": f"HQ store() path ({args.processes} workers)",
                "http": "HQ over HTTP (kiosk-hq serve)",
            }
            for number, method in enumerate(only):
                if method not in names:
                    continue
                emptied(database_url)
                target = hq.base_url if method == "http" else database_url
                # Each phase starts at a fresh seq range: every event is new to HQ.
                first_seq = number * PHASE_SEQS + 1
                found = run_phase(
                    method,
                    target,
                    logins[: args.kiosks],
                    args.seconds,
                    first_seq,
                    database=database_name,
                    server=server if method == "http" else None,
                    processes=args.processes,
                )
                figures[method] = found
                ratios = "  ".join(
                    f"{found['events_per_s'] / figures[base]['events_per_s']:.2f}x {base}"
                    for base in ("insert", "copy")
                    if base in figures and base != method
                )
                print(
                    f"  {names[method]:34s} {found['events_per_s']:7.0f} events/s  "
                    f"batch median {found['median_ms']:4.0f} ms, p99 {found['p99_ms']:4.0f} ms"
                    f"{'  ' + ratios if ratios else ''}"
                    f"{'  (ran out of batches made)' if found['ran_out'] else ''}\n"
                    f"  {'':34s} CPU per event: {cpu_parts(method, found)}",
                    flush=True,
                )
            if "target" in only:
                emptied(database_url)
                interval = TARGET_KIOSKS * BATCH / TARGET_RATE
                first_seq = len(only) * PHASE_SEQS + 1
                seconds = max(args.seconds, 20.0)
                found = run_phase(
                    "http",
                    hq.base_url,
                    logins[:TARGET_KIOSKS],
                    seconds,
                    first_seq,
                    database=database_name,
                    interval=interval,
                )
                print(
                    f"target (open loop over HTTP, {TARGET_KIOSKS} kiosks offering "
                    f"{TARGET_RATE:,} events/s): {found['events_per_s']:.0f} events/s sustained "
                    f"over {found['requests']} requests; latency median "
                    f"{found['median_ms']:.0f} ms, p99 {found['p99_ms']:.0f} ms, "
                    f"max {found['max_ms']:.0f} ms"
                )
        finally:
            hq.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
