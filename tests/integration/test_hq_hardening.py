"""`kiosk-hq serve` as an operator runs it: what a client can do to its log, the
modes of its database files, and where it agrees to speak plain HTTP.

One real HQ process, listening on every address behind a (notional) TLS proxy,
started with umask 0: whatever it makes private, it made so itself.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest
import requests
from helpers.hq_process import KIOSK_HQ, HqProcess, free_port

FORGED: Final = "2026-12-06 09:00:00,000 INFO hq.access: POST /v1/admin/customers/x/erase 200"
# What an attacker would like an operator to read in HQ's log.

ESCAPES: Final = "\x1b[2J\x1b]0;owned\x07"  # clear the screen, retitle the terminal


@pytest.fixture(scope="module")
def hq_behind_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HqProcess]:
    hq = HqProcess(
        tmp_path_factory.mktemp("hq-hardening") / "data",
        host="0.0.0.0",  # noqa: S104 (the point: every address, a TLS proxy in front)
        serve_args=["--insecure-behind-proxy"],
    )
    previous = os.umask(0)  # the child inherits it
    try:
        hq.start()
    finally:
        os.umask(previous)
    yield hq
    hq.stop()


def _raw_request(port: int, target: bytes) -> None:
    """One request with `target` exactly as written (requests would re-encode it)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: hq\r\nConnection: close\r\n\r\n")
        while sock.recv(65536):
            pass


def _logged_after(hq: HqProcess, before: int, count: int) -> tuple[str, list[str]]:
    """What HQ logged after byte `before`, and its access lines, once `count` of those are
    there (a request's line is written once its answer is sent: it may come just after)."""
    deadline = time.monotonic() + 5
    while True:
        written = hq.log_path.read_bytes()[before:].decode()
        access = [line for line in written.splitlines() if " hq.access: " in line]
        if len(access) >= count or time.monotonic() > deadline:
            return written, access
        time.sleep(0.01)


def test_request_paths_cannot_forge_log_lines_or_reach_the_terminal(
    hq_behind_proxy: HqProcess,
) -> None:
    before = len(hq_behind_proxy.log_path.read_bytes())
    newline_attack = "/v1/health%0A" + FORGED.replace(" ", "%20")
    escape_attack = "/v1/%1b[2J%1b]0;owned%07"
    separator_attack = "/v1/health%E2%80%A8" + FORGED.replace(" ", "%20")  # U+2028
    for target in (newline_attack, escape_attack, separator_attack):
        _raw_request(hq_behind_proxy.port, target.encode("ascii"))
    requests.get(f"{hq_behind_proxy.base_url}/v1/health?done=1", timeout=10)

    written, access = _logged_after(hq_behind_proxy, before, 4)
    assert not any(line.startswith(FORGED) for line in written.splitlines())
    assert "\x1b" not in written
    assert "\x07" not in written
    assert "\u2028" not in written
    # Each request is one line, its path as it was on the wire.
    assert len(access) == 4, access
    assert any("GET /v1/health%0A2026-12-06%2009:00:00" in line for line in access), access
    assert any("GET /v1/%1B%5B2J%1B%5D0;owned%07 404" in line for line in access), access
    assert any("GET /v1/health%E2%80%A8" in line for line in access), access


def test_a_shoppers_sign_up_page_is_logged_without_their_address(
    hq_behind_proxy: HqProcess,
) -> None:
    before = len(hq_behind_proxy.log_path.read_bytes())
    requests.get(f"{hq_behind_proxy.base_url}/join/some-link-token", timeout=10)
    requests.get(f"{hq_behind_proxy.base_url}/v1/health?done=1", timeout=10)

    written, access = _logged_after(hq_behind_proxy, before, 2)
    assert len(access) == 2, access
    join, health = access
    assert "hq.access: - GET /join/<token> " in join  # neither the phone's address nor the link
    assert "some-link-token" not in written
    assert "hq.access: 127.0.0.1 GET /v1/health " in health  # a device's address is kept


def test_the_database_files_are_the_owners_alone(hq_behind_proxy: HqProcess) -> None:
    requests.get(f"{hq_behind_proxy.base_url}/v1/health", timeout=10)  # WAL files exist now
    data = hq_behind_proxy.data_dir
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for name in ("hq.sqlite3", "hq.sqlite3-wal", "hq.sqlite3-shm", "admin-token"):
        assert oct(stat.S_IMODE((data / name).stat().st_mode)) == oct(0o600), name


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10"])  # noqa: S104
def test_serve_refuses_plain_http_off_loopback(tmp_path: Path, host: str) -> None:
    port = free_port()
    done = subprocess.run(
        [str(KIOSK_HQ), "--data-dir", str(tmp_path), "serve", "--host", host, "--port", str(port)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "refusing to serve plain HTTP" in done.stderr
    assert "--ssl-certfile" in done.stderr
    assert "--insecure-behind-proxy" in done.stderr
    assert not (tmp_path / "hq.sqlite3").exists()  # refused before anything was made
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/v1/health", timeout=2)
