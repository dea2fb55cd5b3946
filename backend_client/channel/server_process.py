"""The kiosk's side of its channel server: the `serve` child, kept running.

    python -m backend_client.channel.serve --exit-with-stdin --data-dir D --store S
        --kiosk K [--content C] --host H --port P [--advertise]

runs under a `Supervisor` (backend_client/supervisor.py): restarted with a backoff
when it dies (it keeps no state: the window file is everything), stopped with the
kiosk. Its stdout lines are how it tells the kiosk things: `channel serving on
HOST:PORT` once listening, `planogram changed` after staff edited the planogram
(the kiosk then re-reads the edits), and the message hand-off's (intake.py): the
kiosk writes each channel message to its stdin, the child says what it wrote. A
command line the server refuses (exit status 2, argparse's) is not retried:
restarting would not help.
"""

from __future__ import annotations

import ipaddress
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from backend_client.channel import intake
from backend_client.supervisor import Supervisor

_log = logging.getLogger("backend_client.channel.server_process")

DEFAULT_PORT: Final = 8765
DEFAULT_HOST: Final = "0.0.0.0"  # noqa: S104 - attendant devices are on the store's LAN
EXIT_USAGE: Final = 2  # argparse: this serve does not take the options we passed
SERVING: Final = b"channel serving on "
PLANOGRAM_CHANGED: Final = b"planogram changed"


@dataclass(frozen=True, slots=True)
class ServerOptions:
    data_dir: Path
    store: str
    kiosk: str
    content: Path | None = None  # the kiosk's content store root: catalog and planogram
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    advertise: bool | None = None  # None: on LAN addresses, not on loopback

    @property
    def advertised(self) -> bool:
        if self.advertise is not None:
            return self.advertise
        return not is_loopback(self.host)

    def command(self) -> list[str]:
        """The serve command line; each option is one entry here, so adding one is a line."""
        options: list[tuple[str, str | None]] = [
            ("--data-dir", str(self.data_dir)),
            ("--store", self.store),
            ("--kiosk", self.kiosk),
            ("--content", None if self.content is None else str(self.content)),
            ("--host", self.host),
            ("--port", str(self.port)),
        ]
        # Its stdin is the supervisor's pipe: it ends when the kiosk does, even by kill -9.
        command = [sys.executable, "-m", "backend_client.channel.serve", "--exit-with-stdin"]
        for name, value in options:
            if value is not None:
                command += [name, value]
        return [*command, "--advertise"] if self.advertised else command


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ChannelServer:
    """The supervised `serve` child. `on_serving(port)` and `on_planogram_changed()` are
    called on the supervisor's thread."""

    def __init__(
        self,
        options: ServerOptions,
        *,
        on_serving: Callable[[int], None] | None = None,
        on_planogram_changed: Callable[[], None] | None = None,
        on_ready: Callable[[], None] | None = None,
        on_written: Callable[[int], None] | None = None,
        on_gone: Callable[[], None] | None = None,
        restart_delay: float = 1.0,
        max_restart_delay: float = 30.0,
    ) -> None:
        """`on_ready`, `on_written(id)` and `on_gone` are the message hand-off's (intake.py,
        sender.ChannelSender): a child reads its stdin, wrote up to `id`, ended."""
        self.options = options
        self._on_serving = on_serving
        self._on_planogram_changed = on_planogram_changed
        self._on_ready = on_ready
        self._on_written = on_written
        self._on_gone = on_gone
        self.port: int | None = None
        """The port the running server listens on (None before it says so)."""
        self._supervisor = Supervisor(
            "channel server",
            options.command,
            on_line=self._line,
            on_exit=self._exited,
            give_up_on={EXIT_USAGE: "refused its command line (see its log); no store channel"},
            logger=_log,
            restart_delay=restart_delay,
            max_restart_delay=max_restart_delay,
        )

    @property
    def pid(self) -> int | None:
        return self._supervisor.pid

    @property
    def spawned(self) -> int:
        return self._supervisor.spawned

    def start(self) -> None:
        self._supervisor.start()

    def stop(self, timeout: float = 3.0) -> bool:
        # With attendants connected, uvicorn waits for their streams to end on SIGTERM;
        # the server holds no state, so a kill after `timeout` loses nothing.
        return self._supervisor.stop(timeout)

    def write(self, data: bytes) -> None:
        """To the running child's stdin; never blocks (nothing when no child runs)."""
        self._supervisor.write(data)

    def _line(self, line: bytes) -> None:
        if (last := intake.written(line.rstrip())) is not None:
            if self._on_written is not None:
                self._on_written(last)
        elif line.rstrip() == intake.READY:
            if self._on_ready is not None:
                self._on_ready()
        elif line.startswith(SERVING):
            try:
                self.port = int(line.rsplit(b":", 1)[1])
            except ValueError:
                _log.warning("the channel server said it serves, on no port we can read")
                return
            _log.info("store channel serving on port %d", self.port)
            if self._on_serving is not None:
                self._on_serving(self.port)
        elif line.strip() == PLANOGRAM_CHANGED and self._on_planogram_changed is not None:
            self._on_planogram_changed()

    def _exited(self, _code: int | None) -> None:
        self.port = None
        if self._on_gone is not None:
            self._on_gone()
