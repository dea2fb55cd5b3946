"""Every test runs headless and away from the real home directory.

Qt's platform is "offscreen" unless KIOSK_TEST_QT_PLATFORM says otherwise: tests/x11
needs a real X server ("xcb"), and tests/e2e/test_x11.py runs it under its own Xvfb.
"""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

_HOME = Path(tempfile.mkdtemp(prefix="kiosk-tests-home-"))
QT_PLATFORM = os.environ.get("KIOSK_TEST_QT_PLATFORM", "offscreen")
os.environ["QT_QPA_PLATFORM"] = QT_PLATFORM
# What only shows on a real window system (native windows re-created, X input).
collect_ignore = [] if QT_PLATFORM == "xcb" else ["x11"]
# As kiosk.app does before Qt starts: the on-screen keyboard is the input method.
os.environ["QT_IM_MODULE"] = "qtvirtualkeyboard"
os.environ["QT_VIRTUALKEYBOARD_DESKTOP_DISABLE"] = "1"
os.environ["HOME"] = str(_HOME)
for name, sub in (
    ("XDG_DATA_HOME", ".local/share"),
    ("XDG_CONFIG_HOME", ".config"),
    ("XDG_CACHE_HOME", ".cache"),
    ("XDG_RUNTIME_DIR", "run"),
):
    (_HOME / sub).mkdir(parents=True, exist_ok=True)
    os.environ[name] = str(_HOME / sub)
os.chmod(_HOME / "run", 0o700)  # Qt refuses a runtime dir others can read

# Hypothesis times each example (200 ms deadline) and its first inputs' generation (1 s
# "too_slow" health check): timing assertions that fail on a loaded 2-core machine, or on a
# clean checkout, where the first st.text() draw builds Hypothesis' Unicode table (~1 s)
# inside the drawing test's generation (kiosk/test_survey.py's flow test failed that way).
# Whether a property holds must depend on the examples alone; a failure prints the
# @reproduce_failure blob that replays it.
settings.register_profile(
    "kiosk", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile("kiosk")


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A loopback port that refuses connections throughout the test: bound but never
    listening, so no other process (another pytest-xdist worker) can take it meanwhile,
    as it could a port that was only probed and closed again."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


@pytest.fixture
def no_umask() -> Iterator[None]:
    """umask 0 for the test: files are private because the code makes them so."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)
