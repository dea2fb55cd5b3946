"""The real kiosk process, enrolled with `kiosk enroll`, reports what shoppers do to HQ."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.bundles import sample_bundle
from helpers.hq_process import HqProcess
from helpers.pickup import running_board, wait_until

from devices.sim.pickup import PickupBoardSim

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
KIOSK = Path(sys.executable).parent / "kiosk"


@pytest.fixture
def hq(tmp_path: Path) -> Iterator[HqProcess]:
    process = HqProcess(tmp_path / "hq")
    process.start()
    yield process
    process.stop()


@pytest.fixture
def board(tmp_path: Path) -> Iterator[PickupBoardSim]:
    with running_board(tmp_path) as sim:
        yield sim


def kiosk_enroll(hq: HqProcess, data: Path, code: str) -> subprocess.CompletedProcess[str]:
    args = [str(KIOSK), "enroll", "--hq", hq.base_url, "--code", code, "--data-dir", str(data)]
    return subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)


def trace_lines(data: Path) -> list[dict[str, Any]]:
    path = data / "trace.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_enrolled_kiosk_sends_a_shoppers_lift_to_hq(
    tmp_path: Path, hq: HqProcess, board: PickupBoardSim
) -> None:
    data = tmp_path / "kiosk"
    code = hq.enroll_code("store-a")
    enrolled = kiosk_enroll(hq, data, code)
    assert enrolled.returncode == 0, enrolled.stderr
    credentials = json.loads((data / "hq.json").read_text())
    assert credentials["token"] not in enrolled.stdout + enrolled.stderr
    # What the kiosk signs its coupon codes and phone sign-up links with.
    assert isinstance(credentials["kiosk_no"], int)
    assert len(base64.b64decode(credentials["coupon_key"])) == 32
    assert credentials["coupon_key"] not in enrolled.stdout + enrolled.stderr
    assert stat.S_IMODE((data / "hq.json").stat().st_mode) == 0o600
    # The code was for one kiosk only.
    again = kiosk_enroll(hq, tmp_path / "other", code)
    assert again.returncode == 1
    assert "Traceback" not in again.stderr

    args = [sys.executable, "-m", "kiosk.app", "--content", str(sample_bundle(tmp_path / "b"))]
    args += ["--data-dir", str(data), "--trace", str(data / "trace.jsonl")]
    args += ["--pickup-port", board.port]
    args += ["--channel-host", "127.0.0.1", "--channel-port", "0"]  # its store channel
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    kiosk = subprocess.Popen(args, cwd=ROOT, env=env, stderr=subprocess.PIPE)
    try:
        board.wait_for(lambda m: type(m).__name__ == "StateQuery", timeout=15)

        def at_hq_with(*kinds: str) -> dict[str, Any] | None:
            kiosks = json.loads(hq.cli("stats", "--json"))["kiosks"]
            if kiosks and set(kinds) <= kiosks[0]["events"].keys():
                return kiosks[0]
            return None

        board.lift(2)
        wait_until(lambda: at_hq_with("lift"), timeout=20, what="the lift at HQ")
        board.drop(2)
        at_hq = wait_until(lambda: at_hq_with("lift", "drop"), timeout=20, what="the drop")
        assert at_hq["kiosk_id"] == credentials["kiosk_id"]
        assert at_hq["events"]["lift"] == at_hq["events"]["drop"] == 1
        assert at_hq["gaps"] == []
        wait_until(
            lambda: any(
                e["kind"] == "sync" and e.get("state") == "idle" and e.get("sent", 0) >= 2
                for e in trace_lines(data)
            ),
            timeout=20,
            what="an idle sync line in the trace",
        )
        # Enrolment gave it the store key: it serves the store channel for attendants.
        wait_until(
            lambda: any(
                e["kind"] == "channel" and e.get("state") == "serving" for e in trace_lines(data)
            ),
            timeout=20,
            what="the store channel serving",
        )
    finally:
        kiosk.terminate()
        _, err = kiosk.communicate(timeout=15)
    log = err.decode(errors="replace")
    assert kiosk.returncode == 0, log
    assert "Traceback" not in log
    assert credentials["token"] not in log
