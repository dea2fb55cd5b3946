"""What the store map counts, written straight into HQ's tables: lifts, sign-ups, smileys.

    data = StoreData(database)
    data.lifts("sh-nanjing-road", "k1", when, sessions=["s1", "s1", "s2"])
    data.signups("sh-nanjing-road", when, count=2)
    data.answers("sh-nanjing-road", "smiley", [4, 3, 1], when)
    data.roll()  # into the analytics rollups, which the map reads

Rows as ingest stores them (events, customers + member_ids, survey_answers), without
the trip through the kiosk API: for metric tests and demo data sets of any size.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select

from hq.analytics.rollup import roll
from hq.db import Database, customers, events, member_ids, survey_answers


class StoreData:
    def __init__(self, database: Database) -> None:
        self.database = database
        # Kiosk seq numbers, global, after any already stored (other data on the same kiosks).
        with database.read() as connection:
            stored = connection.execute(select(func.coalesce(func.max(events.c.seq), 0)))
            self.seq = int(stored.scalar_one())
        self.people = 0

    def roll(self) -> None:
        """Roll what was written into the analytics rollups, as HQ's sweeper does."""
        roll(self.database, datetime.now(UTC))

    def _event(
        self, store: str, kind: str, moment: datetime, payload: dict[str, Any]
    ) -> dict[str, Any]:
        self.seq += 1
        return {
            "event_id": str(uuid.uuid4()),
            "kiosk_id": f"{store}-k1",
            "store_id": store,
            "seq": self.seq,
            "kind": kind,
            "schema_version": 1,
            "occurred_at": moment,
            "received_at": max(moment, datetime.now(UTC)),  # arrived now (the "up to")
            "payload": payload,
        }

    def lifts(
        self,
        store: str,
        kiosk: str,
        when: datetime | Sequence[datetime],
        sessions: Sequence[str],
        kind: str = "lift",
    ) -> None:
        """One `kind` event per session named (a session named twice: two lifts in it)."""
        moments = [when] * len(sessions) if isinstance(when, datetime) else list(when)
        rows: list[dict[str, Any]] = []
        for moment, session in zip(moments, sessions, strict=True):
            self.seq += 1
            rows.append(
                {
                    "event_id": str(uuid.uuid4()),
                    "kiosk_id": f"{store}-{kiosk}",
                    "store_id": store,
                    "seq": self.seq,
                    "kind": kind,
                    "schema_version": 1,
                    "occurred_at": moment,
                    "received_at": max(moment, datetime.now(UTC)),  # arrived now (the "up to")
                    "payload": {
                        "session": session,
                        "slot": 1,
                        "sku": "xh-x60",
                        **({"dwell_ms": 1_000} if kind == "drop" else {}),  # as the wire has it
                    },
                }
            )
        if rows:
            with self.database.write() as connection:
                connection.execute(insert(events), rows)

    def signups(self, store: str, when: datetime | Sequence[datetime], count: int = 1) -> None:
        moments = [when] * count if isinstance(when, datetime) else list(when)
        people, members, signed = [], [], []
        for moment in moments:
            self.people += 1
            customer = str(uuid.uuid4())
            people.append(
                {
                    "customer_id": customer,
                    "phone_e164": f"+8613800{self.people:06d}",
                    "created_at": moment,
                    "first_store_id": store,
                }
            )
            members.append(
                {
                    "member_id": str(uuid.uuid4()),
                    "customer_id": customer,
                    "store_id": store,
                    "kiosk_id": f"{store}-k1",
                    "signed_up_at": moment,
                }
            )
            phone = people[-1]["phone_e164"]
            payload = {"member_id": members[-1]["member_id"], "phone": phone, "region": "CN"}
            signed.append(
                self._event(store, "member_signup", moment, {**payload, "language": "zh"})
            )
        if people:
            with self.database.write() as connection:
                connection.execute(insert(customers), people)
                connection.execute(insert(member_ids), members)
                connection.execute(insert(events), signed)

    def answers(
        self,
        store: str,
        kind: str,
        scores: Sequence[int | None],
        when: datetime | Sequence[datetime],
    ) -> None:
        moments = [when] * len(scores) if isinstance(when, datetime) else list(when)
        rows = [
            {
                "event_id": str(uuid.uuid4()),
                "store_id": store,
                "kiosk_id": f"{store}-k1",
                "occurred_at": moment,
                "session": "s-survey",
                "survey": "visit",
                "question": "how-was-it",
                "kind": kind,
                "score": score,
                "low": score is not None and score <= 2,
            }
            for moment, score in zip(moments, scores, strict=True)
        ]
        names = ("session", "survey", "question", "kind", "score", "low")
        answered = [
            self._event(store, "survey_answer", moment, {n: row[n] for n in names})
            for moment, row in zip(moments, rows, strict=True)
        ]
        if rows:
            with self.database.write() as connection:
                connection.execute(insert(survey_answers), rows)
                connection.execute(insert(events), answered)
