"""Recognition: member lookups in a kiosk's directory of 1,000,000 members.

    .venv/bin/python bench/recognition_feed.py [--members 1000000] [--lookups 100000] [--rebuild]

Builds `var/bench/recognition/members.sqlite3` through `MemberDirectory.apply`
with pages as HQ sends them (a snapshot: 5,000 entries a page, the first with
`reset`; names for two in five members, 0 to 6 SKUs viewed; half with marketing
consent, and of those most with a tier, 0 to 2 tags and a birth month),
then, in a fresh process, opens it and times `lookup` for hits and misses, and
`find` (HMAC of the tag, the key, the lookup) for hits; then the same lookups
while this process applies 40 delta pages of 5,000 changes to the same file.
The feed is generated here, not fetched from HQ over HTTP.

Targets: a lookup under 1 ms; opening the directory and looking up adds under
150 MB to the process (RSS, from /proc).

A lookup that starts while the writer checkpoints its WAL into the file waits
for the checkpoint, fsync included: tens of milliseconds when a page of 5,000
random changes is checkpointed. The second run shows how often that happens
under a bulk load (each page is a checkpoint); small deltas checkpoint once per
1,000 changed database pages.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from harness import CACHE, percentile  # noqa: E402

from backend_client.feed import FeedEntry, FeedPage  # noqa: E402
from backend_client.members import MEMBERS_FILE, MemberDirectory, tag_hash  # noqa: E402
from devices.events import TagId, TagKind  # noqa: E402

PAGE = 5000
KEY = bytes(range(32))
NAMES = ["王芳", "李伟", "张敏", "刘洋", "陈静", "Anna", "David Chen", "Mei-Ling"]
TIERS = [None, "silver", "gold", "platinum"]
TAGS = ["vip", "student", "family", "staff", "new"]
MB = 1024 * 1024


def fob(n: int) -> TagId:
    return TagId(TagKind.RFID, f"{n:010d}")


def entry(n: int, rng: random.Random, generation: int = 0) -> FeedEntry:
    skus = tuple(f"SKU-{rng.randrange(10_000):04d}" for _ in range(rng.randrange(7)))
    return FeedEntry(
        tag_hash=tag_hash(KEY, fob(n)),
        member_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        greeting_name=rng.choice(NAMES) if rng.random() < 0.4 else None,
        last_viewed=skus if not generation else (f"SKU-G{generation}", *skus[:5]),
        **offers(rng),
    )


def offers(rng: random.Random) -> dict[str, Any]:
    """Marketing consent for half the members; with it, what offers are decided on."""
    if rng.random() < 0.5:
        return {}
    return {
        "marketing": True,
        "tier": rng.choice(TIERS),
        "tags": tuple(sorted(rng.sample(TAGS, rng.randrange(3)))),
        "birth_month": rng.randrange(1, 13),
    }


def build(path: Path, members: int) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    rng = random.Random(1)
    timings: list[float] = []
    started = time.perf_counter()
    with MemberDirectory(path) as directory:
        pages = (members + PAGE - 1) // PAGE
        for number in range(pages):
            first = number * PAGE
            upserts = tuple(entry(n, rng) for n in range(first, min(first + PAGE, members)))
            page = FeedPage(
                version=first + len(upserts),
                more=number < pages - 1,
                reset=number == 0,
                tag_key=KEY,
                upserts=upserts,
                removed=(),
            )
            before = time.perf_counter()
            directory.apply(page)
            timings.append((time.perf_counter() - before) * 1000)
        count = directory.count()
    elapsed = time.perf_counter() - started
    files = [Path(f"{path}{suffix}") for suffix in ("", "-wal")]
    size = sum(file.stat().st_size for file in files if file.exists())
    print(
        f"built {count:,} members in {elapsed:.1f} s through apply ({len(timings)} pages of "
        f"{PAGE:,}; apply median {statistics.median(timings):.0f} ms, "
        f"max {max(timings):.0f} ms incl. the final swap); file {size / MB:.0f} MB"
    )


def rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def timed(arguments: Sequence[Any], call: Callable[[Any], object]) -> list[float]:
    """Milliseconds each call took."""
    out = []
    for argument in arguments:
        before = time.perf_counter()
        call(argument)
        out.append((time.perf_counter() - before) * 1000)
    return out


def measure(path: Path, members: int, lookups: int, ready_file: Path | None) -> None:
    """Runs in a fresh process: what opening and looking up cost it."""
    rng = random.Random(2)
    hits = [tag_hash(KEY, fob(rng.randrange(members))) for _ in range(lookups)]
    misses = [f"{rng.getrandbits(256):064x}" for _ in range(lookups)]
    tags = [fob(rng.randrange(members)) for _ in range(lookups)]
    baseline = rss()
    directory = MemberDirectory(path)
    opened = rss()
    if ready_file is not None:  # the other phase: tell the applier, then go
        ready_file.touch()
    results = {
        "hit": timed(hits, directory.lookup),
        "miss": timed(misses, directory.lookup),
        "find": timed(tags, directory.find),
    }
    found = sum(directory.lookup(h) is not None for h in hits[:1000])
    after = rss()
    print(
        json.dumps(
            {
                "rss_open_mb": (opened - baseline) / MB,
                "rss_after_mb": (after - baseline) / MB,
                "hits_found": found,
                **{
                    name: {
                        "median": statistics.median(values),
                        "p99": percentile(values, 99),
                        "max": max(values),
                        "over_1ms": sum(value > 1 for value in values),
                    }
                    for name, values in results.items()
                },
            }
        )
    )
    directory.close()


def child(path: Path, members: int, lookups: int, ready: Path | None) -> subprocess.Popen[str]:
    command = [
        sys.executable,
        __file__,
        "--measure",
        str(path),
        "--members",
        str(members),
        "--lookups",
        str(lookups),
    ]
    if ready is not None:
        command += ["--ready-file", str(ready)]
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )


def report(label: str, out: str) -> None:
    figures = json.loads(out)
    print(f"{label}:")
    for name, what in (("hit", "lookup, hit"), ("miss", "lookup, miss"), ("find", "find (hmac)")):
        f = figures[name]
        print(
            f"  {what:13} median {f['median'] * 1000:.0f} us, p99 {f['p99'] * 1000:.0f} us, "
            f"max {f['max']:.2f} ms, over 1 ms: {f['over_1ms']}"
        )
    print(
        f"  RSS added: {figures['rss_open_mb']:.1f} MB by opening, "
        f"{figures['rss_after_mb']:.1f} MB after all lookups; "
        f"{figures['hits_found']}/1000 hits found"
    )


def apply_deltas(path: Path, members: int, ready: Path) -> list[float]:
    rng = random.Random(3)
    timings: list[float] = []
    with MemberDirectory(path) as directory:
        while not ready.exists():
            time.sleep(0.01)
        version = directory.version
        for generation in range(1, 41):
            changed = tuple(entry(rng.randrange(members), rng, generation) for _ in range(PAGE))
            version += PAGE
            page = FeedPage(version, False, False, KEY, changed, ())
            before = time.perf_counter()
            directory.apply(page)
            timings.append((time.perf_counter() - before) * 1000)
    return timings


def compare_sqlalchemy(path: Path, members: int) -> None:
    """Why lookups use the sqlite3 module: the same query through SQLAlchemy Core."""
    from sqlalchemy import LargeBinary, bindparam, create_engine, text  # noqa: PLC0415

    rng = random.Random(4)
    hits = [bytes.fromhex(tag_hash(KEY, fob(rng.randrange(members)))) for _ in range(10_000)]
    engine = create_engine(f"sqlite:///{path}")
    query = text(
        "SELECT member_id, greeting_name, last_viewed, tier FROM members WHERE tag_hash = :h"
    ).bindparams(bindparam("h", type_=LargeBinary))

    def lookup(key: object) -> None:
        with engine.connect() as connection:
            json.loads(connection.execute(query, {"h": key}).one()[2])

    values = timed(hits, lookup)
    engine.dispose()
    print(
        f"  (the same lookups through SQLAlchemy Core: median "
        f"{statistics.median(values) * 1000:.0f} us, p99 {percentile(values, 99) * 1000:.0f} us, "
        f"max {max(values):.2f} ms)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=100_000)
    parser.add_argument("--rebuild", action="store_true", help="build the directory again")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--ready-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.measure, args.members, args.lookups, args.ready_file)
        return 0

    work = CACHE / "recognition"
    work.mkdir(parents=True, exist_ok=True)
    path = work / MEMBERS_FILE
    marker = work / f"built-{args.members}"
    if args.rebuild or not marker.exists():
        marker.unlink(missing_ok=True)
        for stale in work.glob("built-*"):
            stale.unlink()
        build(path, args.members)
        marker.touch()

    quiet = child(path, args.members, args.lookups, None)
    out, _ = quiet.communicate()
    report(f"{args.members:,} members, {args.lookups:,} lookups each, nothing else running", out)
    compare_sqlalchemy(path, args.members)

    ready = work / "ready"
    ready.unlink(missing_ok=True)
    busy = child(path, args.members, args.lookups, ready)
    applied = apply_deltas(path, args.members, ready)
    out, _ = busy.communicate()
    report(
        f"the same while another process applies {len(applied)} delta pages of {PAGE:,} "
        f"(apply median {statistics.median(applied):.0f} ms, max {max(applied):.0f} ms)",
        out,
    )
    ready.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
