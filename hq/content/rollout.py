"""How a release is doing across the fleet: who runs it, who is downloading it, who failed.

Built from what kiosks report (`POST /v1/content/status`: the release each runs,
the ones downloaded and waiting, the download under way, failures with their
reason) and from targeting (which kiosks the release is for, and which of them
now get a newer release instead).

A kiosk's state for release R:
- `running`: its active release is R;
- `ready`: R is downloaded and waits for its time (or for the attract loop);
- `downloading`: R is being downloaded (with bytes done and total);
- `failed`: it reported a failure for R and does not run it;
- `superseded`: it gets a newer release now (R was revoked, or another followed);
- `waiting`: none of these yet (it has not polled since, or runs an older one).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from sqlalchemy import select

from hq import fleet
from hq.content.selection import release_heads
from hq.content.targeting import Target, served
from hq.db import Database, content_failures, content_releases, kiosk_content_status, kiosks
from hq.errors import HqError
from hq.wire import utc_text

KioskState = Literal["running", "ready", "downloading", "failed", "superseded", "waiting"]
STATES: Final[tuple[KioskState, ...]] = (
    "running",
    "ready",
    "downloading",
    "failed",
    "superseded",
    "waiting",
)


class UnknownRelease(HqError, LookupError):
    def __init__(self, release_id: int) -> None:
        super().__init__(f"no content release {release_id}")
        self.release_id = release_id


@dataclass(frozen=True, slots=True)
class FailureReport:
    failure_id: str
    kiosk_id: str
    release_id: int | None
    reason: str
    detail: str
    occurred_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.failure_id,
            "kiosk_id": self.kiosk_id,
            "release": self.release_id,
            "reason": self.reason,
            "detail": self.detail,
            "at": utc_text(self.occurred_at),
        }


@dataclass(frozen=True, slots=True)
class KioskRollout:
    kiosk_id: str
    store_id: str
    state: KioskState
    active: int | None  # the release it runs (None: none from HQ, or never reported)
    ready: tuple[int, ...]
    downloading: int | None
    bytes_done: int | None
    bytes_total: int | None
    serving: int | None  # the release HQ hands it now
    reported_at: datetime | None
    failures: tuple[FailureReport, ...]  # for this release, newest first

    @property
    def progress(self) -> float | None:
        """Share of the download done, 0..1, when downloading this release."""
        if self.state != "downloading" or not self.bytes_total:
            return None
        return min(1.0, (self.bytes_done or 0) / self.bytes_total)

    def as_json(self) -> dict[str, Any]:
        return {
            "kiosk_id": self.kiosk_id,
            "store_id": self.store_id,
            "state": self.state,
            "active": self.active,
            "ready": list(self.ready),
            "downloading": self.downloading,
            "bytes_done": self.bytes_done,
            "bytes_total": self.bytes_total,
            "progress": self.progress,
            "serving": self.serving,
            "reported_at": utc_text(self.reported_at),
            "failures": [failure.as_json() for failure in self.failures],
        }


@dataclass(frozen=True, slots=True)
class Rollout:
    release_id: int
    target: Target
    revoked: bool
    kiosks: tuple[KioskRollout, ...]

    @property
    def states(self) -> dict[KioskState, int]:
        """How many kiosks are in each state (every state, zeros included)."""
        counted = Counter(kiosk.state for kiosk in self.kiosks)
        return {state: counted.get(state, 0) for state in STATES}

    @property
    def active_releases(self) -> dict[str, int]:
        """How many of these kiosks run which release ("none": nothing from HQ yet)."""
        counted = Counter(
            "none" if kiosk.active is None else str(kiosk.active) for kiosk in self.kiosks
        )
        return dict(sorted(counted.items(), key=lambda item: (item[0] == "none", item[0])))

    @property
    def failure_reasons(self) -> dict[str, int]:
        counted = Counter(failure.reason for kiosk in self.kiosks for failure in kiosk.failures)
        return dict(sorted(counted.items()))

    def as_json(self) -> dict[str, Any]:
        return {
            "release": self.release_id,
            "target": str(self.target),
            "revoked": self.revoked,
            "kiosks_total": len(self.kiosks),
            "states": self.states,
            "active_releases": self.active_releases,
            "failure_reasons": self.failure_reasons,
            "kiosks": [kiosk.as_json() for kiosk in self.kiosks],
        }


def rollout(database: Database, release_id: int, *, now: datetime | None = None) -> Rollout:
    """The state of every kiosk the release is for (and of any other that reported a
    failure for it). `now` is accepted for the console's sake; nothing here ages."""
    del now
    with database.snapshot() as connection:
        row = connection.execute(
            select(
                content_releases.c.target_kind,
                content_releases.c.target_value,
                content_releases.c.revoked_at,
            ).where(content_releases.c.release_id == release_id)
        ).one_or_none()
        if row is None:
            raise UnknownRelease(release_id)
        target = Target(row.target_kind, row.target_value)
        heads = release_heads(connection)
        labels = fleet.all_labels(connection)
        fleet_rows = connection.execute(
            select(kiosks.c.kiosk_id, kiosks.c.store_id)
            .where(kiosks.c.revoked_at.is_(None), kiosks.c.role == "kiosk")
            .order_by(kiosks.c.store_id, kiosks.c.kiosk_id)
        ).all()
        failures: dict[str, list[FailureReport]] = {}
        for failure in connection.execute(
            select(content_failures)
            .where(content_failures.c.release_id == release_id)
            .order_by(content_failures.c.occurred_at.desc(), content_failures.c.id.desc())
        ):
            failures.setdefault(failure.kiosk_id, []).append(
                FailureReport(
                    failure_id=failure.failure_id,
                    kiosk_id=failure.kiosk_id,
                    release_id=failure.release_id,
                    reason=failure.reason,
                    detail=failure.detail,
                    occurred_at=failure.occurred_at,
                )
            )
        statuses = {
            status.kiosk_id: status for status in connection.execute(select(kiosk_content_status))
        }
    result = []
    for kiosk_id, store_id in fleet_rows:
        store = labels.get(store_id)
        if store is None or not (target.covers(store) or kiosk_id in failures):
            continue
        serving = served(heads, store)
        status = statuses.get(kiosk_id)
        active = None if status is None else status.active
        ready = tuple(int(number) for number in (status.ready if status is not None else []))
        downloading = None if status is None else status.downloading
        mine = tuple(failures.get(kiosk_id, ()))
        result.append(
            KioskRollout(
                kiosk_id=kiosk_id,
                store_id=store_id,
                state=kiosk_state(
                    release_id,
                    active=active,
                    ready=ready,
                    downloading=downloading,
                    failed=bool(mine),
                    serving=None if serving is None else serving.release_id,
                ),
                active=active,
                ready=ready,
                downloading=downloading,
                bytes_done=None if status is None else status.bytes_done,
                bytes_total=None if status is None else status.bytes_total,
                serving=None if serving is None else serving.release_id,
                reported_at=None if status is None else status.reported_at,
                failures=mine,
            )
        )
    return Rollout(release_id, target, row.revoked_at is not None, tuple(result))


def kiosk_state(
    release_id: int,
    *,
    active: int | None,
    ready: tuple[int, ...],
    downloading: int | None,
    failed: bool,
    serving: int | None,
) -> KioskState:
    """Where one kiosk stands with the release (pure; the order is the precedence)."""
    if active == release_id:
        return "running"
    if release_id in ready:
        return "ready"
    if downloading == release_id:
        return "downloading"
    if failed:
        return "failed"
    if serving != release_id:
        return "superseded"
    return "waiting"
