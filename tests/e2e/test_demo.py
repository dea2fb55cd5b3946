"""`./run demo` as a new user runs it, at a terminal (a pty), with a umask that leaves new
files readable by everyone: lift a phone at the simulator's prompt, then `quit`.

Afterwards nothing the demo started is left running (HQ's port is free for the next
`./run demo`), the simulator never told the user to start a kiosk the demo had already
started, and HQ's data directory and files are 0700/0600.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import socket
import stat
import subprocess
import time
from pathlib import Path
from typing import Final

import pytest
from helpers.kiosk_channel import free_port

REPO: Final = Path(__file__).resolve().parents[2]
START_TIMEOUT_S: Final = 180.0  # first run: sample bundle, HQ, enrolments, seeded console
_ANSI: Final = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]")

pytestmark = pytest.mark.slow


class DemoTerminal:
    def __init__(self, env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(
            [str(REPO / "run"), "demo"],
            cwd=REPO,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
            preexec_fn=lambda: os.umask(0o022),  # noqa: PLW1509 - a umask, no threads used
        )
        os.close(slave)
        self.output = b""

    @property
    def text(self) -> str:
        return _ANSI.sub(b"", self.output).decode("utf-8", "replace")

    def read_until(self, word: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while word not in self.text:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {word!r} from ./run demo:\n{self.text[-3000:]}")
            if select.select([self.master], [], [], 0.2)[0]:
                try:
                    self.output += os.read(self.master, 65536)
                except OSError:  # it ended
                    raise TimeoutError(f"./run demo ended:\n{self.text[-3000:]}") from None

    def type(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\r")

    def finish(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            if select.select([self.master], [], [], 0.2)[0]:
                try:
                    self.output += os.read(self.master, 65536)
                except OSError:
                    break
        return self.process.wait(max(0.0, deadline - time.monotonic()))


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def processes_mentioning(text: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline:
            found.append(f"{entry.name}: {cmdline}")
    return found


def test_quit_at_the_simulator_stops_the_whole_demo_and_its_files_are_private(
    tmp_path: Path,
) -> None:
    demo = tmp_path / "demo"
    hq_port, channel_port = free_port(), free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DISPLAY", "WAYLAND_DISPLAY"}  # the kiosk runs offscreen
    }
    env |= {
        "KIOSK_DEMO_DIR": str(demo),
        "KIOSK_HQ_PORT": str(hq_port),
        "KIOSK_CHANNEL_PORT": str(channel_port),
        "KIOSK_SKIP_SYSTEM_PACKAGES": "1",
        "TERM": "xterm",
    }
    terminal = DemoTerminal(env)
    try:
        terminal.read_until("pickup>", START_TIMEOUT_S)
        assert listening(hq_port)
        terminal.type("lift 3")
        terminal.read_until("sent: LIFT 3", 10)
        trace = demo / "trace.jsonl"
        deadline = time.monotonic() + 30
        while not any(
            json.loads(line).get("view", "").startswith("product:")
            for line in (trace.read_text().splitlines() if trace.exists() else [])
            if '"screen"' in line
        ):
            assert time.monotonic() < deadline, "the kiosk never showed the lifted phone"
            time.sleep(0.1)
        terminal.type("quit")
        assert terminal.finish(60) == 0, terminal.text[-3000:]
    finally:
        if terminal.process.poll() is None:
            os.killpg(terminal.process.pid, 9)
            terminal.process.wait(10)
        os.close(terminal.master)

    assert "run the kiosk with" not in terminal.text
    assert not listening(hq_port), "HQ still listens: the next ./run demo would find it taken"
    assert processes_mentioning(str(demo)) == []
    hq_data = demo / "hq"
    modes = {
        str(path.relative_to(demo)): stat.S_IMODE(path.stat().st_mode)
        for path in [hq_data, *hq_data.rglob("*")]
    }
    assert modes[str(hq_data.relative_to(demo))] == 0o700
    assert {name: mode for name, mode in modes.items() if mode not in (0o700, 0o600)} == {}
    assert {"hq/hq.sqlite3", "hq/notices.json", "hq/admin-token"} <= set(modes)
