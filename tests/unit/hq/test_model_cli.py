"""`kiosk-hq model`: a till's export in, a model trained, evaluated and shipped, from a shell."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers.bundles import read_json, sample_bundle

from hq.cli import main


def run(tmp_path: Path, *argv: str) -> int:
    url = f"sqlite:///{tmp_path / 'hq.sqlite3'}"
    return main(["--data-dir", str(tmp_path / "hq"), "--database-url", url, *argv])


def test_sales_in_model_trained_and_shipped_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = sample_bundle(tmp_path / "bundle", products=16)
    skus = [product["sku"] for product in read_json(folder, "catalog.json")["products"]]
    assert run(tmp_path, "store", "add", "s001") == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("receipt,sold_at,store_id,sku,quantity\nR-1,yesterday,s001,P-1,1\n")
    assert run(tmp_path, "model", "import-sales", str(bad)) == 1
    refused = capsys.readouterr().err
    assert "1 problem(s) in the sales export; nothing imported" in refused
    assert "line 2: sold_at: must be an ISO 8601 date and time" in refused

    # A month of receipts: each phone sold with its partner, the first five alone a lot.
    now = datetime(2026, 12, 6, 10, tzinfo=UTC)
    lines = ["receipt,sold_at,store_id,sku,quantity"]
    for day in range(30):
        sold = (now - timedelta(days=day, hours=2)).isoformat()
        for n, sku in enumerate(skus[::2]):
            lines += [
                f"D{day}-P{n},{sold},s001,{sku},1",
                f"D{day}-P{n},{sold},s001,{skus[2 * n + 1]},1",
            ]
        lines += [f"D{day}-S{n},{sold},s001,{skus[n % 5]},1" for n in range(15)]
    good = tmp_path / "sales.csv"
    good.write_text("\n".join(lines) + "\n")
    assert run(tmp_path, "model", "import-sales", str(good)) == 0
    imported = "930 sale line(s) of 690 receipt(s) imported, 0 imported before\n"
    assert capsys.readouterr().out == imported

    assert run(tmp_path, "model", "train", "--now", now.isoformat()) == 0
    trained = capsys.readouterr().out
    assert trained.startswith("model 1 trained on ")
    assert "co-occurrence  1.000" in trained
    assert "beats popularity on hit rate@5" in trained

    assert run(tmp_path, "model", "ship") == 1  # no release to ship it in yet
    assert "publish one first" in capsys.readouterr().err
    assert run(tmp_path, "content", "publish", str(folder), "--to", "all") == 0
    capsys.readouterr()
    assert run(tmp_path, "model", "ship", "--by", "cli:ana") == 0
    assert capsys.readouterr().out == "model 1 shipped in release 2 (from release 1) to all\n"
