"""The kiosk on real screens: tests/x11 under its own Xvfb, in a pytest process of its own,
and the kiosk process covering a bare X screen (no window manager, as in a store) of
each shape, and choosing among several screens.

Qt picks its platform once per process, and the rest of the suite runs offscreen; what
only a real window system shows (a native window re-created, X input, the window's
place on the screen) runs here.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from helpers.bundles import sample_bundle
from helpers.kiosk_process import stop, wait_for_trace

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def bare_xvfb(size: str) -> Iterator[str]:
    """A fresh Xvfb of `size` ("1920x1080"), without a window manager (as in a store)."""
    for tool in ("Xvfb", "xdotool", "xwininfo"):
        assert shutil.which(tool), f"{tool} is missing: ./run installs it (see SYSTEM_PACKAGES)"
    read, write = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", f"{size}x24", "-nolisten", "tcp"],
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


@pytest.fixture
def display() -> Iterator[str]:
    """A bare Xvfb at the kiosk's screen size."""
    with bare_xvfb("1920x1080") as name:
        yield name


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sample_bundle(tmp_path_factory.mktemp("content") / "bundle")


def kiosk_windows(display: str) -> list[tuple[str, str]]:
    """The kiosk's mapped top-level windows on `display`: (geometry "WxH+X+Y", map state)."""
    tree = subprocess.run(
        ["xwininfo", "-root", "-children", "-display", display],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = []
    for window_id in re.findall(r"^\s+(0x[0-9a-f]+) \"kiosk\"", tree, re.MULTILINE):
        info = subprocess.run(
            ["xwininfo", "-id", window_id, "-display", display],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        fields = dict(re.findall(r"^\s+([A-Z][\w -]+):\s+(\S+)", info, re.MULTILINE))
        if fields.get("Map State") == "IsViewable":
            x, y = fields["Absolute upper-left X"], fields["Absolute upper-left Y"]
            found.append((f"{fields['Width']}x{fields['Height']}+{x}+{y}", fields["Map State"]))
    return found


@pytest.mark.parametrize(
    ("size", "ratio", "guess"),
    [
        ("1920x1080", 1, None),
        ("1080x1920", 1, None),
        ("3840x2160", 2, None),
        ("3840x2160", 2, "1"),  # a wrong early guess: corrected by one restart
    ],
    ids=["landscape", "portrait", "4k", "4k-wrong-guess"],
)
def test_the_kiosk_covers_a_bare_x_screen_exactly(
    size: str, ratio: int, guess: str | None, bundle: Path, tmp_path: Path
) -> None:
    """No window manager: the window is the screen's size at 0,0, frameless, and the log
    says which screen (and, at 4K, that the layout shows at device pixel ratio 2)."""
    with bare_xvfb(size) as display:
        data = tmp_path / "data"
        env = dict(os.environ, DISPLAY=display)
        for name in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY", "QT_SCALE_FACTOR"):
            env.pop(name, None)
        if guess is not None:
            env.update(QT_SCALE_FACTOR=guess, KIOSK_SCREEN_HINTED="1")
        args = [sys.executable, "-m", "kiosk.app", "--content", str(bundle)]
        args += ["--data-dir", str(data), "--trace", str(data / "trace.jsonl"), "--no-channel"]
        kiosk = subprocess.Popen(args, cwd=ROOT, env=env, stderr=subprocess.PIPE)
        try:
            wait_for_trace(data, lambda e: e["kind"] == "paint", timeout=60)
            windows = kiosk_windows(display)
        finally:
            log = stop(kiosk)
    assert windows == [(f"{size}+0+0", "IsViewable")], windows
    width, height = (int(n) // ratio for n in size.split("x"))
    assert f"screen 'screen' (1 of 1): {width}x{height} at 0,0, device pixel ratio {ratio}" in log
    if guess is None:  # the X screen's size was known before Qt started
        assert "starting again" not in log
    else:
        assert log.count("starting again with QT_SCREEN_SCALE_FACTORS=screen=2") == 1


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


@pytest.mark.parametrize(
    ("wanted", "line"),
    [
        ("DP-2", r"screen 'DP-2' \([12] of 2\): 1920x1080 at 1920,0"),
        ("VGA-9", r"no screen named 'VGA-9' \(there are: [\w-]+, [\w-]+\): using the primary"),
    ],
    ids=["named", "unknown"],
)
def test_the_kiosk_uses_the_screen_named_on_its_command_line(
    wanted: str, line: str, bundle: Path, tmp_path: Path
) -> None:
    """Two screens (Qt's offscreen platform, configured): `--screen NAME` picks one and the
    log says which; a name that is not there is logged with the names that are."""
    screens = [
        {"name": "HDMI-1", "x": 0, "y": 0, "width": 1920, "height": 1080},
        {"name": "DP-2", "x": 1920, "y": 0, "width": 1920, "height": 1080},
    ]
    config = tmp_path / "screens.json"
    config.write_text(json.dumps({"screens": [{**s, "logicalDpi": 96} for s in screens]}))
    data = tmp_path / "data"
    env = dict(os.environ, QT_QPA_PLATFORM=f"offscreen:configfile={config}")
    args = [sys.executable, "-m", "kiosk.app", "--content", str(bundle), "--screen", wanted]
    args += ["--data-dir", str(data), "--trace", str(data / "trace.jsonl"), "--no-channel"]
    kiosk = subprocess.Popen(args, cwd=ROOT, env=env, stderr=subprocess.PIPE)
    try:
        wait_for_trace(data, lambda e: e["kind"] == "paint", timeout=60)
    finally:
        log = stop(kiosk)
    assert re.search(line, log), log
