"""Writing accepted events' facts into the CRM tables, in the ingest transaction.

One statement per table per batch, whatever the batch holds. Sign-ups merge
into one customer per E.164 number: the first sign-up HQ receives creates the
customer, later ones add their member id and fill in a missing email, name or
language, never overwrite one. Kiosks' tag bindings go to `tag_bindings`, the
newest binding of a tag winning (`recognition.project_bindings`). Survey answers,
completions and prize draws go to their tables as they are; issued and redeemed
coupons through `coupons` (which counts redemptions and flags doubles), offers
shown and printed through `offers`; attendant
devices' alert acknowledgements and planogram edits through `hq.store_actions`;
members' requests for a code by text message to the SMS queue (`hq.sms.queue`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, select

from hq import plays
from hq.crm import coupons, offers
from hq.crm.facts import (
    AlarmRaised,
    AlertAcked,
    ConsentDecision,
    CouponIssued,
    CouponRedemptionReported,
    Fact,
    Interaction,
    OfferFact,
    OfferPrinted,
    OfferShown,
    OfferTextRequested,
    Origin,
    PlanogramEdited,
    PlaysCounted,
    PrizeDrawn,
    Signup,
    SurveyAnswered,
    SurveyCompleted,
    TagBound,
)
from hq.crm.recognition import project_bindings
from hq.db import (
    AnyInsert,
    Database,
    alarms,
    consents,
    customers,
    interactions,
    member_ids,
    prize_draws,
    survey_answers,
    survey_completions,
)
from hq.sms.queue import project_requests as queue_texts
from hq.store_actions import project_staff


@dataclass(frozen=True, slots=True)
class Projected:
    """How many rows a batch added, for the ingest log."""

    customers_touched: int = 0
    member_ids: int = 0
    consents: int = 0
    interactions: int = 0
    alarms: int = 0
    tags_bound: int = 0
    survey_answers: int = 0
    coupons_issued: int = 0
    redemptions_reported: int = 0
    double_redemptions: int = 0


def project(  # noqa: PLR0912, PLR0915 (one branch per table)
    database: Database,
    connection: Connection,
    facts: Sequence[Fact],
    *,
    received_at: datetime | None = None,
) -> Projected:
    """Write the facts' rows; `received_at` (default: now) is when HQ received them."""
    received_at = received_at or datetime.now(UTC)
    signups: list[Signup] = []
    decisions: list[ConsentDecision] = []
    moves: list[Interaction] = []
    raised: list[AlarmRaised] = []
    bound: list[TagBound] = []
    answers: list[SurveyAnswered] = []
    completed: list[SurveyCompleted] = []
    issued: list[CouponIssued] = []
    reported: list[CouponRedemptionReported] = []
    draws: list[PrizeDrawn] = []
    acks: list[AlertAcked] = []
    edits: list[PlanogramEdited] = []
    played: list[PlaysCounted] = []
    offered: list[OfferFact] = []
    texts: list[OfferTextRequested] = []
    for fact in facts:
        match fact:
            case Signup():
                signups.append(fact)
            case ConsentDecision():
                decisions.append(fact)
            case Interaction():
                moves.append(fact)
            case AlarmRaised():
                raised.append(fact)
            case TagBound():
                bound.append(fact)
            case SurveyAnswered():
                answers.append(fact)
            case SurveyCompleted():
                completed.append(fact)
            case CouponIssued():
                issued.append(fact)
            case CouponRedemptionReported():
                reported.append(fact)
            case PrizeDrawn():
                draws.append(fact)
            case AlertAcked():
                acks.append(fact)
            case PlanogramEdited():
                edits.append(fact)
            case PlaysCounted():
                played.append(fact)
            case OfferShown() | OfferPrinted():
                offered.append(fact)
            case OfferTextRequested():
                texts.append(fact)
    projected = Projected()
    if signups:
        projected = _project_signups(database, connection, signups)
    if decisions:
        database.insert_rows(connection, consents, [_consent_row(fact) for fact in decisions])
        projected = replace(projected, consents=len(decisions))
    if moves:
        # The busiest projection (members' lifts, drops and taps), and one row per new
        # event: COPYed on PostgreSQL.
        database.append_rows(connection, interactions, [_interaction_row(fact) for fact in moves])
        projected = replace(projected, interactions=len(moves))
    if raised:
        database.insert_rows(connection, alarms, [_alarm_row(fact) for fact in raised])
        projected = replace(projected, alarms=len(raised))
    if bound:
        project_bindings(database, connection, bound)
        projected = replace(projected, tags_bound=len(bound))
    if answers:
        database.insert_rows(connection, survey_answers, [_answer_row(fact) for fact in answers])
        projected = replace(projected, survey_answers=len(answers))
    if completed:
        database.insert_rows(
            connection, survey_completions, [_completion_row(fact) for fact in completed]
        )
    if draws:
        database.insert_rows(connection, prize_draws, [_draw_row(fact) for fact in draws])
    if issued:
        coupons.project_issued(database, connection, issued, received_at=received_at)
        projected = replace(projected, coupons_issued=len(issued))
    if acks or edits:
        project_staff(database, connection, acks, edits)
    if played:
        plays.project(database, connection, played)
    if offered:
        offers.project(database, connection, offered)
    if texts:  # the sender (hq.sms) texts them after commit
        queue_texts(database, connection, texts, received_at=received_at)
    if reported:
        doubled = coupons.project_reported(database, connection, reported, received_at=received_at)
        projected = replace(
            projected, redemptions_reported=len(reported), double_redemptions=len(doubled)
        )
    return projected


def _project_signups(
    database: Database, connection: Connection, signups: Sequence[Signup]
) -> Projected:
    # One row per number: PostgreSQL refuses an upsert that touches a row twice.
    firsts: dict[str, Signup] = {}
    for signup in signups:
        first = firsts.get(signup.phone_e164)
        if first is None:
            firsts[signup.phone_e164] = signup
        else:
            firsts[signup.phone_e164] = replace(
                first,
                email=first.email or signup.email,
                name=first.name or signup.name,
            )
    rows = [
        {
            "customer_id": str(uuid.uuid4()),
            "phone_e164": signup.phone_e164,
            "email": signup.email,
            "name": signup.name,
            "language": signup.language,
            "created_at": signup.origin.occurred_at,
            "first_store_id": signup.origin.store_id,
        }
        # In number order: two batches upserting the same numbers lock them in the
        # same order, so PostgreSQL never has to break a deadlock between them.
        for signup in sorted(firsts.values(), key=lambda signup: signup.phone_e164)
    ]

    def fill_gaps(insert: AnyInsert) -> AnyInsert:
        return insert.on_conflict_do_update(
            index_elements=[customers.c.phone_e164],
            set_={
                "email": func.coalesce(customers.c.email, insert.excluded.email),
                "name": func.coalesce(customers.c.name, insert.excluded.name),
                "language": func.coalesce(customers.c.language, insert.excluded.language),
            },
        )

    returned = database.insert_rows(
        connection,
        customers,
        rows,
        on_conflict=fill_gaps,
        returning=[customers.c.phone_e164, customers.c.customer_id, customers.c.merged_into],
    )
    # A number whose record was merged into another (hq.crm.merges) signs up there.
    survivors = _survivors(connection, {row.merged_into for row in returned if row.merged_into})
    customer_of = {
        row.phone_e164: survivors.get(row.merged_into, row.merged_into) or row.customer_id
        for row in returned
    }
    # A member id names one sign-up; if a kiosk ever sent one twice, the first link stays.
    database.insert_rows(
        connection,
        member_ids,
        [
            {
                "member_id": signup.member_id,
                "customer_id": customer_of[signup.phone_e164],
                "store_id": signup.origin.store_id,
                "kiosk_id": signup.origin.kiosk_id,
                "signed_up_at": signup.origin.occurred_at,
                "greet_by_name": signup.greet_by_name,
            }
            for signup in signups
        ],
        on_conflict=lambda insert: insert.on_conflict_do_nothing(),
    )
    return Projected(customers_touched=len(rows), member_ids=len(signups))


def _survivors(connection: Connection, merged_into: set[str]) -> dict[str, str]:
    """For each record in `merged_into` that was itself merged since, the live one."""
    found: dict[str, str] = {}
    frontier = {customer: customer for customer in merged_into}  # asked -> reached so far
    while frontier:
        onward = dict(
            connection.execute(
                select(customers.c.customer_id, customers.c.merged_into).where(
                    customers.c.customer_id.in_(sorted(set(frontier.values()))),
                    customers.c.merged_into.is_not(None),
                )
            ).all()
        )
        frontier = {
            asked: onward[reached] for asked, reached in frontier.items() if reached in onward
        }
        found.update(frontier)
    return found


def _consent_row(fact: ConsentDecision) -> dict[str, Any]:
    origin = fact.origin
    return {
        "event_id": origin.event_id,
        "member_id": fact.member_id,
        "purpose": fact.purpose,
        "channel": fact.channel,
        "notice_version": fact.notice_version,
        "notice_sha256": fact.notice_sha256,
        "given": fact.given,
        "store_id": origin.store_id,
        "kiosk_id": origin.kiosk_id,
        "occurred_at": origin.occurred_at,
    }


def _interaction_row(fact: Interaction) -> dict[str, Any]:
    origin = fact.origin
    return {
        "event_id": origin.event_id,
        "member_id": fact.member_id,
        "kind": fact.kind,
        "store_id": origin.store_id,
        "kiosk_id": origin.kiosk_id,
        "occurred_at": origin.occurred_at,
        "session": fact.session,
        "sku": fact.sku,
        "slot": fact.slot,
        "details": dict(fact.details),
    }


def _alarm_row(fact: AlarmRaised) -> dict[str, Any]:
    origin = fact.origin
    return {
        "event_id": origin.event_id,
        "store_id": origin.store_id,
        "kiosk_id": origin.kiosk_id,
        "slot": fact.slot,
        "sku": fact.sku,
        "reason": fact.reason,
        "occurred_at": origin.occurred_at,
    }


def _report_row(origin: Origin, member_id: str | None, session: str) -> dict[str, Any]:
    return {
        "event_id": origin.event_id,
        "member_id": member_id,
        "store_id": origin.store_id,
        "kiosk_id": origin.kiosk_id,
        "occurred_at": origin.occurred_at,
        "session": session,
    }


def _answer_row(fact: SurveyAnswered) -> dict[str, Any]:
    return {
        **_report_row(fact.origin, fact.member_id, fact.session),
        "survey": fact.survey,
        "question": fact.question,
        "kind": fact.kind,
        "score": fact.score,
        "choices": None if fact.choices is None else list(fact.choices),
        "text": fact.text,
        "low": fact.low,
    }


def _completion_row(fact: SurveyCompleted) -> dict[str, Any]:
    return {
        **_report_row(fact.origin, fact.member_id, fact.session),
        "survey": fact.survey,
        "answers": fact.answers,
        "reward_code": fact.reward_code,
    }


def _draw_row(fact: PrizeDrawn) -> dict[str, Any]:
    return {
        **_report_row(fact.origin, fact.member_id, fact.session),
        "draw": fact.draw,
        "prize": fact.prize,
        "code": fact.code,
    }
