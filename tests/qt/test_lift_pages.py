"""The product screen prepared ahead: every phone of the cabinet has its panel ready
before the first lift, and a prepared panel still shows what is true at the lift (the
price of the release on screen, the language the shopper chose). The product and
compare screens fit the window in both shapes. Wired as `kiosk` runs it
(kiosk.app.build) with the simulated pickup board on a pty."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.bundles import edit_json, sample_bundle
from helpers.geometry import layout_problems
from helpers.pickup import running_board
from helpers.qt_kiosk import started, themed
from helpers.touch import tap
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from backend_client.status import ContentStatus
from content.bundle import Bundle, load_bundle
from content.model import Language
from content.store import ContentStore
from devices.sim.pickup import PickupBoardSim
from kiosk import pages, theme
from kiosk.app import Kiosk, KioskOptions
from kiosk.i18n import format_price, tr
from kiosk.session import SessionConfig

GRACE = 0.6
IDLE = 2.5
SLOT = 3
OTHER_SLOT = 5
ELSEWHERE_SLOT = 4
NEW_PRICE = "3999.00"
WAIT_MS = 10_000


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The release the kiosk starts with, and release 12 with slot 3's phone repriced."""
    root = tmp_path_factory.mktemp("content")
    old = sample_bundle(root / "old", release="sample-16-1")
    new = sample_bundle(root / "hq-12", release="hq-12")
    sku = load_bundle(old, verify_hashes=False).sku_on_slot(SLOT)

    def reprice(catalog: Any) -> None:
        for product in catalog["products"]:
            if product["sku"] == sku:
                product["price"]["amount"] = NEW_PRICE

    edit_json(new, "catalog.json", reprice)
    # Slot 4's phone (a related model of slot 3's) taken off the cabinet: still sold.
    sparse = sample_bundle(root / "sparse", release="sparse")
    edit_json(
        sparse,
        "planogram.json",
        lambda planogram: planogram.update(
            slots=[s for s in planogram["slots"] if s["slot"] != ELSEWHERE_SLOT]
        ),
    )
    return {"old": old, "new": new, "sparse": sparse}


@pytest.fixture
def board(tmp_path: Path) -> Iterator[PickupBoardSim]:
    with running_board(tmp_path) as sim:
        yield sim


def start(
    qapp: QApplication, qtbot: QtBot, board: PickupBoardSim, content: Path, data: Path
) -> Kiosk:
    themed(qapp)
    options = KioskOptions(
        content=content,
        pickup_port=board.port,
        data_dir=data,
        session=SessionConfig(drop_grace=GRACE, idle_timeout=IDLE),
    )
    built = started(options, qapp, qtbot, board)
    return built


@pytest.fixture
def kiosk(
    qtbot: QtBot,
    qapp: QApplication,
    board: PickupBoardSim,
    sources: dict[str, Path],
    tmp_path: Path,
) -> Iterator[Kiosk]:
    built = start(qapp, qtbot, board, sources["old"], tmp_path / "data")
    yield built
    built.close()


@pytest.fixture
def sparse_kiosk(
    qtbot: QtBot,
    qapp: QApplication,
    board: PickupBoardSim,
    sources: dict[str, Path],
    tmp_path: Path,
) -> Iterator[Kiosk]:
    """On the release with slot 4's phone off the cabinet."""
    built = start(qapp, qtbot, board, sources["sparse"], tmp_path / "data")
    yield built
    built.close()


def shown_bundle(kiosk: Kiosk) -> Bundle:
    assert kiosk.bundle is not None
    return kiosk.bundle


def product_on(kiosk: Kiosk, slot: int) -> tuple[str, str]:
    """(name in Chinese, price) of the phone on `slot` in the release on screen."""
    bundle = shown_bundle(kiosk)
    sku = bundle.sku_on_slot(slot)
    assert sku is not None
    product = bundle.product(sku)
    assert product is not None
    return product.name.get(Language.ZH_CN), format_price(product.price)


def wait_until_cabinet_prepared(qtbot: QtBot, kiosk: Kiosk) -> None:
    cabinet = set(pages.cabinet_skus(shown_bundle(kiosk)))
    qtbot.waitUntil(lambda: cabinet <= set(kiosk.window.product.prepared), timeout=WAIT_MS)


def lift(qtbot: QtBot, kiosk: Kiosk, board: PickupBoardSim, slot: int) -> None:
    sku = shown_bundle(kiosk).sku_on_slot(slot)
    board.lift(slot)
    qtbot.waitUntil(
        lambda: (
            kiosk.controller.state.view.key == f"product:{sku}" and kiosk.window.product.isVisible()
        ),
        timeout=WAIT_MS,
    )


def back_to_attract(qtbot: QtBot, kiosk: Kiosk, board: PickupBoardSim, slot: int) -> None:
    board.drop(slot)
    qtbot.waitUntil(kiosk.window.attract.isVisible, timeout=WAIT_MS)


def test_the_cabinets_phones_are_ready_before_the_first_lift_and_show_their_own_facts(
    qtbot: QtBot, kiosk: Kiosk, board: PickupBoardSim
) -> None:
    wait_until_cabinet_prepared(qtbot, kiosk)
    for slot in (SLOT, OTHER_SLOT):
        lift(qtbot, kiosk, board, slot)
        name, price = product_on(kiosk, slot)
        assert kiosk.window.product.title.text() == name
        assert kiosk.window.product.price.text() == price
        qtbot.wait(300)  # held, not a bounce
        back_to_attract(qtbot, kiosk, board, slot)


def test_a_prepared_phone_shows_the_new_releases_price_after_a_content_switch(
    qtbot: QtBot, kiosk: Kiosk, board: PickupBoardSim, sources: dict[str, Path], tmp_path: Path
) -> None:
    wait_until_cabinet_prepared(qtbot, kiosk)
    _, old_price = product_on(kiosk, SLOT)
    switch = kiosk.content_switch
    assert switch is not None
    ContentStore(tmp_path / "data" / "content").stage(sources["new"], number=12, not_before=None)
    with qtbot.waitSignal(switch.switched, timeout=WAIT_MS):
        switch.on_content(ContentStatus(("hq-12",), None, None))
    assert shown_bundle(kiosk).release == "hq-12"

    lift(qtbot, kiosk, board, SLOT)

    _, new_price = product_on(kiosk, SLOT)
    assert new_price != old_price
    assert kiosk.window.product.price.text() == new_price


def test_a_prepared_phone_speaks_the_language_the_shopper_chose_and_chinese_again_after(
    qtbot: QtBot, kiosk: Kiosk, board: PickupBoardSim
) -> None:
    wait_until_cabinet_prepared(qtbot, kiosk)
    bundle = shown_bundle(kiosk)
    other_sku = bundle.sku_on_slot(OTHER_SLOT)
    assert other_sku is not None
    other = bundle.product(other_sku)
    assert other is not None
    lift(qtbot, kiosk, board, SLOT)
    qtbot.wait(300)  # held, not a bounce
    kiosk.window.product.language.click()  # to English
    qtbot.waitUntil(lambda: kiosk.controller.state.language is Language.EN, timeout=WAIT_MS)

    board.drop(SLOT)  # put back, and within the grace the next phone comes up
    lift(qtbot, kiosk, board, OTHER_SLOT)

    assert kiosk.window.product.title.text() == other.name.get(Language.EN)
    assert kiosk.window.product.related.title.text() == tr(Language.EN, "product.related")
    assert kiosk.window.product.language.text() == tr(Language.EN, "language.switch")

    back_to_attract(qtbot, kiosk, board, OTHER_SLOT)
    qtbot.waitUntil(  # the session ended: the next shopper starts in Chinese
        lambda: kiosk.controller.state.language is Language.ZH_CN, timeout=WAIT_MS
    )
    lift(qtbot, kiosk, board, OTHER_SLOT)
    assert kiosk.window.product.title.text() == other.name.get(Language.ZH_CN)


def shelves_of(bundle: Bundle, slot: int) -> tuple[pages.Card, ...]:
    page = pages.lifted_page(bundle, bundle.sku_on_slot(slot) or "", Language.ZH_CN)
    return () if page is None else page.related + page.best_sellers


def test_a_recommended_phone_from_elsewhere_in_the_catalog_shows_its_own_facts(
    qtbot: QtBot, sparse_kiosk: Kiosk, board: PickupBoardSim
) -> None:
    """Browsing beyond the cabinet refills one spare panel: no panel is added per phone."""
    kiosk = sparse_kiosk
    wait_until_cabinet_prepared(qtbot, kiosk)
    bundle = shown_bundle(kiosk)
    cabinet = pages.cabinet_skus(bundle)
    # A phone on the cabinet whose page recommends one that is not on it.
    found = next(
        (slot, card)
        for slot in sorted(a.slot for a in bundle.planogram.slots)
        for card in shelves_of(bundle, slot)
        if card.sku not in cabinet
    )
    slot, elsewhere = found
    prepared = kiosk.window.product.prepared
    lift(qtbot, kiosk, board, slot)
    qtbot.wait(300)  # held, not a bounce
    shelf_cards = kiosk.window.product.related.cards + kiosk.window.product.best_sellers.cards
    card = next(c for c in shelf_cards if c.sku == elsewhere.sku)

    tap(card)

    qtbot.waitUntil(
        lambda: kiosk.controller.state.view.key == f"product:{elsewhere.sku}", timeout=WAIT_MS
    )
    qtbot.waitUntil(lambda: kiosk.window.product.title.text() == elsewhere.name, timeout=WAIT_MS)
    assert kiosk.window.product.price.text() == elsewhere.price
    assert set(kiosk.window.product.prepared) == set(prepared)


@pytest.mark.parametrize("shape", sorted(theme.SCREEN_SHAPES))
def test_product_and_compare_fit_the_window_in_each_shape(
    qtbot: QtBot, qapp: QApplication, kiosk: Kiosk, board: PickupBoardSim, shape: str
) -> None:
    kiosk.window.resize(*theme.SCREEN_SHAPES[shape])
    wait_until_cabinet_prepared(qtbot, kiosk)
    lift(qtbot, kiosk, board, SLOT)
    qtbot.wait(50)  # layouts settle on the next turns of the event loop
    assert layout_problems(kiosk.window) == []

    board.lift(OTHER_SLOT)
    qtbot.waitUntil(kiosk.window.compare.isVisible, timeout=WAIT_MS)
    qtbot.wait(50)
    assert layout_problems(kiosk.window) == []
    assert kiosk.window.compare.right.title.text() == product_on(kiosk, OTHER_SLOT)[0]
