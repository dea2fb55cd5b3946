"""`kiosk-hq` reports every mistake in one line on stderr, exit code 1 or 2, no traceback.

These call `hq.cli.main` in this process (the same code the console script runs)
to keep the suite fast; tests/integration/test_hq_cli.py runs the real process.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hq.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = main(list(args))
    except SystemExit as exit_:  # argparse leaves by SystemExit
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("store", "add", "Nanjing Road"), "is not a lowercase slug of 2 to 40 characters"),
        (("store", "add", "x"), "is not a lowercase slug"),
        (("store", "add", "a" * 41), "is not a lowercase slug"),
        (("kiosk", "enroll-code", "nowhere"), "no store 'nowhere'"),
        (
            ("kiosk", "enroll-code", "nowhere", "--valid-hours", "0"),
            "--valid-hours must be above 0",
        ),
        (("kiosk", "enroll-code", "nowhere", "--valid-hours", "9999"), "--valid-hours must be"),
        (("kiosk", "revoke", "nowhere-k1"), "no kiosk 'nowhere-k1'"),
        (("serve", "--ssl-certfile", "cert.pem"), "--ssl-certfile and --ssl-keyfile go together"),
    ],
)
def test_a_mistake_is_one_line_on_stderr_and_exit_code_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    code, out, err = run(capsys, "--data-dir", str(tmp_path), *args)
    assert (code, out) == (1, "")
    assert len(err.splitlines()) == 1
    assert err.startswith("kiosk-hq: ")
    assert message in err


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("frobnicate",),
        ("store",),
        ("store", "add"),
        ("customers", "export"),
        ("kiosk", "enroll-code", "s1", "--valid-hours", "soon"),
        ("serve", "--port", "http"),
        ("stats", "--yaml"),
    ],
)
def test_a_wrong_command_line_is_one_line_on_stderr_and_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...]
) -> None:
    code, out, err = run(capsys, "--data-dir", str(tmp_path), *args)
    assert (code, out) == (2, "")
    assert len(err.splitlines()) == 1
    assert err.startswith("kiosk-hq")
    assert "error:" in err


def test_a_database_url_hq_cannot_use_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "--database-url", "mysql://hq@db/hq", "stats")
    assert (code, out) == (1, "")
    assert err == "kiosk-hq: unsupported database 'mysql': use sqlite:/// or postgresql://\n"


def test_adding_a_store_twice_is_an_error_unless_it_may_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = ("--data-dir", str(tmp_path))
    assert run(capsys, *data, "store", "add", "sh-nanjing-road") == (
        0,
        "store sh-nanjing-road added\n",
        "",
    )
    code, _, err = run(capsys, *data, "store", "add", "sh-nanjing-road")
    assert (code, err) == (
        1,
        "kiosk-hq: store 'sh-nanjing-road' already exists (use --exist-ok to accept that)\n",
    )
    assert run(capsys, *data, "store", "add", "sh-nanjing-road", "--exist-ok") == (
        0,
        "store sh-nanjing-road exists already\n",
        "",
    )


def test_an_unreachable_database_is_a_one_line_error_without_the_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], refused_port: int
) -> None:
    url = f"postgresql://hq:secret-pw@127.0.0.1:{refused_port}/hq"
    code, out, err = run(capsys, "--data-dir", str(tmp_path), "--database-url", url, "stats")
    assert (code, out) == (1, "")
    assert len(err.splitlines()) == 1
    assert err.startswith("kiosk-hq: database error:")
    assert "secret-pw" not in err
