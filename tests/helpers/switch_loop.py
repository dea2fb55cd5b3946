"""A process that kills content switches: `python -m helpers.switch_loop ROOT BASE`.

For each line `<delay seconds>` on stdin it forks a child that, in a loop, stages the
next release from HQ into the store at ROOT (hard links to a copy of the bundle BASE
named `hq-<N>`, as the relay child's updater does), activates it (the kiosk's switch),
activates the one before it again now and then, and prunes; it kills the child with
SIGKILL after `delay` and answers `killed`. This process has a single thread, so
forking it is safe, and each run costs a fork, not a Python start.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path

from content.store import ContentStore


def source_of(base: Path, out: Path, name: str) -> Path:
    """`base` as release `name`: hard links to its files, a manifest of its own."""
    shutil.rmtree(out, ignore_errors=True)  # left by a child killed while making it
    for path in base.rglob("*"):
        target = out / path.relative_to(base)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif path.name != "manifest.json":
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(path, target)
    manifest = json.loads((base / "manifest.json").read_text())
    manifest["release"] = name
    (out / "manifest.json").write_text(json.dumps(manifest))
    return out


def switch_forever(root: Path, base: Path) -> None:
    store = ContentStore(root)
    number = store.highest_number()
    while True:
        number += 1
        name = f"hq-{number}"
        source = source_of(base, root.parent / "incoming", name)
        store.stage(source, number=number, not_before=None)  # linked, verified, renamed in
        store.activate(name)  # the switch
        if number % 3 == 0:
            # (The test's starts may have given some up after kills: those stay down.)
            shown = [r for r in store.releases() if r != name and not store.is_refused(r)]
            if shown:
                store.activate(shown[-1])  # and back, now and then
        store.prune(keep=2)  # the oldest go (renamed aside, then deleted)


def main() -> None:
    root, base = Path(sys.argv[1]), Path(sys.argv[2])
    for line in sys.stdin:
        pid = os.fork()
        if pid == 0:
            try:
                switch_forever(root, base)
            finally:
                os._exit(1)
        time.sleep(float(line))
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        print("killed" if os.WIFSIGNALED(status) else f"exited {status}", flush=True)


if __name__ == "__main__":
    main()
