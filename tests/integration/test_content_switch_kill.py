"""kill -9 at random points of the switch, 100 times: the next start always finds a
complete release, old or new, and loads it.

A child process installs, activates and prunes releases in a loop, as the relay
child's staging and the kiosk's switch do (tests/helpers/switch_loop.py); it is killed
with SIGKILL after a random delay: mid-copy, mid-rename, mid-link-swap or mid-prune.
After each kill a fresh ContentStore, as at the kiosk's next start, must load a
release whose every file matches its manifest.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.bundles import sample_bundle

from content.bundle import load_bundle
from content.store import ContentStore

pytestmark = pytest.mark.slow

RUNS = 100
RELEASES = ("r1", "r2", "r3")
KILL_WITHIN_S = 0.2  # about three turns of the child's loop (a copy is ~70 ms of one)
TESTS = Path(__file__).resolve().parents[1]


def test_kill_9_during_switches_always_leaves_a_complete_release(tmp_path: Path) -> None:
    sources = [sample_bundle(tmp_path / "src" / name, release=name) for name in RELEASES]
    root = tmp_path / "content"
    for source in sources:
        ContentStore(root).install(source)
    chance = random.Random(16)
    shown: set[str] = set()
    loop = subprocess.Popen(
        [sys.executable, "-m", "helpers.switch_loop", str(root), *map(str, sources)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), str(TESTS.parent)])},
    )
    assert loop.stdin is not None
    assert loop.stdout is not None
    try:
        for run in range(RUNS):
            loop.stdin.write(f"{chance.uniform(0, KILL_WITHIN_S)}\n")
            loop.stdin.flush()
            assert loop.stdout.readline() == "killed\n", "the switch loop stopped on its own"

            store = ContentStore(root)  # the next start
            bundle = store.current()
            assert bundle is not None, f"run {run}: nothing to show"
            assert bundle.release in RELEASES
            assert bundle.root == root / "releases" / bundle.release
            load_bundle(bundle.root, verify_hashes=True)  # every byte as the manifest says
            shown.add(bundle.release)
    finally:
        loop.stdin.close()
        loop.wait(timeout=30)
        loop.stdout.close()

    assert len(shown) > 1  # the kills landed at different points of the loop
