"""An opt-out made at the external CRM reaches every kiosk's member feed.

A real HQ on loopback, kiosks enrolled and sending over HTTP, staff binding a fob
through the admin API; HubSpot is the recorded search answer on loopback
(tests/helpers/crm_server.py); `kiosk-hq crm sync` runs as staff run it, with the
token in a 0600 file.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

from helpers.crm_server import Answer, CrmServer, Received, recorded
from helpers.hq import (
    KIOSK_HQ,
    Hq,
    KioskClient,
    consent_payload,
    hq_of_its_own,
    hq_settings,
    running_hq,
    signup_payload,
)
from sqlalchemy import select

from hq.analytics.crm import store
from hq.analytics.crm.config import CrmConfig
from hq.analytics.crm.hubspot import HubSpotConfig
from hq.db import Database, member_ids

TOKEN = "pat-na1-00000000-test-only-0000-000000000000"  # noqa: S105 (a test fixture)


def feed(kiosk: KioskClient, since: int) -> dict[str, Any]:
    answer = kiosk.session.get(
        f"{kiosk.base_url}/v1/members/feed", params={"since": since}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def crm_cli(hq: Hq, token_file: Path, crm_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_HQ_")}
    env |= {
        "KIOSK_HQ_CRM": "hubspot",
        "KIOSK_HQ_HUBSPOT_URL": crm_url,
        "KIOSK_HQ_HUBSPOT_TOKEN_FILE": str(token_file),
    }
    return subprocess.run(
        [
            str(KIOSK_HQ),
            "--data-dir",
            str(hq.settings.data_dir),
            "--database-url",
            hq.database_url,
            "crm",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


def upserted(request: Received) -> Answer:
    template = recorded("hubspot", "batch_upsert_ok", customer_id="", contact_id="")
    results = []
    for index, item in enumerate(request.json_inputs):
        result = json.loads(json.dumps(template.body["results"][0]))
        result["id"] = str(2000 + index)
        result["properties"]["kiosk_customer_id"] = item["id"]
        results.append(result)
    return Answer(200, template.headers, {**template.body, "results": results})


def test_an_opt_out_at_hubspot_takes_the_member_out_of_every_kiosks_feed(tmp_path: Path) -> None:
    with hq_of_its_own(tmp_path / "hq") as hq, CrmServer() as crm:
        till, elsewhere = hq.kiosk(), hq.kiosk()  # two stores
        member, phone = str(uuid.uuid4()), f"139{uuid.uuid4().int % 10**8:08d}"
        sent = [
            till.event(1, "member_signup", signup_payload(member, phone, name="王芳")),
            till.event(2, "consent", consent_payload(member, "membership", given=True)),
            till.event(3, "consent", consent_payload(member, "recognition", given=True)),
        ]
        assert till.post(sent).status_code == 200
        bound = hq.admin_post(
            f"/v1/admin/customers/{member}/tags", {"kind": "rfid", "value": "0012345678"}
        )
        assert bound.status_code == 201, bound.text
        tag_hash = bound.json()["tag_hash"]
        held = {kiosk.kiosk_id: feed(kiosk, 0) for kiosk in (till, elsewhere)}
        for page in held.values():
            assert tag_hash in {entry["tag_hash"] for entry in page["upserts"]}

        database = Database(hq.database_url)
        try:
            with database.read() as connection:
                customer = connection.execute(
                    select(member_ids.c.customer_id).where(member_ids.c.member_id == member)
                ).scalar_one()
        finally:
            database.dispose()
        # A service agent unticked "recognised at kiosks" in HubSpot after the sign-up.
        modified = "2099-01-01T00:00:00.000Z"  # later than anything the kiosk decided
        crm.script(
            "POST",
            "/crm/v3/objects/contacts/search",
            recorded("hubspot", "search_opt_out", customer_id=customer, modified=modified),
        )
        crm.script("POST", "/crm/v3/objects/contacts/batch/upsert", upserted)

        token_file = tmp_path / "hubspot-token"
        token_file.write_text(TOKEN + "\n")
        token_file.chmod(0o600)
        done = crm_cli(hq, token_file, crm.url, "sync", "--json")

        assert done.returncode == 0, done.stderr
        (report,) = json.loads(done.stdout)
        assert (report["opt_outs_applied"], report["feed_entries_removed"]) == (1, 1)
        assert TOKEN not in done.stdout + done.stderr
        for kiosk in (till, elsewhere):
            page = feed(kiosk, held[kiosk.kiosk_id]["version"])
            assert page["removed"] == [tag_hash]
            assert page["upserts"] == []
        timeline = hq.admin_get(f"/v1/admin/customers/{customer}/timeline").json()
        withdrawn = [c for c in timeline["consent_history"] if c["source"] == "crm"]
        assert {(c["purpose"], c["recorded_by"], c["state"]) for c in withdrawn} == {
            ("recognition", "hubspot", "withdrawn")
        }
        (search,) = [r for r in crm.received if r.path.endswith("/search")]
        assert search.headers["authorization"] == f"Bearer {TOKEN}"

        status = crm_cli(hq, token_file, crm.url, "status", "--json")
        assert status.returncode == 0, status.stderr
        (state,) = json.loads(status.stdout)
        assert (state["connector"], state["opt_outs"], state["on_crm"], state["queued"]) == (
            "hubspot",
            1,
            1,
            0,
        )


def test_hq_runs_the_crm_round_itself_when_a_connector_is_configured(tmp_path: Path) -> None:
    with CrmServer() as crm:
        crm.script("POST", "/crm/v3/objects/contacts/search", recorded("hubspot", "search_none"))
        settings = replace(
            hq_settings(tmp_path),
            crm=CrmConfig(
                hubspot=HubSpotConfig(token=TOKEN, base_url=crm.url), salesforce=None, every_s=0.1
            ),
        )
        with running_hq(settings):
            deadline = time.monotonic() + 10
            while not crm.received and time.monotonic() < deadline:
                time.sleep(0.02)
            database = Database(settings.database_url)
            try:
                while time.monotonic() < deadline:
                    (state,) = store.states(database)
                    if state.last_success_at is not None:
                        break
                    time.sleep(0.02)
            finally:
                database.dispose()
    assert crm.received[0].path == "/crm/v3/objects/contacts/search"
    assert state.connector == "hubspot"
    assert state.last_error is None
    assert state.last_success_at is not None
