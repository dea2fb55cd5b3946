"""A simulated serial device's pseudo-terminal, and the stable symlink it is reached by."""

from __future__ import annotations

import contextlib
import os
import tty
from pathlib import Path

import serial


def owns_link(link: Path, target: str | None) -> bool:
    """Whether `link` still points at `target` (never delete someone else's link)."""
    try:
        return target is not None and os.readlink(link) == target
    except OSError:
        return False


def point_link(link: Path, target: str) -> None:
    """Make `link` point at `target` atomically, so the host never sees it half-made."""
    if link.exists() and not link.is_symlink():
        raise FileExistsError(f"{link} exists and is not a symlink; not replacing it")
    temp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        temp.unlink()
    temp.symlink_to(target)
    temp.replace(link)


def open_pty(link: Path | None) -> tuple[int, int, str]:
    """A raw pty pair, its master non-blocking: (master, slave, slave name); `link`, if
    given, points at the slave."""
    master, slave = os.openpty()
    try:
        # Raw before anyone can open the slave: in the default cooked mode the tty
        # would echo lines back, turn LF into CRLF and treat control bytes specially.
        tty.setraw(slave)
        os.set_blocking(master, False)
        name = os.ttyname(slave)
        if link is not None:
            point_link(link, name)
    except BaseException:
        os.close(master)
        os.close(slave)
        raise
    return master, slave, name


def remove_link(link: Path | None, target: str | None) -> None:
    """Remove `link` if it still points at `target` (the cable is pulled)."""
    if link is not None and owns_link(link, target):
        with contextlib.suppress(FileNotFoundError):
            link.unlink()


def plug_in(
    device: str | None, baudrate: int, link: Path | None
) -> tuple[serial.Serial | None, int, int | None, str | None]:
    """A simulated device's port: a real serial `device`, else a new pty behind `link`.
    (serial port or None, the fd the simulator reads and writes, the pty's slave fd, its name)"""
    if device is not None:
        port = serial.Serial(device, baudrate, timeout=0, write_timeout=0)
        return port, port.fileno(), None, None
    master, slave, name = open_pty(link)
    return None, master, slave, name


def pull_out(
    link: Path | None,
    slave_name: str | None,
    port: serial.Serial | None,
    fds: tuple[int | None, int | None],
) -> None:
    """Close what `plug_in` opened and remove the link: the host's port fails, as when a
    cable is pulled."""
    remove_link(link, slave_name)
    if port is not None:
        port.close()
        return
    for fd in fds:
        if fd is not None:
            os.close(fd)
