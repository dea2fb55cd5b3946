"""The cabinet's USB devices get their stable names from the rules deploy/kiosk-udev-rules
writes, as udev itself applies them: `udevadm test` on a USB serial adapter laid out in a
private sysfs (a mount namespace of this test's own, as systemd's udev tests do), so no
real device and nothing of the machine's /dev or /sys is touched."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers.kiosk_process import ROOT

RULES = ROOT / "deploy" / "kiosk-udev-rules"
PICKUP = ("1a86", "7523", "A50285BI")  # a CH340 adapter, as in devices.conf.example
FOB_READER = ("10c4", "ea60", "0001")  # a CP210x adapter

needs_udev = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("udevadm") or not shutil.which("unshare"),
    reason="needs root, udevadm (Debian's udev) and unshare for a private sysfs",
)


def write_rules(tmp_path: Path, devices: str) -> subprocess.CompletedProcess[str]:
    conf = tmp_path / "devices.conf"
    conf.write_text(devices)
    return subprocess.run([RULES, conf], capture_output=True, text=True, check=False)


def usb_serial_adapter(sys_root: Path, ids: tuple[str, str, str], tty: str = "ttyUSB0") -> str:
    """A USB serial adapter's sysfs entries (device, interface, tty); returns the tty's path."""
    vendor, product, serial = ids
    usb = sys_root / "devices/pci0000:00/0000:00:14.0/usb1/1-2"
    node = usb / "1-2:1.0" / tty / "tty" / tty
    node.mkdir(parents=True)
    for name, value in (("idVendor", vendor), ("idProduct", product), ("serial", serial)):
        (usb / name).write_text(value + "\n")
    (usb / "uevent").write_text("MAJOR=189\nMINOR=1\nDEVTYPE=usb_device\n")
    (usb / "1-2:1.0" / "uevent").write_text("DEVTYPE=usb_interface\n")
    (node / "uevent").write_text(f"MAJOR=188\nMINOR=0\nDEVNAME={tty}\n")
    for directory, subsystem in (
        (usb, "bus/usb"),
        (usb / "1-2:1.0", "bus/usb"),
        (node, "class/tty"),
    ):
        (sys_root / subsystem).mkdir(parents=True, exist_ok=True)
        (directory / "subsystem").symlink_to(os.path.relpath(sys_root / subsystem, directory))
    return "/sys/" + str(node.relative_to(sys_root))


def udev_properties(tmp_path: Path, rules: str, syspath: str) -> dict[str, str]:
    """What udev makes of the device with only `rules` installed: its properties."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "99-kiosk-devices.rules").write_text(rules)
    # /dev, /run and the rule folders are the namespace's own (udevadm test writes
    # links and its database); SYSTEMD_DEVICE_VERIFY_SYSFS=0 lets it read a non-sysfs /sys.
    script = f"""
        set -e
        mount --make-rprivate /
        mount --bind {tmp_path / "sys"} /sys
        mount -t tmpfs tmpfs /run  # a container's /run may have no udev/ to mount on
        mkdir /run/udev
        for dir in /dev /usr/lib/udev/rules.d /etc/udev/rules.d; do
            mount -t tmpfs tmpfs "$dir"
        done
        cp {tmp_path / "rules"}/* /etc/udev/rules.d/
        SYSTEMD_DEVICE_VERIFY_SYSFS=0 exec udevadm test --action=add {syspath}
    """
    result = subprocess.run(
        ["unshare", "--mount", "sh", "-c", script], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)


@needs_udev
def test_the_pickup_board_is_dev_kiosk_pickup_matched_by_vendor_product_and_serial(
    tmp_path: Path,
) -> None:
    rules = write_rules(tmp_path, "pickup 1A86 7523 A50285BI\nrfid 10c4 ea60  # fob reader\n")
    assert rules.returncode == 0, rules.stderr
    syspath = usb_serial_adapter(tmp_path / "sys", PICKUP)
    seen = udev_properties(tmp_path, rules.stdout, syspath)
    assert seen["DEVLINKS"] == "/dev/kiosk-pickup"
    assert seen["ID_MM_DEVICE_IGNORE"] == "1"  # ModemManager leaves the board alone


@needs_udev
def test_the_fob_reader_without_a_serial_in_the_file_is_dev_kiosk_rfid(tmp_path: Path) -> None:
    rules = write_rules(tmp_path, "pickup 1a86 7523 A50285BI\nrfid 10c4 ea60\n")
    syspath = usb_serial_adapter(tmp_path / "sys", FOB_READER, tty="ttyUSB1")
    assert udev_properties(tmp_path, rules.stdout, syspath)["DEVLINKS"] == "/dev/kiosk-rfid"


@needs_udev
def test_an_adapter_with_the_same_ids_but_another_serial_gets_no_kiosk_name(
    tmp_path: Path,
) -> None:
    rules = write_rules(tmp_path, "pickup 1a86 7523 A50285BI\n")
    syspath = usb_serial_adapter(tmp_path / "sys", ("1a86", "7523", "B00000XY"))
    seen = udev_properties(tmp_path, rules.stdout, syspath)
    assert "kiosk-" not in seen.get("DEVLINKS", "")
    assert "ID_MM_DEVICE_IGNORE" not in seen


@pytest.mark.parametrize(
    ("devices", "error"),
    [
        ("pickup 1a86 75x3\n", "line 1: product id '75x3' is not 4 hex digits"),
        ("# cabinet 2\nscale 1a86 7523\n", "line 2: unknown device 'scale' (pickup or rfid)"),
        ('pickup 1a86 7523 "A5*"\n', "a rule cannot match literally"),
        ("pickup 1a86 7523\npickup 10c4 ea60\n", "line 2: pickup is named twice"),
        ("rfid 10c4\n", "line 1: want NAME VENDOR PRODUCT [SERIAL], got 2 words"),
    ],
)
def test_a_devices_file_it_cannot_mean_is_refused_naming_the_line(
    tmp_path: Path, devices: str, error: str
) -> None:
    result = write_rules(tmp_path, devices)
    assert result.returncode == 2
    assert error in result.stderr
    assert result.stdout == ""  # no half-written rules file
