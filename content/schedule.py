"""What is active now: pure decisions over content and the clock (`now` is a parameter)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol


class Staged(Protocol):
    """A release downloaded and staged, not yet shown (content.store.StagedRelease)."""

    @property
    def name(self) -> str: ...

    @property
    def number(self) -> int: ...

    @property
    def not_before(self) -> datetime | None: ...


def switch_due(
    staged: Sequence[Staged], active_number: int | None, now: datetime, on_attract: bool
) -> str | None:
    """The staged release to switch to now, or None.

    Only on the attract loop (never under a shopper's hands), only a release newer
    than the one shown (`active_number`; None: a local or no release, any HQ release
    is newer), and only once its `not_before` has come. Of several due, the newest:
    a newer release supersedes an older one.
    """
    if not on_attract:
        return None
    due = [release for release in _newer(staged, active_number) if _come(release, now)]
    return max(due, key=lambda release: release.number).name if due else None


def next_switch_at(
    staged: Sequence[Staged], active_number: int | None, now: datetime
) -> datetime | None:
    """When a staged release that is newer but scheduled later becomes due (to wake then)."""
    later = [
        release.not_before
        for release in _newer(staged, active_number)
        if release.not_before is not None and not _come(release, now)
    ]
    return min(later, default=None)


def _newer(staged: Sequence[Staged], active_number: int | None) -> list[Staged]:
    return [r for r in staged if active_number is None or r.number > active_number]


def _come(release: Staged, now: datetime) -> bool:
    return release.not_before is None or release.not_before <= now
