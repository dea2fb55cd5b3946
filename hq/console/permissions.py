"""The one question every console page and form asks: may this actor do this to that?

    permission_allowed(actor, Action.PUBLISH, Reach.of_target(target, stores))

Roles (hq.console.staff.Role):
- chain admin: everything, staff accounts and the audit log included;
- content editor: sees every store, publishes to any target, rolls back, previews;
- store manager: sees only what reaches one of their stores, and publishes or
  rolls back only releases aimed at their own stores by name. A region, a tag or
  "all stores" reaches stores that are not theirs (and stores added later), so
  those are never theirs to publish or revoke, though they see such a release
  running on their kiosks;
- remote commands to a kiosk (restart, fetch content, screenshot, logs, identify):
  a chain admin for any kiosk, a store manager for their own stores' kiosks; content
  editors send none (a screen's running is the store's and operations' business);
- customer records (search, a customer's page, duplicates, merges): chain admins
  only. A customer is chain-wide (their sign-ups, lifts and merges span stores),
  and a merge changes what every kiosk recognises: not one store's business.

Pure: no database, no request. Views gather the stores a thing reaches and ask.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from hq.console.staff import Role, Staff


class Action(enum.StrEnum):
    VIEW = "view"  # a release, its rollout, a store's kiosks, a preview
    PUBLISH = "publish"  # a new release for a target (upload or edit)
    REVOKE = "revoke"  # roll a release back
    VIEW_AUDIT = "view-audit"
    MANAGE_STAFF = "manage-staff"
    COMMAND = "command"  # a remote command to a kiosk: restart, screenshot, logs...
    CUSTOMERS = "customers"  # customer records: search, duplicates, merge and undo


@dataclass(frozen=True, slots=True)
class Reach:
    """The stores a release, a target or a page reaches.

    `open_ended`: it reaches whatever stores join it later too (all stores, a region,
    a tag), not only the `stores` it reaches today.
    """

    stores: frozenset[str]
    open_ended: bool = False

    @classmethod
    def store(cls, store_id: str) -> Reach:
        return cls(frozenset({store_id}))

    @classmethod
    def of(cls, store_ids: Iterable[str], *, open_ended: bool) -> Reach:
        return cls(frozenset(store_ids), open_ended)


Resource = Reach | None


def permission_allowed(actor: Staff | None, action: Action, resource: Resource = None) -> bool:
    """True when `actor` may do `action` to `resource`; False for nobody signed in,
    for a disabled account and for anything not granted below."""
    if actor is None or actor.disabled:
        return False
    match actor.role:
        case Role.CHAIN_ADMIN:
            return True
        case Role.CONTENT_EDITOR:
            return action in {Action.VIEW, Action.PUBLISH, Action.REVOKE}
    return _store_manager(actor.stores, action, resource)


def _store_manager(own: frozenset[str], action: Action, resource: Resource) -> bool:
    match action:
        case Action.VIEW:
            # No resource: a page of lists, which the view filters to their stores.
            return resource is None or bool(resource.stores & own)
        case Action.PUBLISH | Action.REVOKE | Action.COMMAND:
            return (
                resource is not None
                and not resource.open_ended
                and bool(resource.stores)
                and resource.stores <= own
            )
    return False


def visible_stores(actor: Staff, stores: Iterable[str]) -> list[str]:
    """Of `stores`, those whose kiosks `actor` may see, in the given order."""
    return [store for store in stores if permission_allowed(actor, Action.VIEW, Reach.store(store))]
