"""`kiosk-hq content ...` and `store ...` as staff run them beside a real `kiosk-hq serve`,
with a kiosk polling it over HTTP: publish, rollout, rotate the key, revoke, refuse."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from helpers.bundles import edit_json, sample_bundle
from helpers.content_hq import manifest_payload
from helpers.hq import KioskClient, database_url_for, enrol
from helpers.hq_process import HqProcess

from hq import audit
from hq.db import Database
from hq.settings import sqlite_url


@pytest.fixture(params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HqProcess]:
    with database_url_for(request.param, tmp_path / "db") as url:
        hq = HqProcess(tmp_path / "hq", url if request.param == "postgresql" else None)
        hq.cli("migrate")
        yield hq
        hq.stop()


def run(hq: HqProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*hq._global_args(), *args], capture_output=True, text=True, timeout=120, check=False
    )


def kiosk_of(hq: HqProcess, store_id: str) -> KioskClient:
    code = hq.cli("kiosk", "enroll-code", store_id).strip()
    answer = enrol(hq.base_url, code)
    answer.raise_for_status()
    return KioskClient(hq.base_url, answer.json())


def recent_audit(hq: HqProcess) -> list[audit.AuditEntry]:
    database = Database(hq.database_url or sqlite_url(hq.data_dir / "hq.sqlite3"))
    try:
        return audit.recent(database)
    finally:
        database.dispose()


def poll(kiosk: KioskClient, etag: str | None = None) -> requests.Response:
    headers = {} if etag is None else {"If-None-Match": etag}
    return kiosk.session.get(f"{kiosk.base_url}/v1/content/manifest", headers=headers, timeout=30)


def test_staff_publish_watch_rotate_and_revoke_while_hq_serves(
    served: HqProcess, tmp_path: Path
) -> None:
    hq = served
    spring = sample_bundle(tmp_path / "spring", products=4, release="spring-1")
    summer = sample_bundle(tmp_path / "summer", products=4, release="summer-1")
    edit_json(summer, "playlist.json", lambda doc: doc["items"][0].update(seconds=30))
    assert hq.cli("store", "add", "s001", "--region", "east", "--tag", "flagship") == (
        "store s001 added\n"
    )
    hq.cli("store", "add", "s002", "--region", "west")
    hq.start()
    east, west = kiosk_of(hq, "s001"), kiosk_of(hq, "s002")

    published = hq.cli("content", "publish", str(spring), "--to", "region:east", "--name", "Spring")
    first = poll(east)

    assert published.startswith("release 1 published to region:east: ")
    assert first.status_code == 200
    assert manifest_payload(first.json(), east.content_key)["name"] == "Spring"
    assert poll(west).status_code == 404

    east.session.post(
        f"{hq.base_url}/v1/content/status",
        json={
            "active": 1,
            "failures": [
                {
                    "id": str(uuid.uuid4()),
                    "release": 1,
                    "reason": "video_failed",
                    "detail": "attract/intro.mp4 skipped",
                    "at": datetime.now(UTC).isoformat(),
                }
            ],
        },
        timeout=30,
    ).raise_for_status()
    rollout = json.loads(hq.cli("content", "rollout", "1", "--json"))
    text = hq.cli("content", "rollout", "1")

    assert rollout["states"]["running"] == 1
    assert rollout["kiosks_total"] == 1
    assert rollout["failure_reasons"] == {"video_failed": 1}
    assert "running 1" in text
    assert "video_failed: attract/intro.mp4 skipped" in text

    rotated = hq.cli("content", "rotate-key")
    after_rotation = poll(east, first.headers["ETag"])

    assert rotated.startswith("content key ")
    assert tuple(entry.action for entry in recent_audit(hq)[:2]) == (
        "content.rotate_key",
        "content.publish",
    )
    assert after_rotation.status_code == 200  # signed anew, by the new key
    document = after_rotation.json()
    assert len(document["keys"]) == 2
    assert manifest_payload(document, east.content_key)["release"] == 1

    hq.cli("content", "publish", str(summer), "--to", "tag:flagship", "--name", "Summer")
    revoked = hq.cli("content", "revoke", "2")
    back = manifest_payload(poll(east).json(), east.content_key)
    listing = hq.cli("content", "list")

    assert revoked.startswith("release 2 revoked; release 3 sends its kiosks back")
    assert back["release"] == 3
    spring_files = json.loads((spring / "manifest.json").read_text())["assets"]
    assert {e["path"]: e["sha256"] for e in back["files"]} == {
        e["path"]: e["sha256"] for e in spring_files
    }
    assert "reverts 2" in listing
    assert "revoked" in listing


def test_a_refused_bundle_prints_every_problem_and_publishes_nothing(
    served: HqProcess, tmp_path: Path
) -> None:
    hq = served
    bundle = sample_bundle(tmp_path / "bundle", products=4)
    edit_json(bundle, "catalog.json", lambda doc: doc["products"][1]["price"].update(amount="-1"))

    refused = run(hq, "content", "publish", str(bundle), "--to", "all")
    wrong_target = run(hq, "content", "publish", str(bundle), "--to", "everyone")
    no_release = run(hq, "content", "rollout", "7")

    assert refused.returncode == 1
    assert (
        "catalog.json: products[1].price.amount: Input should be greater than or equal to 0"
        in refused.stderr
    )
    assert wrong_target.returncode == 1
    assert "give all, region:REGION, tag:TAG or store:STORE_ID" in wrong_target.stderr
    assert (no_release.returncode, no_release.stderr) == (1, "kiosk-hq: no content release 7\n")
    assert hq.cli("content", "list") == "no content release published yet\n"


def test_stores_are_tagged_and_listed(served: HqProcess) -> None:
    hq = served
    hq.cli("store", "add", "s001", "--tag", "mall")

    changed = hq.cli(
        "store", "set", "s001", "--region", "east", "--tag", "flagship", "--untag", "mall"
    )
    listed = json.loads(hq.cli("store", "list", "--json"))
    bad = run(hq, "store", "set", "s001", "--tag", "Not A Tag")
    missing = run(hq, "store", "set", "nowhere", "--tag", "x")

    assert changed == "store s001: region east, tags flagship\n"
    assert listed == [
        {
            "store_id": "s001",
            "region": "east",
            "tags": ["flagship"],
            "latitude": None,
            "longitude": None,
        }
    ]
    assert bad.returncode == 1
    assert "is not a lowercase slug" in bad.stderr
    assert missing.returncode == 1
    assert "no store 'nowhere'" in missing.stderr


def test_a_scheduled_publish_says_when_it_takes_effect(served: HqProcess, tmp_path: Path) -> None:
    hq = served
    hq.cli("store", "add", "s001")
    bundle = sample_bundle(tmp_path / "bundle", products=4)

    done = run(
        hq,
        "content",
        "publish",
        str(bundle),
        "--to",
        "store:s001",
        "--at",
        "2030-01-01T09:00+08:00",
    )
    listed = json.loads(hq.cli("content", "list", "--json"))

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("active from 2030-01-01 01:00 UTC")
    assert listed[0]["not_before"] == "2030-01-01T01:00:00Z"
