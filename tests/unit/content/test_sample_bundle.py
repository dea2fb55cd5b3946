"""The sample bundle generator: a complete, plausible, valid bundle, the same for the same seed."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from helpers.bundles import sample_bundle
from PIL import Image

from content.bundle import load_bundle
from content.sample import main, write_sample_bundle

REAL_BRANDS = ("apple", "samsung", "huawei", "xiaomi", "oppo", "vivo", "honor", "oneplus")


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sample_bundle(tmp_path_factory.mktemp("sample") / "bundle")


def test_sample_is_a_complete_valid_bundle(sample_dir: Path) -> None:
    bundle = load_bundle(sample_dir, verify_hashes=True)

    products = bundle.catalog.products
    assert len(products) == 16
    assert {p.brand for p in products} == {"Xinghe", "Lingyun", "Qinglan", "Obsidian"}
    assert [a.slot for a in bundle.planogram.slots] == list(range(1, 13))
    assert [a.sku for a in bundle.planogram.slots] == [p.sku for p in products[:12]]
    assert len(bundle.recommendations.best_sellers) == 6
    assert all(3 <= len(bundle.recommendations.related[p.sku]) <= 4 for p in products)
    assert len(bundle.playlist.items) == 4
    assert all(item.seconds == 8 and item.caption is None for item in bundle.playlist.items)


def test_sample_phones_are_plausible_and_fictional(sample_dir: Path) -> None:
    for product in load_bundle(sample_dir).catalog.products:
        specs = product.specs
        assert Decimal("1999.00") <= product.price.amount <= Decimal("8999.00")
        assert product.price.currency == "CNY"
        assert 6.1 <= specs.display_inches <= 6.9
        assert specs.refresh_hz in (60, 90, 120, 144)
        assert 8 <= specs.ram_gb <= 16
        assert specs.storage_gb in (128, 256, 512, 1024)
        assert 50 <= specs.main_camera_mp <= 200
        assert 4500 <= specs.battery_mah <= 6000
        assert 33 <= specs.charging_w <= 120
        assert 170 <= specs.weight_g <= 230
        assert specs.network == "5G"
        assert product.name.zh_cn != product.name.en  # both languages
        assert product.colour.zh_cn != product.colour.en
        text = product.model_dump_json().lower()
        assert not any(brand in text for brand in REAL_BRANDS)


def test_sample_pictures_have_the_promised_sizes(sample_dir: Path) -> None:
    bundle = load_bundle(sample_dir)
    front, back = bundle.catalog.products[0].images
    for path in (front, back):
        with Image.open(bundle.asset(path)) as picture:
            assert picture.size == (720, 960)
            # A light neutral backdrop in the corners.
            corner = picture.convert("L").getpixel((5, 5))
            assert isinstance(corner, (int, float))
            assert corner > 220
    for item in bundle.playlist.items:
        with Image.open(bundle.asset(item.image)) as poster:
            assert poster.size == (1920, 1080)


def test_command_line_writes_a_bundle_and_says_where(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "demo"

    assert main([str(out), "--products", "20", "--release", "demo-1"]) == 0

    printed = capsys.readouterr().out
    assert str(out) in printed
    assert "20 products" in printed
    bundle = load_bundle(out)
    assert bundle.release == "demo-1"
    assert len(bundle.catalog.products) == 20


def test_command_line_refuses_a_directory_with_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "busy"
    out.mkdir()
    (out / "keep.txt").write_text("mine")

    with pytest.raises(SystemExit) as stopped:
        main([str(out)])

    assert stopped.value.code == 2
    assert "not empty" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_same_seed_gives_the_same_bundle_in_a_new_process(tmp_path: Path) -> None:
    here, there = tmp_path / "here", tmp_path / "there"
    write_sample_bundle(here, products=2, seed=1)  # pictures memoised: cheap here

    subprocess.run(
        [sys.executable, "-m", "content.sample", str(there), "--products", "2", "--seed", "1"],
        check=True,
        capture_output=True,
    )

    files = sorted(p.relative_to(here) for p in here.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(there) for p in there.rglob("*") if p.is_file())
    for file in files:
        assert (here / file).read_bytes() == (there / file).read_bytes(), file


def test_ten_thousand_products_reuse_a_few_pictures(tmp_path: Path) -> None:
    root = sample_bundle(tmp_path / "big", products=10_000)

    bundle = load_bundle(root, verify_hashes=False)

    assert len(bundle.catalog.products) == 10_000
    assert len({p.sku for p in bundle.catalog.products}) == 10_000
    pictures = {image for p in bundle.catalog.products for image in p.images}
    assert len(pictures) <= 2 * 24
