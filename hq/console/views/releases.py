"""Releases: the list, and one release with its rollout at a glance.

    GET /console/releases[.json]          newest first, with state and kiosks on each
    GET /console/releases/{n}[.json]      one release: target, schedule, files, progress

A store manager sees the releases that reach one of their stores, counted over
their stores' kiosks only; another store's release is a 403.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute

from hq.console.permissions import Action, permission_allowed
from hq.console.reach import read_fleet
from hq.console.views.base import Ask, Console, Page, routes
from hq.console.views.shared import (
    actor_names,
    find_release,
    release_state,
    rollout_counts,
    take_flash,
    visible_rollout,
)
from hq.content.releases import list_releases
from hq.content.rollout import rollout
from hq.content.selection import files_of, release_heads

LIST_LIMIT = 200


def releases_page(console: Console, ask: Ask) -> Page:
    actor = ask.require(Action.VIEW)
    infos = list_releases(console.database, limit=LIST_LIMIT)
    with console.database.snapshot() as connection:
        everything = read_fleet(connection)
        heads = release_heads(connection)
        names = actor_names(connection, {info.created_by for info in infos})
    fleet = everything.for_actor(actor)
    rows: list[dict[str, Any]] = []
    for info in infos:
        reach = everything.reach(info.target)
        if not permission_allowed(actor, Action.VIEW, reach):
            continue
        mine = reach.stores & fleet.labels.keys()
        targeted = fleet.kiosk_ids(sorted(mine))
        running = sum(1 for kiosk in targeted if fleet.active_release.get(kiosk) == info.release_id)
        rows.append(
            {
                **info.as_json(),
                "state": release_state(info, everything, heads, ask.now),
                "created_by_name": names.get(info.created_by, info.created_by),
                "kiosks_targeted": len(targeted),
                "kiosks_running": running,
                "stores_reached": len(mine),
                "can_revoke": permission_allowed(actor, Action.REVOKE, reach)
                and info.revoked_at is None
                and info.reverts is None,
            }
        )
    return Page(
        "releases.html",
        {
            "releases": rows,
            "kiosks_visible": len(fleet.kiosk_ids()),
            "stores_visible": len(fleet.labels),
            "flash": take_flash(ask),
        },
        title="Releases",
        section="releases",
    )


def release_page(console: Console, ask: Ask) -> Page:
    actor = ask.signed_in()
    info = find_release(console.database, int(ask.params["number"]))
    with console.database.snapshot() as connection:
        everything = read_fleet(connection)
        heads = release_heads(connection)
        names = actor_names(
            connection, {info.created_by, *([info.revoked_by] if info.revoked_by else [])}
        )
        files = files_of(connection, info.release_id)
    reach = everything.reach(info.target)
    ask.require(Action.VIEW, reach)
    fleet = everything.for_actor(actor)
    kiosks = visible_rollout(rollout(console.database, info.release_id, now=ask.now), fleet)
    counts = rollout_counts(kiosks)
    failures = [
        {**failure.as_json(), "store_id": kiosk.store_id}
        for kiosk in kiosks
        for failure in kiosk.failures
    ]
    return Page(
        "release.html",
        {
            "release": {
                **info.as_json(),
                "state": release_state(info, everything, heads, ask.now),
                "created_by_name": names.get(info.created_by, info.created_by),
                "revoked_by_name": names.get(info.revoked_by or "", info.revoked_by),
            },
            "stores_reached": sorted(reach.stores & fleet.labels.keys()),
            "progress": counts,
            "failures": failures[:20],
            "files": [
                {"path": path, "sha256": sha256, "size": size} for path, sha256, size in files
            ],
            "can_revoke": permission_allowed(actor, Action.REVOKE, reach)
            and info.revoked_at is None
            and info.reverts is None,
            "can_edit": info.reverts is None
            and (
                permission_allowed(actor, Action.PUBLISH, reach)
                or (actor.role == "store_manager" and bool(reach.stores & actor.stores))
            ),
            "flash": take_flash(ask),
        },
        title=f"Release {info.release_id}",
        section="releases",
    )


def release_routes(console: Console) -> list[BaseRoute]:
    return [
        *routes(console, "/releases", releases_page),
        *routes(console, "/releases/{number:int}", release_page),
    ]
