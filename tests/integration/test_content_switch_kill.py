"""kill -9 at random points of the switch, 100 times: the next start always finds a
complete release, old or new, and loads it.

A child process stages releases (hard links), activates them and prunes in a loop, as
the relay child's updater and the kiosk's switch do (tests/helpers/switch_loop.py); it
is killed with SIGKILL after a random delay: mid-link, mid-rename, mid-link-swap or
mid-prune. After each kill a fresh ContentStore does what the kiosk's next start does
(count the start, choose the release) and must load a release whose every file
matches its manifest.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers.bundles import sample_bundle

from content.bundle import load_bundle
from content.store import ContentStore

pytestmark = pytest.mark.slow

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
RUNS = 100
KILL_WITHIN_S = 0.3  # two turns or so of the child's loop (a stage is ~100 ms of one)
TESTS = Path(__file__).resolve().parents[1]


def test_kill_9_during_switches_always_leaves_a_complete_release(tmp_path: Path) -> None:
    base = sample_bundle(tmp_path / "base", products=2)  # small: many turns per second
    root = tmp_path / "content"
    ContentStore(root).install(base)  # the release the kiosk shipped with
    chance = random.Random(16)
    shown: set[str] = set()
    loop = subprocess.Popen(
        [sys.executable, "-m", "helpers.switch_loop", str(root), str(base)],
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
            store.note_start(NOW)
            bundle = store.choose().bundle
            assert bundle is not None, f"run {run}: nothing to show"
            assert bundle.root == root / "releases" / bundle.release
            load_bundle(bundle.root, verify_hashes=True)  # every byte as the manifest says
            shown.add(bundle.release)
    finally:
        loop.stdin.close()
        loop.wait(timeout=30)
        loop.stdout.close()

    assert len(shown) > 5  # the kills landed at different points of the loop
