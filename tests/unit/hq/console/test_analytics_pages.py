"""The analytics pages over ASGI: the figures a chain admin and a store manager see,
each chart's CSV, and the filters' errors."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from helpers.analytics_data import ZONE, DataSet, generate, load_coupons, load_events
from helpers.console import STORES, ConsoleChain, ConsoleClient, sign_in

from hq.analytics import rollup
from hq.console.staff import Role

RANGE = "from=2026-06-01&to=2026-06-30"

# The figures are held equal on PostgreSQL by tests/unit/hq/test_analytics_figures.py.
pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


def _data() -> DataSet:
    return generate(stores={s: name for s, (name, _, _) in STORES.items()}, days=30, sessions=3)


@pytest.fixture
def chain_with_events(chain: ConsoleChain) -> ConsoleChain:
    data = _data()
    load_events(chain.database, data)
    load_coupons(chain.database, data)
    rollup.roll(chain.database, chain.clock())
    return chain


def _client(
    chain: ConsoleChain, email: str, role: Role, stores: tuple[str, ...] = ()
) -> ConsoleClient:
    chain.add_staff(email, role, stores)
    client = chain.client()
    sign_in(client, email)
    return client


def _stores_in(chart: dict[str, Any]) -> set[str]:
    return {row[0].rsplit("(", 1)[1].rstrip(")") for row in chart["rows"]}


def test_a_chain_admin_sees_every_store_and_each_chart_downloads_as_csv(
    chain_with_events: ConsoleChain,
) -> None:
    admin = _client(chain_with_events, "ana@hq.example", Role.CHAIN_ADMIN)
    page = admin.get(f"/console/analytics/products?{RANGE}")
    assert page.status_code == 200
    pictures = re.findall(r'class="card-body chart-picture"[^>]*>(<svg.*?</svg>)', page.text, re.S)
    assert len(pictures) == 5
    # The console's CSP allows no inline styles: colours must be attributes, or the
    # browser fills every bar black.
    assert all("style=" not in picture and '="#2563eb"' in picture for picture in pictures)
    assert "上海南京路店" in page.text
    assert "Download CSV" in page.text
    assert "Figures up to" in page.text
    shown = admin.get(f"/console/analytics/products.json?{RANGE}").json()
    by_store = next(c for c in shown["charts"] if c["key"] == "by-store")
    assert _stores_in(by_store) == set(STORES)
    download = admin.get(f"/console/analytics/products.csv?{RANGE}&chart=by-store")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(download.text)))
    assert rows[0] == by_store["columns"]
    assert [int(row[1]) for row in rows[1:]] == [row[1] for row in by_store["rows"]]


def test_draw_wins_are_set_against_the_caps_of_the_newest_release(
    chain_with_events: ConsoleChain,
) -> None:
    admin = _client(chain_with_events, "ana@hq.example", Role.CHAIN_ADMIN)
    chart = next(
        c
        for c in admin.get(f"/console/analytics/coupons.json?{RANGE}").json()["charts"]
        if c["key"] == "draw-wins"
    )
    assert chart["rows"]
    assert {row[2] for row in chart["rows"]} == {None}  # nothing published: no caps
    chain_with_events.publish()  # the sample bundle: daily-draw's case 20 a day, grand 1
    chart = next(
        c
        for c in admin.get(f"/console/analytics/coupons.json?{RANGE}").json()["charts"]
        if c["key"] == "draw-wins"
    )
    kiosk_days = {
        (e.kiosk_id, e.occurred_at.astimezone(ZONE).date())
        for e in _data().events
        if e.kind == "prize_draw"
    }
    daily = {"daily-draw: case": 20, "daily-draw: grand": 1}
    assert {row[0]: row[2] for row in chart["rows"]} == {
        row[0]: daily[row[0]] * len(kiosk_days) for row in chart["rows"]
    }


def test_a_product_filter_narrows_the_figures_to_that_product(
    chain_with_events: ConsoleChain,
) -> None:
    admin = _client(chain_with_events, "ana@hq.example", Role.CHAIN_ADMIN)
    every = admin.get(f"/console/analytics/products.json?{RANGE}").json()["charts"][0]["rows"]
    one = admin.get(f"/console/analytics/products.json?{RANGE}&product=PHONE-03").json()
    rows = one["charts"][0]["rows"]
    assert [row[0] for row in rows] == ["PHONE-03"]
    assert rows == [row for row in every if row[0] == "PHONE-03"]


def test_a_store_manager_sees_only_their_stores(chain_with_events: ConsoleChain) -> None:
    manager = _client(chain_with_events, "wu@hq.example", Role.STORE_MANAGER, ("sh-xujiahui",))
    for page_name, key in (("products", "by-store"), ("conversion", "conversion-by-store"),
                           ("visits", "visits-by-store")):  # fmt: skip
        shown = manager.get(f"/console/analytics/{page_name}.json?{RANGE}").json()
        chart = next(c for c in shown["charts"] if c["key"] == key)
        assert _stores_in(chart) == {"sh-xujiahui"}, page_name
    page = manager.get(f"/console/analytics/products?{RANGE}")
    assert "上海南京路店" not in page.text  # not even in the store filter
    refused = manager.get(f"/console/analytics/products?{RANGE}&store=sh-nanjing-road")
    assert refused.status_code == 403
    csv_refused = manager.get(
        f"/console/analytics/products.csv?{RANGE}&store=bj-sanlitun&chart=by-store"
    )
    assert csv_refused.status_code == 403


def test_bad_filters_are_422_with_the_reason(chain_with_events: ConsoleChain) -> None:
    admin = _client(chain_with_events, "ana@hq.example", Role.CHAIN_ADMIN)
    for query, reason in (
        ("from=2026-13-01", "from: a date"),
        ("from=2026-06-30&to=2026-06-01", "before the first"),
        ("from=2025-01-01&to=2026-06-01", "at most 366 days"),
        ("product=" + "P" * 101, "product"),
    ):
        answer = admin.get(f"/console/analytics/products.json?{query}")
        assert answer.status_code == 422, query
        assert reason in answer.json()["detail"], query
    assert admin.get(f"/console/analytics/products.csv?{RANGE}&chart=nope").status_code == 404


def test_nobody_signed_in_is_sent_to_sign_in(chain_with_events: ConsoleChain) -> None:
    answer = chain_with_events.client().get(f"/console/analytics/products?{RANGE}")
    assert answer.status_code == 303
    assert "/console/sign-in" in answer.headers["location"]
