"""Pieces several pages use: a release's state, rollout counts, targets and times from forms."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from hq.analytics.rollup import rolled_up_to
from hq.console.reach import Fleet
from hq.console.staff import Staff, names_of
from hq.console.views.base import Ask, BadRequest, NotFound
from hq.content.releases import ReleaseInfo, UnknownRelease, get_release
from hq.content.rollout import KioskRollout, Rollout
from hq.content.targeting import ReleaseHead, Target, TargetKind, served
from hq.db import Database
from hq.errors import HqError
from hq.wire import utc_text

_STAFF_ACTOR: Final = re.compile(r"^staff:([0-9]{1,12})$")
PROGRESS_PARTS: Final = ("done", "ready", "moving", "failed")


def release_state(
    info: ReleaseInfo, fleet: Fleet, heads: Sequence[ReleaseHead], now: datetime
) -> str:
    """live, scheduled, revoked, superseded or rollback (a revocation still served)."""
    if info.revoked_at is not None:
        return "revoked"
    covered = [labels for labels in fleet.labels.values() if info.target.covers(labels)]
    superseded = bool(covered) and all(
        (chosen := served(heads, labels)) is None or chosen.release_id != info.release_id
        for labels in covered
    )
    if superseded:
        return "superseded"
    if info.reverts is not None:
        return "rollback"
    if info.scheduled(now):
        return "scheduled"
    return "live"


def find_release(database: Database, number: int) -> ReleaseInfo:
    try:
        return get_release(database, number)
    except UnknownRelease:
        raise NotFound(f"There is no release {number}.") from None


def visible_rollout(rollout: Rollout, fleet: Fleet) -> list[KioskRollout]:
    """The kiosks of the rollout in stores of `fleet` (already cut to the actor's)."""
    return [kiosk for kiosk in rollout.kiosks if kiosk.store_id in fleet.labels]


def rollout_counts(kiosks: Iterable[KioskRollout]) -> dict[str, int]:
    """Kiosks by how far they are: done (running it), ready, moving (downloading),
    failed, waiting; superseded ones (they get a newer release) apart, out of `total`."""
    counts = {"done": 0, "ready": 0, "moving": 0, "failed": 0, "waiting": 0, "superseded": 0}
    names = {"running": "done", "downloading": "moving"}
    for kiosk in kiosks:
        counts[names.get(kiosk.state, kiosk.state)] += 1
    counts["total"] = sum(counts[part] for part in (*PROGRESS_PARTS, "waiting"))
    return counts


def actor_names(connection: Connection, actors: Iterable[str]) -> dict[str, str]:
    """How the console shows who did something: a staff member's name; others as they are."""
    ids = {
        int(found.group(1)) for actor in actors if (found := _STAFF_ACTOR.match(actor)) is not None
    }
    names = names_of(connection, ids)
    shown = {}
    for actor in actors:
        found = _STAFF_ACTOR.match(actor)
        shown[actor] = names.get(int(found.group(1)), actor) if found else actor
    return shown


def target_from_form(ask: Ask) -> Target:
    """The target a publish form chose: `target_kind` and the matching value field."""
    kind = ask.field("target_kind", "all")
    if kind == "all":
        return Target("all")
    if kind not in {"region", "tag", "store"}:
        raise BadRequest("Choose where the release goes: all stores, a region, a tag or a store.")
    value = ask.field(kind).strip()
    if not value:
        raise BadRequest(f"Choose the {kind} the release goes to.")
    try:
        return Target.parse(f"{kind}:{value}")
    except HqError as error:
        raise BadRequest(str(error)) from None


def time_from_form(ask: Ask, name: str, zone: ZoneInfo) -> datetime | None:
    """A `datetime-local` field read in the console's zone (or ISO 8601 with an offset)."""
    text = ask.field(name).strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"{name.replace('_', ' ')}: not a date and time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def default_target_kind(actor: Staff) -> TargetKind:
    return "store" if actor.role == "store_manager" else "all"


def flash(ask: Ask, kind: str, message: str, items: Sequence[str] = ()) -> None:
    """A note for the next page (after a redirect), kept in the session."""
    ask.request.session["flash"] = {"kind": kind, "message": message, "items": list(items)}


def take_flash(ask: Ask) -> dict[str, Any] | None:
    found = ask.request.session.pop("flash", None)
    return found if isinstance(found, dict) else None


def figures_up_to(database: Database) -> str | None:
    """The analytics rollups' "up to" (UTC text): when the newest event rolled up
    reached HQ, or None before the first rollup. Every page of rolled-up figures says it."""
    newest = rolled_up_to(database)
    return None if newest is None else utc_text(newest)
