"""HQ hands each store's kiosks the store's live-channel key, and rotates it.

Over real HTTP on loopback, on SQLite and PostgreSQL; rotation with `kiosk-hq` as
staff run it. The key is what a store's kiosks and attendants prove they share
(docs/store-channel.md): the same for every kiosk of a store, another for every
other store, and a new one after a rotation, with the old one still given as
`previous` so devices that have not asked again keep talking.
"""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path
from typing import Any

import requests
from helpers.hq import Hq, KioskClient, enrol, hq_cli, issue_code, new_store_id

from backend_client.channel.keys import KEY_FILE, StoreKeys
from backend_client.credentials import (
    credentials_from_enrolment,
    load_credentials,
    save_credentials,
)
from backend_client.enroll import main as enroll_main


def enrolled(hq: Hq, store: str) -> dict[str, Any]:
    answer = enrol(hq.base_url, issue_code(hq.database_url, store))
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def asked(hq: Hq, enrolment: dict[str, Any]) -> requests.Response:
    kiosk = KioskClient(hq.base_url, enrolment)
    try:
        answer: requests.Response = kiosk.session.get(
            f"{hq.base_url}/v1/store-channel-key", timeout=10
        )
        return answer
    finally:
        kiosk.close()


def test_a_stores_kiosks_share_one_key_and_other_stores_have_their_own(hq: Hq) -> None:
    store, other = new_store_id(), new_store_id()
    first, second, stranger = enrolled(hq, store), enrolled(hq, store), enrolled(hq, other)
    key = first["channel_key"]
    assert (key["key_id"], key["previous"]) == (1, None)
    assert len(base64.b64decode(key["key"])) == 32
    assert second["channel_key"] == key
    assert stranger["channel_key"]["key"] != key["key"]
    assert asked(hq, first).json() == key


def test_after_a_rotation_kiosks_get_the_new_key_and_the_old_one_as_previous(hq: Hq) -> None:
    store, other = new_store_id(), new_store_id()
    kiosk, bystander = enrolled(hq, store), enrolled(hq, other)
    old = kiosk["channel_key"]

    done = hq_cli(hq, "store", "rotate-channel-key", store)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"store {store}: channel key version 2"
    assert old["key"] not in done.stdout + done.stderr  # staff's terminal never shows a key

    new = asked(hq, kiosk).json()
    assert (new["key_id"], new["previous"]) == (2, old["key"])
    assert new["key"] != old["key"]
    assert enrolled(hq, store)["channel_key"] == new  # a kiosk enrolled later too
    assert asked(hq, bystander).json() == bystander["channel_key"]  # other stores: unchanged

    unknown = hq_cli(hq, "store", "rotate-channel-key", "no-such-store")
    assert unknown.returncode == 1
    assert "no-such-store" in unknown.stderr


def test_only_a_valid_kiosk_token_gets_a_key(hq: Hq) -> None:
    kiosk = enrolled(hq, new_store_id())
    nobody = requests.get(f"{hq.base_url}/v1/store-channel-key", timeout=10)
    assert nobody.status_code == 401
    forged = requests.get(
        f"{hq.base_url}/v1/store-channel-key",
        headers={"Authorization": "Bearer " + "A" * 43},
        timeout=10,
    )
    assert forged.status_code == 401
    assert hq_cli(hq, "kiosk", "revoke", str(kiosk["kiosk_id"])).returncode == 0
    assert asked(hq, kiosk).status_code == 401


def test_the_kiosk_keeps_the_key_in_its_private_credentials(hq: Hq, tmp_path: Path) -> None:
    answer = enrolled(hq, new_store_id())
    credentials = credentials_from_enrolment(hq.base_url, answer)
    path = save_credentials(tmp_path / "kiosk", credentials)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    loaded = load_credentials(tmp_path / "kiosk")
    assert loaded is not None
    assert loaded.channel_key is not None
    assert loaded.channel_key.key == base64.b64decode(answer["channel_key"]["key"])
    assert loaded.channel_key.key_id == 1
    document = json.loads(path.read_text())
    assert document["channel_key"] == answer["channel_key"]
    assert answer["channel_key"]["key"] not in repr(loaded)


def test_kiosk_enroll_installs_the_stores_key_for_the_live_channel(hq: Hq, tmp_path: Path) -> None:
    store = new_store_id()
    data = tmp_path / "kiosk"
    code = issue_code(hq.database_url, store)
    assert enroll_main(["--hq", hq.base_url, "--code", code, "--data-dir", str(data)]) == 0
    key_file = data / KEY_FILE
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    theirs = StoreKeys(store, base64.b64decode(enrolled(hq, store)["channel_key"]["key"]))
    ours = StoreKeys.from_file(store, key_file)
    assert ours.current_kid == theirs.current_kid  # the same key as the store's next kiosk
