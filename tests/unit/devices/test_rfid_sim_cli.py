"""`kiosk-sim rfid`: script files, errors, and the interactive prompt."""

from __future__ import annotations

import os
import queue
import select
import subprocess
import sys
import threading
import time
import tty
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.pickup import EventRecorder, is_health

from devices.events import HealthStatus, TagId, TagKind, TagSeen
from devices.protocols.rfid import LineFormat, LineParser, ParserStats, Rdm6300Parser, ReadResult
from devices.rfid import SerialRfidReader
from devices.sim.cli import main

REPO = Path(__file__).resolve().parents[3]


class HostEnd:
    """The host side of a pty pair; the simulator plays the reader on the slave device."""

    def __init__(self) -> None:
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self.master, False)
        self.device = os.ttyname(self._slave)  # the sim opens this path itself

    def read_all(self, quiet: float = 0.02) -> bytes:
        """Everything the reader has sent, read until it has been silent for `quiet` s."""
        data = b""
        while select.select([self.master], [], [], quiet)[0]:
            data += os.read(self.master, 4096)
        return data

    def close(self) -> None:
        os.close(self.master)
        os.close(self._slave)


@pytest.fixture
def host() -> Iterator[HostEnd]:
    end = HostEnd()
    yield end
    end.close()


def script(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "fobs.txt"
    path.write_text(text, encoding="utf-8")
    return path


def run_script(host: HostEnd, path: Path, *options: str) -> int:
    return main(["rfid", "--port", host.device, "--script", str(path), *options])


def card_numbers(results: list[ReadResult]) -> list[str]:
    return [r.value for r in results if isinstance(r, TagId)]


def test_script_taps_holds_and_garbles_fobs(
    host: HostEnd, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = script(
        tmp_path,
        """
        # a member taps, another holds a fob on the reader, then a loose connector
        tap 0012345678
        hold 42 0.3   # short card numbers are padded
        noise 5
        badsum 0012345678

        partial
        tap 4294967295
        """.replace("        ", ""),
    )
    assert run_script(host, path, "--interval", "0.1") == 0
    parser = Rdm6300Parser()
    results = parser.feed(host.read_all())
    assert card_numbers(results) == ["0012345678"] + ["0000000042"] * 4 + ["4294967295"]
    assert parser.stats == ParserStats(frames=6, bad_checksum=1, malformed=1, noise_bytes=5)
    out = capsys.readouterr().out
    assert out.startswith(f"port: {host.device}\n")
    assert "sent: card 0012345678\n" in out
    assert "sent: card 0000000042 held for 0.3 s (4 frames)\n" in out
    assert "sent: 5 noise bytes\n" in out


@pytest.mark.parametrize(
    ("line_format", "wire"),
    [("decimal", b"0012345678\r\n"), ("hex", b"0B00BC614E\r\n")],
)
def test_line_protocol_sends_one_id_per_line(
    host: HostEnd, tmp_path: Path, line_format: str, wire: bytes
) -> None:
    path = script(tmp_path, "tap 12345678\n")
    assert run_script(host, path, "--protocol", "line", "--line-format", line_format) == 0
    data = host.read_all()
    assert data == wire
    assert LineParser(LineFormat.AUTO).feed(data) == [TagId(TagKind.RFID, "0012345678")]


def test_unknown_command_stops_the_script_with_its_line_number(
    host: HostEnd, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = script(tmp_path, "tap 1\nswipe 2\ntap 3\n")
    assert run_script(host, path) == 1
    err = capsys.readouterr().err
    assert f"{path}:2: unknown command 'swipe'" in err
    assert "Traceback" not in err
    assert card_numbers(Rdm6300Parser().feed(host.read_all())) == ["0000000001"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("tap", "usage: tap CARD"),
        ("tap 1 2", "usage: tap CARD"),
        ("tap 12345678901", "a card number is 1 to 10 decimal digits"),
        ("tap 4294967296", "a card number is at most 4294967295"),
        ("tap fob", "a card number is 1 to 10 decimal digits"),
        ("hold 1", "usage: hold CARD SECONDS"),
        ("hold 1 soon", "usage: hold CARD SECONDS"),
        ("hold 1 -2", "hold takes 0 to 3600 seconds"),
        ("noise lots", "usage: noise [N]"),
        ("noise 0", "noise takes 1 to 4096 bytes"),
        ("noise 5000", "noise takes 1 to 4096 bytes"),
        ("partial now", "partial takes no arguments"),
        ("wait -1", "wait takes 0 to 3600 seconds"),
        ("replug", "already plugged in"),
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


def test_badsum_is_refused_for_a_line_reader(
    host: HostEnd, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = script(tmp_path, "badsum 1\n")
    assert run_script(host, path, "--protocol", "line") == 1
    assert f"{path}:1: line readers send no checksum" in capsys.readouterr().err


def test_quit_ends_the_script_early(host: HostEnd, tmp_path: Path) -> None:
    assert run_script(host, script(tmp_path, "tap 1\nquit\ntap 2\n")) == 0
    assert card_numbers(Rdm6300Parser().feed(host.read_all())) == ["0000000001"]


@pytest.mark.parametrize(
    "options",
    [["--interval", "0"], ["--protocol", "wiegand"], ["--line-format", "auto"]],
)
def test_bad_options_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], options: list[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["rfid", "--link", str(tmp_path / "rfid"), *options])
    assert exit_info.value.code == 2
    assert "usage: kiosk-sim rfid" in capsys.readouterr().err


def test_script_mode_on_a_pty_removes_its_link_on_exit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    link = tmp_path / "rfid"
    assert main(["rfid", "--link", str(link), "--script", str(script(tmp_path, "tap 1\n"))]) == 0
    assert capsys.readouterr().out.startswith(f"port: {link}\n")
    assert not link.exists()
    assert not link.is_symlink()


def test_existing_file_at_the_link_path_is_not_replaced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    precious = tmp_path / "rfid"
    precious.write_text("keep me", encoding="utf-8")
    path = script(tmp_path, "tap 1\n")
    assert main(["rfid", "--link", str(precious), "--script", str(path)]) == 2
    assert "not a symlink" in capsys.readouterr().err
    assert precious.read_text(encoding="utf-8") == "keep me"


def test_missing_script_is_an_error_not_a_traceback(
    host: HostEnd, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_script(host, tmp_path / "nope.txt") == 2
    assert "cannot read script" in capsys.readouterr().err


# -- as a process --------------------------------------------------------------


def test_interactive_session_drives_a_real_reader(tmp_path: Path) -> None:
    link = tmp_path / "rfid"
    proc = subprocess.Popen(
        [sys.executable, "-m", "devices.sim.cli", "rfid", "--link", str(link)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    assert proc.stderr is not None
    lines: queue.Queue[str] = queue.Queue()

    def read_stdout() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))

    pump = threading.Thread(target=read_stdout, daemon=True)
    pump.start()

    def expect(text: str, timeout: float = 5.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            if text in line:
                return line

    def type_command(command: str) -> None:
        assert proc.stdin is not None
        proc.stdin.write(command + "\n")
        proc.stdin.flush()

    events = EventRecorder()
    reader = SerialRfidReader(str(link), events, backoff_initial=0.01, backoff_max=0.05)
    try:
        assert expect("port:") == f"port: {link}"
        reader.start()
        events.wait_for(is_health(HealthStatus.UP))
        type_command("tap 99999999999")
        expect("error: a card number is 1 to 10 decimal digits")
        type_command("tap 0012345678")
        expect("sent: card 0012345678")
        seen = events.wait_for_event(TagSeen)
        assert isinstance(seen, TagSeen)
        assert seen.tag == TagId(TagKind.RFID, "0012345678")
    finally:
        reader.stop()
        type_command("quit")
        proc.stdin.close()
        code = proc.wait(5)
        pump.join(5)
        err = proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()
    assert code == 0, err
    assert "Traceback" not in err
    assert not link.is_symlink()
