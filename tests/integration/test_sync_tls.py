"""Kiosk to HQ over real TLS: the kiosk trusts only HQ's certificate authority."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from helpers.events import records
from helpers.hq_process import HqProcess
from helpers.tls import make_server_tls

from backend_client.client import HqClient, HqUnavailable, enroll
from backend_client.credentials import Credentials, save_credentials
from backend_client.crypto import PayloadCipher
from backend_client.outbox import Outbox
from backend_client.sync import SyncRelay, SyncStatus

pytestmark = pytest.mark.slow


def test_kiosk_enrols_and_syncs_over_https_and_refuses_an_unknown_certificate(
    tmp_path: Path,
) -> None:
    tls = make_server_tls(tmp_path / "tls")
    hq = HqProcess(tmp_path / "hq", tls=tls)
    hq.start()
    try:
        assert hq.base_url.startswith("https://")
        # A kiosk that does not know the chain's CA refuses to talk (and spends no code).
        code = hq.enroll_code("store-a")
        with pytest.raises(HqUnavailable, match="TLS"):
            enroll(hq.base_url, code, ca_bundle=tmp_path / "tls" / "hq.pem")
        credentials = enroll(hq.base_url, code, ca_bundle=tls.ca_bundle)
        assert isinstance(credentials, Credentials)

        data = tmp_path / "kiosk"
        data.mkdir()
        save_credentials(data, credentials)
        cipher = PayloadCipher.from_key_file(data / "outbox.key")
        with Outbox(data / "outbox.sqlite3", cipher=cipher) as outbox:
            outbox.append_many(records(50))
        drained = threading.Event()

        def on_status(status: SyncStatus) -> None:
            if status.pending == 0 and status.sent_total == 50:
                drained.set()

        client = HqClient(credentials, ca_bundle=tls.ca_bundle)
        relay = SyncRelay(
            data / "outbox.sqlite3", client, credentials, cipher=cipher, on_status=on_status
        )
        relay.start()
        try:
            assert drained.wait(timeout=30)
        finally:
            relay.stop()
        (kiosk,) = json.loads(hq.cli("stats", "--json"))["kiosks"]
        assert sum(kiosk["events"].values()) == 50
    finally:
        hq.stop()
