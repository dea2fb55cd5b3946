"""HQ as a real process (`kiosk-hq serve`) that tests can kill -9 and start again."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import requests

from helpers.tls import ServerTls

KIOSK_HQ: Final = Path(sys.executable).parent / "kiosk-hq"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class HqProcess:
    """One HQ: a data directory and a database that outlive the processes serving them."""

    def __init__(
        self,
        data_dir: Path,
        database_url: str | None = None,
        port: int = 0,
        tls: ServerTls | None = None,
        host: str = "127.0.0.1",
        serve_args: Sequence[str] = (),
    ) -> None:
        """`host` is where it listens (it is reached on 127.0.0.1 whatever it is);
        `serve_args` go to `kiosk-hq serve` as well."""
        self.data_dir = data_dir
        self.host = host
        self.serve_args = tuple(serve_args)
        self.database_url = database_url
        self.port = port or free_port()
        self.tls = tls
        scheme = "https" if tls else "http"
        self.base_url = f"{scheme}://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / "hq.log"  # what it wrote to stdout and stderr
        data_dir.mkdir(parents=True, exist_ok=True)

    def _global_args(self) -> list[str]:
        args = [str(KIOSK_HQ), "--data-dir", str(self.data_dir)]
        if self.database_url:
            args += ["--database-url", self.database_url]
        return args

    def cli(self, *args: str) -> str:
        """Run a `kiosk-hq` subcommand against this HQ's database; its stdout."""
        done = subprocess.run(
            [*self._global_args(), *args], capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, f"kiosk-hq {' '.join(args)}: {done.stderr}"
        return done.stdout

    def start(self, timeout: float = 20.0) -> None:
        assert self.process is None or self.process.poll() is not None, "HQ is already running"
        args = [*self._global_args(), "serve", "--host", self.host, "--port", str(self.port)]
        args += self.serve_args
        verify: bool | str = True
        if self.tls:
            args += [
                "--ssl-certfile",
                str(self.tls.certfile),
                "--ssl-keyfile",
                str(self.tls.keyfile),
            ]
            verify = str(self.tls.ca_bundle)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(args, stdout=log, stderr=log, env=dict(os.environ))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"kiosk-hq serve exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                if requests.get(f"{self.base_url}/v1/health", timeout=1, verify=verify).ok:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"HQ did not come up:\n{self.log_path.read_text()[-3000:]}")

    def kill(self) -> None:
        """kill -9: no shutdown handler runs, whatever was in flight is cut off."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def enroll_code(self, store_id: str) -> str:
        self.cli("store", "add", store_id, "--exist-ok")
        return self.cli("kiosk", "enroll-code", store_id).strip()
