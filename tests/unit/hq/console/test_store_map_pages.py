"""The store map and a store's page, in-process over ASGI: what each role sees, the
pins' colours by metric, stores without coordinates listed, bad filters refused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from helpers.console import ConsoleChain, ConsoleClient, sign_in
from helpers.store_data import StoreData

from hq.analytics.store_map import NO_DATA, SCALE
from hq.console.staff import Role
from hq.db import Database
from hq.store_places import set_place

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)  # ConsoleChain's clock
DAY = datetime(2026, 12, 5, 4, 0, tzinfo=UTC)  # noon in Shanghai, the day before


@pytest.fixture(params=["sqlite"])
def database(
    request: pytest.FixtureRequest, tmp_path: Path, migrated_databases: Any
) -> Iterator[Database]:
    """SQLite only: the metrics are tested on both databases in test_store_metrics.py."""
    with migrated_databases.fresh(request.param, tmp_path) as url:
        opened = Database(url)
        yield opened
        opened.dispose()


@pytest.fixture
def placed(chain: ConsoleChain) -> ConsoleChain:
    """Nanjing Road and Sanlitun placed, Xujiahui not; Nanjing Road busier."""
    set_place(
        chain.database, "sh-nanjing-road", latitude=31.2353, longitude=121.4747, by="t", now=NOW
    )
    set_place(chain.database, "bj-sanlitun", latitude=39.9365, longitude=116.4551, by="t", now=NOW)
    data = StoreData(chain.database)
    data.lifts("sh-nanjing-road", "k1", DAY, [f"s{n}" for n in range(6)])
    data.lifts("bj-sanlitun", "k1", DAY, ["s1"])
    data.signups("sh-nanjing-road", DAY)
    data.signups("bj-sanlitun", DAY)
    data.roll()
    return chain


def client_for(chain: ConsoleChain, role: Role, stores: list[str] | None = None) -> ConsoleClient:
    email = f"{role.value.replace('_', '-')}@hq.example"
    chain.add_staff(email, role, stores or [])
    client = chain.client()
    sign_in(client, email)
    return client


def test_pins_are_coloured_low_to_high_and_unplaced_stores_are_listed(placed: ConsoleChain) -> None:
    admin = client_for(placed, Role.CHAIN_ADMIN)
    found = admin.get("/console/map.json?metric=traffic&from=2026-12-05&to=2026-12-06").json()
    pins = {pin["store_id"]: pin for pin in found["map"]["pins"]}
    assert set(pins) == {"sh-nanjing-road", "bj-sanlitun"}
    assert pins["sh-nanjing-road"]["colour"] == SCALE[-1]  # 3 lifts/day: the best
    assert pins["bj-sanlitun"]["colour"] == SCALE[0]  # 0.5 lifts/day
    assert pins["sh-nanjing-road"]["text"] == "3.0 lifts/day"
    assert found["unplaced"] == ["sh-xujiahui"]
    # Conversion: one sign-up per six sessions at Nanjing Road, one per one at Sanlitun.
    found = admin.get("/console/map.json?metric=conversion&from=2026-12-05&to=2026-12-06").json()
    pins = {pin["store_id"]: pin for pin in found["map"]["pins"]}
    assert (pins["bj-sanlitun"]["text"], pins["bj-sanlitun"]["colour"]) == ("100.0%", SCALE[-1])
    # CSAT: no smiley anywhere, so no colour but "no data".
    found = admin.get("/console/map.json?metric=csat").json()
    assert {pin["colour"] for pin in found["map"]["pins"]} == {NO_DATA}
    page = admin.get("/console/map?metric=traffic&from=2026-12-05&to=2026-12-06")
    assert page.status_code == 200
    assert 'href="/console/stores/sh-nanjing-road?from=2026-12-05&amp;to=2026-12-06"' in page.text
    assert "Not on the map" in page.text
    assert 'data-testid="rolled-up-to">Figures up to' in page.text  # as the analytics pages


def test_a_store_manager_sees_only_their_stores(placed: ConsoleChain) -> None:
    manager = client_for(placed, Role.STORE_MANAGER, ["bj-sanlitun"])
    found = manager.get("/console/map.json").json()
    assert [pin["store_id"] for pin in found["map"]["pins"]] == ["bj-sanlitun"]
    assert [store["store_id"] for store in found["stores"]] == ["bj-sanlitun"]
    assert "上海南京路店" not in manager.get("/console/map").text
    assert manager.get("/console/stores/bj-sanlitun").status_code == 200
    assert manager.get("/console/stores/sh-nanjing-road").status_code == 403
    assert manager.get("/console/stores/sh-nanjing-road.json").status_code == 403


def test_a_stores_page_shows_its_figures_and_kiosks(placed: ConsoleChain) -> None:
    editor = client_for(placed, Role.CONTENT_EDITOR)
    found = editor.get("/console/stores/sh-nanjing-road.json?from=2026-12-05&to=2026-12-05").json()
    assert found["store"]["name"] == "上海南京路店"
    assert found["store"]["region"] == "east"
    assert found["figures"]["lifts"] == 6
    assert found["figures"]["traffic"] == 6.0
    assert found["rolled_up_to"]
    # Read from the rollups: what has not been rolled up yet is not in the figures.
    data = StoreData(placed.database)
    data.lifts("sh-nanjing-road", "k2", DAY, ["s9"])
    url = "/console/stores/sh-nanjing-road.json?from=2026-12-05&to=2026-12-05"
    assert editor.get(url).json()["figures"]["lifts"] == 6
    data.roll()
    assert editor.get(url).json()["figures"]["lifts"] == 7
    assert [kiosk["kiosk_id"] for kiosk in found["kiosks"]] == [
        "sh-nanjing-road-k1",
        "sh-nanjing-road-k2",
    ]
    page = editor.get("/console/stores/sh-nanjing-road")
    assert 'href="/console/fleet/sh-nanjing-road-k1"' in page.text
    assert editor.get("/console/stores/nowhere").status_code == 404


def test_bad_filters_are_refused(placed: ConsoleChain) -> None:
    admin = client_for(placed, Role.CHAIN_ADMIN)
    for query, problem in (
        ("metric=footfall", "metric: one of conversion, csat, traffic"),
        ("from=2026-12-06&to=2026-12-01", "from: the first day is after the last"),
        ("from=yesterday", "from: a date YYYY-MM-DD"),
        ("from=2024-01-01", "from, to: at most 366 days at a time"),
    ):
        answer = admin.get(f"/console/map.json?{query}")
        assert (answer.status_code, answer.json()["detail"]) == (422, problem)
