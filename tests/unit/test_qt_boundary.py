"""Only kiosk/ uses Qt, and the kiosk and HQ never import each other (ARCHITECTURE.md)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Final

import pytest

ROOT: Final = Path(__file__).resolve().parents[2]
QT_FREE_PACKAGES: Final = ("devices", "content", "backend_client")
KIOSK_PACKAGES: Final = ("kiosk", *QT_FREE_PACKAGES)
QT_MODULES: Final = frozenset({"PySide6", "shiboken6"})


def imported_modules(path: Path) -> Iterator[tuple[int, str]]:
    """(line, top-level module name) of each absolute import in a source file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0]


def forbidden_imports(packages: Iterable[str], forbidden: Iterable[str]) -> list[str]:
    forbidden = frozenset(forbidden)
    return [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for package in packages
        for path in sorted((ROOT / package).rglob("*.py"))  # nothing if the package is absent
        for line, module in imported_modules(path)
        if module in forbidden
    ]


@pytest.mark.parametrize("package", QT_FREE_PACKAGES)
def test_qt_free_package_source_never_imports_qt(package: str) -> None:
    assert (ROOT / package).is_dir()
    assert forbidden_imports([package], QT_MODULES) == []


# Imports every module of the packages named in argv; reports the first module after
# whose import PySide6 was in sys.modules, and the modules that failed to import.
IMPORT_ALL = """
import importlib, json, pkgutil, sys

failed = {}
qt_pulled_in_by = None

def import_and_check(name):
    global qt_pulled_in_by
    try:
        module = importlib.import_module(name)
    except Exception:
        record_failure(name)
        return None
    if qt_pulled_in_by is None and "PySide6" in sys.modules:
        qt_pulled_in_by = name
    return module

def record_failure(name):
    error = sys.exc_info()[1]
    failed[name] = {"missing": getattr(error, "name", None), "error": repr(error)}

for package_name in sys.argv[1:]:
    package = import_and_check(package_name)
    if package is None:
        continue
    for info in pkgutil.walk_packages(package.__path__, package_name + ".", record_failure):
        if info.name not in failed:
            import_and_check(info.name)

print(json.dumps({"qt_pulled_in_by": qt_pulled_in_by, "failed": failed}))
"""


def test_importing_every_qt_free_module_loads_no_qt() -> None:
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL, *QT_FREE_PACKAGES],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = json.loads(result.stdout.splitlines()[-1])

    assert report["qt_pulled_in_by"] is None, "this module's import loaded PySide6"
    # A module that failed to import was not checked. Only an optional third-party
    # library missing on this machine is excused (the source check still covers it).
    unchecked = {
        name: failure
        for name, failure in report["failed"].items()
        if (failure["missing"] or "").split(".")[0] in ("", *KIOSK_PACKAGES)
    }
    assert unchecked == {}


# HQ may import `content` (the bundle format, no Qt) to refuse at publish what every
# kiosk would refuse at install; never the kiosk's app, its link to HQ or its devices.
HQ_MAY_IMPORT: Final = ("content",)


def test_kiosk_and_hq_never_import_each_other() -> None:
    # hq/ may not exist yet; the check then finds nothing to complain about.
    assert forbidden_imports(KIOSK_PACKAGES, ["hq"]) == []
    kiosk_only = [package for package in KIOSK_PACKAGES if package not in HQ_MAY_IMPORT]
    assert forbidden_imports(["hq"], [*kiosk_only, "rewards"]) == []


def test_hq_imports_the_bundle_format_only_from_content() -> None:
    allowed = {"content", "content.bundle", "content.model", "content.pictures"}
    # The console's preview shows the related models a kiosk would (its own pure rule).
    allowed.add("content.recommend")
    found = {
        module
        for path in sorted((ROOT / "hq").rglob("*.py"))
        for module in _full_imports(path)
        if module.split(".")[0] == "content"
    }
    assert found <= allowed


def _full_imports(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


# The shopper session's and the attendant's rules are plain Python: tested and reused
# without Qt.
QT_FREE_KIOSK_MODULES: Final = (
    "kiosk.session",
    "kiosk.attendant.model",
    "kiosk.attendant.staff",
    "kiosk.attendant.words",
)


def test_session_and_attendant_rules_load_no_qt() -> None:
    code = "import importlib, sys\n[importlib.import_module(m) for m in sys.argv[1:]]\n"
    code += "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6')))"
    result = subprocess.run(
        [sys.executable, "-c", code, *QT_FREE_KIOSK_MODULES],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert result.stdout.strip() == "[]"
