"""Store channel test parts: kiosks (a window file, a key, a real server process), scripted
kiosks (an HTTP server that sends what a test says) and a recorder for what an attendant
client receives."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO
from urllib.parse import parse_qs, urlsplit

from backend_client.channel.client import KioskEndpoint, KioskState, KioskStatus
from backend_client.channel.keys import write_store_key
from backend_client.channel.messages import ChannelMessage
from backend_client.channel.window import Window, open_window
from helpers.pickup import wait_until

STORE = "sh-nanjing-road"
OTHER_STORE = "bj-wangfujing"
KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


class Kiosk:
    """A kiosk's data dir: its store key, its window (this process writes), and its
    channel server as a real process that tests kill with -9 and start again."""

    def __init__(
        self,
        data_dir: Path,
        kiosk: str,
        store: str = STORE,
        key: bytes = KEY,
        *,
        content: Path | None = None,
    ) -> None:
        self.data_dir, self.kiosk, self.store, self.content = data_dir, kiosk, store, content
        write_store_key(data_dir, key)
        self.window: Window = open_window(data_dir, store=store, kiosk=kiosk)
        self.port = 0
        self.process: subprocess.Popen[str] | None = None
        self._lines: list[str] = []  # what the server printed after its first line
        self._reader: threading.Thread | None = None

    @property
    def endpoint(self) -> KioskEndpoint:
        return KioskEndpoint(self.kiosk, f"http://127.0.0.1:{self.port}")

    def serve(self, *, advertise: bool = False) -> None:
        self.start(advertise=advertise)
        self.wait_serving()

    def start(self, *, advertise: bool = False) -> None:
        """Start the server process; `wait_serving` waits until it listens."""
        self.process = subprocess.Popen(
            [sys.executable, "-m", "backend_client.channel.serve", "--data-dir",
             str(self.data_dir), "--store", self.store, "--kiosk", self.kiosk,
             "--host", "127.0.0.1", "--port", str(self.port)]
            + (["--advertise"] if advertise else [])
            + (["--content", str(self.content)] if self.content is not None else []),
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip

    def wait_serving(self) -> None:
        assert self.process is not None
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.startswith("channel serving on "), line
        self.port = int(line.rsplit(":", 1)[1])
        self._reader = threading.Thread(target=self._read, args=(self.process.stdout,))
        self._reader.start()

    def _read(self, stdout: IO[str]) -> None:
        for line in stdout:
            self._lines.append(line.rstrip("\n"))

    def printed(self) -> list[str]:
        """The lines the server printed on stdout after `channel serving on`."""
        return list(self._lines)

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self._reap()

    def _reap(self) -> None:
        assert self.process is not None
        self.process.wait(10)
        if self._reader is not None:
            self._reader.join(10)  # the pipe ends with the process
            self._reader = None
        if self.process.stdout is not None:
            self.process.stdout.close()

    def append_heartbeat(self, uptime_s: int) -> ChannelMessage:
        return self.window.append("heartbeat", {"uptime_s": uptime_s}, at=datetime.now(UTC))

    def close(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.terminate()
            self._reap()
        self.window.close()


def serve_all(*kiosks: Kiosk) -> None:
    """Start every kiosk's server at once (each takes a Python start), then wait for each."""
    for kiosk in kiosks:
        kiosk.start()
    for kiosk in kiosks:
        kiosk.wait_serving()


class Feed:
    """An attendant's on_message and on_status: what arrived, per kiosk, in order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seqs: dict[str, list[int]] = defaultdict(list)
        self.messages: list[ChannelMessage] = []
        self.statuses: list[KioskStatus] = []

    def on_message(self, message: ChannelMessage) -> None:
        with self._lock:
            self.seqs[message.kiosk].append(message.seq)
            self.messages.append(message)

    def on_status(self, status: KioskStatus) -> None:
        with self._lock:
            self.statuses.append(status)

    def of(self, kiosk: str) -> list[int]:
        with self._lock:
            return list(self.seqs[kiosk])

    def of_kind(self, kind: str) -> list[ChannelMessage]:
        with self._lock:
            return [message for message in self.messages if message.kind == kind]

    def has(self, kiosk: str, count: int) -> bool:
        return len(self.of(kiosk)) >= count

    def states(self, kiosk: str) -> list[KioskState]:
        with self._lock:
            return [status.state for status in self.statuses if status.kiosk == kiosk]

    def wait_state(self, kiosk: str, state: KioskState, timeout: float = 20.0) -> None:
        wait_until(lambda: state in self.states(kiosk), timeout, f"{kiosk} {state.value}")


def event(frame: bytes) -> bytes:
    return b"data: " + frame + b"\n\n"


class ScriptedKiosk:
    """Answers every channel request with `body` (or `body(after)`), then holds the
    stream open (quiet)."""

    def __init__(self, body: bytes | Callable[[int], bytes]) -> None:
        self.body = body
        self.requests = 0
        done = self._done = threading.Event()
        kiosk = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                kiosk.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                after = int(parse_qs(urlsplit(self.path).query)["after"][0])
                body = kiosk.body(after) if callable(kiosk.body) else kiosk.body
                try:
                    self.wfile.write(body)
                    self.wfile.flush()
                except OSError:
                    return  # the client hung up on us, as it should
                done.wait(30)

            def log_message(self, *_args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()

    def endpoint(self, kiosk: str) -> KioskEndpoint:
        return KioskEndpoint(kiosk, f"http://127.0.0.1:{self._server.server_address[1]}")

    def close(self) -> None:
        self._done.set()
        self._server.shutdown()
        self._server.server_close()
