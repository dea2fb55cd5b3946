"""The real kiosk process supervised with deploy/kiosk.service's own settings (restart,
watchdog), and the times its attract screen was painted: for the crash-restart proof
(tests/e2e/test_appliance_restart.py) and its benchmark (bench/crash_restart.py)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from helpers.kiosk_process import ROOT
from helpers.pickup import wait_until
from helpers.supervisor import Run, ServiceSettings, Supervisor

UNIT = ROOT / "deploy" / "kiosk.service"


def kiosk_command(bundle: Path, data: Path, port: str | None) -> list[str]:
    """The unit's ExecStart without the compositor, offscreen and traced."""
    command = [sys.executable, "-m", "kiosk.app", "--content", str(bundle)]
    command += ["--data-dir", str(data), "--trace", str(data / "trace.jsonl")]
    if port:
        command += ["--pickup-port", port]
    return command


@contextmanager
def supervised_kiosk(bundle: Path, data: Path, port: str | None = None) -> Iterator[Supervisor]:
    data.mkdir(parents=True, exist_ok=True)
    supervisor = Supervisor(
        ServiceSettings.from_unit(UNIT),
        kiosk_command(bundle, data, port),
        env=dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONUNBUFFERED="1"),
        cwd=ROOT,
        log=data / "journal.log",
    )
    supervisor.start()
    try:
        yield supervisor
    finally:
        supervisor.stop()


def attract_painted(data: Path, run: Run, timeout: float = 60) -> float:
    """When (time.monotonic()) the kiosk started as `run` first painted its attract screen."""

    def painted() -> float | None:
        ours = False
        for line in (data / "trace.jsonl").read_text().splitlines():
            entry = json.loads(line)
            if entry["kind"] == "start":
                ours = entry.get("pid") == run.pid
            elif ours and entry["kind"] == "paint" and entry["view"] == "attract":
                return float(entry["mono"])
        return None

    at = wait_until(painted, timeout, f"the attract screen painted by pid {run.pid}")
    assert at is not None
    return at
