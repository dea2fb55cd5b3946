"""Memory: RSS of the kiosk over 1,000 lift/drop cycles.

Each cycle lifts a phone, waits for its screen's first paint, and puts it back.
Target: at most 160 MB after 1,000 cycles and no growth over the last 500.
At the end it prints where the resident megabytes are, from /proc/PID/smaps, and the
resident size of each child process (the relay child writes the outbox).

    .venv/bin/python bench/memory.py [--cycles 1000] [--enrolled]

--enrolled: with the relay child and the store channel (writer thread, server child).
"""

from __future__ import annotations

import argparse
import re
import time
from collections import Counter
from pathlib import Path

from harness import channel_args, enrol, running_kiosk, sample_bundle

from content.bundle import load_bundle

MB = 1024 * 1024


# What a mapping's file name says it is, first match wins.
_KINDS = (
    ("Qt libraries and plugins", re.compile(r"libQt6|/plugins/|Qt.*\.abi3\.so|shiboken|pyside")),
    ("fonts", re.compile(r"\.(ttf|ttc|otf)$")),
    ("Python and its extensions", re.compile(r"python|\.cpython-|\.abi3\.so|site-packages")),
    ("other shared libraries", re.compile(r"\.so")),
)


def resident_by_kind(pid: int) -> Counter[str]:
    """Resident kB of the process by what the memory holds."""
    kinds: Counter[str] = Counter()
    kind = "other"
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        fields = line.split()
        if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
            name = fields[5] if len(fields) > 5 else ""
            if name == "[heap]":
                kind = "malloc heap (Python objects, Qt widgets, small blocks)"
            elif not name:
                # mallopt's threshold puts every block over 128 kB in a mapping of its own:
                # decoded pictures, the window's backing store, Python's arenas.
                kind = "anonymous mappings (pictures, backing store, arenas, stacks)"
            else:
                kind = next((k for k, pattern in _KINDS if pattern.search(name)), "other files")
        elif fields[0] == "Rss:":
            kinds[kind] += int(fields[1])
    return kinds


def children_rss(pid: int) -> list[tuple[str, int]]:
    """Each child process of `pid`: its command's module and resident kB."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            status = Path(f"/proc/{child}/status").read_text()
            rss = next(
                int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")
            )
            argv = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
            name = argv[2].decode() if len(argv) > 2 and argv[1] == b"-m" else argv[0].decode()
            found.append((name, rss))
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cycles", type=int, default=1000)
    parser.add_argument("--enrolled", action="store_true", help="with the store channel")
    args = parser.parse_args()
    prepare, extra = (enrol, channel_args()) if args.enrolled else (None, [])
    bundle_dir = sample_bundle(16)
    slots = [(a.slot, a.sku) for a in load_bundle(bundle_dir).planogram.slots]
    samples: dict[int, int] = {}
    with running_kiosk(bundle_dir, ["--drop-grace", "0.05", *extra], prepare) as kiosk:
        samples[0] = kiosk.rss_bytes()
        for cycle in range(1, args.cycles + 1):
            slot, sku = slots[cycle % len(slots)]
            kiosk.lift(slot, sku)
            time.sleep(0.2)  # held long enough to be a real pick, not a bounce
            kiosk.drop(slot)
            kiosk.trace.wait_for(lambda line: line["kind"] == "paint" and line["view"] == "attract")
            if cycle % 100 == 0:
                samples[cycle] = kiosk.rss_bytes()
        kinds = resident_by_kind(kiosk.process.pid)
        children = children_rss(kiosk.process.pid)
    half = args.cycles // 2
    print("RSS by cycle: " + ", ".join(f"{c}: {b / MB:.0f} MB" for c, b in samples.items()))
    end = samples[max(samples)]
    growth = end - samples.get(half, samples[0])
    print(
        f"after {args.cycles} cycles: {end / MB:.1f} MB; "
        f"growth over the last {args.cycles - half}: {growth / MB:+.1f} MB"
    )
    print("where it is:")
    for kind, kb in kinds.most_common():
        print(f"  {kb / 1024:6.1f} MB  {kind}")
    # The relay child writes the outbox for the screen's process (backend_client/data_link.py):
    # what moved there is counted, not hidden.
    for name, kb in children:
        print(f"child process {name}: {kb / 1024:.1f} MB")


if __name__ == "__main__":
    main()
