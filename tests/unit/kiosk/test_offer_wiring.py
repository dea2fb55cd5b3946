"""The session machine gets its member offers from the bundle, once per bundle, in the
store's time zone and with this kiosk's part of the store's budgets (kiosk/app.py)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from helpers.bundles import sample_bundle

from backend_client.credentials import Credentials
from content.bundle import Bundle, load_bundle
from content.sample import FEATURED_BRAND
from kiosk.app import KioskOptions, build_machine, offer_share
from kiosk.session import MemberVisit, offer_member
from rewards.issuing import WHOLE_STORE, StoreShare

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    return load_bundle(sample_bundle(tmp_path_factory.mktemp("wiring") / "bundle"))


def test_the_machine_decides_with_the_bundles_offers(bundle: Bundle, tmp_path: Path) -> None:
    machine = build_machine(KioskOptions(data_dir=tmp_path), bundle)
    assert machine.offers is not None
    assert len(machine.offers) == len(bundle.offers)
    xinghe = next(p for p in bundle.catalog.products if p.brand == FEATURED_BRAND)
    looked = MemberVisit("m", None, (xinghe.sku,), personalised=True, marketing=True)
    chosen = [o.id for o in machine.offers.candidates(offer_member(looked), NOW)]
    assert "xinghe-again" in chosen  # the brand rule found the SKU they looked at
    silent = MemberVisit("m", None, (xinghe.sku,), personalised=True, marketing=False)
    assert machine.offers.candidates(offer_member(silent), NOW) == ()


def test_an_unknown_store_time_zone_means_no_offers(bundle: Bundle, tmp_path: Path) -> None:
    machine = build_machine(KioskOptions(data_dir=tmp_path, timezone="Mars/Olympus"), bundle)
    assert machine.offers is None


def test_a_kiosk_counts_its_seat_of_the_stores_budgets() -> None:
    assert offer_share(None) == WHOLE_STORE
    enrolled = Credentials(
        "https://hq.example.com", "s", "k", "t", 3, bytes(32), budget_seat=1, budget_seats=2
    )
    assert offer_share(enrolled) == StoreShare(1, 2)
