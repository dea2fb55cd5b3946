"""The stable path a simulated serial device is reached by: a symlink to its pty."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


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
