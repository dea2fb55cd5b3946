"""deploy/install.sh makes a clean Debian 12 a kiosk appliance, twice with the same result,
and the installed kiosk.service keeps the kiosk on its attract screen under real systemd.

Opt-in and slow (`./run deploy-test`, as root): a minimal Debian 12 root is made with
mmdebstrap (cached in var/deploy-test/ after the first run), the checkout is copied in,
install.sh runs in it as root (a chroot in a private mount namespace: nothing of this
machine is touched), twice. Then the root is booted with systemd-nspawn, systemd as its
PID 1: the boot starts kiosk.service as on a kiosk, the kiosk in cage (an X client of its
Xwayland; cage on wlroots' headless backend, as a container has no tty1, seat nor GPU:
tests/data/appliance/kiosk-headless.conf), and tests/data/appliance/kiosk-check.sh crashes
the kiosk with SIGSEGV and freezes it with SIGSTOP; systemd must bring it back each time.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers.kiosk_process import ROOT

CACHE = ROOT / "var" / "deploy-test"
BASE = CACHE / "bookworm-minbase.tar"
CHECK = ROOT / "tests" / "data" / "appliance"
SOURCE = "/usr/src/kiosk"  # the checkout, inside the root
# systemd as the root's PID 1; no machined or host systemd here to register with.
NSPAWN = ("systemd-nspawn", "--quiet", "--register=no", "--keep-unit", "--boot", "--console=pipe")
# The settings the installed files must show, and the files the second run must not change.
WRITTEN = (
    "etc/kiosk",
    "etc/systemd/system",
    "etc/udev/rules.d",
    "etc/pam.d/kiosk",
    "etc/dbus-1/system.d/kiosk-bluez.conf",
    "etc/systemd/logind.conf.d",
    "etc/sysctl.d/90-kiosk.conf",
    "etc/passwd",
    "etc/group",
    "opt/kiosk/bin",
    "opt/kiosk/share",
    "var/lib/kiosk/bundle/manifest.json",
)
# What a TLS-intercepting proxy in front of this machine needs the root's pip to trust.
PASSED_ON = ("PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "http_proxy", "https_proxy")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("KIOSK_DEPLOY_TEST") != "1",
        reason="opt-in, about 4 min (8 the first time): ./run deploy-test",
    ),
]


def in_root(root: Path, *command: str, timeout: float = 1200) -> subprocess.CompletedProcess[str]:
    """`command` as root in `root`, with /proc, /sys, /dev and a fresh /run mounted in a
    private mount namespace (they go with it)."""
    script = """
        set -e
        root=$1; shift
        mount --make-rprivate /
        mount -t proc proc "$root/proc"
        mount --rbind /sys "$root/sys"
        mount --rbind /dev "$root/dev"
        mount -t tmpfs tmpfs "$root/run"
        mkdir -p "$root/root/.cache/pip"
        mount --bind "$PIP_CACHE" "$root/root/.cache/pip"
        cp /etc/resolv.conf "$root/etc/resolv.conf"
        exec chroot "$root" "$@"
    """
    (CACHE / "pip").mkdir(parents=True, exist_ok=True)
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "LANG": "C.UTF-8"}
    env |= {name: os.environ[name] for name in PASSED_ON if name in os.environ}
    env["PIP_CACHE"] = str(CACHE / "pip")
    return subprocess.run(
        ["unshare", "--mount", "--pid", "--fork", "sh", "-c", script, "sh", str(root), *command],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


def fresh_debian(root: Path) -> Path:
    if not BASE.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        made = subprocess.run(
            ["mmdebstrap", "--variant=minbase", "--include=ca-certificates", "bookworm", BASE],
            capture_output=True,
            text=True,
            check=False,
        )
        assert made.returncode == 0, made.stderr[-3000:]
    root.mkdir()
    subprocess.run(["tar", "-C", root, "-xf", BASE], check=True)
    extra_cas = sorted(Path("/usr/local/share/ca-certificates").glob("*.crt"))
    if extra_cas:  # this machine reaches PyPI through a proxy that signs with its own CA
        for ca in extra_cas:
            shutil.copy(ca, root / "usr/local/share/ca-certificates" / ca.name)
        assert in_root(root, "update-ca-certificates").returncode == 0
    return root


def copy_checkout(target: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def install(root: Path, *options: str) -> subprocess.CompletedProcess[str]:
    result = in_root(root, f"{SOURCE}/deploy/install.sh", *options)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def snapshot(root: Path) -> dict[str, tuple[str, int, int, int]]:
    """Path -> (content or link target hash, mode, owner, group) of what install.sh writes."""
    seen = {}
    for name in WRITTEN:
        top = root / name
        for path in [top, *sorted(top.rglob("*"))] if top.is_dir() else [top]:
            info = path.lstat()
            if path.is_symlink():
                what = "-> " + os.readlink(path)
            elif path.is_file():
                what = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                what = "dir"
            seen[str(path.relative_to(root))] = (what, info.st_mode, info.st_uid, info.st_gid)
    return seen


def boot_check(root: Path) -> dict[str, object]:
    """Boots `root` with systemd as PID 1 and runs kiosk-check.sh in it (it powers off)."""
    shutil.copy(CHECK / "kiosk-check.sh", root / "usr/local/sbin/kiosk-check")
    (root / "usr/local/sbin/kiosk-check").chmod(0o755)
    shutil.copy(CHECK / "kiosk-check.service", root / "etc/systemd/system/")
    drop_ins = root / "etc/systemd/system/kiosk.service.d"
    drop_ins.mkdir(exist_ok=True)
    shutil.copy(CHECK / "kiosk-headless.conf", drop_ins / "zz-headless.conf")
    (root / "etc/kiosk/check.env").write_text("KIOSK_ARGS=--trace /var/lib/kiosk/trace.jsonl\n")
    wants = root / "etc/systemd/system/graphical.target.wants"
    (wants / "kiosk-check.service").symlink_to("/etc/systemd/system/kiosk-check.service")
    booted = subprocess.run(
        [*NSPAWN, "--directory", root],
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )
    assert booted.returncode == 0, booted.stdout[-3000:] + booted.stderr[-3000:]
    return dict(json.loads((root / "var/tmp/kiosk-check.json").read_text()))


def test_install_makes_a_clean_debian_12_a_kiosk_that_systemd_keeps_on_attract(
    tmp_path: Path,
) -> None:
    for tool in ("mmdebstrap", "systemd-nspawn", "unshare"):
        assert shutil.which(tool), f"{tool} is missing: ./run deploy-test installs it"
    root = fresh_debian(tmp_path / "root")
    copy_checkout(root / SOURCE.lstrip("/"))

    install(root, "--devices", f"{SOURCE}/deploy/devices.conf.example", "--no-start")
    written = snapshot(root)
    again = install(root, "--no-start")  # the devices file is kept in /etc/kiosk
    assert "wrote " not in again.stdout, again.stdout
    assert snapshot(root) == written

    etc = root / "etc"
    rules = (etc / "udev/rules.d/99-kiosk-devices.rules").read_text()
    assert 'ATTRS{serial}=="A50285BI", SYMLINK+="kiosk-pickup"' in rules
    assert 'SYMLINK+="kiosk-rfid"' in rules
    assert os.readlink(etc / "systemd/system/getty@tty1.service") == "/dev/null"
    assert os.readlink(etc / "systemd/system/default.target").endswith("graphical.target")
    assert (etc / "systemd/system/graphical.target.wants/kiosk.service").is_symlink()
    groups = in_root(root, "id", "-nG", "kiosk").stdout.split()
    assert {"dialout", "bluetooth", "input", "video", "render"} <= set(groups)
    state = (root / "var/lib/kiosk").stat()
    assert oct(state.st_mode & 0o777) == "0o700"
    # With the real cage and kiosk programs installed, the unit verifies clean.
    unit = "/etc/systemd/system/kiosk.service"
    verified = in_root(root, "systemd-analyze", "verify", "--man=no", unit)
    assert (verified.returncode, verified.stderr) == (0, "")

    checked = boot_check(root)
    assert checked["type"] == "notify"
    assert checked["watchdog"] == "2s"
    assert (checked["main"], checked["user"]) == ("cage", "kiosk")
    assert (checked["restarts"], checked["state"]) == (2, "active")  # SIGSEGV, then freeze
    for key in ("first_active", "segv_back", "freeze_back"):
        assert checked[key] is not None, f"{key}: kiosk.service never came back"
    journal = (root / "var/tmp/kiosk-journal.txt").read_text()
    assert "Fatal Python error: Segmentation fault" in journal  # cage then ends: restarted
    assert "Failed with result 'watchdog'" in journal
    assert "covering screen" in journal  # the kiosk drew on cage's output, through Xwayland
    assert "virtualkeyboard" not in journal  # Qt's on-screen keyboard is there for sign-up
    # READY=1 only once the attract screen was painted: three starts, three paints.
    trace = (root / "var/lib/kiosk/trace.jsonl").read_text().splitlines()
    paints = [json.loads(line) for line in trace if '"paint"' in line]
    assert sum(p["view"] == "attract" for p in paints) >= 3
    shutil.rmtree(root)  # 2 GB; kept when the test fails, to look into
