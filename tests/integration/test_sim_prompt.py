"""`kiosk-sim pickup` at a terminal, as the demo's user sees it: the simulator runs on a
pseudo-terminal whose output a VT100 emulator (pyte) draws, the kiosk's real pickup
driver sends it LED commands while a command is half typed, and the screen is read
back: the device's line sits above the prompt, the half-typed command is intact.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pyte
import pytest
from helpers.pickup import EventRecorder, wait_until

from devices.events import Lifted
from devices.pickup import PickupBoard
from devices.protocols.pickup import LedMode

COLUMNS: Final = 100
ROWS: Final = 30


class Terminal:
    """A terminal window: `kiosk-sim` on the slave end of a pty, pyte drawing the master's
    output and answering the cursor-position requests a real terminal answers."""

    def __init__(self, *args: str) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
        env = {**os.environ, "TERM": "xterm", "COLUMNS": str(COLUMNS), "LINES": str(ROWS)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "devices.sim.cli", "pickup", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,  # the pty becomes its controlling terminal
        )
        os.close(slave)
        self.screen = pyte.Screen(COLUMNS, ROWS)
        self.screen.write_process_input = self.type  # type: ignore[method-assign]
        self.stream = pyte.ByteStream(self.screen)

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def pump(self, seconds: float = 0.05) -> None:
        """Draw what the program wrote, until it has been quiet for `seconds`."""
        while select.select([self.master], [], [], seconds)[0]:
            try:
                data = os.read(self.master, 65536)
            except OSError:  # the program ended and closed its side
                return
            if not data:
                return
            self.stream.feed(data)

    def lines(self) -> list[str]:
        return [line.rstrip() for line in self.screen.display]

    def wait_for(self, predicate: object, timeout: float = 10.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while True:
            self.pump()
            shown = self.lines()
            if callable(predicate) and predicate(shown):
                return shown
            if time.monotonic() > deadline:
                raise TimeoutError("the screen never showed it:\n" + "\n".join(shown))

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(5)
        os.close(self.master)


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    opened = Terminal("--link", str(tmp_path / "pickup"), "--state-interval", "0")
    yield opened
    opened.close()


def test_a_device_line_lands_above_the_prompt_not_in_the_typed_command(
    terminal: Terminal, tmp_path: Path
) -> None:
    link = tmp_path / "pickup"
    terminal.wait_for(lambda shown: any(line == "pickup>" for line in shown))
    wait_until(link.is_symlink)
    events = EventRecorder()
    board = PickupBoard(str(link), events)  # the kiosk's driver on the other end
    board.start()
    try:
        terminal.wait_for(lambda shown: "host: STATE?" in shown)
        terminal.type("lif")  # half a command at the prompt
        terminal.wait_for(lambda shown: "pickup> lif" in shown)
        board.set_led(3, LedMode.ON)  # the kiosk lights a slot meanwhile
        shown = terminal.wait_for(lambda shown: "host: LED 3 ON" in shown)
        typed = [line for line in shown if line.startswith("pickup>")]
        assert typed == ["pickup> lif"], shown  # the prompt is whole, below the device line
        assert shown.index("host: LED 3 ON") < shown.index("pickup> lif")
        terminal.type("t 3\r")  # the rest of the command still counts
        events.wait_for_event(Lifted(3, at=0.0))
        terminal.wait_for(lambda shown: "sent: LIFT 3" in shown)
        terminal.type("quit\r")
        terminal.process.wait(5)
    finally:
        board.stop()
    assert terminal.process.returncode == 0


def test_the_demo_started_kiosk_gets_no_hint_to_start_one(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "devices.sim.cli", "pickup", "--link", str(tmp_path / "p")],
        input="quit\n",
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert "run the kiosk with: kiosk --pickup-port" in done.stdout  # alone, it says how
    started = subprocess.run(
        [
            sys.executable,
            "-m",
            "devices.sim.cli",
            "pickup",
            "--link",
            str(tmp_path / "p"),
            "--kiosk-started",
        ],
        input="quit\n",
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert started.returncode == 0, started.stderr
    assert started.stdout.startswith(f"port: {tmp_path / 'p'}\n")
    assert "run the kiosk with" not in started.stdout
