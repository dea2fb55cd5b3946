"""Taking in a kiosk's batch of events: decide what each one is, then store them.

Two steps, so the rules can be tested without a database:

1. `decide()` (pure): the batch names only the token's store and kiosk (else
   the whole batch is refused: `Refusal`); then per event: its payload is
   checked against its kind and schema version and turned into CRM facts
   (`Candidate`), or it is `Rejected` with a reason, or it repeats an event
   earlier in the same batch (`Repeat`).
2. `store()`: one transaction. The candidates go in with ONE multi-row
   `INSERT ... ON CONFLICT DO NOTHING RETURNING event_id`: what comes back was
   accepted; what does not was either stored before (duplicate) or used a seq
   another event already holds (rejected). On PostgreSQL, a batch whose seqs are
   all new to the kiosk (the usual batch) is COPYed instead, several times faster
   (`_insert_events`; bench/hq_ingest.py). Rejections get a row each, accepted
   events their CRM projections, the member feed follows what they changed
   (`hq.crm.recognition`), and the kiosk's contiguous_seq moves on. Events of
   members erased before (`hq.crm.erasure`) are stored without their personal
   data, and projected only where the rest means something without them.
   Coupon codes in `coupon_issued`, `coupon_redeemed` and `offer_text_requested`
   events are checked against their kiosk's key first (`hq.crm.coupons`): one that
   fails is rejected. An `offer_text_requested` queues one text message (`hq.sms`).
   A `coupon_redeemed` of a code HQ already holds a redemption of is kept, and
   accepted with a reason saying it conflicts with HQ's first record.

Devices have a role (`hq.enrollment`): a kiosk sends shopper kinds, an attendant
device (store staff) only `coupon_redeemed`, `alert_ack` and `planogram_edit`
(`hq.wire.ATTENDANT_KINDS`); a kind the sender's role does not send is rejected.
The kiosk an attendant's event names must be a kiosk of the sender's store.

Rejection reasons name the field and the rule, never the value: payloads carry
phone numbers, names and emails, and reasons are logged and sent back.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import repeat
from operator import attrgetter
from typing import Any, Final, cast

from pydantic import ValidationError
from pydantic_core import to_json
from sqlalchemy import Connection, bindparam, delete, exists, select, union_all, update

from hq import plays
from hq.crm import coupons, erasure, recognition
from hq.crm.coupon_codes import CodeRefused, CouponCode, decode
from hq.crm.facts import (
    AlarmRaised,
    AlertAcked,
    ConsentDecision,
    CouponFact,
    CouponIssued,
    CouponRedemptionReported,
    Fact,
    Interaction,
    OfferPrinted,
    OfferShown,
    OfferTextRequested,
    Origin,
    PlanogramEdited,
    PrizeDrawn,
    RewardFact,
    Signup,
    SurveyAnswered,
    SurveyCompleted,
    TagBound,
)
from hq.crm.people import InvalidEmail, InvalidPhone, e164, normalise_email, tidy_name
from hq.crm.projections import project
from hq.db import (
    REASON_LENGTH,
    CopyConflict,
    Database,
    access_denials,
    events,
    kiosks,
    rejections,
)
from hq.enrollment import KioskIdentity
from hq.store_actions import kiosks_of_store
from hq.wire import (
    ATTENDANT_KINDS,
    KINDS,
    KIOSK_KINDS,
    PAYLOADS,
    AlarmPayload,
    AlertAckPayload,
    ComparisonPayload,
    ConsentPayload,
    CouponIssuedPayload,
    CouponRedeemedPayload,
    DropPayload,
    EventBatch,
    EventEnvelope,
    EventStatus,
    LiftPayload,
    MemberSignupPayload,
    OfferPrintedPayload,
    OfferShownPayload,
    OfferTextRequestedPayload,
    Payload,
    PlanogramEditPayload,
    PlayCountsPayload,
    PrizeDrawPayload,
    RecommendationTapPayload,
    SurveyAnswerPayload,
    SurveyCompletedPayload,
    TagBoundPayload,
)

_log = logging.getLogger("hq.ingest")

_REASONS_PER_EVENT: Final = 3
# Enough to fix a payload; a reason is stored per rejection, so it stays short.

_SEQ_WINDOW: Final = 1000
# Seqs read per query while closing a gap that earlier batches filled out of order.


# ---------------------------------------------------------------- step 1: decide


# The per-event records are not frozen: a frozen dataclass sets each field through
# object.__setattr__, three times slower to make, and a 500-event batch makes a
# thousand of them or more. Nothing changes them after they are made (`replace`).


@dataclass(slots=True)
class Candidate:
    """An event whose envelope and payload are fine: to be inserted."""

    index: int
    event_id: str
    seq: int
    kind: str
    schema_version: int
    occurred_at: datetime
    sent: Payload  # the payload as validated
    fact: Fact | None
    scrubbed: dict[str, Any] | None = None  # what is stored instead (`_erased_scrubbed`)

    @property
    def payload(self) -> dict[str, Any]:
        """What was sent, minus fields HQ does not know (or the scrubbed payload)."""
        if self.scrubbed is not None:
            return self.scrubbed
        dumped: dict[str, Any] = self.sent.__pydantic_serializer__.to_python(
            self.sent, mode="json", by_alias=True, exclude_unset=True
        )
        return dumped

    def payload_json(self) -> str:
        """`payload` as JSON text, made by pydantic's serializer (in Rust) in one go,
        without the dict `payload` makes on the way (for `Database.copy_rows`)."""
        if self.scrubbed is not None:
            return to_json(self.scrubbed).decode()
        return self.sent.__pydantic_serializer__.to_json(
            self.sent, by_alias=True, exclude_unset=True
        ).decode()


@dataclass(slots=True)
class Rejected:
    index: int
    event_id: str
    seq: int
    kind: str
    schema_version: int
    reason: str


@dataclass(slots=True)
class Repeat:
    """The same event id and seq as the event at `first`, earlier in this batch."""

    index: int
    event_id: str
    seq: int
    first: int


Verdict = Candidate | Rejected | Repeat


@dataclass(frozen=True, slots=True)
class Plan:
    verdicts: tuple[Verdict, ...]  # one per event, in request order


@dataclass(frozen=True, slots=True)
class Refusal:
    """The batch names another store or kiosk than the token's: none of it is stored."""

    events_refused: int  # the whole batch
    detail: str  # how many events named what, never the ids they named


def decide(kiosk: KioskIdentity, batch: EventBatch) -> Plan | Refusal:
    events = batch.events
    # Sets made in C: the usual batch names only the token's store and kiosk.
    if {*map(_STORE_ID, events)} != {kiosk.store_id} or {*map(_KIOSK_ID, events)} != {
        kiosk.kiosk_id
    }:
        other_store = foreign = 0
        for event in events:
            if event.store_id != kiosk.store_id:
                other_store += 1
                foreign += 1
            elif event.kiosk_id != kiosk.kiosk_id:
                foreign += 1
        what = "another store" if other_store else "another kiosk"
        total = len(events)
        return Refusal(total, f"{foreign} of {total} events name {what}")

    ids = _event_ids(events)
    sends = ATTENDANT_KINDS if kiosk.role == "attendant" else KIOSK_KINDS
    if len({*ids}) == len(ids) and len({*map(_SEQ, events)}) == len(events):
        # No id nor seq twice (the usual batch): no repeats to look for.
        return Plan(
            tuple(
                _check(index, event, event_id, kiosk, sends)
                for index, (event, event_id) in enumerate(zip(events, ids, strict=True))
            )
        )
    verdicts: list[Verdict] = []
    first_of_id: dict[str, int] = {}
    first_of_seq: dict[int, int] = {}
    for index, (event, event_id) in enumerate(zip(events, ids, strict=True)):
        earlier = first_of_id.get(event_id)
        if earlier is not None:
            if events[earlier].seq == event.seq:
                verdicts.append(Repeat(index, event_id, event.seq, earlier))
            else:
                reason = "event_id: repeats an earlier event with another seq"
                verdicts.append(_rejected(index, event, event_id, reason))
            continue
        first_of_id[event_id] = index
        if event.seq in first_of_seq:
            verdicts.append(_rejected(index, event, event_id, "seq: already used by another event"))
            continue
        first_of_seq[event.seq] = index
        verdicts.append(_check(index, event, event_id, kiosk, sends))
    return Plan(tuple(verdicts))


_STORE_ID: Final = attrgetter("store_id")
_KIOSK_ID: Final = attrgetter("kiosk_id")
_SEQ: Final = attrgetter("seq")
_EVENT_ID: Final = attrgetter("event_id")
_FACT: Final = attrgetter("fact")
_KIND: Final = attrgetter("kind")
_SCHEMA_VERSION: Final = attrgetter("schema_version")
_OCCURRED_AT: Final = attrgetter("occurred_at")
_STATUS: Final = attrgetter("status")
_ACCEPTED: Final[repeat[EventStatus]] = repeat("accepted")
_NONE: Final = repeat(cast(str | None, None))


def _event_ids(events: Sequence[EventEnvelope]) -> list[str]:
    """Each event id as text, as str(UUID) writes it: pydantic's serializer writes the
    batch's ids in one go (in Rust), a fifth of the time of a str() per id."""
    written = to_json([event.event_id for event in events]).decode()
    return written[2:-2].split('","')  # the text of ["id","id",...]; ids hold no quotes


def _rejected(index: int, event: EventEnvelope, event_id: str, reason: str) -> Rejected:
    return Rejected(index, event_id, event.seq, event.kind, event.schema_version, reason)


def _check(
    index: int,
    event: EventEnvelope,
    event_id: str,
    kiosk: KioskIdentity,
    sends: frozenset[str],
) -> Verdict:
    kind = event.kind
    if kind in KINDS and kind not in sends:
        article = "an" if kiosk.role == "attendant" else "a"
        return _rejected(
            index, event, event_id, f"kind: {article} {kiosk.role} device does not send {kind!r}"
        )
    model = PAYLOADS.get((kind, event.schema_version))
    if model is None:
        if kind in KINDS:
            reason = f"schema_version: {kind!r} has no schema version {event.schema_version}"
        else:
            reason = f"kind: unknown kind {kind!r}"
        return _rejected(index, event, event_id, reason)
    try:
        # The validator itself: model_validate's Python wrapper costs as much again.
        payload = model.__pydantic_validator__.validate_python(event.payload)
    except ValidationError as error:
        return _rejected(index, event, event_id, _describe(error))
    try:
        fact = _fact(kind, payload, event_id, kiosk, event)
    except (InvalidPhone, InvalidEmail) as problem:
        field = "phone" if isinstance(problem, InvalidPhone) else "email"
        return _rejected(index, event, event_id, f"payload.{field}: {problem}")
    except _Unfit as problem:
        return _rejected(index, event, event_id, str(problem))
    return Candidate(
        index, event_id, event.seq, kind, event.schema_version, event.occurred_at, payload, fact
    )


def _describe(error: ValidationError) -> str:
    """A reason naming each broken field and rule; pydantic's messages quote no input."""
    problems = error.errors(include_url=False, include_input=False, include_context=False)
    parts = [
        f"{'.'.join(str(part) for part in ('payload', *problem['loc']))}: {problem['msg']}"
        for problem in problems[:_REASONS_PER_EVENT]
    ]
    if len(problems) > _REASONS_PER_EVENT:
        parts.append(f"and {len(problems) - _REASONS_PER_EVENT} more")
    return "; ".join(parts)[:REASON_LENGTH]


_INTERACTIONS: Final = (LiftPayload, ComparisonPayload, RecommendationTapPayload)
# A tuple made once: `A | B | C` in isinstance made a union object per event.


def _fact(  # noqa: PLR0911, PLR0912 (one return per kind)
    kind: str, payload: Payload, event_id: str, kiosk: KioskIdentity, event: EventEnvelope
) -> Fact | None:
    # Only members have a timeline; anonymous shoppers' events stay in `events`.
    if isinstance(payload, _INTERACTIONS) and payload.member_id is None:
        return None
    origin = Origin(event_id, kiosk.store_id, kiosk.kiosk_id, event.occurred_at)
    member = getattr(payload, "member_id", None)
    member_text = None if member is None else str(member)  # once: UUID's str is Python
    reward = _reward_fact(origin, payload, member_text)
    if reward is not None:
        return reward
    match payload:
        case AlertAckPayload():
            return AlertAcked(
                origin,
                payload.kiosk,
                payload.alert_seq,
                payload.alert_kind,
                payload.by,
                payload.after_s,
            )
        case PlanogramEditPayload():
            return PlanogramEdited(
                origin, payload.kiosk, payload.slot, payload.before, payload.after, payload.by
            )
        case PlayCountsPayload():
            return plays.counted(origin, payload)
        case OfferTextRequestedPayload():
            return _text_request(origin, payload)
    member_id = "" if member_text is None else member_text
    match payload:
        case MemberSignupPayload():
            return Signup(
                origin=origin,
                member_id=member_id,
                phone_e164=e164(payload.phone, payload.region),
                email=normalise_email(payload.email),
                name=tidy_name(payload.name),
                language=payload.language,
                greet_by_name=payload.greet_by_name,
            )
        case ConsentPayload():
            return ConsentDecision(
                origin=origin,
                member_id=member_id,
                purpose=payload.purpose,
                channel=payload.channel,
                notice_version=payload.notice_version,
                notice_sha256=payload.notice_sha256.lower(),
                given=payload.given,
            )
        case TagBoundPayload():
            return TagBound(origin, member_id, payload.tag_hash.lower(), payload.tag_kind)
        case OfferShownPayload():
            return OfferShown(origin, member_id, payload.session, payload.offer, payload.campaign)
        case OfferPrintedPayload():
            code = _code("code", payload.code).text
            return OfferPrinted(
                origin, member_id, payload.session, payload.offer, payload.campaign, code
            )
        case AlarmPayload():
            return AlarmRaised(origin, payload.slot, payload.sku, payload.reason)
        case DropPayload():  # before LiftPayload: a drop is a lift with a dwell time
            details: dict[str, Any] = {"dwell_ms": payload.dwell_ms}
            return Interaction(
                origin, member_id, kind, payload.session, payload.sku, payload.slot, details
            )
        case LiftPayload():
            return Interaction(
                origin, member_id, kind, payload.session, payload.sku, payload.slot, {}
            )
        case ComparisonPayload():
            details = {"skus": list(payload.skus)}
            return Interaction(origin, member_id, kind, payload.session, None, None, details)
        case RecommendationTapPayload():
            details = {"shelf": payload.shelf, "from": payload.from_}
            return Interaction(
                origin, member_id, kind, payload.session, payload.sku, payload.slot, details
            )
    raise AssertionError(f"no CRM fact for {type(payload).__name__}")


class _Unfit(ValueError):
    """A payload whose coupon code cannot be one, or disagrees with its fields."""


def _code(field: str, text: str) -> CouponCode:
    """The code's fields, from its form alone (its MAC is checked in `store`)."""
    try:
        return decode(text)
    except CodeRefused:
        # The code's own message is for people at a till; this one is for a kiosk's log.
        raise _Unfit(f"payload.{field}: not a coupon code") from None


def _text_request(origin: Origin, payload: OfferTextRequestedPayload) -> OfferTextRequested:
    """A member's "send to my phone": the code's form here, its MAC in `store`."""
    code = _code("code", payload.code)
    if payload.expires_on != code.expires_on:
        raise _Unfit("payload.expires_on: is not the code's own")
    return OfferTextRequested(
        origin=origin,
        member_id=str(payload.member_id),
        session=payload.session,
        offer=payload.offer,
        campaign=payload.campaign,
        code=code.text,
        kiosk_no=code.kiosk_no,
        expires_on=code.expires_on,
        language=payload.language,
    )


def _reward_fact(origin: Origin, payload: Payload, member_id: str | None) -> RewardFact | None:
    """The fact of a survey, coupon or prize draw event; None for other kinds."""
    match payload:
        case SurveyAnswerPayload():
            return SurveyAnswered(
                origin=origin,
                member_id=member_id,
                session=payload.session,
                survey=payload.survey,
                question=payload.question,
                kind=payload.kind,
                score=payload.score,
                choices=None if payload.choices is None else tuple(payload.choices),
                text=payload.text,
                low=payload.low,
            )
        case SurveyCompletedPayload():
            reward = None
            if payload.reward_code is not None:
                reward = _code("reward_code", payload.reward_code).text
            return SurveyCompleted(
                origin, member_id, payload.session, payload.survey, payload.answers, reward
            )
        case CouponIssuedPayload():
            code = _code("code", payload.code)
            for field, sent, own in (
                ("campaign_no", payload.campaign_no, code.campaign_no),
                ("serial", payload.serial, code.serial),
                ("expires_on", payload.expires_on, code.expires_on),
            ):
                if sent != own:
                    raise _Unfit(f"payload.{field}: is not the code's own")
            return CouponIssued(
                origin=origin,
                member_id=member_id,
                session=payload.session,
                code=code.text,
                campaign=payload.campaign,
                campaign_no=code.campaign_no,
                kiosk_no=code.kiosk_no,
                serial=code.serial,
                expires_on=code.expires_on,
                reason=payload.reason,
                offer=payload.offer,
            )
        case CouponRedeemedPayload():
            code = _code("code", payload.code)
            return CouponRedemptionReported(
                origin,
                code.text,
                code.campaign_no,
                code.kiosk_no,
                code.serial,
                payload.redeemed_at,
                payload.by,
            )
        case PrizeDrawPayload():
            won = None if payload.code is None else _code("code", payload.code).text
            return PrizeDrawn(origin, member_id, payload.session, payload.draw, payload.prize, won)
    return None


# ---------------------------------------------------------------- step 2: store


@dataclass(slots=True)
class Result:
    event_id: str
    seq: int
    status: EventStatus
    reason: str | None


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    results: tuple[Result, ...]
    contiguous_seq: int
    # A member withdrew recognition (or marketing): their feed entries were overwritten
    # with tombstones (or without their segment), which is for `hq.crm.residue` to
    # clear up after.
    recognition_withdrawn: bool = False


class KioskGone(Exception):
    """The kiosk's row vanished between authentication and storing (it cannot, today)."""


# Made once: building a statement costs more than running it from SQLAlchemy's
# compiled cache, and every batch runs these two.
_POSITION: Final = (
    select(kiosks.c.contiguous_seq, kiosks.c.highest_seq, kiosks.c.kiosk_no)
    .where(kiosks.c.kiosk_id == bindparam("kiosk"))
    .with_for_update()
)
_MOVE_ON: Final = (
    update(kiosks)
    .where(kiosks.c.kiosk_id == bindparam("kiosk"))
    .values(
        contiguous_seq=bindparam("contiguous_seq"),
        highest_seq=bindparam("highest_seq"),
        last_seen_at=bindparam("last_seen_at"),
    )
)


class _CopyRefused(Exception):
    """COPY met an event id stored already, and failed the transaction with it."""


def store(
    database: Database, kiosk: KioskIdentity, plan: Plan, *, received_at: datetime
) -> BatchOutcome:
    """Store the plan's events in one transaction; the answer for each, in request order."""
    try:
        return _store(database, kiosk, plan, received_at, copy=not database.is_sqlite)
    except _CopyRefused:
        # Rare (a kiosk that sent an event again under a new seq, or another kiosk's
        # id): the batch again from the start, the INSERT's way, which skips such rows.
        # Cheaper than a savepoint around every COPY: two round trips per batch.
        _log.debug("kiosk %s: an event id of the batch is stored already", kiosk.kiosk_id)
        return _store(database, kiosk, plan, received_at, copy=False)


def _store(
    database: Database, kiosk: KioskIdentity, plan: Plan, received_at: datetime, *, copy: bool
) -> BatchOutcome:
    verdicts = plan.verdicts
    candidates, rejected = _split(verdicts)
    lowest = min(map(_SEQ, candidates), default=0)
    with database.write() as connection:
        # The row lock orders two batches of one kiosk (PostgreSQL; SQLite has one writer).
        position = connection.execute(_POSITION, {"kiosk": kiosk.kiosk_id}).one_or_none()
        if position is None:
            raise KioskGone(kiosk.kiosk_id)
        contiguous_seq, highest_seq = int(position[0]), int(position[1])
        kiosk_no: int | None = position[2]

        retried: list[str] = []  # events rejected before that pass now
        if candidates and lowest <= highest_seq:
            candidates, seq_taken, retried = _against_rejections(connection, kiosk, candidates)
            rejected.extend(seq_taken)
            lowest = min(map(_SEQ, candidates), default=0)

        # Coupons, staff reports and members are all in facts: a batch of anonymous
        # lifts (the usual one) needs none of these passes.
        factual = list(map(_FACT, candidates)).count(None) < len(candidates)
        if factual:
            candidates = _facts_checked(
                database, connection, kiosk, kiosk_no, candidates, rejected=rejected
            )
            lowest = min(map(_SEQ, candidates), default=0)
        # Seqs beyond the kiosk's highest are held by no event of its (its row is
        # locked): only an event id stored before can conflict.
        unseen = bool(candidates) and lowest > highest_seq
        accepted = _insert_events(
            database, connection, kiosk, candidates, received_at, copy=copy and unseen
        )
        conflicts = (
            coupons.conflicts(
                connection,
                [
                    c.fact
                    for c in candidates
                    if isinstance(c.fact, CouponRedemptionReported) and c.event_id in accepted
                ],
            )
            if factual
            else {}
        )
        duplicates: list[Candidate] = []
        if len(accepted) < len(candidates):
            missing = [c for c in candidates if c.event_id not in accepted]
            duplicates, seq_taken = _classify_missing(connection, kiosk, missing)
            rejected.extend(seq_taken)
        # Every event new and accepted (the usual batch): answered in request order.
        usual = len(candidates) == len(verdicts) == len(accepted) and not conflicts
        final = {} if usual else _final(candidates, accepted, conflicts, duplicates, rejected)
        if rejected:
            _record_rejections(database, connection, kiosk, rejected, received_at)
        if retried and (now_accepted := [e for e in retried if e in accepted]):
            connection.execute(
                delete(rejections).where(
                    rejections.c.kiosk_id == kiosk.kiosk_id,
                    rejections.c.event_id.in_(now_accepted),
                )
            )
        facts = (
            [c.fact for c in candidates if c.fact is not None and c.event_id in accepted]
            if factual
            else []
        )
        withdrawn = any(
            isinstance(fact, ConsentDecision)
            # Marketing too: the feed entry that held the tier, tags and birth month
            # is overwritten without them.
            and fact.purpose in (recognition.RECOGNITION, recognition.MARKETING)
            and not fact.given
            for fact in facts
        )
        if facts:
            project(database, connection, facts, received_at=received_at)
            # Last: it locks the feed's version counter until commit (hq.crm.recognition).
            recognition.refresh(
                database, connection, recognition.members_touched(facts), now=received_at
            )

        seqs = set(map(_SEQ, verdicts))
        highest_seq = max(highest_seq, *seqs)
        contiguous_seq = _advance(connection, kiosk, contiguous_seq, highest_seq, seqs)
        connection.execute(
            _MOVE_ON,
            {
                "kiosk": kiosk.kiosk_id,
                "contiguous_seq": contiguous_seq,
                "highest_seq": highest_seq,
                "last_seen_at": received_at,
            },
        )

    results = (
        tuple(map(Result, map(_EVENT_ID, candidates), map(_SEQ, candidates), _ACCEPTED, _NONE))
        if usual
        else tuple(_answer(verdict, final) for verdict in verdicts)
    )
    _log_outcome(kiosk, results, contiguous_seq)
    return BatchOutcome(results, contiguous_seq, recognition_withdrawn=withdrawn)


def _split(verdicts: Sequence[Verdict]) -> tuple[list[Candidate], list[Rejected]]:
    """The candidates and the rejected, in request order (repeats are neither)."""
    if list(map(type, verdicts)).count(Candidate) == len(verdicts):  # the usual batch
        return cast(list[Candidate], list(verdicts)), []
    candidates: list[Candidate] = []
    rejected: list[Rejected] = []
    for verdict in verdicts:
        if isinstance(verdict, Candidate):
            candidates.append(verdict)
        elif isinstance(verdict, Rejected):
            rejected.append(verdict)
    return candidates, rejected


def _facts_checked(
    database: Database,
    connection: Connection,
    kiosk: KioskIdentity,
    kiosk_no: int | None,
    candidates: list[Candidate],
    *,
    rejected: list[Rejected],
) -> list[Candidate]:
    """The candidates left once coupons and staff reports are checked (those refused
    go to `rejected`), erased members' scrubbed."""
    candidates, forged = _coupons_checked(database, connection, kiosk, kiosk_no, candidates)
    rejected.extend(forged)
    candidates, elsewhere = _staff_reports_checked(connection, kiosk, candidates)
    rejected.extend(elsewhere)
    return _erased_scrubbed(connection, candidates)


def _coupons_checked(
    database: Database,
    connection: Connection,
    kiosk: KioskIdentity,
    kiosk_no: int | None,
    candidates: list[Candidate],
) -> tuple[list[Candidate], list[Rejected]]:
    """Split off coupon events whose codes do not verify (see `coupons.refused_reports`)."""
    reports: dict[str, CouponFact] = {
        candidate.event_id: candidate.fact
        for candidate in candidates
        if isinstance(candidate.fact, CouponIssued | CouponRedemptionReported | OfferTextRequested)
    }
    refused = coupons.refused_reports(database, connection, kiosk.store_id, kiosk_no, reports)
    if not refused:
        return candidates, []
    return (
        [c for c in candidates if c.event_id not in refused],
        [
            Rejected(c.index, c.event_id, c.seq, c.kind, c.schema_version, refused[c.event_id])
            for c in candidates
            if c.event_id in refused
        ],
    )


def _staff_reports_checked(
    connection: Connection, sender: KioskIdentity, candidates: list[Candidate]
) -> tuple[list[Candidate], list[Rejected]]:
    """Split off attendants' reports that name a kiosk not of the sender's store."""
    named = {
        candidate.fact.kiosk_id
        for candidate in candidates
        if isinstance(candidate.fact, AlertAcked | PlanogramEdited)
    }
    if not named:
        return candidates, []
    ours = kiosks_of_store(connection, sender.store_id, named)
    keep: list[Candidate] = []
    refused: list[Rejected] = []
    for c in candidates:
        if isinstance(c.fact, AlertAcked | PlanogramEdited) and c.fact.kiosk_id not in ours:
            refused.append(
                Rejected(
                    c.index,
                    c.event_id,
                    c.seq,
                    c.kind,
                    c.schema_version,
                    "payload.kiosk: not a kiosk of this device's store",
                )
            )
        else:
            keep.append(c)
    return keep, refused


def _erased_scrubbed(connection: Connection, candidates: list[Candidate]) -> list[Candidate]:
    """Candidates about erased members: stored without the person, projected only where
    what is left means something (a coupon stays a coupon, an answer an answer)."""
    members = {
        member
        for candidate in candidates
        if (member := getattr(candidate.fact, "member_id", None)) is not None
    }
    erased = erasure.erased_among(connection, members)
    if not erased:
        return candidates
    return [
        replace(
            candidate,
            scrubbed=erasure.scrubbed(candidate.kind, candidate.payload),
            fact=erasure.without_member(candidate.fact),
        )
        if getattr(candidate.fact, "member_id", None) in erased
        else candidate
        for candidate in candidates
    ]


def _against_rejections(
    connection: Connection, kiosk: KioskIdentity, candidates: list[Candidate]
) -> tuple[list[Candidate], list[Rejected], list[str]]:
    """Split off candidates whose seq an earlier rejected event holds.

    A rejected event's seq counts as seen, so another event may not use it. The
    same event sent again (after an HQ upgrade made it acceptable) may.
    """
    seqs = [c.seq for c in candidates]
    held = {
        (int(seq), event_id)
        for seq, event_id in connection.execute(
            select(rejections.c.seq, rejections.c.event_id).where(
                rejections.c.kiosk_id == kiosk.kiosk_id,
                rejections.c.seq >= min(seqs),
                rejections.c.seq <= max(seqs),
            )
        )
    }
    if not held:
        return candidates, [], []
    held_seqs = {seq for seq, _ in held}
    keep: list[Candidate] = []
    taken: list[Rejected] = []
    retried: list[str] = []
    for candidate in candidates:
        if candidate.seq not in held_seqs:
            keep.append(candidate)
        elif (candidate.seq, candidate.event_id) in held:
            keep.append(candidate)
            retried.append(candidate.event_id)
        else:
            taken.append(_seq_taken(candidate))
    return keep, taken, retried


def _insert_events(
    database: Database,
    connection: Connection,
    kiosk: KioskIdentity,
    candidates: Sequence[Candidate],
    received_at: datetime,
    *,
    copy: bool,
) -> set[str]:
    """Insert in one statement; the event ids that were new.

    On PostgreSQL, a batch of seqs new to the kiosk (the usual one) is COPYed:
    several times faster than INSERT ... ON CONFLICT, which checks each row's place
    in each unique index before inserting it. COPY has no ON CONFLICT: an event id
    stored before fails it, and the transaction with it (`_CopyRefused`, `store`).
    """
    if not candidates:
        return set()
    if copy:
        try:
            database.copy_columns(
                connection,
                events,
                {
                    # Column by column, each in one map() (in C).
                    "event_id": list(map(_EVENT_ID, candidates)),
                    "seq": list(map(_SEQ, candidates)),
                    "kind": list(map(_KIND, candidates)),
                    "schema_version": list(map(_SCHEMA_VERSION, candidates)),
                    "occurred_at": list(map(_OCCURRED_AT, candidates)),
                    "payload": list(map(Candidate.payload_json, candidates)),
                },
                same={
                    "kiosk_id": kiosk.kiosk_id,
                    "store_id": kiosk.store_id,
                    "received_at": received_at,
                },
                json_text=("payload",),
            )
        except CopyConflict:
            raise _CopyRefused from None
        return set(map(_EVENT_ID, candidates))
    rows = [
        {
            "event_id": candidate.event_id,
            "kiosk_id": kiosk.kiosk_id,
            "store_id": kiosk.store_id,
            "seq": candidate.seq,
            "kind": candidate.kind,
            "schema_version": candidate.schema_version,
            "occurred_at": candidate.occurred_at,
            "received_at": received_at,
            "payload": candidate.payload,
        }
        for candidate in candidates
    ]
    inserted = database.insert_rows(
        connection,
        events,
        rows,
        on_conflict=lambda insert: insert.on_conflict_do_nothing(),
        returning=[events.c.event_id],
    )
    return {row.event_id for row in inserted}


def _classify_missing(
    connection: Connection, kiosk: KioskIdentity, missing: Sequence[Candidate]
) -> tuple[list[Candidate], list[Rejected]]:
    """Candidates the insert skipped: duplicates, or events whose seq is taken."""
    stored = {
        event_id: (kiosk_id, int(seq))
        for event_id, kiosk_id, seq in connection.execute(
            select(events.c.event_id, events.c.kiosk_id, events.c.seq).where(
                events.c.event_id.in_([c.event_id for c in missing])
            )
        )
    }
    duplicates: list[Candidate] = []
    taken: list[Rejected] = []
    for candidate in missing:
        found = stored.get(candidate.event_id)
        if found == (kiosk.kiosk_id, candidate.seq):
            duplicates.append(candidate)
        elif found is not None:
            taken.append(
                Rejected(
                    candidate.index,
                    candidate.event_id,
                    candidate.seq,
                    candidate.kind,
                    candidate.schema_version,
                    "event_id: already stored for another event",
                )
            )
        else:
            taken.append(_seq_taken(candidate))
    return duplicates, taken


def _seq_taken(candidate: Candidate) -> Rejected:
    return Rejected(
        candidate.index,
        candidate.event_id,
        candidate.seq,
        candidate.kind,
        candidate.schema_version,
        "seq: already used by another event",
    )


def _record_rejections(
    database: Database,
    connection: Connection,
    kiosk: KioskIdentity,
    rejected: Sequence[Rejected],
    received_at: datetime,
) -> None:
    database.insert_rows(
        connection,
        rejections,
        [
            {
                "kiosk_id": kiosk.kiosk_id,
                "store_id": kiosk.store_id,
                "event_id": rejection.event_id,
                "seq": rejection.seq,
                "kind": rejection.kind,
                "schema_version": rejection.schema_version,
                "reason": rejection.reason,
                "rejected_at": received_at,
            }
            for rejection in rejected
        ],
        on_conflict=lambda insert: insert.on_conflict_do_nothing(),
    )


def _advance(
    connection: Connection, kiosk: KioskIdentity, contiguous: int, highest: int, held: set[int]
) -> int:
    """Move contiguous_seq over every seq HQ now holds, stored or rejected."""
    top = max(held, default=contiguous)
    if min(held, default=contiguous) == contiguous + 1 and len(held) == top - contiguous:
        contiguous = top  # held is exactly the seqs after it (the usual batch): no loop
    while True:
        while contiguous + 1 in held:
            contiguous += 1
        if contiguous >= highest:
            return contiguous
        # The next seq may have come in an earlier batch, out of order.
        after, upto = contiguous, contiguous + _SEQ_WINDOW
        if not connection.execute(
            select(
                exists().where(events.c.kiosk_id == kiosk.kiosk_id, events.c.seq == after + 1)
                | exists().where(
                    rejections.c.kiosk_id == kiosk.kiosk_id, rejections.c.seq == after + 1
                )
            )
        ).scalar_one():
            return contiguous
        held = set(
            connection.execute(
                union_all(
                    select(events.c.seq).where(
                        events.c.kiosk_id == kiosk.kiosk_id,
                        events.c.seq > after,
                        events.c.seq <= upto,
                    ),
                    select(rejections.c.seq).where(
                        rejections.c.kiosk_id == kiosk.kiosk_id,
                        rejections.c.seq > after,
                        rejections.c.seq <= upto,
                    ),
                )
            ).scalars()
        )


def _final(
    candidates: Sequence[Candidate],
    accepted: set[str],
    conflicts: dict[str, str],
    duplicates: Sequence[Candidate],
    rejected: Sequence[Rejected],
) -> dict[int, Result]:
    """The answer for each event but repeats, by its index in the batch."""
    final: dict[int, Result] = {}
    for candidate in duplicates:
        final[candidate.index] = Result(candidate.event_id, candidate.seq, "duplicate", None)
    for candidate in candidates:
        if candidate.event_id in accepted:
            final[candidate.index] = Result(
                candidate.event_id,
                candidate.seq,
                "accepted",
                conflicts.get(candidate.event_id) if conflicts else None,
            )
    for rejection in rejected:
        final[rejection.index] = Result(
            rejection.event_id, rejection.seq, "rejected", rejection.reason
        )
    return final


def _answer(verdict: Verdict, final: dict[int, Result]) -> Result:
    if isinstance(verdict, Repeat):
        first = final[verdict.first]
        if first.status == "rejected":
            return Result(verdict.event_id, verdict.seq, "rejected", first.reason)
        return Result(verdict.event_id, verdict.seq, "duplicate", None)
    return final[verdict.index]


def _log_outcome(kiosk: KioskIdentity, results: Sequence[Result], contiguous_seq: int) -> None:
    statuses = list(map(_STATUS, results))  # counted in C
    rejected = statuses.count("rejected")
    _log.debug(
        "kiosk %s: %d accepted, %d duplicate, %d rejected; contiguous_seq %d",
        kiosk.kiosk_id,
        statuses.count("accepted"),
        statuses.count("duplicate"),
        rejected,
        contiguous_seq,
    )
    if rejected:
        first_rejection = results[statuses.index("rejected")]
        # Reasons name fields and rules only, so they may be logged.
        _log.info(
            "kiosk %s: %d events rejected, first seq %d: %s",
            kiosk.kiosk_id,
            rejected,
            first_rejection.seq,
            first_rejection.reason,
        )


def record_refusal(
    database: Database, kiosk: KioskIdentity, refusal: Refusal, *, refused_at: datetime
) -> None:
    """Keep a row for a refused batch (its own transaction: nothing else is stored)."""
    with database.write() as connection:
        connection.execute(
            access_denials.insert().values(
                kiosk_id=kiosk.kiosk_id,
                store_id=kiosk.store_id,
                events_refused=refusal.events_refused,
                detail=refusal.detail,
                denied_at=refused_at,
            )
        )
    _log.warning("kiosk %s: batch refused: %s", kiosk.kiosk_id, refusal.detail)
