"""The audit log: every change made at HQ, who made it and when (chain admins).

    GET /console/audit[.json][?action=content.publish]

Lines come from hq.audit (content publishes, edits and revocations from the
console, the CLI and the admin API; staff accounts; sign-ins and refused ones).
Console staff are shown by name; the log itself holds their number.
"""

from __future__ import annotations

from typing import Final

from starlette.routing import BaseRoute

from hq import audit
from hq.console.permissions import Action
from hq.console.views.base import Ask, Console, Page, routes
from hq.console.views.shared import actor_names

LIMIT: Final = 500


def audit_page(console: Console, ask: Ask) -> Page:
    ask.require(Action.VIEW_AUDIT)
    entries = audit.recent(console.database, limit=LIMIT)
    wanted = ask.field("action")
    actions = sorted({entry.action for entry in entries})
    if wanted:
        entries = [entry for entry in entries if entry.action == wanted]
    with console.database.read() as connection:
        names = actor_names(
            connection, {entry.actor for entry in entries} | {entry.target for entry in entries}
        )
    return Page(
        "audit.html",
        {
            "entries": [
                {
                    **entry.as_json(),
                    "actor_name": names.get(entry.actor, entry.actor),
                    "target_name": names.get(entry.target, entry.target),
                }
                for entry in entries
            ],
            "actions": actions,
            "action": wanted,
        },
        title="Audit log",
        section="audit",
    )


def audit_routes(console: Console) -> list[BaseRoute]:
    return routes(console, "/audit", audit_page)
