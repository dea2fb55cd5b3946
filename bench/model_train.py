"""Training HQ's recommendation model on 10 million visit events, and its evaluation.

    .venv/bin/python bench/model_train.py [--events 10000000] [--skus 300] [--no-als]

Generates a year of made-up but shop-like visits (hq.analytics.model.synthetic:
300 SKUs of skewed popularity in families, visits of 1 to 5 lifts, comparisons
within visits, popularity drifting by season), trains the co-occurrence model
(`kiosk-hq model train`'s work, without the database read) and evaluates it on
the held-out last week against popularity alone and implicit's ALS.

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
    args = parser.parse_args()

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


if __name__ == "__main__":
    main()
