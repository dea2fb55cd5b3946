"""Names per kiosk from the kiosks' catalogs: products and the channel's other ids."""

from __future__ import annotations

from backend_client.channel.commands import (
    CatalogLabel,
    CatalogProduct,
    KioskCatalog,
    catalog_json,
    parse_catalog,
)
from content.model import Language
from kiosk.attendant.names import ProductNames

K1, K2 = "sh-nanjing-road-k1", "sh-nanjing-road-k2"


def _catalog(kiosk: str, *labels: CatalogLabel) -> KioskCatalog:
    product = CatalogProduct("XH-X60", "星河 X60", "Xinghe X60", "Xinghe")
    return KioskCatalog(kiosk, "r1", (product,), (), labels)


def test_a_kiosks_own_labels_win_then_any_other_kiosks_then_none() -> None:
    names = ProductNames()
    assert names.label(K1, "survey", "visit", Language.ZH_CN) is None
    names.learn(_catalog(K1, CatalogLabel("survey", "visit", "到店调查", "Visit survey")))
    names.learn(_catalog(K2, CatalogLabel("survey", "visit", "二号的调查", "")))
    assert names.label(K1, "survey", "visit", Language.ZH_CN) == "到店调查"
    assert names.label(K1, "survey", "visit", Language.EN) == "Visit survey"
    assert names.label(K2, "survey", "visit", Language.EN) == "二号的调查"  # no English: Chinese
    assert names.label("sh-nanjing-road-k9", "survey", "visit", Language.EN) == "Visit survey"
    assert names.label(K1, "campaign", "visit", Language.EN) is None  # kinds do not mix


def test_a_catalog_keeps_its_labels_on_the_wire_and_an_older_kiosks_answer_still_parses() -> None:
    sent = _catalog(
        K1,
        CatalogLabel("campaign", "phone-200", "购机立减¥200", "¥200 off a new phone"),
        CatalogLabel("prize", "daily-draw/grand", "购机立减¥200", "¥200 off a new phone"),
    )
    assert parse_catalog(catalog_json(sent)) == sent
    older = (
        b'{"kiosk": "sh-nanjing-road-k1", "release": "r1", "products": [{"sku": "XH-X60",'
        b' "name_zh": "\\u661f\\u6cb3 X60", "name_en": "Xinghe X60", "brand": "Xinghe"}],'
        b' "slots": []}'
    )
    parsed = parse_catalog(older)
    assert parsed.labels == ()
    assert parsed.products == sent.products


def test_a_newer_kiosks_answer_with_fields_we_do_not_know_still_parses() -> None:
    # Stores update kiosks and attendant devices on different days.
    newer = (
        b'{"kiosk": "sh-nanjing-road-k1", "release": "r2", "shelf_lights": true,'
        b' "products": [{"sku": "XH-X60", "name_zh": "X60", "name_en": "X60", "brand": "Xinghe",'
        b' "colours": ["black"]}], "slots": [], "labels": []}'
    )
    parsed = parse_catalog(newer)
    assert parsed.release == "r2"
    assert [product.sku for product in parsed.products] == ["XH-X60"]
