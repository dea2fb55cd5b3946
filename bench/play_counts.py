"""Proof of play on the GUI thread: what counting one attract change or lift costs.

    .venv/bin/python bench/play_counts.py [--items 200] [--changes 20000]

Feeds `kiosk.play_counts.step` a loop of `--items` entries (8 s each, a lift now
and then) over many hours on a driven clock, with the records made every 5 minutes
and at each hour; times each step (which builds the record when one is due).

Target: well under 1 ms a step (a slide changes every few seconds; a 60 Hz frame
is 16 ms), records included. Figures: median, p99 and max in microseconds, and
the records' size.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from harness import percentile  # noqa: E402

from kiosk import play_counts  # noqa: E402
from kiosk.play_counts import ItemShown, PhoneLifted, PlayEvent, PlayItem  # noqa: E402

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--changes", type=int, default=20_000)
    args = parser.parse_args()
    items = [PlayItem(f"slides/poster-{n:03}.jpg", f"campaign-{n % 7}") for n in range(args.items)]
    counts = play_counts.start(T0)
    took_us: list[float] = []
    recording_us: list[float] = []  # the steps that made a record
    record_bytes: list[int] = []
    now = T0
    for change in range(args.changes):
        now += timedelta(seconds=8)
        event: PlayEvent = ItemShown(items[change % len(items)])
        for each in (event, PhoneLifted()) if change % 13 == 0 else (event,):
            began = time.perf_counter()
            counted = play_counts.step(counts, each, now)
            spent = (time.perf_counter() - began) * 1e6
            counts = counted.counts
            if counted.record is not None:
                recording_us.append(spent)
                record_bytes.append(len(json.dumps(counted.record)))
            else:
                took_us.append(spent)
    hours = args.changes * 8 / 3600
    print(
        f"{len(took_us) + len(recording_us)} steps over {hours:.0f} h of a {args.items}-entry loop"
    )
    print(
        f"step: median {statistics.median(took_us):.1f} us, "
        f"p99 {percentile(took_us, 99):.1f} us, max {max(took_us):.1f} us"
    )
    print(
        f"step making a record: median {statistics.median(recording_us):.1f} us, "
        f"p99 {percentile(recording_us, 99):.1f} us, max {max(recording_us):.1f} us"
    )
    print(
        f"records: {len(record_bytes)}, median {statistics.median(record_bytes)} bytes, "
        f"max {max(record_bytes)} bytes"
    )


if __name__ == "__main__":
    main()
