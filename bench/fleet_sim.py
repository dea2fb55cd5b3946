"""A fleet against HQ: 5,000 simulated kiosks (1,000 stores x 5) on PostgreSQL.

    .venv/bin/python bench/fleet_sim.py [--stores 1000] [--per-store 5] [--seconds 90]
        [--ramp 1,2,3,4,6] [--workers 2] [--database-url URL]

Starts HQ (`kiosk-hq serve`, or several workers with `--workers`) on a fresh PostgreSQL
database, enrols the fleet, and runs it open loop: each kiosk does what the relay child
does, on its own clock, from a random phase:

- a heartbeat every 60 s (`POST /v1/heartbeat`), whose answer says the manifest's
  ETag and the member feed's version at HQ now;
- a content poll (`GET /v1/content/manifest`, with its ETag) and a member feed poll
  (`GET /v1/members/feed?since=`) when the heartbeat's answer says either moved, and
  otherwise every 15 minutes as a backstop (backend_client/hints.py);
- its shoppers' events as they happen (Poisson, `--events-per-hour` a kiosk: lifts,
  put-backs with their dwell, comparisons), posted as the relay does: at once when no
  post is in flight, else together with the next one.

Latency is measured from when a request was due, not when it was sent, so a generator
or HQ that falls behind shows as latency instead of hiding it. Each phase multiplies
the fleet's rates by a ramp factor (x2 is the load of 10,000 kiosks): the first factor
where a p99 passes 100 ms, a request fails or fewer requests are answered than offered
is the saturation point. CPU time is read per process group (the load generator, HQ,
PostgreSQL), so the figures give HQ's cost per request for the arithmetic of a larger
fleet.

Target (issue 18): 5,000 kiosks, heartbeat p99 under 100 ms, no error.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import json
import multiprocessing as mp
import random
import statistics
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from fleet_health import BEAT  # noqa: E402
from harness import CACHE, percentile  # noqa: E402
from helpers.hq import fresh_postgres_database  # noqa: E402
from helpers.hq_deploy import GunicornHq  # noqa: E402
from helpers.hq_process import HqProcess, free_port  # noqa: E402

from backend_client.hints import BACKSTOP_S  # noqa: E402

LOAD_PROCESSES = 2
HEARTBEAT_S = 60.0
CONTENT_POLL_S = BACKSTOP_S  # while heartbeats are answered, as the relay does
FEED_POLL_S = BACKSTOP_S
P99_LIMIT_MS = 100.0
HEALTHY_BEAT = BEAT.model_dump(mode="json", exclude_none=True)
PHASE_SEQS = 10_000_000  # seqs a kiosk may use in one phase, more than it ever does


@dataclass(frozen=True, slots=True)
class KioskLogin:
    store_id: str
    kiosk_id: str
    token: str


def enrol_fleet(database_url: str, stores: int, per_store: int) -> list[KioskLogin]:
    """Stores and kiosks straight into HQ's database: 5,000 enrolments through the API
    would take longer than the run, and enrolment is not what is measured here."""
    from hq import enrollment, fleet  # noqa: PLC0415 (HQ's code only for the set-up)
    from hq.db import Database  # noqa: PLC0415

    database = Database(database_url)
    now = datetime.now(UTC)
    store_ids = [f"sim-{number:04d}" for number in range(stores)]
    for store_id in store_ids:
        fleet.add_store(database, store_id, None, now=now, exist_ok=True, kiosk_seats=per_store)

    def one(store_id: str) -> KioskLogin:
        code = enrollment.issue_code(database, store_id, now=now)
        enrolment = enrollment.redeem_code(database, code, None, now=now)
        return KioskLogin(enrolment.store_id, enrolment.kiosk_id, enrolment.token)

    with ThreadPoolExecutor(4) as pool:
        logins = list(pool.map(one, [s for s in store_ids for _ in range(per_store)]))
    database.engine.dispose()
    return logins


def heartbeat_body(uptime_s: float) -> dict[str, Any]:
    """What a healthy kiosk's relay child sends: bench/fleet_health.py's heartbeat."""
    return {**HEALTHY_BEAT, "uptime_s": int(uptime_s)}


def event(login: KioskLogin, seq: int, now: str, rng: random.Random) -> dict[str, Any]:
    """One shopper event of a busy demo cabinet's usual mix."""
    slot = rng.randrange(1, 17)
    sku = f"SKU-{slot:04d}"
    draw = rng.random()
    if draw < 0.55:
        kind, payload = "lift", {"session": "s-1", "slot": slot, "sku": sku}
    elif draw < 0.95:
        dwell = rng.randrange(1_000, 60_000)
        kind, payload = "drop", {"session": "s-1", "slot": slot, "sku": sku, "dwell_ms": dwell}
    else:
        kind, payload = "comparison", {"session": "s-1", "skus": [sku, "SKU-0001"]}
    return {
        "event_id": str(uuid.uuid4()),
        "store_id": login.store_id,
        "kiosk_id": login.kiosk_id,
        "seq": seq,
        "kind": kind,
        "schema_version": 1,
        "occurred_at": now,
        "payload": payload,
    }


@dataclass(frozen=True, slots=True)
class Phase:
    base_url: str
    start_at: float  # time.monotonic(), shared by the load processes (fork)
    seconds: float
    factor: float  # the fleet's rates times this
    events_per_hour: float
    seed: int
    first_seq: int  # each phase's events take seqs no earlier phase used: all new to HQ


@dataclass(slots=True)
class KioskState:
    login: KioskLogin
    seq: int = 0
    etag: str | None = None
    feed_since: int = 0
    pending: int = 0  # events waiting for the post in flight to end
    posting: bool = False


@dataclass(slots=True)
class Tally:
    """What one load process saw: (endpoint -> latencies from due, in ms), errors, events."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    error_samples: list[str] = field(default_factory=list)
    lag_ms: list[float] = field(default_factory=list)  # due -> sent: the generator's own delay
    events_accepted: int = 0
    offered: int = 0


class LoadRun:
    """One load process's kiosks: a schedule of what is due, and the requests it makes."""

    def __init__(self, phase: Phase, logins: list[KioskLogin], session: Any) -> None:
        self.phase = phase
        self.session = session
        self.states = [KioskState(login, seq=phase.first_seq) for login in logins]
        self.rng = random.Random(phase.seed)
        self.tally = Tally()
        self.tasks: set[asyncio.Task[None]] = set()
        self.now_text = datetime.now(UTC).isoformat()
        self.event_rate = phase.events_per_hour * phase.factor / 3600.0  # a kiosk's, per second
        self.periods = {
            "heartbeat": HEARTBEAT_S / phase.factor,
            "manifest": CONTENT_POLL_S / phase.factor,
            "feed": FEED_POLL_S / phase.factor,
        }
        self.order = 0
        # (due, tiebreak, kiosk index, action); each periodic action from a random phase.
        self.due: list[tuple[float, int, int, str]] = []
        for index in range(len(self.states)):
            for action, period in self.periods.items():
                self.push(phase.start_at + self.rng.uniform(0, period), index, action)
            if self.event_rate > 0:
                self.push(phase.start_at + self.rng.expovariate(self.event_rate), index, "event")

    def push(self, due_at: float, index: int, action: str) -> None:
        heapq.heappush(self.due, (due_at, self.order, index, action))
        self.order += 1

    async def run(self) -> Tally:
        stop_at = self.phase.start_at + self.phase.seconds
        while self.due and self.due[0][0] < stop_at:
            due_at, _, index, action = heapq.heappop(self.due)
            delay = due_at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            state = self.states[index]
            if action == "event":
                state.pending += 1
                if not state.posting:  # else it goes with the next post, as the relay does
                    self.start(state, "events", due_at)
                self.push(due_at + self.rng.expovariate(self.event_rate), index, action)
            else:
                self.start(state, action, due_at)
                self.push(due_at + self.periods[action], index, action)
        if self.tasks:
            await asyncio.wait(set(self.tasks), timeout=35)
        return self.tally

    def start(self, state: KioskState, endpoint: str, due_at: float) -> None:
        self.tally.offered += 1
        if endpoint == "events":
            state.posting = True
        task = asyncio.create_task(self.request(state, endpoint, due_at))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def request(self, state: KioskState, endpoint: str, due_at: float) -> None:
        import aiohttp  # noqa: PLC0415

        self.tally.lag_ms.append((time.monotonic() - due_at) * 1000)
        headers = {"Authorization": f"Bearer {state.login.token}"}
        send = {
            "heartbeat": self.heartbeat,
            "manifest": self.manifest,
            "feed": self.feed,
            "events": self.events,
        }[endpoint]
        try:
            failure = await send(state, headers)
        except (aiohttp.ClientError, TimeoutError) as error:
            failure = type(error).__name__
        self.tally.latencies[endpoint].append((time.monotonic() - due_at) * 1000)
        if failure is not None:
            self.tally.errors[endpoint] += 1
            if len(self.tally.error_samples) < 5:
                self.tally.error_samples.append(f"{endpoint}: {failure}")
        if endpoint == "events":
            state.posting = False
            if state.pending:  # what came while this post was out goes next
                self.start(state, "events", time.monotonic())

    async def heartbeat(self, state: KioskState, headers: dict[str, str]) -> str | None:
        uptime = time.monotonic() - self.phase.start_at
        body = heartbeat_body(3600 + uptime)
        url = f"{self.phase.base_url}/v1/heartbeat"
        async with self.session.post(url, json=body, headers=headers) as answer:
            if answer.status != 200:
                return f"HTTP {answer.status}"
            hints = await answer.json()
        # As the relay does: fetch what moved at HQ now (no release is published
        # during a run, and no member changes: the steady state).
        if hints["content_etag"] != state.etag:
            self.start(state, "manifest", time.monotonic())
        if hints["feed_version"] != state.feed_since:
            self.start(state, "feed", time.monotonic())
        return None

    async def manifest(self, state: KioskState, headers: dict[str, str]) -> str | None:
        if state.etag:
            headers["If-None-Match"] = state.etag
        url = f"{self.phase.base_url}/v1/content/manifest"
        async with self.session.get(url, headers=headers) as answer:
            await answer.read()
            state.etag = answer.headers.get("ETag", state.etag)
            return None if answer.status in (200, 304, 404) else f"HTTP {answer.status}"

    async def feed(self, state: KioskState, headers: dict[str, str]) -> str | None:
        params = {"since": str(state.feed_since), "limit": "500"}
        url = f"{self.phase.base_url}/v1/members/feed"
        async with self.session.get(url, params=params, headers=headers) as answer:
            if answer.status != 200:
                return f"HTTP {answer.status}"
            state.feed_since = int((await answer.json())["version"])
            return None

    async def events(self, state: KioskState, headers: dict[str, str]) -> str | None:
        count, state.pending = state.pending, 0
        events = []
        for _ in range(count):
            state.seq += 1
            events.append(event(state.login, state.seq, self.now_text, self.rng))
        url = f"{self.phase.base_url}/v1/events"
        async with self.session.post(url, json={"events": events}, headers=headers) as answer:
            if answer.status != 200:
                return f"HTTP {answer.status}"
            results = (await answer.json())["results"]
            self.tally.events_accepted += sum(r["status"] == "accepted" for r in results)
            return None


async def run_kiosks(phase: Phase, logins: list[KioskLogin]) -> Tally:
    import aiohttp  # noqa: PLC0415 (only the load processes need it)

    connector = aiohttp.TCPConnector(limit=400)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        return await LoadRun(phase, logins, session).run()


def load_process(phase: Phase, logins: list[KioskLogin], out: Any) -> None:
    tally = asyncio.run(run_kiosks(phase, logins))
    out.put(
        {
            "latencies": dict(tally.latencies),
            "errors": dict(tally.errors),
            "error_samples": tally.error_samples,
            "lag_ms": tally.lag_ms,
            "events_accepted": tally.events_accepted,
            "offered": tally.offered,
            "cpu_s": time.process_time(),
        }
    )


def cpu_by_pid(processes: list[psutil.Process]) -> dict[int, float]:
    seconds = {}
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        seconds[process.pid] = times.user + times.system
    return seconds


def cpu_since(before: dict[int, float], processes: list[psutil.Process]) -> float:
    """CPU seconds spent since `before`, counting processes started meanwhile from zero
    (PostgreSQL forks a backend per new connection)."""
    after = cpu_by_pid(processes)
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def postgres_processes() -> list[psutil.Process]:
    return [
        p for p in psutil.process_iter(["name"]) if p.info["name"] in ("postgres", "postmaster")
    ]


@dataclass(frozen=True, slots=True)
class Hq:
    base_url: str
    pid: int  # `kiosk-hq serve`, or gunicorn's arbiter

    def processes(self) -> list[psutil.Process]:
        root = psutil.Process(self.pid)
        return [root, *root.children(recursive=True)]


@contextmanager
def running_hq(database_url: str, workers: int) -> Iterator[Hq]:
    """HQ as deployed (deploy/hq: gunicorn, `workers` uvicorn workers), here on a
    loopback port instead of nginx's unix socket; 0 workers: one `kiosk-hq serve`."""
    directory = CACHE / f"hq-fleet-{uuid.uuid4().hex[:8]}"
    if workers == 0:
        single = HqProcess(directory, database_url)
        single.start()
        try:
            assert single.process is not None
            yield Hq(single.base_url, single.process.pid)
        finally:
            single.stop()
        return
    HqProcess(directory, database_url).cli("migrate")  # as the unit's ExecStartPre does
    port = free_port()
    bind = {"KIOSK_HQ_BIND": f"127.0.0.1:{port}", "KIOSK_HQ_FORWARDED_ALLOW_IPS": "127.0.0.1"}
    with GunicornHq(directory, database_url, workers=workers, environment=bind) as served:
        assert served.process is not None
        yield Hq(f"http://127.0.0.1:{port}", served.process.pid)


def run_phase(
    hq: Hq,
    logins: list[KioskLogin],
    seconds: float,
    factor: float,
    events_per_hour: float,
    *,
    first_seq: int,
) -> dict[str, Any]:
    start_at = time.monotonic() + 2.0  # every load process is up and has its schedule by then
    seed = int(factor * 1000)
    phase = Phase(hq.base_url, start_at, seconds, factor, events_per_hour, seed, first_seq)
    context = mp.get_context("fork")
    out: Any = context.Queue()
    processes = [
        context.Process(target=load_process, args=(phase, logins[part::LOAD_PROCESSES], out))
        for part in range(LOAD_PROCESSES)
    ]
    for process in processes:
        process.start()
    time.sleep(max(0.0, start_at - time.monotonic()))
    hq_before, postgres_before = cpu_by_pid(hq.processes()), cpu_by_pid(postgres_processes())
    reports = [out.get() for _ in processes]
    hq_cpu, postgres_cpu = (
        cpu_since(hq_before, hq.processes()),
        cpu_since(postgres_before, postgres_processes()),
    )
    for process in processes:
        process.join()
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    for report in reports:
        for endpoint, values in report["latencies"].items():
            latencies[endpoint].extend(values)
        for endpoint, count in report["errors"].items():
            errors[endpoint] += count
    answered = sum(len(values) for values in latencies.values())
    offered = sum(report["offered"] for report in reports)
    lag = [value for report in reports for value in report["lag_ms"]]
    return {
        "factor": factor,
        "kiosks_equivalent": round(len(logins) * factor),
        "offered": offered,
        "answered": answered,
        "per_s": answered / seconds,
        "events_per_s": sum(report["events_accepted"] for report in reports) / seconds,
        "endpoints": {
            endpoint: {
                "count": len(values),
                "errors": errors.get(endpoint, 0),
                "median_ms": statistics.median(values),
                "p99_ms": percentile(values, 99),
                "max_ms": max(values),
            }
            for endpoint, values in sorted(latencies.items())
        },
        "errors": sum(errors.values()),
        "error_samples": [sample for report in reports for sample in report["error_samples"]][:5],
        "generator_lag_p99_ms": percentile(lag, 99) if lag else 0.0,
        "hq_cpu_s": hq_cpu,
        "postgres_cpu_s": postgres_cpu,
        "load_cpu_s": sum(report["cpu_s"] for report in reports),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="PostgreSQL server to make a fresh database on")
    parser.add_argument("--stores", type=int, default=1000)
    parser.add_argument("--per-store", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=90.0, help="length of each phase")
    parser.add_argument("--ramp", default="1,2,3,4,6", help="the fleet's rates times these")
    parser.add_argument("--events-per-hour", type=float, default=120.0, help="a kiosk's events")
    parser.add_argument(
        "--workers", type=int, default=2, help="HQ's uvicorn workers (0: one kiosk-hq serve)"
    )
    parser.add_argument("--json", action="store_true", help="the figures as JSON lines")
    args = parser.parse_args()

    factors = [float(f) for f in args.ramp.split(",")]
    with (
        fresh_postgres_database(args.database_url) as database_url,
        running_hq(database_url, args.workers) as hq,
    ):
        began = time.monotonic()
        logins = enrol_fleet(database_url, args.stores, args.per_store)
        print(
            f"{len(logins)} kiosks in {args.stores} stores enrolled in "
            f"{time.monotonic() - began:.0f} s; {args.seconds:.0f} s a phase, "
            f"{args.events_per_hour:.0f} events a kiosk an hour, HQ workers: {args.workers}"
        )
        saturated = None
        for number, factor in enumerate(factors):
            first_seq = number * PHASE_SEQS
            figures = run_phase(
                hq, logins, args.seconds, factor, args.events_per_hour, first_seq=first_seq
            )
            print_phase(figures, args.json)
            over = [
                name
                for name, endpoint in figures["endpoints"].items()
                if endpoint["p99_ms"] > P99_LIMIT_MS
            ]
            if over or figures["errors"] or figures["answered"] < 0.97 * figures["offered"]:
                saturated = figures["kiosks_equivalent"]
                break
        if saturated is None:
            print(f"not saturated up to {round(len(logins) * factors[-1])} kiosks")
        else:
            print(f"saturation: at the load of {saturated} kiosks")
    return 0


def print_phase(figures: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(figures))
        return
    print(
        f"x{figures['factor']:g} ({figures['kiosks_equivalent']} kiosks): "
        f"{figures['answered']} requests answered of {figures['offered']} offered "
        f"({figures['per_s']:.0f}/s), "
        f"{figures['events_per_s']:.0f} events/s, errors {figures['errors']}, "
        f"generator lag p99 {figures['generator_lag_p99_ms']:.0f} ms; "
        f"CPU s: HQ {figures['hq_cpu_s']:.1f}, PostgreSQL {figures['postgres_cpu_s']:.1f}, "
        f"load {figures['load_cpu_s']:.1f}"
    )
    for name, endpoint in figures["endpoints"].items():
        print(
            f"    {name:9s} {endpoint['count']:7d}  median {endpoint['median_ms']:6.1f} ms  "
            f"p99 {endpoint['p99_ms']:6.1f} ms  max {endpoint['max_ms']:7.1f} ms  "
            f"errors {endpoint['errors']}"
        )
    for sample in figures["error_samples"]:
        print(f"    e.g. {sample}")


if __name__ == "__main__":
    raise SystemExit(main())
