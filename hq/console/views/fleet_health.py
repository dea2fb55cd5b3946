"""Fleet health: every kiosk's last heartbeat, its state and the open alerts; one kiosk's history.

    GET /console/fleet[.json][?show=all|trouble|silent|device|backlog]
    GET /console/fleet/{kiosk_id}[.json]
    POST /console/fleet/{kiosk_id}/commands[.json]   `kind`: issue a remote command
    GET /console/fleet/{kiosk_id}/commands/{id}/file  a command's screenshot or logs

A kiosk's state is worked out from its last heartbeat and the page's `now`
(hq.fleet_health.alerts), so the badges are right between two sweeps; the alerts
listed are the stored ones, with when each was raised (and cleared). Kiosks in
trouble come first; the page draws 200, its JSON twin has every one. A store
manager sees their own stores' kiosks only. The list refreshes itself as the
rollout page does (static/console.js).

A kiosk's page lists its remote commands (hq.fleet_health.commands) with their
state, and lets a chain admin, or the manager of its store, issue one; a
screenshot shows on the page, logs open as text.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Final

from starlette.responses import Response
from starlette.routing import BaseRoute

from hq.console.permissions import Action, Reach, permission_allowed
from hq.console.reach import read_fleet
from hq.console.views.base import (
    Ask,
    BadRequest,
    Console,
    NotFound,
    Page,
    Redirect,
    file_route,
    routes,
)
from hq.console.views.shared import flash, take_flash
from hq.fleet_health.alerts import Filter, KioskState, shown
from hq.fleet_health.commands import (
    KINDS,
    CommandError,
    command_file,
    issue,
    recent_commands,
)
from hq.fleet_health.store import RECENT_ALERTS, alerts, history, read_fleet_health

REFRESH_S: Final = 15
SHOWN_ROWS: Final = 200
# Kiosks drawn on the page, trouble first (the JSON twin has them all): 5,000 rows
# redrawn every 15 s is work for HQ and the browser, and the well ones matter least.
_ORDER: Final = {
    KioskState.SILENT: 0,
    KioskState.TROUBLE: 1,
    KioskState.NEVER: 2,
    KioskState.OK: 3,
}


def fleet_health_page(console: Console, ask: Ask) -> Page:
    actor = ask.require(Action.VIEW)
    try:
        wanted = Filter(ask.field("show", Filter.ALL.value) or Filter.ALL.value)
    except ValueError:
        raise BadRequest(
            f"show must be one of: {', '.join(item.value for item in Filter)}"
        ) from None
    with console.database.snapshot() as connection:
        store_ids = sorted(read_fleet(connection).for_actor(actor).labels)
        kiosks = read_fleet_health(connection, ask.now, store_ids=store_ids)
        open_alerts = alerts(connection, store_ids=store_ids)
    counts = Counter(kiosk.state.value for kiosk in kiosks)
    filters = {
        item.value: sum(1 for kiosk in kiosks if shown(kiosk.state, kiosk.problems, item))
        for item in Filter
    }
    listed = sorted(
        (kiosk for kiosk in kiosks if shown(kiosk.state, kiosk.problems, wanted)),
        key=lambda kiosk: (_ORDER[kiosk.state], kiosk.store_id, kiosk.kiosk_id),
    )
    return Page(
        "fleet_health.html",
        {
            "show": wanted.value,
            "filters": filters,
            "totals": {state.value: counts.get(state.value, 0) for state in KioskState}
            | {"kiosks": len(kiosks)},
            "kiosks": [kiosk.as_json() for kiosk in listed],
            "alerts": open_alerts,
            "refresh_s": REFRESH_S,
            "shown_rows": SHOWN_ROWS,
        },
        title="Fleet",
        section="fleet",
    )


def kiosk_health_page(console: Console, ask: Ask) -> Page:
    ask.signed_in()
    kiosk_id = str(ask.params["kiosk_id"])
    with console.database.snapshot() as connection:
        found = read_fleet_health(connection, ask.now, kiosk_id=kiosk_id)
        if not found:
            raise NotFound(f"There is no kiosk {kiosk_id}.")
        kiosk = found[0]
        ask.require(Action.VIEW, Reach.store(kiosk.store_id))
        rows = history(connection, kiosk_id)
        raised = alerts(connection, kiosk_id=kiosk_id, open_only=False, limit=RECENT_ALERTS)
        commands = recent_commands(connection, kiosk_id)
    data: dict[str, Any] = {
        "kiosk": kiosk.as_json(),
        "alerts": raised,
        "history": rows,
        "commands": [command.as_json(ask.now) for command in commands],
        "command_kinds": list(KINDS),
        "may_command": permission_allowed(ask.actor, Action.COMMAND, Reach.store(kiosk.store_id)),
        "refresh_s": REFRESH_S,
        "flash": take_flash(ask),
    }
    return Page("fleet_kiosk.html", data, title=f"Kiosk {kiosk_id}", section="fleet")


def issue_command(console: Console, ask: Ask) -> Redirect:
    actor = ask.signed_in()
    kiosk_id = str(ask.params["kiosk_id"])
    with console.database.snapshot() as connection:
        found = read_fleet_health(connection, ask.now, kiosk_id=kiosk_id)
    if not found:
        raise NotFound(f"There is no kiosk {kiosk_id}.")
    ask.require(Action.VIEW, Reach.store(found[0].store_id))
    ask.require(Action.COMMAND, Reach.store(found[0].store_id))
    kind = ask.field("kind")
    if kind not in KINDS:
        raise BadRequest(f"kind must be one of: {', '.join(KINDS)}")
    try:
        command = issue(
            console.database,
            console.content.keys,
            kiosk_id=kiosk_id,
            kind=kind,
            actor=actor.actor,
            now=ask.now,
            stores=[found[0].store_id],
        )
    except CommandError as refused:
        raise BadRequest(str(refused)) from None
    flash(ask, "good", f"{_KIND_NAMES[kind]} sent: the kiosk gets it with its next heartbeat.")
    return Redirect(f"{ask.base}/fleet/{kiosk_id}", command.as_json(ask.now))


def command_file_view(console: Console, ask: Ask) -> Response:
    ask.signed_in()
    kiosk_id = str(ask.params["kiosk_id"])
    with console.database.read() as connection:
        found = command_file(connection, str(ask.params["command_id"]))
    if found is None or found[0] != kiosk_id:
        raise NotFound("There is no such file.")
    ask.require(Action.VIEW, Reach.store(found[1]))
    return Response(
        found[3],
        media_type=found[2],
        headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


_KIND_NAMES: Final = {
    "restart": "Restart",
    "fetch-content": "Fetch content now",
    "screenshot": "Screenshot",
    "upload-logs": "Upload logs",
    "identify": "Identify",
}


def fleet_health_routes(console: Console) -> list[BaseRoute]:
    return [
        *routes(console, "/fleet", fleet_health_page),
        file_route(console, "/fleet/{kiosk_id}/commands/{command_id}/file", command_file_view),
        *reversed(routes(console, "/fleet/{kiosk_id}/commands", issue_command, methods=("POST",))),
        # The JSON twin first: `{kiosk_id}` would take "k1.json" as a kiosk id.
        *reversed(routes(console, "/fleet/{kiosk_id}", kiosk_health_page)),
    ]
