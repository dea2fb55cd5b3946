"""The real `kiosk` process, driven by the board simulator and watched through its trace."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.bundles import edit_json, sample_bundle
from helpers.pickup import running_board

from devices.sim.pickup import PickupBoardSim

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def start_kiosk(bundle: Path, data: Path, port: str | None = None) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "kiosk.app", "--content", str(bundle), "--data-dir", str(data)]
    args += ["--trace", str(data / "trace.jsonl")]
    if port:
        args += ["--pickup-port", port]
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.Popen(args, cwd=ROOT, env=env, stderr=subprocess.PIPE)


def wait_for_trace(
    data: Path, match: Callable[[dict[str, Any]], bool], timeout: float = 20
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        path = data / "trace.jsonl"
        if path.exists():
            for line in path.read_text().splitlines():
                entry = json.loads(line)
                if match(entry):
                    return entry
        time.sleep(0.05)
    raise AssertionError("the kiosk never wrote the expected trace line")


def stop(process: subprocess.Popen[bytes]) -> str:
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=15)
    assert process.returncode == 0, err.decode(errors="replace")
    return err.decode(errors="replace")


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    return sample_bundle(tmp_path / "bundle")


@pytest.fixture
def board(tmp_path: Path) -> Iterator[PickupBoardSim]:
    with running_board(tmp_path) as sim:
        yield sim


def test_lift_in_a_real_process_paints_the_product_and_stops_cleanly(
    tmp_path: Path, bundle: Path, board: PickupBoardSim
) -> None:
    data = tmp_path / "data"
    process = start_kiosk(bundle, data, board.port)
    try:
        wait_for_trace(data, lambda e: e["kind"] == "paint" and e["view"] == "attract")
        board.wait_for(lambda m: type(m).__name__ == "StateQuery", timeout=10)
        board.lift(2)
        paint = wait_for_trace(data, lambda e: e["kind"] == "paint" and e["view"] != "attract")
        assert paint["view"].startswith("product:")
    finally:
        log = stop(process)
    assert "Traceback" not in log
    assert (data / "outbox.sqlite3").exists()


def test_a_bad_bundle_is_refused_and_the_last_good_one_keeps_serving(
    tmp_path: Path, bundle: Path
) -> None:
    data = tmp_path / "data"
    first = start_kiosk(bundle, data)
    wait_for_trace(data, lambda e: e["kind"] == "content" and e["status"] == "installed")
    stop(first)

    bad = sample_bundle(tmp_path / "bad", release="broken-1")
    edit_json(bad, "catalog.json", lambda doc: doc["products"][3]["price"].update(amount="-5"))
    (data / "trace.jsonl").unlink()
    second = start_kiosk(bad, data)
    try:
        refused = wait_for_trace(data, lambda e: e["kind"] == "content")
        assert refused["status"] == "refused"
        current = wait_for_trace(data, lambda e: e.get("status") == "current")
        assert current["release"] != "broken-1"
        wait_for_trace(data, lambda e: e["kind"] == "paint" and e["view"] == "attract")
    finally:
        log = stop(second)
    assert "catalog.json: products[3].price.amount" in log
