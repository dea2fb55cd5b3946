"""The database side of choosing a kiosk's release (hq.content.targeting decides)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection, Row, Select, UnaryExpression, bindparam, or_, select

from hq.content.targeting import ReleaseHead, Target, resolve
from hq.db import content_planograms, content_release_files, content_releases, store_tags, stores

CANDIDATES: Final = 64
# Releases covering one store, newest first, read per manifest request: enough to
# resolve a revocation or two; a longer chain of them is read whole.


@dataclass(frozen=True, slots=True)
class KioskRelease:
    """What a kiosk gets: the release (its number) and whose files it carries."""

    release_id: int
    content_release_id: int


def release_heads(connection: Connection) -> list[ReleaseHead]:
    """Every release as targeting sees it, newest first."""
    return [_head(row) for row in connection.execute(_heads().order_by(_newest_first()))]


def kiosk_release(connection: Connection, store_id: str) -> KioskRelease | None:
    """The release a kiosk of `store_id` gets now, and the release whose files it
    carries; None if there is none, or nothing to go back to after a revocation.
    One query: this runs on every manifest poll."""
    heads = _covering(connection, store_id, every=False)
    found = resolve(heads)
    if found is not None and found[1] is None and len(heads) == CANDIDATES:
        found = resolve(_covering(connection, store_id, every=True))  # a long chain of revocations
    if found is None or found[1] is None:
        return None
    return KioskRelease(found[0].release_id, found[1].release_id)


def files_of(connection: Connection, release_id: int) -> list[tuple[str, str, int]]:
    """(path, sha256, size) of every file of the release, by path."""
    return [
        (row.path, row.sha256, int(row.size))
        for row in connection.execute(
            select(
                content_release_files.c.path,
                content_release_files.c.sha256,
                content_release_files.c.size,
            )
            .where(content_release_files.c.release_id == release_id)
            .order_by(content_release_files.c.path)
        )
    ]


def planogram_of(connection: Connection, release_id: int, kiosk_id: str) -> tuple[str, int] | None:
    row = connection.execute(
        select(content_planograms.c.sha256, content_planograms.c.size).where(
            content_planograms.c.release_id == release_id,
            content_planograms.c.kiosk_id == kiosk_id,
        )
    ).one_or_none()
    return None if row is None else (row.sha256, int(row.size))


def _covering(connection: Connection, store_id: str, *, every: bool) -> list[ReleaseHead]:
    """Releases not revoked whose target covers the store, newest first: all of them,
    or the newest CANDIDATES."""
    query = _COVERING if every else _COVERING_HEADS
    return [_head(row) for row in connection.execute(query, {"store_id": store_id})]


def _heads() -> Select[Any]:
    return select(
        content_releases.c.release_id,
        content_releases.c.target_kind,
        content_releases.c.target_value,
        content_releases.c.reverts,
        content_releases.c.revoked_at,
    )


def _newest_first() -> UnaryExpression[Any]:
    return content_releases.c.release_id.desc()


def _head(row: Row[Any]) -> ReleaseHead:
    return ReleaseHead(
        int(row.release_id),
        Target(row.target_kind, row.target_value),
        row.reverts,
        revoked=row.revoked_at is not None,
    )


def _covering_query() -> Select[Any]:
    kind, value = content_releases.c.target_kind, content_releases.c.target_value
    store_id = bindparam("store_id", type_=stores.c.store_id.type)
    region = select(stores.c.region).where(stores.c.store_id == store_id).scalar_subquery()
    tags = select(store_tags.c.tag).where(store_tags.c.store_id == store_id)
    return (
        _heads()
        .where(
            content_releases.c.revoked_at.is_(None),
            or_(
                kind == "all",
                (kind == "store") & (value == store_id),
                (kind == "region") & (value == region),
                (kind == "tag") & value.in_(tags),
            ),
        )
        .order_by(_newest_first())
    )


# Built once: every manifest poll runs it, and building a statement (and its cache
# key) costs more CPU than PostgreSQL spends answering it.
_COVERING: Final = _covering_query()
_COVERING_HEADS: Final = _COVERING.limit(CANDIDATES)  # .limit() makes a new statement
