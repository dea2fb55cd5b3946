"""The real `kiosk` process for end-to-end tests, watched through its `--trace` file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def start_kiosk(
    bundle: Path | None, data: Path, port: str | None = None, extra: Sequence[str] = ()
) -> subprocess.Popen[bytes]:
    """The kiosk process; `bundle` None: it shows what its content store holds."""
    args = [sys.executable, "-m", "kiosk.app", "--data-dir", str(data), *extra]
    if bundle is not None:
        args += ["--content", str(bundle)]
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
