"""Finding likely duplicate customers, and merging and undoing one pair.

    .venv/bin/python bench/dedupe.py [--customers 100000] [--runs 20]

The finder (hq.crm.dedupe.find_duplicates, pure) over `--customers` generated
records, 2% of them with a second record (the number in national form, the same
e-mail, or a near-identical name at the same address), and 10% with an address
shared by a family; then merge + undo of pairs in a fresh SQLite HQ, each pair
with three lifts, two consents and a fob. Prints median and p99 in milliseconds.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hq.crm import dedupe, merges
from hq.crm.dedupe import CandidateRow
from hq.db import Database, consents, customers, interactions, member_ids, tag_bindings
from hq.migrations import migrate
from hq.settings import sqlite_url

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "芳娜伟敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英"


def rows(count: int, seed: int = 7) -> list[CandidateRow]:
    rng = random.Random(seed)
    found: list[CandidateRow] = []
    for n in range(count):
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(("", *GIVEN))
        phone = f"+86139{n:08d}"
        address = f"上海市徐汇区漕溪北路 {n % (count // 10 or 1)} 号" if n % 10 == 0 else None
        email = f"m{n}@example.cn" if n % 3 == 0 else None
        found.append(
            CandidateRow(str(n), phone, email, name, address, NOW - timedelta(days=n % 700))
        )
        if n % 50 == 0:
            twin = rng.choice(("phone", "email", "address"))
            found.append(
                CandidateRow(
                    f"{n}-b",
                    f"139{n:08d}" if twin == "phone" else f"+86138{n:08d}",
                    email.upper() if twin == "email" and email else None,
                    name,
                    address if twin == "address" else None,
                    NOW,
                )
            )
    return found


def add_pair(database: Database, n: int) -> tuple[str, str]:
    ids = []
    with database.write() as connection:
        for side in range(2):
            customer, member = str(uuid.uuid4()), str(uuid.uuid4())
            ids.append(customer)
            connection.execute(
                insert(customers).values(
                    customer_id=customer,
                    phone_e164=f"+86137{n:06d}{side:02d}",
                    name="王芳",
                    created_at=NOW,
                    first_store_id="sh-xujiahui",
                )
            )
            connection.execute(
                insert(member_ids).values(
                    member_id=member,
                    customer_id=customer,
                    store_id="sh-xujiahui",
                    kiosk_id="sh-xujiahui-k1",
                    signed_up_at=NOW,
                    greet_by_name=True,
                )
            )
            for step, given in enumerate((True, side == 0)):
                connection.execute(
                    insert(consents).values(
                        event_id=str(uuid.uuid4()),
                        member_id=member,
                        purpose="recognition",
                        notice_version="2026-11",
                        notice_sha256="5e" * 32,
                        given=given,
                        store_id="sh-xujiahui",
                        kiosk_id="sh-xujiahui-k1",
                        occurred_at=NOW + timedelta(minutes=step + 3 * (side == 0)),
                    )
                )
            for step in range(3):
                connection.execute(
                    insert(interactions).values(
                        event_id=str(uuid.uuid4()),
                        member_id=member,
                        kind="lift",
                        store_id="sh-xujiahui",
                        kiosk_id="sh-xujiahui-k1",
                        occurred_at=NOW + timedelta(minutes=step),
                        session="s",
                        sku=f"SKU-{step}",
                        slot=step,
                        details={},
                    )
                )
            connection.execute(
                insert(tag_bindings).values(
                    tag_hash=uuid.uuid4().hex * 2,
                    member_id=member,
                    kind="rfid",
                    bound_at=NOW,
                    source="kiosk",
                )
            )
    return ids[0], ids[1]


def figures(name: str, seconds: list[float]) -> None:
    ms = sorted(s * 1000 for s in seconds)
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    print(f"{name}: median {statistics.median(ms):.1f} ms, p99 {p99:.1f} ms ({len(ms)} runs)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    found = rows(args.customers)
    took = []
    for _ in range(3):
        start = time.perf_counter()
        pairs = dedupe.find_duplicates(found)
        took.append(time.perf_counter() - start)
    print(f"{len(found)} records, {len(pairs)} likely pairs")
    figures("find_duplicates", took)
    with tempfile.TemporaryDirectory() as tmp:
        url = sqlite_url(Path(tmp) / "hq.sqlite3")
        migrate(url)
        database = Database(url)
        merged, undone = [], []
        for n in range(args.runs):
            keep, other = add_pair(database, n)
            start = time.perf_counter()
            done = merges.merge(database, keep, other, by="bench", now=NOW + timedelta(hours=1))
            merged.append(time.perf_counter() - start)
            start = time.perf_counter()
            merges.undo(database, done.merge_id, by="bench", now=NOW + timedelta(hours=2))
            undone.append(time.perf_counter() - start)
        figures("merge (SQLite)", merged)
        figures("undo (SQLite)", undone)
        database.dispose()


if __name__ == "__main__":
    main()
