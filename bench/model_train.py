"""Training HQ's recommendation model on 10 million visit events, and its evaluation.

    .venv/bin/python bench/model_train.py [--events 10000000] [--skus 300] [--no-als]
        [--database-url URL --read-events 1000000]

Generates a year of made-up but shop-like visits (hq.analytics.model.synthetic:
300 SKUs of skewed popularity in families, visits of 1 to 5 lifts, comparisons
within visits, popularity drifting by season), trains the co-occurrence model
(`kiosk-hq model train`'s work, without the database read) and evaluates it on
the held-out last week against popularity alone and implicit's ALS.

With `--database-url` (an empty database of its own: the events table is filled),
it also times `kiosk-hq model train`'s read of `--read-events` events from HQ's
events table (hq.analytics.model.events.read_events), and says what 10 million
would take at that rate.

Target: training well under 5 minutes on this 2-core machine. Figures: seconds to
generate, to train, to evaluate; peak RSS (the generator's temporaries set it) and
training's own peak allocation (tracemalloc); hit rate@5 and catalogue coverage of
the three recommenders.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hq.analytics.model import evaluate, synthetic, train  # noqa: E402

END = datetime(2026, 12, 1, tzinfo=UTC)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--skus", type=int, default=300)
    parser.add_argument("--no-als", action="store_true", help="skip the ALS baseline")
    parser.add_argument("--database-url", help="an empty database to time the read from")
    parser.add_argument("--read-events", type=int, default=1_000_000)
    args = parser.parse_args()
    if args.database_url:
        _read(args.database_url, args.read_events, args.skus)

    began = time.perf_counter()
    events = synthetic.generate(args.events, skus=args.skus, end=END)
    generated = time.perf_counter() - began
    print(f"generated {len(events):,} events over a year in {generated:.1f} s")
    print(f"peak RSS after generating: {_rss_mb():.0f} MB")

    began = time.perf_counter()
    model = train.train(events, now=END)
    trained = time.perf_counter() - began
    print(
        f"trained on {model.events:,} events, {model.visits:,} visits, {len(model.skus)} SKUs"
        f" in {trained:.1f} s (half-life {model.half_life_days:g} days,"
        f" {len(model.rows):,} neighbour entries)"
    )
    print(f"peak RSS after training: {_rss_mb():.0f} MB (generating the events set it)")
    tracemalloc.start()  # numpy reports its buffers to tracemalloc
    train.train(events, now=END)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    arrays = sum(a.nbytes for a in (events.session, events.item, events.at, events.weight))
    print(
        f"training's own peak allocation (a second run, traced): {peak / 2**20:.0f} MB"
        f" on top of the events' {arrays / 2**20:.0f} MB"
    )

    began = time.perf_counter()
    result = evaluate.evaluate(events, now=END, als=not args.no_als)
    took = time.perf_counter() - began
    if result is None:
        print("nothing to evaluate")
        return
    print(f"evaluated on the held-out week: {result.questions:,} questions in {took:.1f} s")
    print(f"{'recommender':<16} {'hit rate@5':>10} {'coverage':>9}")
    for figures in result.figures:
        print(f"{figures.name:<16} {figures.hit_rate:>10.3f} {figures.coverage:>9.3f}")
    print(f"peak RSS overall: {_rss_mb():.0f} MB")


def _read(url: str, count: int, skus: int) -> None:
    from hq.analytics.model.events import read_events  # noqa: PLC0415
    from hq.db import Database, events  # noqa: PLC0415
    from hq.migrations import migrate  # noqa: PLC0415

    made = synthetic.generate(count, skus=skus, end=END)
    database = Database(url)
    migrate(database)
    began = time.perf_counter()
    for start in range(0, count, 20_000):
        rows = [
            {
                "event_id": str(uuid.uuid4()),
                "kiosk_id": "bench-k1",
                "store_id": "bench",
                "seq": index + 1,
                "kind": "lift" if made.weight[index] == 1 else "comparison",
                "schema_version": 1,
                "occurred_at": datetime.fromtimestamp(float(made.at[index]), UTC),
                "received_at": END,
                "payload": {
                    "session": f"s{made.session[index]}",
                    "sku": made.skus[made.item[index]],
                }
                if made.weight[index] == 1
                else {
                    "session": f"s{made.session[index]}",
                    "skus": [made.skus[made.item[index]]] * 2,
                },
            }
            for index in range(start, min(start + 20_000, count))
        ]
        with database.write() as connection:
            database.insert_rows(connection, events, rows)
    print(f"stored {count:,} events in {time.perf_counter() - began:.0f} s")
    began = time.perf_counter()
    read = read_events(database, until=END)
    took = time.perf_counter() - began
    database.dispose()
    backend = url.split(":", maxsplit=1)[0]
    print(
        f"read {len(read):,} signals of {count:,} events from {backend} in {took:.1f} s:"
        f" {took / count * 10_000_000:.0f} s for 10 million"
    )


if __name__ == "__main__":
    main()
