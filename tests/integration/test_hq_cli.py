"""`kiosk-hq` as staff run it: a real process, its output, its exit codes."""

from __future__ import annotations

import csv
import io
import ipaddress
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from helpers.hq import (
    database_url_for,
    enrol,
    hq_settings,
    running_hq,
    signup_payload,
)

from backend_client.client import HqRefused
from backend_client.client import enroll as client_enroll
from backend_client.credentials import load_credentials, save_credentials

KIOSK_HQ: Final = Path(sys.executable).parent / "kiosk-hq"
CODE: Final = r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}"


class Cli:
    """`kiosk-hq` with one data directory and database."""

    def __init__(self, data_dir: Path, database_url: str | None = None) -> None:
        self.data_dir = data_dir
        self.database_url = database_url

    def args(self, *args: str) -> list[str]:
        found = [str(KIOSK_HQ), "--data-dir", str(self.data_dir)]
        if self.database_url:
            found += ["--database-url", self.database_url]
        return [*found, *args]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("KIOSK_HQ_")}
        return subprocess.run(
            self.args(*args), capture_output=True, text=True, timeout=60, check=False, env=env
        )

    def ok(self, *args: str) -> str:
        done = self.run(*args)
        assert done.returncode == 0, done.stderr
        return done.stdout


def assert_one_line_error(done: subprocess.CompletedProcess[str], code: int = 1) -> str:
    assert done.returncode == code, (done.stdout, done.stderr)
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """kiosk-hq on the default database: SQLite in its data directory."""
    return Cli(tmp_path / "hq")


@pytest.fixture(params=["sqlite", "postgresql"])
def any_cli(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cli]:
    with database_url_for(request.param, tmp_path / "db") as url:
        yield Cli(tmp_path / "hq", url)


def test_staff_set_up_a_store_enrol_a_kiosk_and_follow_its_events(
    any_cli: Cli, tmp_path: Path
) -> None:
    cli = any_cli
    migrated = cli.ok("migrate")
    assert migrated.startswith("database ")
    assert migrated.endswith("is at the newest schema\n")
    assert cli.ok("store", "add", "sh-nanjing-road", "--name", "Nanjing Road") == (
        "store sh-nanjing-road added\n"
    )
    code = cli.ok("kiosk", "enroll-code", "sh-nanjing-road")
    assert code.endswith("\n")
    code = code.strip()
    assert len(code.splitlines()) == 1
    assert re.fullmatch(CODE, code)

    settings = hq_settings(cli.data_dir, cli.database_url)
    with running_hq(settings, migrate_first=False) as base_url:
        enrolment = enrol(base_url, code).json()
        token = {"Authorization": f"Bearer {enrolment['token']}"}
        member = str(uuid.uuid4())
        batch = [
            {
                "event_id": str(uuid.uuid4()),
                "store_id": "sh-nanjing-road",
                "kiosk_id": enrolment["kiosk_id"],
                "seq": seq,
                "kind": kind,
                "schema_version": 1,
                "occurred_at": "2026-11-23T09:14:03+00:00",
                "payload": payload,
            }
            for seq, kind, payload in [
                (1, "lift", {"session": "s1", "slot": 3, "sku": "A"}),
                (2, "member_signup", signup_payload(member, "139 1234 5678", name="王芳")),
                (4, "lift", {"session": "s1", "slot": 0}),
                (6, "lift", {"session": "s1", "slot": 3, "sku": "A"}),
            ]
        ]
        answer = requests.post(
            f"{base_url}/v1/events", json={"events": batch}, headers=token, timeout=10
        )
        assert answer.status_code == 200
        api_stats = requests.get(
            f"{base_url}/v1/admin/stats",
            headers={"Authorization": f"Bearer {settings.admin_token}"},
            timeout=10,
        ).json()

    stats = json.loads(cli.ok("stats", "--json"))
    assert stats == api_stats
    assert stats == {
        "kiosks": [
            {
                "store_id": "sh-nanjing-road",
                "kiosk_id": "sh-nanjing-road-k1",
                "events": {"lift": 2, "member_signup": 1},
                "highest_seq": 6,
                "contiguous_seq": 2,
                "gaps": [[3, 3], [5, 5]],
                "rejected": 1,
            }
        ],
        "rejected_total": 1,
        "denied": [],
        "customers": 1,
    }
    table = cli.ok("stats")
    assert "sh-nanjing-road-k1" in table
    assert "3, 5" in table

    listing = cli.ok("kiosk", "list")
    assert "sh-nanjing-road-k1" in listing
    assert "active" in listing
    assert cli.ok("kiosk", "revoke", "sh-nanjing-road-k1").startswith(
        "kiosk sh-nanjing-road-k1 revoked at "
    )

    export = tmp_path / "customers.csv"
    assert cli.ok("customers", "export", "--csv", "--output", str(export)) == ""
    assert stat.S_IMODE(export.stat().st_mode) == 0o600
    (row,) = csv.DictReader(io.StringIO(export.read_text(encoding="utf-8")))
    assert (row["phone_e164"], row["name"], row["first_store_id"]) == (
        "+8613912345678",
        "王芳",
        "sh-nanjing-road",
    )
    assert cli.ok("customers", "export", "--csv") == export.read_text(encoding="utf-8")


def test_a_mistake_is_one_line_on_stderr_and_exit_code_1(cli: Cli) -> None:
    line = assert_one_line_error(cli.run("kiosk", "enroll-code", "nowhere"))
    assert line == "kiosk-hq: no store 'nowhere': add it first with `kiosk-hq store add`"


def test_a_wrong_command_line_is_one_line_on_stderr_and_exit_code_2(cli: Cli) -> None:
    line = assert_one_line_error(cli.run("store", "add"), code=2)
    assert line.startswith("kiosk-hq store add: error: the following arguments are required")


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that signs itself, and its key (PEM files)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certfile, keyfile = directory / "hq.pem", directory / "hq.key"
    certfile.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return certfile, keyfile


def test_serve_migrates_answers_https_and_logs_where_the_admin_token_is_never_the_token(
    cli: Cli, tmp_path: Path
) -> None:
    certfile, keyfile = self_signed_certificate(tmp_path)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base_url = f"https://127.0.0.1:{port}"
    process = subprocess.Popen(
        cli.args(
            "serve",
            "--port",
            str(port),
            "--ssl-certfile",
            str(certfile),
            "--ssl-keyfile",
            str(keyfile),
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, process.communicate()[1]
            try:
                if requests.get(f"{base_url}/v1/health", timeout=1, verify=str(certfile)).ok:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "kiosk-hq serve did not answer"
            time.sleep(0.05)
        token = (cli.data_dir / "admin-token").read_text().strip()
        # The answer is not kept: a response object keeps its TLS socket open, and
        # HQ's shutdown would wait for that connection (GRACEFUL_SHUTDOWN_S).
        kiosks = requests.get(
            f"{base_url}/v1/admin/stats",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
            verify=str(certfile),
        ).json()["kiosks"]
        assert kiosks == []
    finally:
        process.send_signal(signal.SIGTERM)
        _, log = process.communicate(timeout=20)
    # uvicorn stops gracefully, then re-raises the signal: the exit status says SIGTERM.
    assert process.returncode in {0, -signal.SIGTERM}
    assert f"admin token: in {cli.data_dir / 'admin-token'}" in log
    assert token not in log
    assert "GET /v1/admin/stats 200" in log


def test_a_store_s_kiosk_seats_split_its_budgets_and_bound_its_kiosks(
    cli: Cli, tmp_path: Path
) -> None:
    cli.ok("migrate")
    cli.ok("store", "add", "sh-xujiahui", "--kiosks", "2")
    codes = [cli.ok("kiosk", "enroll-code", "sh-xujiahui").strip() for _ in range(3)]
    settings = hq_settings(cli.data_dir, cli.database_url)
    with running_hq(settings, migrate_first=False) as base_url:
        # The kiosk's own client, as `kiosk enroll` runs it: the seat lands in hq.json.
        for n, code in enumerate(codes[:2]):
            save_credentials(tmp_path / f"kiosk-{n}", client_enroll(base_url, code))
        seats = {
            (creds.budget_seat, creds.budget_seats)
            for n in range(2)
            if (creds := load_credentials(tmp_path / f"kiosk-{n}")) is not None
        }
        assert seats == {(0, 2), (1, 2)}
        with pytest.raises(HqRefused) as refused:
            client_enroll(base_url, codes[2])
        assert refused.value.status == 409
        assert "2 kiosk seat" in str(refused.value)
    assert "2 kiosk seat" in assert_one_line_error(cli.run("kiosk", "enroll-code", "sh-xujiahui"))
    assert "holding seats" in assert_one_line_error(cli.run("store", "seats", "sh-xujiahui", "3"))
    assert "from 1 to 64" in assert_one_line_error(
        cli.run("store", "add", "sh-other", "--kiosks", "0"), code=2
    )
