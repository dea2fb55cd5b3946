"""Which stores a target or a release reaches, read once per request.

Permissions (permissions.py) are decided on a `Reach`; this module builds one
from a target and the stores' labels (region, tags), and gives the console the
fleet as one actor may see it: their stores, their kiosks, and what each runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, select

from hq import fleet
from hq.console.permissions import Reach, visible_stores
from hq.console.staff import Staff
from hq.content.targeting import StoreLabels, Target
from hq.db import kiosk_content_status, kiosks, stores


@dataclass(frozen=True, slots=True)
class Fleet:
    """The stores (with their labels) and active kiosks of the chain, as read now."""

    labels: dict[str, StoreLabels]
    store_names: dict[str, str | None]
    kiosks_by_store: dict[str, tuple[str, ...]]
    active_release: dict[str, int | None]  # kiosk id -> the release it reports running

    def reach(self, target: Target) -> Reach:
        covered = [store for store, labels in self.labels.items() if target.covers(labels)]
        return Reach.of(covered, open_ended=target.kind != "store")

    def for_actor(self, actor: Staff) -> Fleet:
        """Only the stores (and their kiosks) `actor` may see."""
        shown = set(visible_stores(actor, self.labels))
        return Fleet(
            {store: labels for store, labels in self.labels.items() if store in shown},
            {store: name for store, name in self.store_names.items() if store in shown},
            {store: ids for store, ids in self.kiosks_by_store.items() if store in shown},
            {
                kiosk: release
                for store in shown
                for kiosk in self.kiosks_by_store.get(store, ())
                for release in [self.active_release.get(kiosk)]
            },
        )

    def kiosk_ids(self, store_ids: Iterable[str] | None = None) -> list[str]:
        chosen = self.kiosks_by_store if store_ids is None else store_ids
        return [kiosk for store in chosen for kiosk in self.kiosks_by_store.get(store, ())]

    @property
    def regions(self) -> list[str]:
        return sorted({labels.region for labels in self.labels.values() if labels.region})

    @property
    def tags(self) -> list[str]:
        return sorted({tag for labels in self.labels.values() for tag in labels.tags})


def read_fleet(connection: Connection) -> Fleet:
    labels = fleet.all_labels(connection)
    names = {
        row.store_id: row.name
        for row in connection.execute(select(stores.c.store_id, stores.c.name))
    }
    by_store: dict[str, list[str]] = {store: [] for store in labels}
    for kiosk_id, store_id in connection.execute(
        select(kiosks.c.kiosk_id, kiosks.c.store_id)
        .where(kiosks.c.revoked_at.is_(None), kiosks.c.role == "kiosk")
        .order_by(kiosks.c.store_id, kiosks.c.kiosk_id)
    ):
        by_store.setdefault(store_id, []).append(kiosk_id)
    active = {
        kiosk_id: None if release is None else int(release)
        for kiosk_id, release in connection.execute(
            select(kiosk_content_status.c.kiosk_id, kiosk_content_status.c.active)
        )
    }
    return Fleet(
        labels,
        names,
        {store: tuple(ids) for store, ids in by_store.items()},
        {kiosk: active.get(kiosk) for ids in by_store.values() for kiosk in ids},
    )
