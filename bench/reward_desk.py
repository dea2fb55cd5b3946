"""Rewards: time to issue a coupon and to run a prize draw through the ledger.

    .venv/bin/python bench/reward_desk.py [--count 2000]

Each `issue` and `draw` is one SQLite transaction (WAL, synchronous=FULL) on a
real outbox file with encrypted payloads, as on a kiosk: the counts are read,
the serial taken, the row and its outbox records written and fsynced. Also the
round trip through the RewardDesk thread (request to on_done), and the pure
code functions alone for comparison (issue_code, parse_code).
"""

from __future__ import annotations

import argparse
import queue
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from harness import CACHE, percentile  # noqa: E402
from helpers.rewards import (  # noqa: E402
    CIPHER,
    KEY,
    KIOSK_NO,
    NOW,
    TZ,
    campaign_of,
    draw_of,
    prize_of,
)

from rewards.answers import DrawOutcome, Issued, RewardAnswer  # noqa: E402
from rewards.codes import issue_code, parse_code  # noqa: E402
from rewards.desk import RewardDesk  # noqa: E402
from rewards.ledger import RewardLedger  # noqa: E402

SURVEY = campaign_of("survey-thanks", 1, daily_budget=10**9, per_member_limit=10**9)
PRIZES = (
    campaign_of("grand-prize", 2, daily_budget=10**9, per_member_limit=10**9),
    campaign_of("small-prize", 3, daily_budget=10**9, per_member_limit=10**9),
)
DRAW = draw_of(
    "bench-spin",
    prize_of("grand", "grand-prize", "0.01", 10**6),
    prize_of("small", "small-prize", "0.2", 10**6),
)


def line(name: str, values_ms: list[float]) -> str:
    return (
        f"{name}: n={len(values_ms)} median={statistics.median(values_ms):.2f} ms "
        f"p99={percentile(values_ms, 99):.2f} ms max={max(values_ms):.2f} ms"
    )


def ledger_path(work: Path, name: str) -> Path:
    return work / name / "outbox.sqlite3"


def bench_ledger(work: Path, count: int) -> None:
    issue_ms: list[float] = []
    draw_ms: list[float] = []
    with RewardLedger(
        ledger_path(work, "ledger"), cipher=CIPHER, key=KEY, kiosk_no=KIOSK_NO, tz=TZ
    ) as ledger:
        for turn in range(count):
            now = NOW + timedelta(seconds=turn)
            member = str(uuid.uuid4())
            started = time.perf_counter()
            issued = ledger.issue(SURVEY, member_id=member, session="b", reason="survey", now=now)
            issue_ms.append((time.perf_counter() - started) * 1000)
            assert isinstance(issued, Issued)
            started = time.perf_counter()
            drawn = ledger.draw(DRAW, PRIZES, member_id=member, session="b", now=now)
            draw_ms.append((time.perf_counter() - started) * 1000)
            assert isinstance(drawn, DrawOutcome)
    print(line("ledger issue (one transaction, fsync)", issue_ms))
    print(line("ledger draw (one transaction, fsync)", draw_ms))


def bench_desk(work: Path, count: int) -> None:
    answers: queue.SimpleQueue[float] = queue.SimpleQueue()

    def on_done(answer: RewardAnswer) -> None:
        assert isinstance(answer.outcome, Issued)
        answers.put(time.perf_counter())

    desk = RewardDesk(
        ledger_path(work, "desk"), cipher=CIPHER, key=KEY, kiosk_no=KIOSK_NO, tz=TZ, on_done=on_done
    )
    desk.start()
    submit_ms: list[float] = []
    round_trip_ms: list[float] = []
    try:
        for turn in range(count):
            now = NOW + timedelta(seconds=turn)
            started = time.perf_counter()
            desk.issue(SURVEY, member_id=None, session="b", reason="survey", now=now)
            submitted = time.perf_counter()
            answered = answers.get(timeout=30)
            submit_ms.append((submitted - started) * 1000)
            round_trip_ms.append((answered - started) * 1000)
    finally:
        desk.stop()
    print(line("desk submit (the GUI thread's cost)", submit_ms))
    print(line("desk issue round trip (submit to on_done)", round_trip_ms))


def bench_codes(count: int) -> None:
    keys = {KIOSK_NO: KEY}
    expires_on = NOW.date() + timedelta(days=29)
    started = time.perf_counter()
    codes = [
        issue_code(KEY, campaign_no=1, kiosk_no=KIOSK_NO, serial=serial, expires_on=expires_on)
        for serial in range(count)
    ]
    issued_us = (time.perf_counter() - started) / count * 1e6
    started = time.perf_counter()
    for code in codes:
        parse_code(code.text, keys.get, today=NOW.date())
    parsed_us = (time.perf_counter() - started) / count * 1e6
    print(f"issue_code alone: n={count} mean={issued_us:.1f} us")
    print(f"parse_code alone: n={count} mean={parsed_us:.1f} us")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=2000, help="issues and draws to time")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rewards-", dir=CACHE) as tmp:
        bench_ledger(Path(tmp), args.count)
        bench_desk(Path(tmp), args.count)
    bench_codes(max(args.count, 100_000))


if __name__ == "__main__":
    main()
