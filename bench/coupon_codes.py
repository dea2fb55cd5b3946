"""Coupon codes: issuing and checking one, on the kiosk's side and on HQ's.

    .venv/bin/python bench/coupon_codes.py [--count 100000] [--database-count 10000]

Times, call by call, 100,000 each of:

- kiosk issue: `rewards.codes.issue_code` with the kiosk's key;
- kiosk verify: `rewards.codes.parse_code` of a typed code (lower case, spaces),
  the key looked up by kiosk number as a store's till would derive it;
- HQ verify: `hq.crm.coupon_codes.verify`, deriving the kiosk's key from the
  chain's coupon secret for every code (store key, kiosk key, MAC), as HQ does;

and then `hq.crm.coupons.verify` against an SQLite HQ database (the kiosk lookup,
the revocation and expiry checks, what HQ knows of the code): a transaction per
code, fewer of them.

Target: under 1 ms per code for each of the three pure operations. Figures are
median, p99 and max in microseconds.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from harness import percentile  # noqa: E402

from hq.crm import coupon_codes, coupons  # noqa: E402
from hq.db import Database  # noqa: E402
from hq.enrollment import issue_code as enrolment_code  # noqa: E402
from hq.enrollment import redeem_code as enrol  # noqa: E402
from hq.fleet import add_store  # noqa: E402
from hq.migrations import migrate  # noqa: E402
from hq.settings import sqlite_url  # noqa: E402
from rewards import codes  # noqa: E402

SECRET = bytes(range(32))
STORE = "sh-nanjing-road"
TODAY = date(2026, 11, 23)
TARGET_US = 1000.0


def timed(arguments: Sequence[Any], call: Callable[[Any], object]) -> list[float]:
    """Microseconds each call took."""
    out = []
    for argument in arguments:
        before = time.perf_counter_ns()
        call(argument)
        out.append((time.perf_counter_ns() - before) / 1000)
    return out


def report(name: str, values_us: list[float]) -> bool:
    p99 = percentile(values_us, 99)
    print(
        f"{name:<28} n={len(values_us):>7,}  median={statistics.median(values_us):7.1f} µs  "
        f"p99={p99:7.1f} µs  max={max(values_us):8.1f} µs"
    )
    return p99 < TARGET_US


def fields(rng: random.Random, count: int) -> list[dict[str, Any]]:
    return [
        {
            "campaign_no": rng.randrange(1, 4096),
            "kiosk_no": rng.randrange(1, 2000),
            "serial": rng.randrange(2**24),
            "expires_on": TODAY + timedelta(days=rng.randrange(1, 366)),
        }
        for _ in range(count)
    ]


def pure(count: int) -> bool:
    rng = random.Random(5)
    store_key = codes.store_key(SECRET, STORE)
    kiosk_keys = {n: codes.kiosk_key(store_key, n) for n in range(1, 2000)}
    wanted = fields(rng, count)

    issued: list[codes.CouponCode] = []
    issue_times = timed(
        wanted,
        lambda f: issued.append(codes.issue_code(kiosk_keys[f["kiosk_no"]], **f)),
    )
    typed = [code.text.lower().replace("-", " ") for code in issued]
    kiosk_times = timed(typed, lambda text: codes.parse_code(text, kiosk_keys.get, today=TODAY))

    def hq_key(kiosk_no: int) -> bytes:
        return coupon_codes.kiosk_key_from_secret(SECRET, STORE, kiosk_no)

    hq_times = timed(typed, lambda text: coupon_codes.verify(text, hq_key, today=TODAY))
    ok = report("kiosk issue", issue_times)
    ok &= report("kiosk verify (typed)", kiosk_times)
    ok &= report("HQ verify (key derived)", hq_times)
    return ok


def with_database(count: int) -> None:
    with tempfile.TemporaryDirectory(prefix="coupon-bench-") as directory:
        url = sqlite_url(Path(directory) / "hq.sqlite3")
        migrate(url)
        database = Database(url)
        try:
            now = datetime.now(UTC)
            add_store(database, STORE, None, now=now)
            enrolment = enrol(database, enrolment_code(database, STORE, now=now), None, now=now)
            rng = random.Random(6)
            texts = [
                coupon_codes.issue(
                    enrolment.coupon_key,
                    campaign_no=7,
                    kiosk_no=enrolment.kiosk_no,
                    serial=rng.randrange(2**24),
                    expires_on=TODAY + timedelta(days=30),
                ).text
                for _ in range(count)
            ]
            times = timed(texts, lambda text: coupons.verify(database, text, today=TODAY))
        finally:
            database.dispose()
    report("HQ verify (SQLite, per code)", times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--database-count", type=int, default=10_000)
    args = parser.parse_args()
    print(f"coupon codes, {args.count:,} each (target: p99 under {TARGET_US:.0f} µs)")
    ok = pure(args.count)
    if args.database_count:
        with_database(args.database_count)
    print("target met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
