"""Product names per kiosk, from each kiosk's catalog (commands.fetch_catalog), and
the names of its surveys, campaigns, draws and prizes. No Qt.

The feed, the alerts and the planogram editor show names, never SKUs or ids, once a
kiosk's catalog is known; a kiosk's own catalog wins, then any other kiosk's (a store
runs one range)."""

from __future__ import annotations

from backend_client.channel.commands import KioskCatalog, LabelKind
from content.model import Language


class ProductNames:
    def __init__(self) -> None:
        self._catalogs: dict[str, KioskCatalog] = {}
        self._names: dict[str, dict[str, tuple[str, str]]] = {}
        self._labels: dict[str, dict[tuple[LabelKind, str], tuple[str, str]]] = {}
        self.version = 0  # grows with every catalog learnt: screens redraw their names

    def learn(self, catalog: KioskCatalog) -> None:
        if self._catalogs.get(catalog.kiosk) == catalog:
            return
        self._catalogs[catalog.kiosk] = catalog
        self._names[catalog.kiosk] = {
            product.sku: (product.name_zh, product.name_en) for product in catalog.products
        }
        self._labels[catalog.kiosk] = {
            (label.kind, label.id): (label.name_zh, label.name_en) for label in catalog.labels
        }
        self.version += 1

    def catalog(self, kiosk: str) -> KioskCatalog | None:
        return self._catalogs.get(kiosk)

    def name(self, kiosk: str, sku: str, language: Language) -> str | None:
        names = self._names.get(kiosk, {}).get(sku)
        if names is None:
            names = next((n[sku] for n in self._names.values() if sku in n), None)
        return _in(names, language)

    def label(self, kiosk: str, kind: LabelKind, id_: str, language: Language) -> str | None:
        """The name of survey, campaign, draw or prize `id_` (commands.CatalogLabel)."""
        key = (kind, id_)
        names = self._labels.get(kiosk, {}).get(key)
        if names is None:
            names = next((n[key] for n in self._labels.values() if key in n), None)
        return _in(names, language)


def _in(names: tuple[str, str] | None, language: Language) -> str | None:
    if names is None:
        return None
    zh, en = names
    return (zh or en) if language is Language.ZH_CN else (en or zh)
