"""HQ staff accounts, for chain admins: who may sign in, with which role, and disabling one.

    GET  /console/staff[.json]                      every account, its state, last sign-in
    POST /console/staff/{staff_id}/disable[.json]   nobody signs in as them; sessions end

Accounts are made with `kiosk-hq console-staff add` (a password typed into a
web form by someone else is a password two people know).
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from hq.console.permissions import Action
from hq.console.staff import ROLE_LABELS, disable_staff, list_staff
from hq.console.views.base import Ask, BadRequest, Console, NotFound, Page, Redirect, routes
from hq.console.views.shared import flash, take_flash


def staff_page(console: Console, ask: Ask) -> Page:
    actor = ask.require(Action.MANAGE_STAFF)
    listed = list_staff(console.database)
    return Page(
        "staff.html",
        {
            "staff": [
                {
                    "staff_id": entry.staff.staff_id,
                    "email": entry.staff.email,
                    "name": entry.staff.name,
                    "role": entry.staff.role.value,
                    "role_label": ROLE_LABELS[entry.staff.role],
                    "stores": sorted(entry.staff.stores),
                    "disabled": entry.staff.disabled,
                    "locked": entry.locked_until is not None and entry.locked_until > ask.now,
                    "created_at": entry.created_at,
                    "last_sign_in_at": entry.last_sign_in_at,
                    "is_you": entry.staff.staff_id == actor.staff_id,
                }
                for entry in listed
            ],
            "flash": take_flash(ask),
        },
        title="Staff",
        section="staff",
    )


def disable_page(console: Console, ask: Ask) -> Redirect:
    actor = ask.require(Action.MANAGE_STAFF)
    staff_id = int(ask.params["staff_id"])
    if staff_id == actor.staff_id:
        raise BadRequest("You cannot disable your own account: ask another chain admin.")
    found = next(
        (entry.staff for entry in list_staff(console.database) if entry.staff.staff_id == staff_id),
        None,
    )
    if found is None:
        raise NotFound("There is no such staff account.")
    disabled = disable_staff(console.database, found.email, now=ask.now, by=actor.actor)
    flash(ask, "good", f"{disabled.name} can no longer sign in; their sessions have ended.")
    return Redirect(f"{ask.base}/staff", {"staff_id": disabled.staff_id, "disabled": True})


def staff_routes(console: Console) -> list[BaseRoute]:
    return [
        *routes(console, "/staff", staff_page),
        *routes(console, "/staff/{staff_id:int}/disable", disable_page, methods=("POST",)),
    ]
