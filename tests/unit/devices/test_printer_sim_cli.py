"""`kiosk-sim printer`: a script drives the printer's state while a host (real pyserial)
asks its status and prints a ticket; errors in scripts are one clear line."""

from __future__ import annotations

import threading
import time
from datetime import date
from pathlib import Path

import pytest
import serial

from devices.printer import CouponTicket
from devices.protocols.escpos import StatusKind, read_status, status_request
from devices.sim.cli import main
from devices.ticket import find_cjk_font, ticket_bytes

CODE = "7K2M-Q9TX-ABCD-EFGH-JKMN-PQRS"


def script(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "printer.txt"
    path.write_text(text, encoding="utf-8")
    return path


def ask(port: serial.Serial, kind: StatusKind) -> int:
    port.reset_input_buffer()
    port.write(status_request(kind))
    reply = port.read(1)
    assert reply, "the simulated printer did not answer"
    return reply[0]


def problem(port: serial.Serial) -> str | None:
    status = read_status({kind: ask(port, kind) for kind in StatusKind})
    return None if status.problem is None else status.problem.value


def wait_for_problem(port: serial.Serial, wanted: str | None) -> None:
    deadline = time.monotonic() + 5
    while problem(port) != wanted:
        assert time.monotonic() < deadline, f"the printer never said {wanted}"
        time.sleep(0.02)


def test_a_script_runs_out_of_paper_while_a_host_prints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    link, out = tmp_path / "printer", tmp_path / "paper"
    font = find_cjk_font()
    assert font is not None
    ticket = CouponTicket("j", "Shop", "Title", "Terms", CODE, date(2026, 12, 31), "en")
    data = ticket_bytes(ticket, dots=384, font=font)  # drawn first: the script's waits are short
    # The host prints in the script's first wait; then the paper runs out.
    path = script(tmp_path, "status\nwait 1.5\npaper out\nwait 1.5\nstatus\nok\n")
    result: list[int] = []
    runner = threading.Thread(
        target=lambda: result.append(
            main(["printer", "--link", str(link), "--paper", "58", "--out", str(out),
                  "--script", str(path)])
        )
    )  # fmt: skip
    runner.start()
    try:
        deadline = time.monotonic() + 5
        while not link.exists():
            assert time.monotonic() < deadline
            time.sleep(0.01)
        with serial.Serial(str(link), timeout=1, write_timeout=2) as port:
            assert problem(port) is None
            port.write(data)
            wait_for_problem(port, "paper_out")
    finally:
        runner.join(10)
    assert result == [0]
    printed = capsys.readouterr().out
    assert printed.startswith(f"port: {link}\n")
    assert "status: ready; 0 tickets" in printed
    assert f"ticket 1: QR {CODE} (saved {out / 'ticket-1.png'})" in printed
    assert "status: paper out; 1 tickets" in printed
    assert (out / "ticket-1.png").is_file()
    assert not link.exists()  # the pty's link goes with the simulator


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("paper", "usage: paper out|in"),
        ("paper sideways", "usage: paper out|in"),
        ("cover ajar", "usage: cover open|close"),
        ("stall now", "stall takes no arguments"),
        ("garbage 3", "garbage takes no arguments"),
        ("replug", "already plugged in"),
        ("print", "unknown command 'print'"),
    ],
)
def test_bad_commands_are_reported_with_their_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, message: str
) -> None:
    path = script(tmp_path, f"# comment\n{line}\n")
    assert main(["printer", "--link", str(tmp_path / "printer"), "--script", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:2: {message}" in err
    assert "Traceback" not in err


def test_a_bad_paper_width_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["printer", "--link", str(tmp_path / "printer"), "--paper", "60"])
    assert exit_info.value.code == 2
    assert "usage: kiosk-sim printer" in capsys.readouterr().err
