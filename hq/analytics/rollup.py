"""Rolling HQ's events up into the analytics tables, incrementally and exactly once.

Off the ingest path: ingest stores events as fast as it can (bench/hq_ingest.py);
this job follows behind, from a watermark on `events.id` (arrival order) kept in
`rollup_marks`. One round takes the next ids up to a bound every one of whose
events is committed, and in ONE transaction adds their sums to every rollup table
(INSERT ... SELECT ... GROUP BY ... ON CONFLICT DO UPDATE) and moves the watermark:
a round either counts its events and moves the mark, or does neither, so running it
again (or on several HQ workers at once) never counts an event twice.

- The bound: on PostgreSQL ids are handed out before their transactions commit, so
  the highest committed id may have a lower one still in flight. A share lock on
  `events` waits for the inserting transactions in flight (milliseconds) and makes
  the new ones wait the time of `SELECT max(id)`; every id up to that max is then
  committed or never will be. SQLite has one writer: the max is the bound.
- Workers: the mark's row is locked FOR UPDATE SKIP LOCKED; a worker that finds it
  locked skips the round (another one is rolling).
- Facts that span events (a session with a lift, a member's visits, a survey
  session's low answer and its reasons) are kept in small state tables so each is
  counted once whatever batches its events came in.

Times are the kiosks' `occurred_at`, truncated to the UTC hour and day.
Every HQ worker's sweeper rolls forward each 30 s (AlertSweeper) and
`kiosk-hq analytics rollup` does it at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    Connection,
    Select,
    Table,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    select,
    text,
    true,
    union_all,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.sql.elements import ColumnElement

from hq.db import (
    Database,
    coupon_redemptions,
    coupons_issued,
    events,
    rollup_coupons,
    rollup_draws,
    rollup_dwell,
    rollup_lift_sessions,
    rollup_marks,
    rollup_member_sessions,
    rollup_members,
    rollup_products,
    rollup_reasons,
    rollup_stores,
    rollup_survey_sessions,
    rollup_surveys,
)

_log = logging.getLogger("hq.analytics")

CHUNK: Final = 50_000
# Events per transaction: a year's backlog rolls in bounded transactions (a few
# seconds each) instead of one that holds its locks for minutes.
SQLITE_CHUNK: Final = 5_000
# SQLite has one writer: ingest waits for each rollup transaction (~0.5 s here).
LOCK_TIMEOUT: Final = "200ms"
# How long the bound waits for ingest's transactions in flight (a batch's takes
# milliseconds); past it the round is skipped and the next sweep tries again. New
# inserts queue behind a waiting lock, so this is also the most ingest can stall:
# say, while autovacuum holds `events` (its lock excludes a share lock).
# The survey scores' standard cut-offs (hq.analytics.figures defines CSAT and NPS).
SMILEY_TOP_FROM: Final = 3  # smiley 1-4: 3 and 4 are the top two
PROMOTER_FROM: Final = 9
DETRACTOR_TO: Final = 6
DWELL_CAP_S: Final = 600  # dwell histograms count 10 minutes or more as 600 s
INTERACTIONS: Final = ("lift", "drop", "comparison", "recommendation_tap")

EVENTS: Final = "events"
REDEMPTIONS: Final = "coupon_redemptions"


@dataclass(frozen=True, slots=True)
class Rolled:
    """What one call rolled: events and redemptions, and how far it got."""

    events: int = 0
    redemptions: int = 0
    through: int = 0
    skipped: bool = False  # another worker was rolling, or ingest held the lock


# ---------------------------------------------------------------- SQL pieces


@dataclass(frozen=True, slots=True)
class Rollup:
    """One rollup: its six tables (hq.db._rollup_tables), dimensions and measures."""

    tables: Mapping[str, Table]
    dimensions: tuple[str, ...]
    measures: tuple[str, ...]

    @classmethod
    def of(cls, tables: Mapping[str, Table]) -> Rollup:
        table = tables["chain_hours"]
        keys = [c.name for c in table.primary_key.columns if c.name != "at"]
        measures = [c.name for c in table.columns if not c.primary_key]
        return cls(tables, tuple(keys), tuple(measures))


PRODUCTS: Final = Rollup.of(rollup_products)
DWELL: Final = Rollup.of(rollup_dwell)
STORES: Final = Rollup.of(rollup_stores)
SURVEYS: Final = Rollup.of(rollup_surveys)
REASONS: Final = Rollup.of(rollup_reasons)
COUPONS: Final = Rollup.of(rollup_coupons)
DRAWS: Final = Rollup.of(rollup_draws)
ROLLUPS: Final = (PRODUCTS, DWELL, STORES, SURVEYS, REASONS, COUPONS, DRAWS)


UNITS: Final = {"hours": "hour", "days": "day", "months": "month"}
_SQLITE_STARTS: Final = {  # SQLAlchemy's text form of a naive UTC datetime
    "hour": "%Y-%m-%d %H:00:00.000000",
    "day": "%Y-%m-%d 00:00:00.000000",
    "month": "%Y-%m-01 00:00:00.000000",
}


def unit_of(variant: str) -> str:
    """ "hour", "day" or "month": what a rollup table (`store_days`...) sums over."""
    return UNITS[variant.split("_", 1)[1]]


def truncate(database: Database, moment: Any, unit: str) -> ColumnElement[Any]:
    """`moment` (a UtcDateTime column) down to its UTC hour, day or month, stored as HQ
    stores times."""
    if database.is_sqlite:
        return func.strftime(_SQLITE_STARTS[unit], moment)
    return func.date_trunc(unit, moment, "UTC")


def start_of(moment: datetime, unit: str) -> datetime:
    """`truncate` in Python."""
    start = moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if unit in ("day", "month"):
        start = start.replace(hour=0)
    if unit == "month":
        start = start.replace(day=1)
    return start


_P = events.c.payload


def _text(key: str) -> ColumnElement[Any]:
    found: ColumnElement[Any] = _P[key].as_string()
    return found


def _number(key: str) -> ColumnElement[Any]:
    # Through text: dwell_ms may pass INTEGER's range, which as_integer() casts to.
    return cast(_P[key].as_string(), BigInteger)


def _one_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return case((condition, 1), else_=0)


def _events_in(first: int, last: int, *kinds: str) -> list[ColumnElement[bool]]:
    return [events.c.id > first, events.c.id <= last, events.c.kind.in_(kinds)]


def _products_source(first: int, last: int) -> Select[Any]:
    kind = events.c.kind
    lifted = kind == "lift"
    touched = select(
        events.c.occurred_at.label("at"),
        events.c.store_id,
        func.coalesce(_text("sku"), "").label("sku"),
        func.coalesce(_number("slot"), 0).label("slot"),
        _one_if(lifted).label("lifts"),
        _one_if(kind == "drop").label("putbacks"),
        case((kind == "drop", _number("dwell_ms")), else_=0).label("dwell_ms"),
        literal(0).label("compared"),
        _one_if(and_(lifted, _text("member_id").is_not(None))).label("member_lifts"),
        literal(0).label("returned_lifts"),  # decided in Python: _note_member_lifts
    ).where(*_events_in(first, last, "lift", "drop"))
    # A comparison counts once for each of its two products, in no slot (0).
    compared = [
        select(
            events.c.occurred_at,
            events.c.store_id,
            _P[("skus", index)].as_string(),
            literal(0),
            literal(0),
            literal(0),
            literal(0),
            literal(1),
            literal(0),
            literal(0),
        ).where(*_events_in(first, last, "comparison"))
        for index in (0, 1)
    ]
    return union_all(touched, *compared).subquery().select()


def _dwell_source(first: int, last: int) -> Select[Any]:
    dwell = _number("dwell_ms")
    return select(
        events.c.occurred_at.label("at"),
        events.c.store_id,
        func.coalesce(_text("sku"), "").label("sku"),
        case((dwell >= DWELL_CAP_S * 1000, DWELL_CAP_S), else_=dwell // 1000).label("seconds"),
        literal(1).label("drops"),
    ).where(*_events_in(first, last, "drop"))


def _measured(rollup: Rollup, at: Any, store_id: Any, **given: Any) -> Select[Any]:
    """A select of (at, store_id, every measure of `rollup`: `given`, else 0)."""
    return select(
        at.label("at"),
        store_id.label("store_id"),
        *(given.get(name, literal(0)).label(name) for name in rollup.measures),
    )


def _stores_source(first: int, last: int) -> Select[Any]:
    sessions = rollup_lift_sessions
    visits = rollup_member_sessions
    kind = events.c.kind
    score = _number("score")
    answered = kind == "survey_answer"
    smiley = and_(answered, _text("kind") == "smiley", score.is_not(None))
    nps = and_(answered, _text("kind") == "nps", score.is_not(None))
    from_events = _measured(
        STORES,
        events.c.occurred_at,
        events.c.store_id,
        lifts=_one_if(kind == "lift"),
        putbacks=_one_if(kind == "drop"),
        dwell_ms=case((kind == "drop", _number("dwell_ms")), else_=0),
        signups=_one_if(kind == "member_signup"),
        smiley_answers=_one_if(smiley),
        smiley_top=_one_if(and_(smiley, score >= SMILEY_TOP_FROM)),
        nps_answers=_one_if(nps),
        promoters=_one_if(and_(nps, score >= PROMOTER_FROM)),
        detractors=_one_if(and_(nps, score <= DETRACTOR_TO)),
        coupons_issued=_one_if(kind == "coupon_issued"),
    ).where(*_events_in(first, last, "lift", "drop", "member_signup", "survey_answer",
                        "coupon_issued"))  # fmt: skip
    lift_sessions = _measured(
        STORES, sessions.c.at, sessions.c.store_id, lift_sessions=literal(1)
    ).where(sessions.c.through == last)
    member_visits = _measured(
        STORES,
        visits.c.at,
        visits.c.store_id,
        visits=literal(1),
        repeat_visits=func.coalesce(visits.c.is_repeat, 0),
        gap_s=func.coalesce(visits.c.gap_s, 0),
        gaps=_one_if(visits.c.gap_s.is_not(None)),
    ).where(visits.c.through == last)
    return union_all(from_events, lift_sessions, member_visits).subquery().select()


def _surveys_source(first: int, last: int) -> Select[Any]:
    return select(
        events.c.occurred_at.label("at"),
        events.c.store_id,
        _text("survey").label("survey"),
        _text("question").label("question"),
        _text("kind").label("kind"),
        func.coalesce(_number("score"), -1).label("score"),
        literal(1).label("answers"),
    ).where(*_events_in(first, last, "survey_answer"))


def _coupons_source(first: int, last: int) -> Select[Any]:
    return select(
        events.c.occurred_at.label("at"),
        events.c.store_id,
        _text("campaign").label("campaign"),
        literal(1).label("issued"),
        literal(0).label("redeemed"),
    ).where(*_events_in(first, last, "coupon_issued"))


def _redeemed_source(first: int, last: int) -> Select[Any]:
    """A code's first redemption HQ learned of, at its time, for the campaign and
    store that issued it (a second redemption of a code is a double, not a sale)."""
    earlier = coupon_redemptions.alias("earlier")
    redemption = coupon_redemptions
    return (
        select(
            redemption.c.redeemed_at.label("at"),
            coupons_issued.c.store_id,
            coupons_issued.c.campaign,
            literal(0).label("issued"),
            literal(1).label("redeemed"),
        )
        .join_from(redemption, coupons_issued, coupons_issued.c.code == redemption.c.code)
        .where(redemption.c.id > first, redemption.c.id <= last)
        .where(
            ~select(earlier.c.id)
            .where(earlier.c.code == redemption.c.code, earlier.c.id < redemption.c.id)
            .exists()
        )
    )


def _draws_source(first: int, last: int) -> Select[Any]:
    return select(
        events.c.occurred_at.label("at"),
        events.c.store_id,
        _text("draw").label("draw"),
        func.coalesce(_text("prize"), "").label("prize"),
        literal(1).label("draws"),
    ).where(*_events_in(first, last, "prize_draw"))


Source = Callable[[int, int], Select[Any]]

EVENT_SOURCES: Final[tuple[tuple[Rollup, Source], ...]] = (
    (PRODUCTS, _products_source),
    (DWELL, _dwell_source),
    (STORES, _stores_source),
    (SURVEYS, _surveys_source),
    (COUPONS, _coupons_source),
    (DRAWS, _draws_source),
)


def add_up(database: Database, connection: Connection, rollup: Rollup, source: Select[Any]) -> None:
    """Add `source`'s rows (at, store_id, dimensions..., measures...) to the rollup's
    six tables, summed in the database."""
    found = source.subquery()
    for variant, table in rollup.tables.items():
        at = truncate(database, found.c.at, unit_of(variant)).label("at")
        keys = [at, *([found.c.store_id] if variant.startswith("store") else [])]
        keys += [found.c[name] for name in rollup.dimensions]
        sums = [func.sum(found.c[name]).label(name) for name in rollup.measures]
        # SQLite reads `SELECT ... ON CONFLICT` right only with a WHERE clause.
        summed = select(*keys, *sums).where(true()).group_by(*keys)
        statement = database.insert(table).from_select([c.name for c in (*keys, *sums)], summed)
        new = statement.excluded
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=[c.name for c in table.primary_key.columns],
                set_={name: table.c[name] + new[name] for name in rollup.measures},
            )
        )


def add_facts(
    database: Database,
    connection: Connection,
    rollup: Rollup,
    facts: Iterable[tuple[datetime, str, tuple[Any, ...], tuple[int, ...]]],
) -> None:
    """`add_up` for facts decided here: (at, store_id, dimensions, measures)."""
    facts = list(facts)
    if not facts:
        return
    for variant, table in rollup.tables.items():
        unit = unit_of(variant)
        per_store = variant.startswith("store")
        summed: dict[tuple[Any, ...], list[int]] = {}
        for at, store_id, dimensions, measures in facts:
            start = start_of(at, unit)
            key = (start, *((store_id,) if per_store else ()), *dimensions)
            tally = summed.setdefault(key, [0] * len(measures))
            for index, value in enumerate(measures):
                tally[index] += value
        names = [c.name for c in table.primary_key.columns]
        rows = [
            {**dict(zip(names, key, strict=True)), **dict(zip(rollup.measures, sums, strict=True))}
            for key, sums in summed.items()
        ]

        def adding(statement: Any, table: Table = table, names: list[str] = names) -> Any:
            return statement.on_conflict_do_update(
                index_elements=names,
                set_={name: table.c[name] + statement.excluded[name] for name in rollup.measures},
            )

        database.insert_rows(connection, table, rows, on_conflict=adding)


# ---------------------------------------------------------------- facts across events


def _note_sessions(database: Database, connection: Connection, first: int, last: int) -> None:
    """Sessions with a lift, and members' sessions (visits), each kept once."""
    # One expression object each: PostgreSQL matches GROUP BY by its bound parameters.
    session = _text("session")
    lifted = select(
        events.c.kiosk_id,
        session.label("session"),
        func.min(events.c.store_id),
        func.min(events.c.occurred_at),
        literal(last, BigInteger),
    ).where(*_events_in(first, last, "lift"))
    lifted = lifted.group_by(events.c.kiosk_id, session)
    statement = database.insert(rollup_lift_sessions).from_select(
        ["kiosk_id", "session", "store_id", "at", "through"], lifted
    )
    connection.execute(statement.on_conflict_do_nothing())
    member = _text("member_id")
    visited = (
        select(
            events.c.kiosk_id,
            session,
            func.min(member),
            func.min(events.c.store_id),
            func.min(events.c.occurred_at),
            literal(last, BigInteger),
        )
        .where(*_events_in(first, last, *INTERACTIONS), member.is_not(None))
        .group_by(events.c.kiosk_id, session)
    )
    statement = database.insert(rollup_member_sessions).from_select(
        ["kiosk_id", "session", "member_id", "store_id", "at", "through"], visited
    )
    connection.execute(statement.on_conflict_do_nothing())


@dataclass(frozen=True, slots=True)
class Visit:
    kiosk_id: str
    session: str
    member_id: str
    at: datetime


@dataclass(slots=True)
class MemberSoFar:
    visits: int
    last_at: datetime
    last_visit: tuple[str, str] | None = None  # (kiosk, session) of the latest visit


def decide_visits(
    known: Mapping[str, MemberSoFar], visits: Sequence[Visit]
) -> tuple[
    dict[tuple[str, str], tuple[int, int | None]], dict[str, MemberSoFar], list[tuple[str, str]]
]:
    """Each new visit's (repeat 0/1, seconds since the member's previous visit), the
    members' state after them, and the earlier visits the member came back after.
    Visits are taken in time order; a visit from before the member's last one (a
    kiosk that was offline) is a repeat with no gap."""
    members = {m: MemberSoFar(s.visits, s.last_at, s.last_visit) for m, s in known.items()}
    decided: dict[tuple[str, str], tuple[int, int | None]] = {}
    returned: list[tuple[str, str]] = []
    for visit in sorted(visits, key=lambda v: (v.at, v.kiosk_id, v.session)):
        key = (visit.kiosk_id, visit.session)
        before = members.get(visit.member_id)
        if before is None:
            members[visit.member_id] = MemberSoFar(1, visit.at, key)
            decided[key] = (0, None)
            continue
        gap = int((visit.at - before.last_at).total_seconds())
        decided[key] = (1, gap if gap >= 0 else None)
        before.visits += 1
        if gap >= 0:
            if before.last_visit is not None:
                returned.append(before.last_visit)
            before.last_at, before.last_visit = visit.at, key
    return decided, members, returned


def _note_member_lifts(database: Database, connection: Connection, first: int, last: int) -> None:
    """Members' lifts of these events: kept with their visit until the member comes
    back, or counted as "came back" at once if they already have."""
    session, sku = _text("session"), func.coalesce(_text("sku"), "")
    found = connection.execute(
        select(events.c.kiosk_id, session, sku, func.count())
        .where(*_events_in(first, last, "lift"), _text("member_id").is_not(None))
        .group_by(events.c.kiosk_id, session, sku)
    ).all()
    if not found:
        return
    t = rollup_member_sessions
    states = {
        (k, s): (lifts or {}, returned, at, store)
        for k, s, lifts, returned, at, store in connection.execute(
            select(t.c.kiosk_id, t.c.session, t.c.lifts, t.c.returned, t.c.at, t.c.store_id).where(
                t.c.session.in_(sorted({s for _, s, _, _ in found}))
            )
        )
    }
    changed: dict[tuple[str, str], dict[str, int]] = {}
    facts = []
    for kiosk_id, session_id, product, count in found:
        lifts, returned, at, store = states[(kiosk_id, session_id)]
        if returned:
            facts.append(_returned(at, store, product, int(count)))
        else:
            pending = changed.setdefault((kiosk_id, session_id), dict(lifts))
            pending[product] = pending.get(product, 0) + int(count)
    add_facts(database, connection, PRODUCTS, facts)
    _set_lifts(connection, {key: (lifts, False) for key, lifts in changed.items()})


def _returned(at: datetime, store: str, sku: str, count: int) -> tuple[Any, ...]:
    measures = tuple(count if m == "returned_lifts" else 0 for m in PRODUCTS.measures)
    return (at, store, (sku, 0), measures)


def _set_lifts(
    connection: Connection, found: Mapping[tuple[str, str], tuple[dict[str, int], bool]]
) -> None:
    if not found:
        return
    t = rollup_member_sessions
    connection.execute(
        t.update()
        .where(t.c.kiosk_id == bindparam("k"), t.c.session == bindparam("s"))
        .values(lifts=bindparam("l"), returned=bindparam("r")),
        [{"k": k, "s": s, "l": lifts, "r": r} for (k, s), (lifts, r) in found.items()],
    )


def _came_back(
    database: Database, connection: Connection, visits: Sequence[tuple[str, str]]
) -> None:
    """Count the lifts of the visits members came back after, and mark them."""
    if not visits:
        return
    t = rollup_member_sessions
    wanted = set(visits)
    facts = []
    marked: dict[tuple[str, str], tuple[dict[str, int], bool]] = {}
    for k, s, lifts, returned, at, store in connection.execute(
        select(t.c.kiosk_id, t.c.session, t.c.lifts, t.c.returned, t.c.at, t.c.store_id).where(
            t.c.session.in_(sorted({s for _, s in wanted}))
        )
    ):
        if (k, s) not in wanted or returned:
            continue
        facts += [_returned(at, store, sku, n) for sku, n in (lifts or {}).items()]
        marked[(k, s)] = ({}, True)
    add_facts(database, connection, PRODUCTS, facts)
    _set_lifts(connection, marked)


def _decide_visits(database: Database, connection: Connection, last: int) -> None:
    t = rollup_member_sessions
    rows = connection.execute(
        select(t.c.kiosk_id, t.c.session, t.c.member_id, t.c.at).where(t.c.through == last)
    ).all()
    if not rows:
        return
    visits = [Visit(*row) for row in rows]
    ids = sorted({v.member_id for v in visits})
    m = rollup_members
    known = {
        member: MemberSoFar(count, at, None if kiosk is None else (kiosk, session))
        for member, count, at, kiosk, session in connection.execute(
            select(m.c.member_id, m.c.visits, m.c.last_at, m.c.last_kiosk, m.c.last_session)
            .where(m.c.member_id.in_(ids))
            .with_for_update()
        )
    }
    decided, members, returned = decide_visits(known, visits)
    _came_back(database, connection, returned)
    connection.execute(
        t.update()
        .where(t.c.kiosk_id == bindparam("k"), t.c.session == bindparam("s"))
        .values(is_repeat=bindparam("r"), gap_s=bindparam("g")),
        [{"k": k, "s": s, "r": r, "g": g} for (k, s), (r, g) in decided.items()],
    )
    rows_out = [
        {
            "member_id": member,
            "visits": state.visits,
            "last_at": state.last_at,
            "last_kiosk": state.last_visit[0] if state.last_visit else None,
            "last_session": state.last_visit[1] if state.last_visit else None,
        }
        for member, state in members.items()
    ]

    def replace(statement: Any) -> Any:
        new = statement.excluded
        return statement.on_conflict_do_update(
            index_elements=["member_id"],
            set_={name: new[name] for name in ("visits", "last_at", "last_kiosk", "last_session")},
        )

    database.insert_rows(connection, rollup_members, rows_out, on_conflict=replace)


@dataclass(frozen=True, slots=True)
class SurveyAnswer:
    kiosk_id: str
    session: str
    survey: str
    question: str
    store_id: str
    at: datetime
    low: bool
    choices: tuple[str, ...]


@dataclass(slots=True)
class SurveySession:
    low: bool
    pending: list[list[Any]] = field(default_factory=list)  # [question, choice, at, store]


Reason = tuple[datetime, str, tuple[str, str, str], tuple[int]]


def decide_reasons(
    known: Mapping[tuple[str, str, str], SurveySession], answers: Sequence[SurveyAnswer]
) -> tuple[list[Reason], dict[tuple[str, str, str], SurveySession]]:
    """The reasons to count: every choice answered in a survey session that had a low
    answer, in whatever order they came, each once; and the sessions' state after."""
    sessions = {key: SurveySession(s.low, list(s.pending)) for key, s in known.items()}
    reasons: list[Reason] = []
    for answer in answers:
        key = (answer.kiosk_id, answer.session, answer.survey)
        state = sessions.setdefault(key, SurveySession(False))
        chosen = [
            [answer.question, c, answer.at.isoformat(), answer.store_id] for c in answer.choices
        ]
        state.pending.extend(chosen)
        state.low = state.low or answer.low
        if state.low:
            for question, choice, at, store_id in state.pending:
                moment = datetime.fromisoformat(at)
                reasons.append((moment, store_id, (answer.survey, question, choice), (1,)))
            state.pending = []
    return reasons, sessions


def _decide_reasons(database: Database, connection: Connection, first: int, last: int) -> None:
    rows = connection.execute(
        select(
            events.c.kiosk_id,
            _text("session"),
            _text("survey"),
            _text("question"),
            events.c.store_id,
            events.c.occurred_at,
            events.c.payload,
        )
        .where(*_events_in(first, last, "survey_answer"))
        .order_by(events.c.id)
    ).all()
    answers = [
        SurveyAnswer(k, s, survey, q, store, at, bool(p.get("low")), tuple(p.get("choices") or ()))
        for k, s, survey, q, store, at, p in rows
    ]
    answers = [a for a in answers if a.low or a.choices]
    if not answers:
        return
    t = rollup_survey_sessions
    keys = {(a.kiosk_id, a.session, a.survey) for a in answers}
    known: dict[tuple[str, str, str], SurveySession] = {}
    sessions_of = sorted({a.session for a in answers})
    for k, s, survey, low, pending in connection.execute(
        select(t.c.kiosk_id, t.c.session, t.c.survey, t.c.low, t.c.pending).where(
            t.c.session.in_(sessions_of)
        )
    ):
        if (k, s, survey) in keys:
            known[(k, s, survey)] = SurveySession(bool(low), list(pending))
    reasons, sessions = decide_reasons(known, answers)
    add_facts(database, connection, REASONS, reasons)
    rows_out = [
        {"kiosk_id": k, "session": s, "survey": v, "low": st.low, "pending": st.pending}
        for (k, s, v), st in sessions.items()
    ]

    def replace(statement: Any) -> Any:
        return statement.on_conflict_do_update(
            index_elements=["kiosk_id", "session", "survey"],
            set_={"low": statement.excluded.low, "pending": statement.excluded.pending},
        )

    database.insert_rows(connection, t, rows_out, on_conflict=replace)


# ---------------------------------------------------------------- the rounds


def _safe_bound(database: Database, table: Table) -> int:
    """The highest id of `table` below which every id is committed or never will be."""
    with database.write() as connection:
        if not database.is_sqlite:
            connection.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
            connection.execute(text(f"LOCK TABLE {table.name} IN SHARE MODE"))
        return int(connection.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one())


def _claim(database: Database, connection: Connection, source: str) -> int | None:
    """Lock `source`'s mark for this transaction; its id, or None if another worker has it."""
    database.insert_rows(
        connection,
        rollup_marks,
        [{"source": source, "through": 0, "rolled_at": None, "newest": None}],
        on_conflict=lambda statement: statement.on_conflict_do_nothing(),
    )
    query = select(rollup_marks.c.through).where(rollup_marks.c.source == source)
    if not database.is_sqlite:
        query = query.with_for_update(skip_locked=True)
    found = connection.execute(query).scalar_one_or_none()
    return None if found is None else int(found)


def _mark(connection: Connection, source: str, through: int, now: datetime, newest: Any) -> None:
    connection.execute(
        rollup_marks.update()
        .where(rollup_marks.c.source == source)
        .values(through=through, rolled_at=now, newest=newest)
    )


def roll_events(database: Database, now: datetime, *, chunk: int | None = None) -> Rolled:
    """Roll every committed event not yet rolled into the rollups."""
    chunk = chunk or (SQLITE_CHUNK if database.is_sqlite else CHUNK)
    try:
        bound = _safe_bound(database, events)
    except OperationalError:  # lock_timeout: ingest is busy; the next sweep tries again
        return Rolled(skipped=True)
    done = 0
    through = 0
    while True:
        with database.write() as connection:
            first = _claim(database, connection, EVENTS)
            if first is None:
                return Rolled(events=done, through=through, skipped=True)
            last = min(bound, first + chunk)
            through = first
            if last <= first:
                return Rolled(events=done, through=first)
            _note_sessions(database, connection, first, last)
            _note_member_lifts(database, connection, first, last)
            _decide_visits(database, connection, last)
            for rollup, source in EVENT_SOURCES:
                add_up(database, connection, rollup, source(first, last))
            _decide_reasons(database, connection, first, last)
            newest = connection.execute(
                select(events.c.received_at)
                .where(events.c.id <= last)
                .order_by(events.c.id.desc())
                .limit(1)
            ).scalar_one_or_none()
            rolled = connection.execute(
                select(func.count())
                .select_from(events)
                .where(events.c.id > first, events.c.id <= last)
            ).scalar_one()
            _mark(connection, EVENTS, last, now, newest)
        done += int(rolled)
        through = last


def roll_redemptions(database: Database, now: datetime, *, chunk: int | None = None) -> Rolled:
    """Roll coupon redemptions (at HQ and reported by stores) into the coupons rollup."""
    chunk = chunk or (SQLITE_CHUNK if database.is_sqlite else CHUNK)
    try:
        bound = _safe_bound(database, coupon_redemptions)
    except OperationalError:
        return Rolled(skipped=True)
    done = 0
    while True:
        with database.write() as connection:
            first = _claim(database, connection, REDEMPTIONS)
            if first is None:
                return Rolled(redemptions=done, skipped=True)
            last = min(bound, first + chunk)
            if last <= first:
                return Rolled(redemptions=done, through=first)
            redeemed = _redeemed_source(first, last).subquery()
            add_up(database, connection, COUPONS, redeemed.select())
            per_store = _measured(
                STORES, redeemed.c.at, redeemed.c.store_id, coupons_redeemed=redeemed.c.redeemed
            )
            add_up(database, connection, STORES, per_store)
            rolled = connection.execute(
                select(func.count())
                .select_from(coupon_redemptions)
                .where(coupon_redemptions.c.id > first, coupon_redemptions.c.id <= last)
            ).scalar_one()
            _mark(connection, REDEMPTIONS, last, now, now)
        done += int(rolled)


def roll(database: Database, now: datetime, *, chunk: int | None = None) -> Rolled:
    """Roll events, then redemptions (whose campaigns come from rolled issues)."""
    found = roll_events(database, now, chunk=chunk)
    redeemed = roll_redemptions(database, now, chunk=chunk)
    return Rolled(
        found.events, redeemed.redemptions, found.through, found.skipped or redeemed.skipped
    )


def rolled_up_to(database: Database) -> datetime | None:
    """When the newest event rolled up arrived at HQ: the pages' "up to"."""
    with database.read() as connection:
        return connection.execute(
            select(rollup_marks.c.newest).where(rollup_marks.c.source == EVENTS)
        ).scalar_one_or_none()
