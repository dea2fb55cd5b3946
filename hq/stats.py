"""What HQ holds per kiosk: events by kind, how complete each stream is, what went wrong.

`collect()` answers both `kiosk-hq stats` and `GET /v1/admin/stats`. Gaps are
ranges of seqs HQ has not seen although it has seen higher ones; they can only
lie above a kiosk's contiguous_seq, so only that part of a stream is read.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, union_all

from hq.db import Database, access_denials, customers, events, kiosks, rejections


@dataclass(frozen=True, slots=True)
class KioskStats:
    store_id: str
    kiosk_id: str
    events: dict[str, int]
    highest_seq: int
    contiguous_seq: int
    gaps: list[tuple[int, int]]  # (first missing, last missing)
    rejected: int


@dataclass(frozen=True, slots=True)
class Denials:
    kiosk_id: str
    attempts: int
    last_at: datetime


@dataclass(frozen=True, slots=True)
class Stats:
    kiosks: list[KioskStats]
    rejected_total: int
    denied: list[Denials]
    customers: int

    def as_json(self) -> dict[str, Any]:
        return {
            "kiosks": [
                {
                    "store_id": kiosk.store_id,
                    "kiosk_id": kiosk.kiosk_id,
                    "events": kiosk.events,
                    "highest_seq": kiosk.highest_seq,
                    "contiguous_seq": kiosk.contiguous_seq,
                    "gaps": [[first, last] for first, last in kiosk.gaps],
                    "rejected": kiosk.rejected,
                }
                for kiosk in self.kiosks
            ],
            "rejected_total": self.rejected_total,
            "denied": [
                {
                    "kiosk_id": denial.kiosk_id,
                    "attempts": denial.attempts,
                    "last_at": denial.last_at.isoformat(),
                }
                for denial in self.denied
            ],
            "customers": self.customers,
        }


def collect(database: Database) -> Stats:
    with database.read() as connection:
        fleet = connection.execute(
            select(
                kiosks.c.kiosk_id, kiosks.c.store_id, kiosks.c.highest_seq, kiosks.c.contiguous_seq
            ).order_by(kiosks.c.store_id, kiosks.c.kiosk_id)
        ).all()
        by_kind: dict[str, dict[str, int]] = defaultdict(dict)
        for kiosk_id, kind, count in connection.execute(
            select(events.c.kiosk_id, events.c.kind, func.count())
            .group_by(events.c.kiosk_id, events.c.kind)
            .order_by(events.c.kiosk_id, events.c.kind)
        ):
            by_kind[kiosk_id][kind] = int(count)
        rejected = {
            kiosk_id: int(count)
            for kiosk_id, count in connection.execute(
                select(rejections.c.kiosk_id, func.count()).group_by(rejections.c.kiosk_id)
            )
        }
        gaps = _gaps(connection)
        denied = [
            Denials(kiosk_id, int(attempts), last_at)
            for kiosk_id, attempts, last_at in connection.execute(
                select(
                    access_denials.c.kiosk_id,
                    func.count(),
                    func.max(access_denials.c.denied_at),
                )
                .group_by(access_denials.c.kiosk_id)
                .order_by(access_denials.c.kiosk_id)
            )
        ]
        customer_count = connection.execute(
            select(func.count()).select_from(customers)
        ).scalar_one()
    return Stats(
        kiosks=[
            KioskStats(
                store_id=row.store_id,
                kiosk_id=row.kiosk_id,
                events=by_kind.get(row.kiosk_id, {}),
                highest_seq=int(row.highest_seq),
                contiguous_seq=int(row.contiguous_seq),
                gaps=gaps.get(row.kiosk_id, []),
                rejected=rejected.get(row.kiosk_id, 0),
            )
            for row in fleet
        ],
        rejected_total=sum(rejected.values()),
        denied=denied,
        customers=int(customer_count),
    )


def _gaps(connection: Any) -> dict[str, list[tuple[int, int]]]:
    held = union_all(
        select(events.c.kiosk_id, events.c.seq),
        select(rejections.c.kiosk_id, rejections.c.seq),
    ).subquery()
    above = (
        select(
            held.c.kiosk_id,
            held.c.seq,
            kiosks.c.contiguous_seq,
            func.lag(held.c.seq)
            .over(partition_by=held.c.kiosk_id, order_by=held.c.seq)
            .label("previous"),
        )
        .join(kiosks, kiosks.c.kiosk_id == held.c.kiosk_id)
        .where(held.c.seq > kiosks.c.contiguous_seq)
        .subquery()
    )
    found: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for kiosk_id, seq, contiguous, previous in connection.execute(
        select(above.c.kiosk_id, above.c.seq, above.c.contiguous_seq, above.c.previous)
        .where(above.c.previous.is_(None) | (above.c.seq > above.c.previous + 1))
        .order_by(above.c.kiosk_id, above.c.seq)
    ):
        first_missing = (int(contiguous) if previous is None else int(previous)) + 1
        if first_missing <= int(seq) - 1:
            found[kiosk_id].append((first_missing, int(seq) - 1))
    return dict(found)
