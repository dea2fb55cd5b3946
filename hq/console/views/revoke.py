"""Rolling a release back (revoking it), after a confirmation.

    GET  /console/releases/{n}/revoke[.json]   what will happen: the kiosks that go back,
                                               and to which release
    POST /console/releases/{n}/revoke[.json]   `confirm` = the release number: revoke it

Revoking publishes a newer release that sends the release's kiosks back to what
they ran before it (hq.content.releases.revoke); the page says so before anyone
confirms. A store manager may roll back only a release aimed at their own store.
"""

from __future__ import annotations

from dataclasses import replace

from starlette.routing import BaseRoute

from hq.console.permissions import Action
from hq.console.reach import read_fleet
from hq.console.views.base import Ask, BadRequest, Console, Page, Redirect, routes
from hq.console.views.shared import (
    find_release,
    flash,
    release_state,
    rollout_counts,
    visible_rollout,
)
from hq.content.releases import PublishRefused, list_releases, revoke
from hq.content.rollout import rollout
from hq.content.selection import release_heads
from hq.content.targeting import ReleaseHead, content_of


def revoke_page(console: Console, ask: Ask) -> Page | Redirect:
    actor = ask.signed_in()
    info = find_release(console.database, int(ask.params["number"]))
    with console.database.snapshot() as connection:
        everything = read_fleet(connection)
        heads = release_heads(connection)
    reach = everything.reach(info.target)
    ask.require(Action.VIEW, reach)
    ask.require(Action.REVOKE, reach)
    if ask.request.method == "POST":
        if ask.field("confirm").strip().lstrip("#") != str(info.release_id):
            raise BadRequest(f"Type the release number, {info.release_id}, to confirm.")
        try:
            done = revoke(console.database, info.release_id, by=actor.actor, now=ask.now)
        except PublishRefused as refused:
            raise BadRequest(str(refused)) from None
        flash(
            ask,
            "warn" if done.kiosks_without_earlier else "good",
            f"Release {info.release_id} revoked. Release {done.replacement.release_id} sends "
            "its kiosks back to what they ran before.",
            [
                f"{done.kiosks_without_earlier} kiosk(s) had nothing earlier: they keep their "
                "last good content."
            ]
            if done.kiosks_without_earlier
            else [],
        )
        return Redirect(
            f"{ask.base}/releases/{done.replacement.release_id}/rollout", done.as_json()
        )
    fleet = everything.for_actor(actor)
    kiosks = visible_rollout(rollout(console.database, info.release_id, now=ask.now), fleet)
    # What each store of the target will run once this release is revoked: the
    # revocation is a newer release for the same target, carrying for each store
    # the newest release below it that is not revoked (hq.content.targeting).
    revocation = ReleaseHead(
        max(head.release_id for head in heads) + 1, info.target, reverts=info.release_id
    )
    after = [
        revocation,
        *(
            replace(head, revoked=True) if head.release_id == info.release_id else head
            for head in heads
        ),
    ]
    back_to = {}
    for store in sorted(reach.stores & fleet.labels.keys()):
        earlier = content_of(after, revocation, fleet.labels[store])
        back_to[store] = None if earlier is None else earlier.release_id
    names = {info.release_id: info.name for info in list_releases(console.database, limit=500)}
    return Page(
        "revoke.html",
        {
            "release": {**info.as_json(), "state": release_state(info, everything, heads, ask.now)},
            "progress": rollout_counts(kiosks),
            "back_to": back_to,
            "store_names": {store: fleet.store_names.get(store) or store for store in back_to},
            "release_names": {
                str(number): names.get(number, "") for number in back_to.values() if number
            },
            "problem": "already revoked"
            if info.revoked_at
            else ("a rollback itself" if info.reverts is not None else None),
        },
        title=f"Roll back release {info.release_id}",
        section="releases",
    )


def revoke_routes(console: Console) -> list[BaseRoute]:
    return [*routes(console, "/releases/{number:int}/revoke", revoke_page, methods=("GET", "POST"))]
