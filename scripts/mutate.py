"""Mutation testing of one module against its own unit tests (`./run mutate MODULE`).

mutmut (configured in pyproject.toml's [tool.mutmut]) changes one operator,
constant or name at a time and runs the tests that reach the changed function;
a mutant the tests let through is a behaviour change nobody would notice. This
script points mutmut at one module and at that module's own unit tests, then
counts. Mutants that only change the text of a log line or of an exception's
message are counted apart ("message text"): the score is over the
behaviour-changing rest. See docs/mutation-testing.md.

    scripts/mutate.py hq/ingest.py                 # tests/unit/hq/test_ingest*.py
    scripts/mutate.py kiosk/session/machine.py --tests tests/unit/kiosk/test_session.py
    scripts/mutate.py rewards/codes.py --survivors  # and each survivor's diff

Exit status: 0 when the behaviour score reaches --fail-under (default 0), else 1.
"""

from __future__ import annotations

import argparse
import ast
import os
import shutil
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# mutmut's words for what became of a mutant (mutmut.stats.status_by_exit_code).
KILLED = frozenset({"killed", "timeout", "caught by type check", "segfault"})
LOGGING_CALLS = frozenset({"debug", "info", "warning", "error", "exception", "critical", "log"})
# Exceptions whose text is data, not a message: HQ sends `_Unfit`'s back to the kiosk as
# the rejection reason (hq/ingest.py), and a till shows `CodeError`'s to the shopper.
SHOWN_EXCEPTIONS = frozenset({"_Unfit", "CodeError"})
# Modules whose rules are also tested where the feature they serve is: HQ's ingest
# checks coupon codes (test_coupons.py) and feeds the member feed (test_recognition_*).
OWN_TESTS: dict[str, list[str]] = {
    "hq/ingest.py": [
        "tests/unit/hq/test_ingest_decisions.py",
        "tests/unit/hq/test_ingest_storage.py",
        "tests/unit/hq/test_coupons.py",
        "tests/unit/hq/test_recognition_storage.py",
    ],
}
# Per module, arguments that are text for people only: callable -> (position, keyword).
TEXT_ARGUMENTS: dict[str, dict[str, tuple[int, str]]] = {
    # A rejected line's detail is for debug logs; its reason is what the host acts on.
    "devices/protocols/pickup.py": {"Rejected": (1, "detail"), "_malformed": (0, "detail")},
    "devices/protocols/rfid.py": {"reject": (1, "detail"), "Rejected": (1, "detail")},
}


@dataclass(frozen=True, slots=True)
class Outcome:
    name: str
    status: str
    message_only: bool


def module_path(module: str) -> str:
    """`hq.ingest` or `hq/ingest.py` -> `hq/ingest.py`, checked to exist."""
    path = module if module.endswith(".py") else module.replace(".", "/") + ".py"
    if not (ROOT / path).is_file():
        raise SystemExit(f"mutate: no module {path} in {ROOT}")
    return path


def own_tests(path: str) -> list[str]:
    """The module's own unit tests: OWN_TESTS, else tests/unit/<package>/test_<name>*.py,
    else the package's."""
    if path in OWN_TESTS:
        return OWN_TESTS[path]
    package, name = Path(path).parts[0], Path(path).stem
    folder = ROOT / "tests" / "unit" / package
    found = sorted(folder.glob(f"test_{name}*.py"))
    if not found:
        found = [folder]
    return [str(test.relative_to(ROOT)) for test in found]


def run_mutmut(path: str, tests: list[str], max_children: int) -> None:
    # mutmut reads its settings once from pyproject.toml; the module and its tests are
    # this run's, so they are set on the loaded settings before mutmut starts.
    from mutmut import configuration  # noqa: PLC0415 (after the chdir: mutmut reads cwd)
    from mutmut.__main__ import cli  # noqa: PLC0415

    settings = configuration.config()
    settings.only_mutate = [path]
    settings.pytest_add_cli_args_test_selection = tests
    try:
        cli.main(["run", "--max-children", str(max_children)], standalone_mode=False)
    except SystemExit as stop:
        if stop.code:
            raise


def outcomes(path: str) -> list[Outcome]:
    from mutmut.mutation.data import SourceFileMutationData  # noqa: PLC0415
    from mutmut.stats import status_by_exit_code  # noqa: PLC0415

    data = SourceFileMutationData(path=path)
    data.load()
    functions = {
        node.name: node
        for node in ast.walk(ast.parse((Path("mutants") / path).read_text("utf-8")))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    found = []
    for name, code in sorted(data.exit_code_by_key.items()):
        generated = name.rpartition(".")[-1]
        original = functions.get(generated.rpartition("__mutmut_")[0] + "__mutmut_orig")
        mutant = functions.get(generated)
        only_text = (
            original is not None and mutant is not None and message_only(original, mutant, path)
        )
        found.append(Outcome(name, status_by_exit_code[code], only_text))
    return found


def message_only(
    original: ast.FunctionDef | ast.AsyncFunctionDef, mutant: ast.AST, path: str
) -> bool:
    """True if every change the mutant makes lies in text for people: the arguments of
    a logging call, of an exception being raised, or the module's TEXT_ARGUMENTS."""
    original_body = ast.Module(body=original.body, type_ignores=[])
    mutant_body = ast.Module(body=getattr(mutant, "body", []), type_ignores=[])
    changed = _changes(original_body, mutant_body)
    parents = {
        child: node for node in ast.walk(original_body) for child in ast.iter_child_nodes(node)
    }
    text = TEXT_ARGUMENTS.get(path, {})
    return bool(changed) and all(_in_message(node, parents, text) for node in changed)


def _changes(old: ast.AST, new: ast.AST) -> list[ast.AST]:
    """The outermost nodes of `old` that differ from `new` (a dropped last argument is
    itself the change)."""
    if type(old) is not type(new):
        return [old]
    found: list[ast.AST] = []
    for field, value in ast.iter_fields(old):
        other = getattr(new, field)
        if isinstance(value, ast.AST) and isinstance(other, ast.AST):
            found += _changes(value, other)
        elif isinstance(value, list) and isinstance(other, list):
            if len(value) == len(other) + 1 and field == "args" and _same(value[:-1], other):
                found.append(value[-1])
            elif len(value) != len(other):
                return [old]  # for a call: the call, which _in_message may judge whole
            for item, other_item in zip(value, other, strict=False):
                if isinstance(item, ast.AST) and isinstance(other_item, ast.AST):
                    found += _changes(item, other_item)
                elif item != other_item:
                    return [old]
        elif value != other:
            return [old]
    return found


def _same(nodes: list[ast.AST], others: list[ast.AST]) -> bool:
    return [ast.dump(n) for n in nodes] == [ast.dump(n) for n in others]


def _in_message(
    node: ast.AST, parents: dict[ast.AST, ast.AST], text: dict[str, tuple[int, str]]
) -> bool:
    """Inside an assert's message, an argument of a logging call, of the exception a
    `raise` builds (unless its text is data: SHOWN_EXCEPTIONS), or a text argument."""
    if isinstance(node, ast.Call) and _is_message_call(node, parents):
        return True  # its arguments changed in number: still only its text
    child, parent = node, parents.get(node)
    while parent is not None:
        if isinstance(parent, ast.Assert) and child is parent.msg:
            return True
        if isinstance(parent, ast.Call) and child is not parent.func:
            if _is_message_call(parent, parents):
                return True
            position, keyword = text.get(_called(parent), (-1, ""))
            keywords = [k.value for k in parent.keywords if k.arg == keyword]
            if position >= 0 and (
                child in parent.args[position : position + 1] or child in keywords
            ):
                return True
        child, parent = parent, parents.get(parent)
    return False


def _is_message_call(call: ast.Call, parents: dict[ast.AST, ast.AST]) -> bool:
    """A logging call, or the exception a `raise` builds (not one of SHOWN_EXCEPTIONS)."""
    if isinstance(call.func, ast.Attribute) and call.func.attr in LOGGING_CALLS:
        return True
    return isinstance(parents.get(call), ast.Raise) and _called(call) not in SHOWN_EXCEPTIONS


def _called(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def report(path: str, found: list[Outcome], *, survivors: bool) -> float:
    text = [o for o in found if o.message_only]
    behaviour = [o for o in found if not o.message_only]
    killed = sum(o.status in KILLED for o in behaviour)
    score = 100.0 * killed / len(behaviour) if behaviour else 100.0
    statuses = Counter(o.status for o in behaviour)
    print()
    print(f"{path}: {len(found)} mutants")
    print(f"  behaviour-changing: {killed} killed of {len(behaviour)} = {score:.1f}%")
    print(f"    ({', '.join(f'{n} {status}' for status, n in statuses.items())})")
    text_killed = sum(o.status in KILLED for o in text)
    print(f"  message text only:  {text_killed} killed of {len(text)} (not in the score)")
    left = [o for o in behaviour if o.status not in KILLED]
    if survivors and left:
        from mutmut.mutation.diff_apply import get_diff_for_mutant  # noqa: PLC0415

        for outcome in left:
            print(f"\n# {outcome.name}: {outcome.status}")
            print(get_diff_for_mutant(outcome.name, path=path))
    elif left:
        print("  not killed:", " ".join(o.name.rpartition(".")[-1] for o in left))
    return score


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("module", help="e.g. hq/ingest.py or hq.ingest")
    parser.add_argument("--tests", nargs="+", help="test files or folders (default: its own)")
    parser.add_argument("-k", dest="select", help="pytest -k expression to narrow the tests")
    parser.add_argument("--max-children", type=int, default=max(1, (os.cpu_count() or 2) // 2))
    parser.add_argument("--survivors", action="store_true", help="show each survivor's diff")
    parser.add_argument("--fail-under", type=float, default=0.0, help="lowest passing score, %%")
    args = parser.parse_args(argv)

    os.chdir(ROOT)
    path = module_path(args.module)
    tests = args.tests or own_tests(path)
    if args.select:
        tests = [*tests, "-k", args.select]
    print(f"mutating {path} against {' '.join(tests)}")
    # A run per module, from scratch: mutants/ is mutmut's scratch copy of the project.
    shutil.rmtree("mutants", ignore_errors=True)
    run_mutmut(path, tests, args.max_children)
    score = report(path, outcomes(path), survivors=args.survivors)
    return 0 if score >= args.fail_under else 1


if __name__ == "__main__":
    sys.exit(main())
