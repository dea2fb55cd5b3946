"""The real `kiosk` process, driven by the board simulator and watched through its trace."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.bundles import edit_json, sample_bundle
from helpers.kiosk_process import start_kiosk, stop, wait_for_trace
from helpers.pickup import running_board, wait_until

from backend_client.crypto import PayloadCipher
from backend_client.outbox import Outbox
from backend_client.relay_process import KEY_FILE, OUTBOX_FILE
from devices.sim.pickup import PickupBoardSim

pytestmark = pytest.mark.slow


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    return sample_bundle(tmp_path / "bundle")


@pytest.fixture
def board(tmp_path: Path) -> Iterator[PickupBoardSim]:
    with running_board(tmp_path) as sim:
        yield sim


def test_lift_in_a_real_process_paints_the_product_and_stops_cleanly(
    tmp_path: Path, bundle: Path, board: PickupBoardSim
) -> None:
    data = tmp_path / "data"
    process = start_kiosk(bundle, data, board.port)
    try:
        wait_for_trace(data, lambda e: e["kind"] == "paint" and e["view"] == "attract")
        board.wait_for(lambda m: type(m).__name__ == "StateQuery", timeout=10)
        board.lift(2)
        paint = wait_for_trace(data, lambda e: e["kind"] == "paint" and e["view"] != "attract")
        assert paint["view"].startswith("product:")
        # The screen's process writes no database and seals nothing: the relay child
        # does (backend_client/data_link.py), so neither library is ever mapped here.
        mapped = Path(f"/proc/{process.pid}/maps").read_text()
        assert "/sqlalchemy/" not in mapped
        assert "/cryptography/" not in mapped
        # A lift is recorded once it outlasts the bounce window; the child commits it.
        wait_until(lambda: "lift" in recorded_kinds(data), timeout=10)
    finally:
        log = stop(process)
    assert "Traceback" not in log
    assert recorded_kinds(data).count("lift") == 1


def recorded_kinds(data: Path) -> list[str]:
    """The kinds of the records in the kiosk's outbox, oldest first."""
    if not (data / OUTBOX_FILE).exists():
        return []
    cipher = PayloadCipher.from_key_file(data / KEY_FILE)
    with Outbox(data / OUTBOX_FILE, cipher=cipher) as outbox:
        return [record.kind for record in outbox.pending()]


def test_a_bad_bundle_is_refused_and_the_last_good_one_keeps_serving(
    tmp_path: Path, bundle: Path
) -> None:
    data = tmp_path / "data"
    first = start_kiosk(bundle, data)
    wait_for_trace(data, lambda e: e["kind"] == "content" and e["status"] == "installed")
    stop(first)

    bad = sample_bundle(tmp_path / "bad", release="broken-1")
    edit_json(bad, "catalog.json", lambda doc: doc["products"][3]["price"].update(amount="-5"))
    (data / "trace.jsonl").unlink()
    second = start_kiosk(bad, data)
    try:
        refused = wait_for_trace(data, lambda e: e["kind"] == "content")
        assert refused["status"] == "refused"
        current = wait_for_trace(data, lambda e: e.get("status") == "current")
        assert current["release"] != "broken-1"
        wait_for_trace(data, lambda e: e["kind"] == "paint" and e["view"] == "attract")
    finally:
        log = stop(second)
    assert "catalog.json: products[3].price.amount" in log
