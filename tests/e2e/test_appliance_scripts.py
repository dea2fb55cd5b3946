"""deploy/'s shell scripts pass shellcheck, and install.sh refuses what it cannot do before
it changes anything (what it does is ./run deploy-test's: test_appliance_install.py)."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from helpers.kiosk_process import ROOT

DEPLOY = ROOT / "deploy"
SCRIPTS = [
    DEPLOY / "install.sh",
    DEPLOY / "kiosk-udev-rules",
    DEPLOY / "kiosk-xsession",
    ROOT / "tests/data/appliance/kiosk-check.sh",
]


@pytest.mark.skipif(not shutil.which("shellcheck"), reason="needs shellcheck (Debian's)")
def test_deploy_scripts_pass_shellcheck() -> None:
    result = subprocess.run(
        ["shellcheck", *map(str, SCRIPTS)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize(
    ("options", "error"),
    [
        (["--session", "wayland"], "--session is cage or x11, not 'wayland'"),
        (["--devices", "/nonexistent/devices.conf"], "cannot read the devices file"),
        (["--kiosk-args", "--ble 'x'"], "--kiosk-args cannot hold quotes"),
        (["--reboot"], "unknown option --reboot"),
    ],
)
def test_install_refuses_bad_options_before_touching_the_machine(
    options: list[str], error: str
) -> None:
    result = subprocess.run(
        [DEPLOY / "install.sh", *options], capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    assert error in result.stderr
    assert result.stdout == ""  # not one step begun
