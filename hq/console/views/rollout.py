"""Rollout, live: how many kiosks run which release, who is downloading, who failed and why.

    GET /console/rollout[.json]                  the fleet: per store and per release
    GET /console/releases/{n}/rollout[.json]     one release, kiosk by kiosk

Both pages refresh themselves (static/console.js swaps the live part every few
seconds; without JavaScript a <noscript> meta refresh reloads the page). A store
manager sees their stores' kiosks only.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any, Final

from sqlalchemy import select
from starlette.routing import BaseRoute

from hq.console.permissions import Action
from hq.console.reach import read_fleet
from hq.console.views.base import Ask, Console, Page, routes
from hq.console.views.shared import (
    find_release,
    release_state,
    rollout_counts,
    take_flash,
    visible_rollout,
)
from hq.content.releases import list_releases
from hq.content.rollout import rollout
from hq.content.selection import release_heads
from hq.content.targeting import served
from hq.db import content_failures, kiosk_content_status

RECENT_FAILURES: Final = 30
FAILURE_WINDOW: Final = timedelta(days=7)
REFRESH_S: Final = 5
SHOWN_ROWS: Final = 200
# Kiosks listed on the page, problems first: a 1,000-kiosk table redrawn every 5 s
# is work for HQ and the browser, and the ones running it are the least interesting.
SILENT_AFTER: Final = timedelta(minutes=10)
# A kiosk polls every minute; ten without a report is worth a glance (offline, or
# its relay is down), not an alarm.


def fleet_rollout_page(console: Console, ask: Ask) -> Page:
    actor = ask.require(Action.VIEW)
    infos = {info.release_id: info for info in list_releases(console.database, limit=500)}
    with console.database.snapshot() as connection:
        everything = read_fleet(connection)
        heads = release_heads(connection)
        statuses = {row.kiosk_id: row for row in connection.execute(select(kiosk_content_status))}
        failure_rows = connection.execute(
            select(content_failures)
            .where(content_failures.c.occurred_at >= ask.now - FAILURE_WINDOW)
            .order_by(content_failures.c.occurred_at.desc(), content_failures.c.id.desc())
            .limit(500)
        ).all()
    fleet = everything.for_actor(actor)
    stores: list[dict[str, Any]] = []
    on_release: Counter[str] = Counter()
    totals = {"kiosks": 0, "current": 0, "downloading": 0, "silent": 0}
    for store_id, labels in sorted(fleet.labels.items()):
        chosen = served(heads, labels)
        serving = None if chosen is None else chosen.release_id
        kiosk_ids = fleet.kiosks_by_store.get(store_id, ())
        current = downloading = 0
        for kiosk_id in kiosk_ids:
            status = statuses.get(kiosk_id)
            active = None if status is None else status.active
            on_release["none" if active is None else str(active)] += 1
            current += int(serving is not None and active == serving)
            downloading += int(status is not None and status.downloading is not None)
            if status is None or ask.now - status.reported_at > SILENT_AFTER:
                totals["silent"] += 1
        totals["kiosks"] += len(kiosk_ids)
        totals["current"] += current
        totals["downloading"] += downloading
        stores.append(
            {
                "store_id": store_id,
                "name": fleet.store_names.get(store_id),
                "region": labels.region,
                "tags": sorted(labels.tags),
                "kiosks": len(kiosk_ids),
                "serving": serving,
                "serving_name": infos[serving].name if serving in infos else None,
                "on_serving": current,
                "downloading": downloading,
            }
        )
    failures = [
        {
            "id": row.failure_id,
            "kiosk_id": row.kiosk_id,
            "store_id": row.store_id,
            "release": row.release_id,
            "reason": row.reason,
            "detail": row.detail,
            "at": row.occurred_at,
        }
        for row in failure_rows
        if row.store_id in fleet.labels
    ][:RECENT_FAILURES]
    downloads = [
        {
            "kiosk_id": kiosk_id,
            "store_id": status.store_id,
            "release": status.downloading,
            "bytes_done": status.bytes_done,
            "bytes_total": status.bytes_total,
            "progress": _share(status.bytes_done, status.bytes_total),
        }
        for kiosk_id, status in sorted(statuses.items())
        if status.downloading is not None and status.store_id in fleet.labels
    ]
    releases = [
        {
            "release": key,
            "name": infos[int(key)].name if key != "none" and int(key) in infos else None,
            "kiosks": count,
            "share": count / totals["kiosks"] if totals["kiosks"] else 0.0,
            "state": release_state(infos[int(key)], everything, heads, ask.now)
            if key != "none" and int(key) in infos
            else None,
        }
        for key, count in sorted(
            on_release.items(),
            key=lambda item: (item[0] == "none", -int(item[0]) if item[0] != "none" else 0),
        )
    ]
    return Page(
        "rollout.html",
        {
            "totals": totals,
            "releases": releases,
            "stores": stores,
            "downloads": downloads,
            "failures": failures,
            "refresh_s": REFRESH_S,
        },
        title="Rollout",
        section="rollout",
    )


def release_rollout_page(console: Console, ask: Ask) -> Page:
    actor = ask.signed_in()
    info = find_release(console.database, int(ask.params["number"]))
    with console.database.snapshot() as connection:
        everything = read_fleet(connection)
        heads = release_heads(connection)
    ask.require(Action.VIEW, everything.reach(info.target))
    fleet = everything.for_actor(actor)
    kiosks = visible_rollout(rollout(console.database, info.release_id, now=ask.now), fleet)
    counts = rollout_counts(kiosks)
    reasons = Counter(failure.reason for kiosk in kiosks for failure in kiosk.failures)
    rows = [
        {
            **kiosk.as_json(),
            "silent": kiosk.reported_at is None or ask.now - kiosk.reported_at > SILENT_AFTER,
            "failure": kiosk.failures[0].as_json() if kiosk.failures else None,
        }
        for kiosk in sorted(kiosks, key=lambda kiosk: (_ORDER[kiosk.state], kiosk.kiosk_id))
    ]
    return Page(
        "release_rollout.html",
        {
            "release": {**info.as_json(), "state": release_state(info, everything, heads, ask.now)},
            "progress": counts,
            "failure_reasons": dict(sorted(reasons.items())),
            "kiosks": rows,
            "shown_rows": SHOWN_ROWS,
            "refresh_s": REFRESH_S,
            "flash": take_flash(ask),
        },
        title=f"Rollout of release {info.release_id}",
        section="rollout",
    )


_ORDER: Final = {
    "failed": 0,
    "downloading": 1,
    "ready": 2,
    "waiting": 3,
    "running": 4,
    "superseded": 5,
}


def _share(done: int | None, total: int | None) -> float | None:
    if not total:
        return None
    return min(1.0, (done or 0) / total)


def rollout_routes(console: Console) -> list[BaseRoute]:
    return [
        *routes(console, "/rollout", fleet_rollout_page),
        *routes(console, "/releases/{number:int}/rollout", release_rollout_page),
    ]
