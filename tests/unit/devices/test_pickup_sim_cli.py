"""`kiosk-sim pickup`: script files, errors, and the interactive prompt."""

from __future__ import annotations

import os
import queue
import select
import signal
import subprocess
import sys
import threading
import time
import tty
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers.pickup import EventRecorder, wait_until

from devices.events import AlarmReason, Lifted
from devices.pickup import PickupBoard
from devices.protocols.pickup import (
    AlarmLine,
    Drop,
    Hello,
    Lift,
    Rejected,
    RejectReason,
    State,
    parse_line,
)
from devices.sim.cli import main

REPO = Path(__file__).resolve().parents[3]


class HostEnd:
    """The host side of a pty pair; the simulator plays the board on the slave device."""

    def __init__(self) -> None:
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self.master, False)
        self.device = os.ttyname(self._slave)  # the sim opens this path itself
        self._pending = b""

    def read_lines(self, quiet: float = 0.02) -> list[bytes]:
        """Complete lines the board has sent, read until it has been silent for `quiet` s."""
        while select.select([self.master], [], [], quiet)[0]:
            self._pending += os.read(self.master, 4096)
        *lines, self._pending = self._pending.split(b"\n")
        return lines

    def read_until(self, word: bytes, timeout: float = 3.0) -> list[bytes]:
        lines: list[bytes] = []
        deadline = time.monotonic() + timeout
        while not any(line.startswith(word) for line in lines):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {word!r} line in {lines}")
            lines += self.read_lines(0.005)
        return lines

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def close(self) -> None:
        os.close(self.master)
        os.close(self._slave)


@pytest.fixture
def host() -> Iterator[HostEnd]:
    end = HostEnd()
    yield end
    end.close()


def script(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "demo.txt"
    path.write_text(text, encoding="utf-8")
    return path


def run_script(host: HostEnd, path: Path, *options: str) -> int:
    return main(
        ["pickup", "--port", host.device, "--state-interval", "0", "--script", str(path), *options]
    )


def test_script_plays_the_board_and_exits(
    host: HostEnd, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = script(
        tmp_path,
        """
        # a shopper picks up phone 3, trips the puck alarm on 2, puts 3 back
        lift 3
        alarm 2 puck

        drop 3   # back on its puck
        state
        badsum 4
        noise
        """.replace("        ", ""),
    )
    assert run_script(host, path) == 0
    received = [parse_line(line) for line in host.read_lines()]
    assert received[:5] == [
        Hello("SIM-0001", "1.4.2", 12),
        Lift(3),
        AlarmLine(2, AlarmReason.PUCK_REMOVED),
        Drop(3),
        State(frozenset()),
    ]
    rejects = [r.reason for r in received[5:] if isinstance(r, Rejected)]
    assert rejects == [RejectReason.BAD_CHECKSUM] + [RejectReason.NOISE] * 3
    out = capsys.readouterr().out
    assert out.startswith(f"port: {host.device}\n")
    assert "sent: LIFT 3" in out


def test_script_without_checksums_sends_plain_lines(host: HostEnd, tmp_path: Path) -> None:
    assert run_script(host, script(tmp_path, "lift 1\n"), "--no-checksum") == 0
    assert host.read_lines()[-1] == b"LIFT 1"


def test_unknown_command_stops_the_script_with_its_line_number(
    host: HostEnd, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = script(tmp_path, "lift 1\njump 3\nlift 2\n")
    assert run_script(host, path) == 1
    err = capsys.readouterr().err
    assert f"{path}:2: unknown command 'jump'" in err
    assert "Traceback" not in err
    assert [parse_line(line) for line in host.read_lines()][1:] == [Lift(1)]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("lift 13", "slot must be from 1 to 12, not 13"),
        ("lift 0", "slot must be from 1 to 12, not 0"),
        ("drop three", "slot must be a number from 1 to 12, not 'three'"),
        ("lift", "usage: lift N"),
        ("alarm 3 CABLE now", "usage: alarm N [CABLE|PUCK]"),
        ("wait soon", "usage: wait SECONDS"),
        ("wait -1", "wait takes 0 to 3600 seconds"),
        ("state now", "state takes no arguments"),
    ],
)
def test_bad_arguments_are_reported_clearly(
    host: HostEnd, tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, message: str
) -> None:
    path = script(tmp_path, f"# comment\n{line}\n")
    assert run_script(host, path) == 1
    err = capsys.readouterr().err
    assert f"{path}:2: {message}" in err
    assert "Traceback" not in err


def test_missing_script_is_an_error_not_a_traceback(
    host: HostEnd, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_script(host, tmp_path / "nope.txt") == 2
    assert "cannot read script" in capsys.readouterr().err


def test_existing_file_at_the_link_path_is_not_replaced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    precious = tmp_path / "pickup"
    precious.write_text("keep me", encoding="utf-8")
    path = script(tmp_path, "lift 1\n")
    assert main(["pickup", "--link", str(precious), "--script", str(path)]) == 2
    assert "not a symlink" in capsys.readouterr().err
    assert precious.read_text(encoding="utf-8") == "keep me"


def test_script_mode_on_a_pty_removes_its_link_on_exit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    link = tmp_path / "pickup"
    assert main(["pickup", "--link", str(link), "--script", str(script(tmp_path, "lift 2\n"))]) == 0
    out = capsys.readouterr().out
    assert f"port: {link}\n" in out
    assert f"kiosk --pickup-port {link}" in out
    assert not link.exists()
    assert not link.is_symlink()


def test_host_commands_are_shown_and_leds_listed(
    host: HostEnd, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = script(tmp_path, "wait 0.5\nleds\n")
    result: list[int] = []
    runner = threading.Thread(target=lambda: result.append(run_script(host, path)))
    runner.start()
    host.read_until(b"HELLO")  # the board is up
    host.send(b"LED 3 ON*7F\nLED 4 BLINK\nSTATE?*68\n")
    runner.join(5)
    assert result == [0]
    out = capsys.readouterr().out
    assert "host: LED 3 ON\nhost: LED 4 BLINK\nhost: STATE?\n" in out
    assert "leds: 3 ON, 4 BLINK" in out
    assert host.read_lines()[-1] == b"STATE 0*47"


def test_no_subcommand_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2
    assert "usage: kiosk-sim" in capsys.readouterr().err


# -- as a process --------------------------------------------------------------


class SimProcess:
    """`kiosk-sim pickup` in a subprocess, with its stdout read line by line."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "devices.sim.cli", "pickup", *args],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self._pump = threading.Thread(target=self._read_stdout, daemon=True)
        self._pump.start()

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def expect(self, text: str, timeout: float = 5.0) -> str:
        """Wait for a stdout line containing `text`."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError(f"no line containing {text!r}; saw {self.seen}") from None
            self.seen.append(line)
            if text in line:
                return line

    def type(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def wait(self, timeout: float = 5.0) -> tuple[int, str]:
        """Exit code and stderr once the process ends."""
        assert self.proc.stdin is not None
        assert self.proc.stderr is not None
        self.proc.stdin.close()
        code = self.proc.wait(timeout)
        self._pump.join(timeout)
        return code, self.proc.stderr.read()


@pytest.fixture
def sim_process() -> Iterator[Callable[..., SimProcess]]:
    started: list[SimProcess] = []

    def start(*args: str) -> SimProcess:
        started.append(SimProcess(*args))
        return started[-1]

    yield start
    for sim in started:
        if sim.proc.poll() is None:
            sim.proc.kill()
        sim.proc.wait()
        for stream in (sim.proc.stdin, sim.proc.stdout, sim.proc.stderr):
            if stream is not None:
                stream.close()


def test_interactive_session_drives_a_real_driver(
    tmp_path: Path, sim_process: Callable[..., SimProcess]
) -> None:
    link = tmp_path / "pickup"
    sim = sim_process("--link", str(link), "--state-interval", "0")
    assert sim.expect("port:") == f"port: {link}"
    events = EventRecorder()
    board = PickupBoard(str(link), events)
    board.start()
    try:
        sim.expect("host: STATE?")
        sim.type("lift 99")
        sim.expect("error: slot must be from 1 to 12, not 99")
        sim.type("fly away")
        sim.expect("error: unknown command 'fly'")
        sim.type("lift 3")
        events.wait_for_event(Lifted(3, at=0.0))
    finally:
        board.stop()
    sim.type("quit")
    code, err = sim.wait()
    assert code == 0, err
    assert "Traceback" not in err
    assert not link.is_symlink()


def test_sigterm_cleans_up_the_link(tmp_path: Path, sim_process: Callable[..., SimProcess]) -> None:
    link = tmp_path / "pickup"
    sim = sim_process("--link", str(link))
    sim.expect("port:")
    wait_until(link.is_symlink)
    sim.proc.send_signal(signal.SIGTERM)
    code, err = sim.wait()
    assert code == 0, err
    assert not link.is_symlink()
