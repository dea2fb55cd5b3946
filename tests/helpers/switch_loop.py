"""A process that kills content switches: `python -m helpers.switch_loop ROOT SOURCE...`.

For each line `<delay seconds>` on stdin it forks a child that installs, activates and
prunes releases in the store at ROOT in a loop (as the relay child's staging and the
kiosk's switch do), kills it with SIGKILL after `delay`, and answers `killed`. This
process has a single thread, so forking it is safe, and each run costs a fork, not a
Python start.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from content.store import ContentStore


def switch_forever(root: Path, sources: list[Path]) -> None:
    store = ContentStore(root)
    turn = 0
    while True:
        for name in store.releases():  # the switch, to each release there is
            store.activate(name)
        store.prune(keep=2)  # the oldest goes (renamed aside, then deleted)
        store.install(sources[turn % len(sources)])  # copied again, renamed in, made current
        turn += 1


def main() -> None:
    root, sources = Path(sys.argv[1]), [Path(arg) for arg in sys.argv[2:]]
    for line in sys.stdin:
        pid = os.fork()
        if pid == 0:
            try:
                switch_forever(root, sources)
            finally:
                os._exit(1)
        time.sleep(float(line))
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        print("killed" if os.WIFSIGNALED(status) else f"exited {status}", flush=True)


if __name__ == "__main__":
    main()
