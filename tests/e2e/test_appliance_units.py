"""Every systemd unit under deploy/ (and the X11 drop-in) passes `systemd-analyze verify`.

The units sit in a throwaway root beside a copy of this machine's system units (what they
order themselves after); the programs they start are stand-in executables there, because
what is checked here is the units themselves: that the programs are installed is the
install script's to prove (tests/e2e/test_appliance_install.py verifies the installed
units again with the real programs)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers.kiosk_process import ROOT
from helpers.supervisor import ServiceSettings, unit_settings

DEPLOY = ROOT / "deploy"
SYSTEM_UNITS = Path("/usr/lib/systemd/system")
UNIT_SUFFIXES = (".service", ".timer", ".socket", ".path", ".target", ".mount")
DROP_INS = {DEPLOY / "kiosk-x11.conf": "kiosk.service.d/x11.conf"}
_EXEC = re.compile(r"^Exec\w*=[-@:+!]*(/\S+)", re.MULTILINE)

pytestmark = pytest.mark.skipif(
    not shutil.which("systemd-analyze") or not SYSTEM_UNITS.is_dir(),
    reason="needs systemd-analyze and the system's units (Debian's systemd)",
)


def deploy_units() -> list[Path]:
    return sorted(p for p in DEPLOY.rglob("*") if p.suffix in UNIT_SUFFIXES and p.is_file())


def verify(root: Path, units: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["systemd-analyze", "verify", "--man=no", f"--root={root}", *units],
        capture_output=True,
        text=True,
        check=False,
    )


def unit_root(tmp_path: Path, files: dict[Path, str]) -> Path:
    """A root with the system's units, `files` under /etc/systemd/system and stand-ins for
    every program their Exec lines start."""
    root = tmp_path / "root"
    shutil.copytree(SYSTEM_UNITS, root / "usr/lib/systemd/system", symlinks=True)
    etc = root / "etc/systemd/system"
    for source, name in files.items():
        (etc / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, etc / name)
        for program in _EXEC.findall(source.read_text()):
            stand_in = root / program.lstrip("/")
            stand_in.parent.mkdir(parents=True, exist_ok=True)
            stand_in.write_text("#!/bin/sh\n")
            stand_in.chmod(0o755)
    return root


def test_every_unit_in_deploy_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    units = deploy_units()
    assert {u.name for u in units} >= {"kiosk.service", "kiosk-hq.service"}
    files = {unit: unit.name for unit in units} | DROP_INS
    result = verify(unit_root(tmp_path, files), [u.name for u in units])
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # not even a warning


def test_verify_catches_a_broken_unit(tmp_path: Path) -> None:
    """The check above can fail: a misspelt setting in a copy of kiosk.service."""
    broken = tmp_path / "kiosk.service"
    broken.write_text(
        (DEPLOY / "kiosk.service").read_text().replace("WatchdogSec=", "WatchdogSecs=")
    )
    result = verify(unit_root(tmp_path, {broken: "kiosk.service"}), ["kiosk.service"])
    assert (
        "Unknown key 'WatchdogSecs'" in result.stderr
    )  # a warning: rc 0, hence stderr == "" above


def test_kiosk_service_restarts_a_crash_or_a_freeze_in_under_5_s_of_its_own_time() -> None:
    """The unit's own share of the 5 s budget (the kiosk's start is the rest, measured by
    bench/crash_restart.py): restarted always, soon, and killed soon when frozen."""
    settings = ServiceSettings.from_unit(DEPLOY / "kiosk.service")
    service = unit_settings(DEPLOY / "kiosk.service")
    assert settings.restart == "always"
    assert service["NotifyAccess"] == "all"  # the kiosk is cage's child, not its main process
    assert settings.watchdog_sec + settings.restart_sec <= 2.5
    assert service["LimitCORE"] == "0"  # no core file holds a restart back
    assert unit_settings(DEPLOY / "kiosk.service", "Unit")["StartLimitIntervalSec"] == "0"
