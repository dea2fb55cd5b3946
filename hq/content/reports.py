"""What kiosks report of their content: the latest status each, and failures once.

A status report replaces the kiosk's previous one (active release, releases
ready, the download under way). Failures are kept once per id (the kiosk's
uuid4, a UNIQUE column): a kiosk that lost HQ's answer sends them again and
nothing doubles. Of `download` failures (HTTP and network trouble, frequent and
passing) only each kiosk's latest is kept.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select

from hq.content.wire import ContentStatus, FailureReport
from hq.db import Database, content_failures, kiosk_content_status
from hq.enrollment import KioskIdentity

_log = logging.getLogger("hq.content")


def store_status(
    database: Database, kiosk: KioskIdentity, status: ContentStatus, *, now: datetime
) -> list[str]:
    """Keep the kiosk's report; the ids of its failures HQ now holds (all of them)."""
    downloading = status.downloading
    row = {
        "kiosk_id": kiosk.kiosk_id,
        "store_id": kiosk.store_id,
        "active": status.active,
        "ready": sorted(set(status.ready)),
        "downloading": None if downloading is None else downloading.release,
        "bytes_done": None if downloading is None else downloading.bytes_done,
        "bytes_total": None if downloading is None else downloading.bytes_total,
        "reported_at": now,
    }
    with database.write() as connection:
        upsert = database.insert(kiosk_content_status).values(**row)
        connection.execute(
            upsert.on_conflict_do_update(
                index_elements=[kiosk_content_status.c.kiosk_id],
                set_={name: value for name, value in row.items() if name != "kiosk_id"},
            )
        )
        others = [failure for failure in status.failures if failure.reason != "download"]
        rows = [_failure_row(kiosk, failure, now) for failure in others]
        latest_download = _latest_download(status.failures)
        if latest_download is not None:
            newer = connection.execute(
                select(content_failures.c.id).where(
                    content_failures.c.kiosk_id == kiosk.kiosk_id,
                    content_failures.c.reason == "download",
                    content_failures.c.occurred_at > latest_download.at,
                )
            ).first()
            if newer is None:
                connection.execute(
                    delete(content_failures).where(
                        content_failures.c.kiosk_id == kiosk.kiosk_id,
                        content_failures.c.reason == "download",
                        content_failures.c.failure_id != str(latest_download.id),
                    )
                )
                rows.append(_failure_row(kiosk, latest_download, now))
        if rows:
            database.insert_rows(
                connection,
                content_failures,
                rows,
                on_conflict=lambda insert: insert.on_conflict_do_nothing(
                    index_elements=[content_failures.c.failure_id]
                ),
            )
    for failure in others:
        _log.info(
            "kiosk %s: content release %s failed (%s)",
            kiosk.kiosk_id,
            failure.release,
            failure.reason,
        )
    return [str(failure.id) for failure in status.failures]


def _latest_download(failures: Sequence[FailureReport]) -> FailureReport | None:
    downloads = [failure for failure in failures if failure.reason == "download"]
    return max(downloads, key=lambda failure: failure.at, default=None)


def _failure_row(kiosk: KioskIdentity, failure: FailureReport, now: datetime) -> dict[str, object]:
    return {
        "failure_id": str(failure.id),
        "kiosk_id": kiosk.kiosk_id,
        "store_id": kiosk.store_id,
        "release_id": failure.release,
        "reason": failure.reason,
        "detail": failure.detail,
        "occurred_at": failure.at,
        "received_at": now,
    }
