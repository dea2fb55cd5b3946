"""Cold start: process start -> first paint of the attract screen, 10,000-SKU catalog.

Measured from just before the process is spawned (this process's monotonic
clock) to the `paint` trace line of the attract view. The first run installs
the bundle into an empty data directory (hashes every file); the following
runs start the way a kiosk reboots, on the installed release. The sources are
byte-compiled first, as `pip install` does on a kiosk (a shell that sets
PYTHONDONTWRITEBYTECODE would otherwise compile them at every start).
Target: at most 1.5 s.

    .venv/bin/python bench/cold_start.py [--runs 7] [--products 10000] [--enrolled]

--enrolled: the kiosk also starts its relay child and its store channel.
"""

from __future__ import annotations

import argparse
import compileall
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import ROOT, TraceReader, channel_args, enrol, sample_bundle, summary


def one_start(bundle: Path, data_dir: Path, extra: list[str]) -> float:
    trace_path = data_dir / "trace.jsonl"
    trace_path.unlink(missing_ok=True)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    started = time.monotonic()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kiosk.app",
            "--content",
            str(bundle),
            "--data-dir",
            str(data_dir),
            "--trace",
            str(trace_path),
            *extra,
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        paint = TraceReader(trace_path).wait_for(
            lambda line: line["kind"] == "paint" and line["view"] == "attract", timeout=30
        )
    finally:
        process.terminate()
        process.wait(timeout=10)
    return (paint["mono"] - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--enrolled", action="store_true", help="with the store channel")
    args = parser.parse_args()
    extra = channel_args() if args.enrolled else []
    for package in ("kiosk", "content", "backend_client", "rewards", "devices"):
        compileall.compile_dir(ROOT / package, quiet=1)
    bundle = sample_bundle(args.products)
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-") as tmp:
        if args.enrolled:
            enrol(Path(tmp))
        first = one_start(bundle, Path(tmp), extra)
        again = [one_start(bundle, Path(tmp), extra) for _ in range(args.runs)]
    print(f"catalog: {args.products} products")
    print(f"first start (installs the bundle): {first:.0f} ms")
    print(summary("restart -> attract first paint", again))


if __name__ == "__main__":
    main()
