"""The sample bundle generator: a complete, plausible, valid bundle, the same for the same seed."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from helpers.bundles import sample_bundle
from PIL import Image

from content.bundle import load_bundle
from content.model import ConsentPurpose, QuestionKind
from content.sample import main, write_sample_bundle

SHANGHAI = timezone(timedelta(hours=8))
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
        with Image.open(bundle.asset(item.asset)) as poster:
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


def test_sample_offers_consent_surveys_coupons_and_a_draw_for_years(sample_dir: Path) -> None:
    bundle = load_bundle(sample_dir)

    assert [n.purpose for n in bundle.notices] == list(ConsentPurpose)
    for notice in bundle.notices:
        assert notice.version == "2026-11"
        assert notice.label.zh_cn != notice.label.en
        assert "服务台" in notice.text.zh_cn or "退订" in notice.text.zh_cn  # how to withdraw
    membership = bundle.notice(ConsentPurpose.MEMBERSHIP)
    assert membership is not None
    assert "必选" in membership.label.zh_cn

    smiley = bundle.survey("smiley")
    assert smiley is not None
    assert smiley.terminal
    assert smiley.questions[0].prompt.zh_cn == "今天的购物体验如何？"

    visit = bundle.survey("visit")
    assert visit is not None
    assert [(q.id, q.kind) for q in visit.questions] == [
        ("experience", QuestionKind.SMILEY),
        ("what-went-wrong", QuestionKind.SINGLE),
        ("recommend", QuestionKind.NPS),
        ("comments", QuestionKind.TEXT),
    ]
    # Unhappy shoppers are asked what went wrong; happy ones go straight on.
    assert "1" not in visit.questions[0].branches
    assert "2" not in visit.questions[0].branches
    assert visit.questions[0].branches["4"] == "recommend"
    assert visit.questions[3].optional
    assert visit.reward == "accessory-50"

    assert [(c.id, c.number) for c in bundle.campaigns] == [
        ("accessory-50", 1),
        ("case-10-off", 2),
        ("phone-200", 3),
        ("birthday-100", 4),  # the member offers' coupons
        ("gold-accessory-20", 5),
        ("xinghe-300", 6),
        ("film-30", 7),
    ]
    reward = bundle.campaign("accessory-50")
    assert reward is not None
    assert reward.value is not None
    assert reward.value.amount == Decimal("50.00")
    case = bundle.campaign("case-10-off")
    assert case is not None
    assert case.percent_off == 10

    draw = bundle.prize_draw("daily-draw")
    assert draw is not None
    assert [(p.id, p.campaign, p.chance) for p in draw.prizes] == [
        ("grand", "phone-200", Decimal("0.05")),
        ("case", "case-10-off", Decimal("0.2")),
    ]
    # Open from before the tests were written until years after.
    windows = [(c.starts_at, c.ends_at) for c in bundle.campaigns]
    for starts_at, ends_at in [*windows, (draw.starts_at, draw.ends_at)]:
        assert datetime.fromisoformat(starts_at) <= datetime(2025, 1, 1, tzinfo=SHANGHAI)
        assert datetime.fromisoformat(ends_at) >= datetime(2030, 1, 1, tzinfo=SHANGHAI)
