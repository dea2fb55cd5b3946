"""Which release each kiosk gets: targets, and the pure choice among releases.

A release is published to a target: every store (`all`), the stores of a region
(`region:east`), the stores with a tag (`tag:flagship`) or one store
(`store:sh-nanjing-road`). A kiosk gets the newest release that is not revoked
and whose target covers its store, scheduled or not (the kiosk activates a
scheduled one at its `not_before` by its own clock).

A revocation is a release of its own (`reverts` names the revoked one), newer
than everything before it: a kiosk that gets it receives the files of what it
would run had that revocation never been made, that is, of the newest release
below it that is not revoked and covers its store. So kiosks move forward to a
new number and back to the previous content, and a kiosk may refuse every
number below the highest it has accepted, with no exception for revocations.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal, get_args

from hq.errors import HqError

TargetKind = Literal["all", "region", "tag", "store"]
TARGET_KINDS: Final[tuple[TargetKind, ...]] = get_args(TargetKind)
_KINDS: Final[dict[str, TargetKind]] = {kind: kind for kind in TARGET_KINDS}
LABEL: Final = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
# Regions and tags read like store ids: lower-case slugs, safe in URLs and file names.


class InvalidTarget(HqError, ValueError):
    def __init__(self, text: str, why: str) -> None:
        super().__init__(
            f"target {text!r} {why}: give all, region:REGION, tag:TAG or store:STORE_ID"
        )


class InvalidLabel(HqError, ValueError):
    def __init__(self, what: str, label: str) -> None:
        super().__init__(
            f"{what} {label!r} is not a lowercase slug of 1 to 40 characters [a-z0-9-]"
        )


def check_label(what: str, label: str) -> str:
    if not LABEL.fullmatch(label):
        raise InvalidLabel(what, label)
    return label


@dataclass(frozen=True, slots=True)
class Target:
    kind: TargetKind
    value: str | None = None  # None exactly for "all"

    @classmethod
    def parse(cls, text: str) -> Target:
        text = text.strip()
        if text == "all":
            return cls("all")
        kind, colon, value = text.partition(":")
        if not colon:
            raise InvalidTarget(text, "has no kind")
        if kind not in TARGET_KINDS or kind == "all":
            raise InvalidTarget(text, f"has an unknown kind {kind!r}")
        if not LABEL.fullmatch(value):
            raise InvalidTarget(text, "names no valid region, tag or store")
        return cls(_KINDS[kind], value)

    def __str__(self) -> str:
        return "all" if self.value is None else f"{self.kind}:{self.value}"

    def covers(self, store: StoreLabels) -> bool:
        match self.kind:
            case "all":
                return True
            case "region":
                return store.region == self.value
            case "tag":
                return self.value in store.tags
            case "store":
                return store.store_id == self.value


@dataclass(frozen=True, slots=True)
class StoreLabels:
    """What targets look at of a store."""

    store_id: str
    region: str | None = None
    tags: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ReleaseHead:
    """What choosing a release needs to know of one."""

    release_id: int
    target: Target
    reverts: int | None = None
    revoked: bool = False


def served(releases: Iterable[ReleaseHead], store: StoreLabels) -> ReleaseHead | None:
    """The release a kiosk of `store` gets: the newest not revoked covering it."""
    return _newest_below(releases, store, below=None)


def content_of(
    releases: Sequence[ReleaseHead], release: ReleaseHead, store: StoreLabels
) -> ReleaseHead | None:
    """The release whose files a kiosk of `store` gets with `release`: itself, or for
    a revocation the newest release below it that is not revoked and covers the
    store (itself resolved the same way); None when there is nothing to go back to."""
    current: ReleaseHead | None = release
    while current is not None and current.reverts is not None:
        current = _newest_below(releases, store, below=current.release_id)
    return current


def _newest_below(
    releases: Iterable[ReleaseHead], store: StoreLabels, *, below: int | None
) -> ReleaseHead | None:
    best: ReleaseHead | None = None
    for release in releases:
        if release.revoked or not release.target.covers(store):
            continue
        if below is not None and release.release_id >= below:
            continue
        if best is None or release.release_id > best.release_id:
            best = release
    return best


def resolve(covering: Sequence[ReleaseHead]) -> tuple[ReleaseHead, ReleaseHead | None] | None:
    """`served` and `content_of` for a list holding only the releases that cover one
    store and are not revoked, newest first (what the database hands the manifest):
    (the release served, the release whose files it carries); None if empty."""
    if not covering:
        return None
    chosen = current = covering[0]
    index = 0
    while current.reverts is not None:
        index += 1
        while index < len(covering) and covering[index].release_id >= current.release_id:
            index += 1
        if index == len(covering):
            return chosen, None
        current = covering[index]
    return chosen, current
