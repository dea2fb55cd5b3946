"""Cold start: process start -> first paint of the attract screen, 10,000-SKU catalog.

Measured from just before the process is spawned (this process's monotonic
clock) to the `paint` trace line of the attract view. The first run installs
the bundle into an empty data directory (hashes every file); the following
runs start the way a kiosk reboots, on the installed release. The sources are
byte-compiled first, as `pip install` does on a kiosk (a shell that sets
PYTHONDONTWRITEBYTECODE would otherwise compile them at every start).
Target: at most 1.0 s. Also printed: the CPU time the kiosk process used until that
paint (user + system, all its threads), which other load on the machine inflates
far less than the wall time.

    .venv/bin/python bench/cold_start.py [--runs 7] [--products 10000] [--enrolled]
    .venv/bin/python bench/cold_start.py --importtime [--products 10000]

--enrolled: the kiosk also starts its relay child and its store channel.
--importtime: one restart under `python -X importtime`: the imports that cost most
(cumulative, as imported by whom) and the sum of all.
"""

from __future__ import annotations

import argparse
import compileall
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import ROOT, TraceReader, channel_args, enrol, sample_bundle, summary


def one_start(
    bundle: Path, data_dir: Path, extra: list[str], python: tuple[str, ...] = ()
) -> tuple[float, float]:
    """Milliseconds from spawn to the attract screen's first paint, and CPU time until then."""
    trace_path = data_dir / "trace.jsonl"
    trace_path.unlink(missing_ok=True)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    started = time.monotonic()
    process = subprocess.Popen(
        [
            sys.executable,
            *python,
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
        stderr=(data_dir / "stderr.txt").open("wb") if python else subprocess.DEVNULL,
    )
    try:
        paint = TraceReader(trace_path).wait_for(
            lambda line: line["kind"] == "paint" and line["view"] == "attract", timeout=30
        )
        cpu = cpu_ms(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=10)
    return (paint["mono"] - started) * 1000, cpu


def cpu_ms(pid: int) -> float:
    """User + system time of process `pid` so far (all its threads), in ms."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def import_times(stderr: Path, shown: int = 15) -> None:
    """The imports that cost most, from `-X importtime` (microseconds, cumulative)."""
    rows = []
    for line in stderr.read_text().splitlines():
        found = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)", line)
        if found:
            rows.append((int(found[2]), len(found[3]) // 2, found[4], int(found[1])))
    own_ms = sum(row[3] for row in rows) / 1000
    print(f"{len(rows)} modules imported; sum of their own times {own_ms:.0f} ms")
    nested = [row for row in rows if row[1] <= 2]  # by the kiosk, and what those pulled in
    for cumulative, depth, name, _ in sorted(nested, reverse=True)[:shown]:
        print(f"  {cumulative / 1000:7.1f} ms  {'  ' * depth}{name}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--enrolled", action="store_true", help="with the store channel")
    parser.add_argument("--importtime", action="store_true", help="one start, its imports")
    args = parser.parse_args()
    extra = channel_args() if args.enrolled else []
    for package in ("kiosk", "content", "backend_client", "rewards", "devices"):
        compileall.compile_dir(ROOT / package, quiet=1)
    bundle = sample_bundle(args.products)
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-") as tmp:
        if args.enrolled:
            enrol(Path(tmp))
        first, _ = one_start(bundle, Path(tmp), extra)
        if args.importtime:
            took, cpu = one_start(bundle, Path(tmp), extra, ("-X", "importtime"))
            print(f"restart under -X importtime: {took:.0f} ms, {cpu:.0f} ms CPU")
            import_times(Path(tmp) / "stderr.txt")
            return
        again = [one_start(bundle, Path(tmp), extra) for _ in range(args.runs)]
    print(f"catalog: {args.products} products")
    print(f"first start (installs the bundle): {first:.0f} ms")
    print(summary("restart -> attract first paint", [took for took, _ in again]))
    print(summary("  CPU time of the kiosk until then", [cpu for _, cpu in again]))


if __name__ == "__main__":
    main()
