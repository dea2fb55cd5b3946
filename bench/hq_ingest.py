"""HQ ingest: many kiosks posting event batches at once, against PostgreSQL.

    .venv/bin/python bench/hq_ingest.py [--database-url URL] [--seconds 10]

Starts `kiosk-hq serve` on a fresh PostgreSQL database, enrols 50 kiosks, and
drives `POST /v1/events` from two load processes (threads inside, one per
kiosk, one requests.Session each) in two ways:

- saturation (closed loop): each kiosk posts its next 500-event batch as soon
  as the last one is answered, for 1, 5, 10, 25 and 50 kiosks: the most HQ can
  take, and what waiting for it costs.
- target (open loop): 50 kiosks together offer 5,000 events/s (each posts a
  500-event batch every 5 s, staggered): is it sustained, and at what latency.

Target: >= 5,000 events/s sustained, p99 request latency < 250 ms. The load
generator shares the machine's two cores with HQ and PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from harness import CACHE, percentile  # noqa: E402
from helpers.hq import fresh_postgres_database  # noqa: E402
from helpers.hq_process import HqProcess  # noqa: E402

BATCH = 500
LOAD_PROCESSES = 2
TARGET_RATE = 5000  # events/s offered in the open-loop phase
PHASE_SEQS = 10_000_000  # seq range per phase, more than any kiosk posts in one


@dataclass(frozen=True, slots=True)
class KioskLogin:
    store_id: str
    kiosk_id: str
    token: str


def batch_body(login: KioskLogin, first_seq: int, now: str) -> bytes:
    events = [
        {
            "event_id": str(uuid.uuid4()),
            "store_id": login.store_id,
            "kiosk_id": login.kiosk_id,
            "seq": seq,
            "kind": "lift",
            "schema_version": 1,
            "occurred_at": now,
            "payload": {"session": "bench-1", "slot": 1 + seq % 16, "sku": f"SKU-{seq % 16:04d}"},
        }
        for seq in range(first_seq, first_seq + BATCH)
    ]
    return json.dumps({"events": events}, separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True)
class Phase:
    """One measured run: when it starts and stops, and how the kiosks post."""

    base_url: str
    start_at: float  # time.monotonic()
    stop_at: float
    interval: float | None  # None: back to back (closed loop)
    stagger: float  # kiosk i starts i * stagger after start_at
    first_seq: int


def kiosk_loop(
    phase: Phase, login: KioskLogin, offset: float, results: list[tuple[float, float, int]]
) -> None:
    """Post batches until the phase ends: back to back, or one per interval."""
    session = requests.Session()
    session.headers.update(
        {"Authorization": f"Bearer {login.token}", "Content-Type": "application/json"}
    )
    seq = phase.first_seq
    now = datetime.now(UTC).isoformat()
    next_at = phase.start_at + offset
    while True:
        body = batch_body(login, seq, now)
        if phase.interval is not None:
            time.sleep(max(0.0, next_at - time.monotonic()))
            next_at += phase.interval
        sent = time.monotonic()
        if sent >= phase.stop_at:
            return
        answer = session.post(f"{phase.base_url}/v1/events", data=body, timeout=30)
        answer.raise_for_status()
        accepted = sum(r["status"] == "accepted" for r in answer.json()["results"])
        results.append((sent, time.monotonic() - sent, accepted))
        seq += BATCH


def load_process(phase: Phase, logins: list[tuple[int, KioskLogin]], out: Any) -> None:
    results: list[tuple[float, float, int]] = []
    threads = [
        threading.Thread(target=kiosk_loop, args=(phase, login, i * phase.stagger, results))
        for i, login in logins
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out.put(results)


def run_phase(
    base_url: str,
    logins: list[KioskLogin],
    seconds: float,
    interval: float | None,
    first_seq: int,
) -> dict[str, float]:
    start_at = time.monotonic() + 1.0  # every thread is up and waiting by then
    # Open-loop kiosks start evenly spread over one interval.
    stagger = (interval or 0.0) / len(logins)
    phase = Phase(base_url, start_at, start_at + seconds, interval, stagger, first_seq)
    context = mp.get_context("fork")
    out: Any = context.Queue()
    numbered = list(enumerate(logins))
    processes = [
        context.Process(target=load_process, args=(phase, numbered[part::LOAD_PROCESSES], out))
        for part in range(min(LOAD_PROCESSES, len(logins)))
    ]
    for process in processes:
        process.start()
    results: list[tuple[float, float, int]] = []
    for _ in processes:
        results.extend(out.get())
    for process in processes:
        process.join()
    latencies = [latency * 1000 for _, latency, _ in results]
    finished = max(sent + latency for sent, latency, _ in results)
    events = sum(accepted for *_, accepted in results)
    return {
        "kiosks": len(logins),
        "requests": len(results),
        "events": events,
        "events_per_s": events / (finished - start_at),
        "median_ms": statistics.median(latencies),
        "p99_ms": percentile(latencies, 99),
        "max_ms": max(latencies),
    }


def enrol(hq: HqProcess, count: int) -> list[KioskLogin]:
    def one(i: int) -> KioskLogin:
        store = f"bench-{i // 10:02d}"  # ten kiosks a store
        code = hq.cli("kiosk", "enroll-code", store).strip()
        answer = requests.post(f"{hq.base_url}/v1/enroll", json={"code": code}, timeout=30)
        answer.raise_for_status()
        body = answer.json()
        return KioskLogin(body["store_id"], body["kiosk_id"], body["token"])

    for store in sorted({f"bench-{i // 10:02d}" for i in range(count)}):
        hq.cli("store", "add", store, "--exist-ok")
    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(one, range(count)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="PostgreSQL server to make a fresh database on")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each phase")
    parser.add_argument("--kiosks", default="1,5,10,25,50", help="saturation kiosk counts")
    args = parser.parse_args()

    counts = [int(n) for n in args.kiosks.split(",")]
    with fresh_postgres_database(args.database_url) as database_url:
        hq = HqProcess(CACHE / f"hq-ingest-{uuid.uuid4().hex[:8]}", database_url)
        hq.start()
        try:
            logins = enrol(hq, max(*counts, 50))
            print("saturation (closed loop, 500-event batches back to back):")
            for phase, count in enumerate(counts):
                # Each phase starts at a fresh seq range: every event is new to HQ.
                first_seq = phase * PHASE_SEQS + 1
                figures = run_phase(hq.base_url, logins[:count], args.seconds, None, first_seq)
                print(
                    f"  {count:3d} kiosks: {figures['events_per_s']:7.0f} events/s, "
                    f"median {figures['median_ms']:.0f} ms, p99 {figures['p99_ms']:.0f} ms"
                )
            interval = 50 * BATCH / TARGET_RATE
            first_seq = len(counts) * PHASE_SEQS + 1
            seconds = max(args.seconds, 20.0)
            figures = run_phase(hq.base_url, logins[:50], seconds, interval, first_seq)
            print(
                f"target (open loop, 50 kiosks offering 5,000 events/s): "
                f"{figures['events_per_s']:.0f} events/s sustained over {figures['requests']} "
                f"requests; latency median {figures['median_ms']:.0f} ms, "
                f"p99 {figures['p99_ms']:.0f} ms, max {figures['max_ms']:.0f} ms"
            )
        finally:
            hq.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
