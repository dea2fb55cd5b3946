"""tests/x11 under a real X server: its own Xvfb, and pytest in a process of its own.

Qt picks its platform once per process, and the rest of the suite runs offscreen; what
only a real window system shows (a native window re-created, X input) runs here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def display() -> Iterator[str]:
    """A fresh Xvfb at the kiosk's screen size, without a window manager (as in a store)."""
    for tool in ("Xvfb", "xdotool"):
        assert shutil.which(tool), f"{tool} is missing: ./run installs it (see SYSTEM_PACKAGES)"
    read, write = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1920x1080x24", "-nolisten", "tcp"],
        pass_fds=(write,),
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    try:
        with os.fdopen(read) as numbers:
            number = numbers.readline().strip()  # written once the server accepts clients
        assert number, "Xvfb did not start"
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_the_x11_tests_pass_on_a_real_x_server(display: str, tmp_path: Path) -> None:
    env = dict(os.environ, DISPLAY=display, KIOSK_TEST_QT_PLATFORM="xcb")
    env.pop("WAYLAND_DISPLAY", None)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/x11",
            "-p",
            "no:cacheprovider",
            "-q",
            "--basetemp",
            str(tmp_path / "x11"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]
    assert " passed" in run.stdout, run.stdout[-2000:]
    assert "skipped" not in run.stdout, run.stdout[-2000:]
