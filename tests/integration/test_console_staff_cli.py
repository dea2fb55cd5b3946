"""`kiosk-hq console-staff ...`: HQ staff accounts made, listed and disabled from a shell."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from helpers.hq_process import HqProcess

PASSWORD = "a long staff password"  # noqa: S105 (test accounts)


def run(hq: HqProcess, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*hq._global_args(), "console-staff", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_accounts_are_added_listed_and_disabled_without_a_password_on_screen(
    tmp_path: Path,
) -> None:
    hq = HqProcess(tmp_path / "hq")
    hq.cli("store", "add", "sh-xujiahui")
    added = run(
        hq,
        "add",
        "--email",
        "Wu.Fang@HQ.example",
        "--name",
        "吴芳",
        "--role",
        "store_manager",
        "--store",
        "sh-xujiahui",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert added.returncode == 0, added.stderr
    assert added.stdout == "staff 1 added: store manager\n"
    listed = json.loads(run(hq, "list", "--json").stdout)
    assert [(s["email"], s["name"], s["role"], s["stores"], s["disabled"]) for s in listed] == [
        ("wu.fang@hq.example", "吴芳", "store_manager", ["sh-xujiahui"], False)
    ]
    table = run(hq, "list").stdout
    assert "wu.fang@hq.example" in table
    assert "active" in table
    disabled = run(hq, "disable", "wu.fang@hq.example")
    assert disabled.stdout == "staff 1 disabled; their sessions have ended\n"
    assert json.loads(run(hq, "list", "--json").stdout)[0]["disabled"] is True
    for done in (added, disabled):
        assert PASSWORD not in done.stdout + done.stderr
    hashes = (tmp_path / "hq" / "hq.sqlite3").read_bytes()
    assert PASSWORD.encode() not in hashes
    assert b"$argon2id$" in hashes


def test_wrong_accounts_are_refused_in_one_line(tmp_path: Path) -> None:
    hq = HqProcess(tmp_path / "hq")
    hq.cli("migrate")  # and the data directory closed up (a warning on stderr)
    cases = [
        (["--role", "store_manager"], "a store manager needs at least one store"),
        (["--role", "store_manager", "--store", "nowhere"], "no store 'nowhere'"),
        (["--role", "content_editor"], "a password has at least 12 characters"),
    ]
    for extra, problem in cases:
        refused = run(
            hq,
            "add",
            "--email",
            "ana@hq.example",
            "--name",
            "Ana",
            *extra,
            "--password-stdin",
            stdin="short\n" if "content_editor" in extra else PASSWORD + "\n",
        )
        assert refused.returncode == 1
        assert refused.stderr.count("\n") == 1
        assert problem in refused.stderr
    assert json.loads(run(hq, "list", "--json").stdout) == []
    unknown_role = run(hq, "add", "--email", "a@b.example", "--name", "A", "--role", "boss")
    assert unknown_role.returncode == 2
    no_terminal = run(hq, "add", "--email", "a@b.example", "--name", "A", "--role", "chain_admin")
    assert no_terminal.returncode == 1
    assert "--password-stdin" in no_terminal.stderr
    assert run(hq, "disable", "nobody@hq.example").stderr == (
        "kiosk-hq: no staff account with that email\n"
    )
