"""Training from HQ's events, and shipping the model in a content release a kiosk loads,
only when it beats popularity (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers.bundles import read_json, sample_bundle
from sqlalchemy import select

from content.bundle import load_bundle
from content.recommend import related
from hq import fleet
from hq.analytics.model import evaluate, events, sales, ship, train, versions
from hq.content import releases
from hq.content.assets import DirectoryAssetStore
from hq.content.signing import ContentKeys
from hq.db import Database, audit_log
from hq.db import events as events_table

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)


def lifts(database: Database, visits: list[tuple[datetime, tuple[str, ...]]]) -> None:
    """One kiosk's lift events, a visit a session."""
    rows = []
    for number, (at, skus) in enumerate(visits):
        for step, sku in enumerate(skus):
            rows.append(
                {
                    "event_id": str(uuid.uuid4()),
                    "kiosk_id": "s001-k1",
                    "store_id": "s001",
                    "seq": len(rows) + 1,
                    "kind": "lift",
                    "schema_version": 1,
                    "occurred_at": at + timedelta(seconds=step),
                    "received_at": at + timedelta(seconds=step),
                    "payload": {"session": f"boot-{number}", "sku": sku, "slot": 1},
                }
            )
    with database.write() as connection:
        database.insert_rows(connection, events_table, rows)


def trained(database: Database) -> versions.ModelVersion:
    """What `kiosk-hq model train` does."""
    signals = events.read_events(database, until=NOW)
    result = evaluate.evaluate(signals, now=NOW, als=False)
    model = train.train(signals, now=NOW)
    return versions.save(database, model, result, by="test", now=NOW)


def pairs_history(
    catalog: list[str], partner: dict[str, str]
) -> list[tuple[datetime, tuple[str, ...]]]:
    """A month of visits: each SKU lifted with its partner; the first five also alone, a lot."""
    visits: list[tuple[datetime, tuple[str, ...]]] = []
    for day in range(30):
        at = NOW - timedelta(days=day, hours=1)
        visits += [(at, (sku, partner[sku])) for sku in catalog[::2]]
        visits += [(at, (sku,)) for sku in catalog[:5] for _ in range(3)]
    return visits


@pytest.fixture
def shop(database: Database, tmp_path: Path) -> tuple[DirectoryAssetStore, ContentKeys, list[str]]:
    fleet.add_store(database, "s001", None, now=NOW, region="east")
    folder = sample_bundle(tmp_path / "bundle", products=16)
    assets = DirectoryAssetStore(tmp_path / "assets")
    keys = ContentKeys(tmp_path / "keys")
    releases.publish_folder(database, assets, keys, folder, target="region:east", by="t", now=NOW)
    catalog = [product["sku"] for product in read_json(folder, "catalog.json")["products"]]
    return assets, keys, catalog


def test_a_model_that_beats_popularity_ships_in_a_release_a_kiosk_loads(
    database: Database,
    shop: tuple[DirectoryAssetStore, ContentKeys, list[str]],
    tmp_path: Path,
) -> None:
    assets, keys, catalog = shop
    partner = {a: b for a, b in zip(catalog[::2], catalog[1::2], strict=True)}
    lifts(database, pairs_history(catalog, partner))
    version = trained(database)
    assert version.figures("co-occurrence")["hit_rate"] == 1.0  # type: ignore[index]
    assert version.figures("popularity")["hit_rate"] < 0.5  # type: ignore[index]

    shipped = ship.ship(database, assets, keys, by="cli:ana", now=NOW)

    release = shipped.published.release
    assert (release.source, release.base_release, str(release.target)) == (
        "model",
        1,
        "region:east",
    )
    # A kiosk gets every file of the release and the manifest that lists them.
    folder = tmp_path / "kiosk"
    listed = []
    for path, (sha256, size) in releases.release_files(database, release.release_id).items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        with assets.open(sha256) as file:
            (folder / path).write_bytes(file.read())
        listed.append({"path": path, "sha256": sha256, "size": size})
    manifest = {"schema_version": 1, "release": "hq-2", "created_at": "2026-12-06T10:00:00Z"}
    (folder / "manifest.json").write_text(json.dumps({**manifest, "assets": listed}))
    bundle = load_bundle(folder)
    assert bundle.recommender is not None
    assert bundle.recommender.model == f"hq-model-{version.model_id}"
    first = catalog[0]
    assert related(bundle, first, limit=1)[0].sku == partner[first]
    assert versions.get(database).shipped_release == release.release_id
    with database.read() as connection:
        actions = connection.execute(select(audit_log.c.action, audit_log.c.actor)).all()
    assert ("content.model", "cli:ana") in [tuple(row) for row in actions]


def test_a_model_no_better_than_popularity_is_not_shipped(
    database: Database, shop: tuple[DirectoryAssetStore, ContentKeys, list[str]]
) -> None:
    assets, keys, catalog = shop
    # Everyone lifts the best seller next, whatever they held: popularity knows as much.
    lifts(
        database,
        [
            (NOW - timedelta(days=d, hours=1), (sku, catalog[0]))
            for d in range(20)
            for sku in catalog[1:]
        ],
    )
    version = trained(database)

    with pytest.raises(
        ship.ShipRefused,
        match=r"does not beat popularity.*hit rate@5 1\.000 against popularity's 1\.000",
    ):
        ship.ship(database, assets, keys, by="t", now=NOW)

    assert [r.release_id for r in releases.list_releases(database)] == [1]
    assert versions.get(database, version.model_id).shipped_release is None


def test_sales_lines_are_imported_once_and_learnt_as_visits(database: Database) -> None:
    fleet.add_store(database, "s001", None, now=NOW)
    a, b = "P-1", "P-6"
    text = "receipt,sold_at,store_id,sku,quantity\n" + "".join(
        f"R-{n},2026-12-0{1 + n % 3}T10:00:00+08:00,s001,{sku},1\n"
        for n in range(3)
        for sku in (a, b)
    )

    first = sales.import_sales(database, text, now=NOW)
    again = sales.import_sales(database, text, now=NOW)

    assert (first.lines, first.skipped, first.receipts) == (6, 0, 3)
    assert (again.lines, again.skipped) == (0, 6)
    model = train.train(events.read_events(database, until=NOW), now=NOW)
    assert [sku for sku, _ in model.related()[a]] == [b]
