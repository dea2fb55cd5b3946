"""What systemd does for deploy/kiosk.service, for a test whose PID 1 is not systemd.

It reads the unit's own Restart/RestartSec/WatchdogSec/WatchdogSignal/TimeoutAbortSec/
TimeoutStopSec and supervises a command the way systemd supervises a Type=notify,
NotifyAccess=all service: it provides $NOTIFY_SOCKET and $WATCHDOG_USEC, arms the
watchdog at READY=1, answers a missed WATCHDOG=1 with WatchdogSignal (plus SIGCONT, so a
stopped process gets it) and SIGKILL after TimeoutAbortSec, and after the main process
exits ends the rest of its group (KillMode=control-group: SIGTERM, then SIGKILL) and
starts it again RestartSec later.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

_SPAN = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|sec|min|m)?$")
_UNITS = {None: 1.0, "s": 1.0, "sec": 1.0, "ms": 0.001, "min": 60.0, "m": 60.0}


def unit_settings(unit: Path, section: str = "Service") -> dict[str, str]:
    """The last value of each setting in one section of a systemd unit file."""
    settings: dict[str, str] = {}
    current = None
    for raw in unit.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
        elif current == section and "=" in line:
            key, value = line.split("=", 1)
            settings[key.strip()] = value.strip()
    return settings


def time_span(value: str) -> float:
    """A systemd time span with one unit ("500ms", "2s", "2", "1min") in seconds."""
    match = _SPAN.match(value.strip())
    if match is None:
        raise ValueError(f"not a time span this helper reads: {value!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


@dataclass(frozen=True)
class ServiceSettings:
    restart: str
    restart_sec: float
    watchdog_sec: float
    watchdog_signal: signal.Signals
    timeout_abort_sec: float
    timeout_stop_sec: float

    @classmethod
    def from_unit(cls, unit: Path) -> ServiceSettings:
        service = unit_settings(unit)
        assert service.get("Type") == "notify", "the watchdog needs Type=notify"
        stop = time_span(service.get("TimeoutStopSec", "90s"))
        return cls(
            restart=service.get("Restart", "no"),
            restart_sec=time_span(service.get("RestartSec", "100ms")),
            watchdog_sec=time_span(service.get("WatchdogSec", "0")),
            watchdog_signal=signal.Signals[service.get("WatchdogSignal", "SIGABRT")],
            timeout_abort_sec=time_span(service.get("TimeoutAbortSec", str(stop))),
            timeout_stop_sec=stop,
        )


@dataclass
class Run:
    """One start of the service."""

    pid: int
    started: float  # time.monotonic()
    ready: float | None = None
    watchdog_fired: float | None = None
    ended: float | None = None
    returncode: int | None = None
    messages: list[str] = field(default_factory=list)


class Supervisor:
    """Runs `command` under `settings` until stop(); each start is one Run in `runs`."""

    def __init__(
        self,
        settings: ServiceSettings,
        command: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path,
        log: Path,
    ) -> None:
        assert settings.restart == "always", "the kiosk's unit restarts it whatever the exit"
        self.settings = settings
        self._command = list(command)
        self._env = dict(env)
        self._cwd = cwd
        self._log = log
        self.runs: list[Run] = []
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        # Abstract ($NOTIFY_SOCKET may name one): no path length limit, no file left behind.
        self._socket_name = f"@kiosk-supervisor-{os.getpid()}-{id(self)}"
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._socket.bind("\0" + self._socket_name[1:])
        self._socket.settimeout(0.05)
        self._thread = threading.Thread(target=self._supervise, name="supervisor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=self.settings.timeout_stop_sec + 10)
        self._socket.close()

    def current(self) -> Run:
        with self._changed:
            return self.runs[-1]

    def wait_for_run(self, number: int, timeout: float = 60) -> Run:
        """The `number`th start (1-based), once it has said READY=1."""
        with self._changed:
            ok = self._changed.wait_for(
                lambda: len(self.runs) >= number and self.runs[number - 1].ready is not None,
                timeout,
            )
            assert ok, f"start {number} never said READY=1; runs: {self.runs}"
            return self.runs[number - 1]

    def wait_for_pings(self, run: Run, count: int, timeout: float = 30) -> None:
        """Until `run` has sent `count` WATCHDOG=1 (its GUI thread is turning over)."""

        def pings() -> int:
            return sum("WATCHDOG=1" in message.splitlines() for message in run.messages)

        with self._changed:
            ok = self._changed.wait_for(lambda: pings() >= count, timeout)
            assert ok, f"the run pinged the watchdog {pings()} times, not {count}"

    def _spawn(self) -> subprocess.Popen[bytes]:
        env = dict(
            self._env,
            NOTIFY_SOCKET=self._socket_name,
            WATCHDOG_USEC=str(int(self.settings.watchdog_sec * 1_000_000)),
        )
        with self._log.open("ab") as log:
            process = subprocess.Popen(
                self._command,
                cwd=self._cwd,
                env=env,
                stdout=log,
                stderr=log,
                start_new_session=True,  # its group stands for the unit's cgroup
            )
        with self._changed:
            self.runs.append(Run(pid=process.pid, started=time.monotonic()))
            self._changed.notify_all()
        return process

    def _supervise(self) -> None:
        while True:
            process = self._spawn()
            run = self.current()
            watchdog_deadline: float | None = None
            abort_deadline: float | None = None
            while process.poll() is None:
                if self._stopping.is_set():
                    self._end_group(process, signal.SIGTERM)
                    return
                try:
                    message = self._socket.recv(4096).decode()
                except TimeoutError:
                    message = ""
                now = time.monotonic()
                if message:
                    with self._changed:
                        run.messages.append(message)
                        lines = message.splitlines()
                        if "READY=1" in lines and run.ready is None:
                            run.ready = now
                        pinged = "READY=1" in lines or "WATCHDOG=1" in lines
                        if pinged and run.ready is not None and self.settings.watchdog_sec:
                            watchdog_deadline = now + self.settings.watchdog_sec
                        self._changed.notify_all()
                if watchdog_deadline is not None and now >= watchdog_deadline:
                    run.watchdog_fired = now
                    process.send_signal(self.settings.watchdog_signal)
                    process.send_signal(signal.SIGCONT)
                    watchdog_deadline = None
                    abort_deadline = now + self.settings.timeout_abort_sec
                if abort_deadline is not None and now >= abort_deadline:
                    process.kill()
                    abort_deadline = None
            self._end_group(process, None)
            with self._changed:
                run.ended, run.returncode = time.monotonic(), process.returncode
                self._changed.notify_all()
            if self._stopping.wait(self.settings.restart_sec):
                return

    def _end_group(self, process: subprocess.Popen[bytes], first: signal.Signals | None) -> None:
        """Stop the main process (if `first`) and whatever it left in its group."""
        group = process.pid
        if first is not None:
            os.killpg(group, first)
            try:
                process.wait(self.settings.timeout_stop_sec)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        try:
            os.killpg(group, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + self.settings.timeout_stop_sec
        while time.monotonic() < deadline:
            if not group_alive(group):
                return
            time.sleep(0.01)
        os.killpg(group, signal.SIGKILL)


def group_alive(group: int) -> bool:
    """Whether a process of the group still runs (orphans' zombies wait for PID 1 here)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            return True
    return False
