"""PySide6's import hook without the source of every module kept in memory.

Importing PySide6 installs an import hook (shibokensupport's `__feature__`
support) that asks `inspect.getsource` whether each module imported after it
mentions PySide6; linecache then keeps every such module's source text for the
life of the process: ~18 MB of RSS in the kiosk (measured: 117 -> 99 MB after
importing kiosk.app), freed memory the allocator does not give back. This module
answers the hook's question by reading the file once, keeping nothing. Import it
before anything heavy (kiosk.app does, first); the answer is the same.
"""

from __future__ import annotations

import sys
from types import ModuleType

import PySide6.QtCore  # noqa: F401 - loads shiboken, which installs the hook


def _uses_pyside(module: ModuleType) -> bool:
    """Whether the module's source mentions PySide6 (the hook's own test)."""
    path = getattr(module, "__file__", None)
    if not isinstance(path, str) or not path.endswith(".py"):
        return False
    try:
        with open(path, "rb") as source:
            return b"PySide6" in source.read()
    except OSError:
        return False


def _install() -> None:
    feature = sys.modules.get("PySide6.support.feature")
    # Only where PySide6 has the hook as we know it (6.x); elsewhere nothing changes.
    if feature is not None and callable(getattr(feature, "_mod_uses_pyside", None)):
        feature._mod_uses_pyside = _uses_pyside  # type: ignore[attr-defined]


_install()
