"""HQ as deploy/hq runs it: gunicorn with uvicorn workers on a unix socket, nginx in front.

    with GunicornHq(tmp / "hq", database_url, workers=2) as hq:
        first, second = hq.connections_to_each_worker()   # one kept-alive connection each
        first.request("GET", "/v1/health")
        with NginxFront(tmp / "nginx", hq.socket, tls) as front:
            requests.get(f"{front.base_url}/v1/health", verify=tls.ca_bundle)

Both use the files in deploy/hq/ as shipped; only paths and ports are swapped for
the test's (each swap checks the text it replaces is there, so the files cannot drift
from what the tests run).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Final

from helpers.hq_process import free_port
from helpers.tls import ServerTls

REPO: Final = Path(__file__).resolve().parents[2]
DEPLOY: Final = REPO / "deploy" / "hq"
GUNICORN: Final = Path(sys.executable).parent / "gunicorn"
NGINX: Final = shutil.which("nginx") or "/usr/sbin/nginx"
START_TIMEOUT_S: Final = 20.0
_ACCESS_LINE: Final = re.compile(r"^\[(\d+)\] INFO hq\.access: (\S+) (\S+) (\S+) (\d+) ")


class Answer:
    def __init__(self, response: http.client.HTTPResponse) -> None:
        self.status = response.status
        self.headers = response.headers
        self.body = response.read()

    def json(self) -> Any:
        return json.loads(self.body)


class WorkerConnection:
    """One HTTP/1.1 connection on HQ's unix socket, kept alive: one worker serves all
    of its requests. Cookies are kept as a browser would (here, over the proxy's
    HTTPS: `X-Forwarded-Proto: https` as nginx sends it)."""

    def __init__(self, socket_path: Path) -> None:
        self.socket_path = socket_path
        self.connection = http.client.HTTPConnection("hq.example.com", timeout=30)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(30)
        sock.connect(str(socket_path))
        self.connection.sock = sock
        self.pid = 0  # the worker's, once known

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        cookies: dict[str, str] | None = None,
    ) -> Answer:
        sent = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7", **(headers or {})}
        if cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
        self.connection.request(method, path, body=body, headers=sent)
        answer = Answer(self.connection.getresponse())
        if cookies is not None:
            for header in answer.headers.get_all("set-cookie") or []:
                name, _, rest = header.partition("=")
                cookies[name.strip()] = rest.split(";", 1)[0]
        return answer

    def close(self) -> None:
        self.connection.close()


class GunicornHq:
    """`gunicorn --config deploy/hq/gunicorn.conf.py 'hq.asgi:app_from_environment()'`
    as kiosk-hq.service runs it, with the settings in the environment."""

    def __init__(
        self,
        directory: Path,
        database_url: str,
        *,
        workers: int = 2,
        environment: dict[str, str] | None = None,
    ) -> None:
        self.directory = directory
        self.data_dir = directory / "data"
        self.socket = directory / "hq.sock"
        self.log = directory / "gunicorn.log"
        self.database_url = database_url
        self.workers = workers
        self.environment = environment or {}
        self.process: subprocess.Popen[bytes] | None = None
        self._read = 0  # how much of the log was looked at

    def __enter__(self) -> GunicornHq:
        self.directory.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "KIOSK_HQ_DATA_DIR": str(self.data_dir),
            "KIOSK_HQ_DATABASE_URL": self.database_url,
            "KIOSK_HQ_BIND": f"unix:{self.socket}",
            "KIOSK_HQ_WORKERS": str(self.workers),
            **self.environment,
        }
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    str(GUNICORN),
                    "--config",
                    str(DEPLOY / "gunicorn.conf.py"),
                    "hq.asgi:app_from_environment()",
                ],
                stdout=log,
                stderr=log,
                env=env,
                cwd=self.directory,
            )
        try:
            self._wait_for_workers()
        except BaseException:
            self.stop()  # __exit__ is not called when __enter__ raises: no gunicorn left behind
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # the arbiter stops its workers
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def _wait_for_workers(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited:\n{self.log_text()[-3000:]}")
            if self.log_text().count("Application startup complete.") >= self.workers:
                return
            time.sleep(0.05)
        raise AssertionError(f"gunicorn's workers did not start:\n{self.log_text()[-3000:]}")

    def access_lines(self) -> list[tuple[int, str, str, str, int]]:
        """(worker pid, client, method, path, status) of every request logged so far."""
        found = []
        for line in self.log_text().splitlines():
            if matched := _ACCESS_LINE.match(line):
                pid, client, method, path, status = matched.groups()
                found.append((int(pid), client, method, path, int(status)))
        return found

    def wait_for_access_lines(self, after: int, count: int) -> list[tuple[int, str, str, str, int]]:
        """The `count` requests logged after the first `after` (the workers log each
        once its answer is sent, so a line may come just after the client has it)."""
        deadline = time.monotonic() + 5
        while len(lines := self.access_lines()) < after + count:
            assert time.monotonic() < deadline, f"HQ logged {lines[after:]}"
            time.sleep(0.01)
        return lines[after:]

    def connections_to_each_worker(self, tries: int = 60) -> list[WorkerConnection]:
        """One kept-alive connection per worker: new connections are opened until each
        worker has one (which worker accepts is the kernel's choice)."""
        by_pid: dict[int, WorkerConnection] = {}
        for _ in range(tries):
            connection = WorkerConnection(self.socket)
            logged = len(self.access_lines())
            assert connection.request("GET", "/v1/health").status == 200
            connection.pid = self.wait_for_access_lines(logged, 1)[-1][0]
            if connection.pid in by_pid:
                connection.close()
            else:
                by_pid[connection.pid] = connection
            if len(by_pid) == self.workers:
                return list(by_pid.values())
        raise AssertionError(f"only workers {sorted(by_pid)} accepted {tries} connections")


class NginxFront:
    """nginx with deploy/hq/nginx/kiosk-hq.conf in front of `socket`, TLS on a free
    loopback port (and its plain-HTTP redirect on another)."""

    def __init__(self, directory: Path, socket_path: Path, tls: ServerTls) -> None:
        self.directory = directory
        self.socket_path = socket_path
        self.tls = tls
        self.port = free_port()
        self.http_port = free_port()
        self.base_url = f"https://127.0.0.1:{self.port}"
        self.static_root = directory / "static"
        self.access_log = directory / "access.log"
        self.error_log = directory / "error.log"
        self.process: subprocess.Popen[bytes] | None = None

    def site(self) -> str:
        text = (DEPLOY / "nginx" / "kiosk-hq.conf").read_text()
        swaps = {
            "unix:/run/kiosk-hq/hq.sock": f"unix:{self.socket_path}",
            "    listen 80;\n    listen [::]:80;\n": f"    listen 127.0.0.1:{self.http_port};\n",
            "    listen 443 ssl http2;\n    listen [::]:443 ssl http2;\n": (
                f"    listen 127.0.0.1:{self.port} ssl http2;\n"
            ),
            "/etc/kiosk-hq/tls/fullchain.pem": str(self.tls.certfile),
            "/etc/kiosk-hq/tls/privkey.pem": str(self.tls.keyfile),
            "/var/log/nginx/kiosk-hq.access.log": str(self.access_log),
            "root /opt/kiosk-hq/static;": f"root {self.static_root};",
        }
        for old, new in swaps.items():
            assert old in text, f"deploy/hq/nginx/kiosk-hq.conf no longer has {old!r}"
            text = text.replace(old, new)
        return text

    def config(self) -> str:
        temp = self.directory / "temp"
        # As root, nginx's workers would otherwise drop to `nobody`, who may not open
        # the test's socket; deployed, they run as www-data in HQ's group.
        user = "user root root;\n" if os.geteuid() == 0 else ""
        return (
            f"{user}daemon off;\nworker_processes 1;\npid {self.directory / 'nginx.pid'};\n"
            f"error_log {self.error_log} warn;\nevents {{ worker_connections 256; }}\n"
            "http {\n"
            "    default_type application/octet-stream;\n"
            f"    client_body_temp_path {temp}/body;\n    proxy_temp_path {temp}/proxy;\n"
            f"    fastcgi_temp_path {temp}/fastcgi;\n    uwsgi_temp_path {temp}/uwsgi;\n"
            f"    scgi_temp_path {temp}/scgi;\n"
            f"{self.site()}\n}}\n"
        )

    def __enter__(self) -> NginxFront:
        (self.directory / "temp").mkdir(parents=True, exist_ok=True)
        conf = self.directory / "nginx.conf"
        conf.write_text(self.config())
        checked = subprocess.run(
            [NGINX, "-t", "-q", "-c", str(conf)], capture_output=True, text=True, check=False
        )
        assert checked.returncode == 0, checked.stderr
        self.process = subprocess.Popen(
            [NGINX, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"nginx exited: {self.error_log.read_text()}"
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.02)
        raise AssertionError("nginx did not listen")

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: its workers end too
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
