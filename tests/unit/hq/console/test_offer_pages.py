"""The console's offers page over ASGI: each offer's results per store as the rows
add up, its CSV, a store manager's stores only, the offer filter; and the offers on
a customer's timeline, with the coupon code cut to its end."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from helpers.console import KIOSKS, STORES, ConsoleChain, sign_in
from helpers.customers import add_demo_customers
from helpers.offers import OfferData, add_offer_moments, generate_offers, load_offers

from hq.console.staff import Role

# The page's figures in the database are tested on PostgreSQL too, by
# tests/unit/hq/test_offer_results.py: the page calls the same query.
pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)

START = datetime(2026, 11, 1, tzinfo=UTC) - timedelta(hours=8)  # Shanghai's 1 November
RANGE = "from=2026-11-01&to=2026-11-30"
FIGURES = ("shown", "taken", "text requested", "texts sent", "printed", "redeemed")
COUNTED = ("shown", "taken", "text_requested", "sent", "printed", "redeemed")


@pytest.fixture
def offered(chain: ConsoleChain) -> OfferData:
    kiosks = {store: ids[0] for store, ids in KIOSKS.items()}
    data = generate_offers(kiosks, start=START, days=30)
    load_offers(chain.database, data)
    return data


def _client(chain: ConsoleChain, email: str, role: Role, stores: tuple[str, ...] = ()) -> Any:
    chain.add_staff(email, role, stores)
    client = chain.client()
    sign_in(client, email)
    return client


def _expected(data: OfferData, stores: set[str]) -> dict[tuple[str, str], tuple[int, ...]]:
    keys = {(offer, store) for offer, store, _ in data.counts if store in stores}
    return {
        (offer, store): tuple(data.counts[(offer, store, figure)] for figure in COUNTED)
        for offer, store in keys
    }


def _by_store(chart: dict[str, Any]) -> dict[tuple[str, str], tuple[int, ...]]:
    columns = chart["columns"]
    found = {}
    for row in chart["rows"]:
        offer, store = row[columns.index("offer")], row[columns.index("store")]
        assert row[0] == f"{offer} · {STORES[store][0]}"
        found[(offer, store)] = tuple(row[columns.index(name)] for name in FIGURES)
    return found


def test_the_offers_page_shows_each_offers_results_per_store_with_a_chart_and_csv(
    chain: ConsoleChain, offered: OfferData
) -> None:
    admin = _client(chain, "ana@hq.example", Role.CHAIN_ADMIN)
    page = admin.get(f"/console/analytics/offers?{RANGE}")
    assert page.status_code == 200
    assert re.search(r'href="[^"]*/analytics/offers\?[^"]*"[^>]*aria-current="page"', page.text)
    pictures = re.findall(r'class="card-body chart-picture"[^>]*>(<svg.*?</svg>)', page.text, re.S)
    assert len(pictures) == 2
    assert "welcome-back-50 (phone-50)" in page.text
    assert "Download CSV" in page.text
    shown = admin.get(f"/console/analytics/offers.json?{RANGE}").json()
    [totals, per_store] = shown["charts"]
    assert _by_store(per_store) == _expected(offered, set(STORES))
    taken = {row[0]: row[totals["columns"].index("taken")] for row in totals["rows"]}
    assert taken == {
        label: sum(n for (o, _, f), n in offered.counts.items() if f == "taken" and o == offer)
        for label, offer in (
            ("welcome-back-50 (phone-50)", "welcome-back-50"),
            ("birthday-gift (bday-100)", "birthday-gift"),
            ("gold-trade-in (trade-in-autumn)", "gold-trade-in"),
            ("x60-first-look", "x60-first-look"),
        )
    }
    download = admin.get(f"/console/analytics/offers.csv?{RANGE}&chart=offers-by-store")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(download.text)))
    assert rows[0] == per_store["columns"]
    assert [int(row[3]) for row in rows[1:]] == [row[3] for row in per_store["rows"]]


def test_a_store_manager_sees_only_their_stores_offers(
    chain: ConsoleChain, offered: OfferData
) -> None:
    manager = _client(chain, "wu@hq.example", Role.STORE_MANAGER, ("sh-xujiahui",))
    shown = manager.get(f"/console/analytics/offers.json?{RANGE}").json()
    assert _by_store(shown["charts"][1]) == _expected(offered, {"sh-xujiahui"})
    refused = manager.get(f"/console/analytics/offers.json?{RANGE}&store=bj-sanlitun")
    assert refused.status_code == 403


def test_the_offer_filter_narrows_the_page_to_one_offer(
    chain: ConsoleChain, offered: OfferData
) -> None:
    admin = _client(chain, "ana@hq.example", Role.CHAIN_ADMIN)
    page = admin.get(f"/console/analytics/offers?{RANGE}&offer=birthday-gift")
    assert 'value="birthday-gift" selected' in page.text
    shown = admin.get(f"/console/analytics/offers.json?{RANGE}&offer=birthday-gift").json()
    assert shown["offer"] == "birthday-gift"
    every = _expected(offered, set(STORES))
    assert _by_store(shown["charts"][1]) == {
        key: value for key, value in every.items() if key[0] == "birthday-gift"
    }
    too_long = admin.get(f"/console/analytics/offers.json?{RANGE}&offer={'x' * 41}")
    assert too_long.status_code == 422
    assert "offer: an offer id of at most 40 characters" in too_long.json()["detail"]


def test_the_customer_page_lists_their_offers_without_the_whole_code(
    chain: ConsoleChain,
) -> None:
    ids = add_demo_customers(chain.database, chain.clock())
    code = add_offer_moments(chain.database, ids["chen"], chain.clock())
    admin = _client(chain, "ana@hq.example", Role.CHAIN_ADMIN)
    page = admin.get(f"/console/customers/{ids['chen']}")
    assert page.status_code == 200
    assert code not in page.text
    assert code[-4:] in page.text
    record = admin.get(f"/console/customers/{ids['chen']}.json").json()
    offered = [t for t in record["timeline"] if t["kind"].startswith("offer_")]
    assert [t["kind"] for t in offered] == [
        "offer_printed", "offer_texted", "offer_taken", "offer_shown"
    ]  # fmt: skip
    assert {t["offer"] for t in offered} == {"welcome-back-50"}
    assert code not in str(record)
    assert offered[0]["code"] == f"…{code[-4:]}"
    text = re.sub(r"<[^>]+>", "", page.text)
    assert "shown offer welcome-back-50" in text
    assert f"took offer welcome-back-50 (coupon …{code[-4:]})" in text
    assert "asked for offer welcome-back-50 by text" in text
