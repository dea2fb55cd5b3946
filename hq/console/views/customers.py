"""Customer records: search, a customer's page, likely duplicates, merging and undoing.

    GET  /console/customers[.json][?q=TEXT]          search: phone (any form), e-mail,
                                                     customer or member id, part of a name
    GET  /console/customers/{id}[.json]              identity (masked), consents, timeline,
                                                     fobs, household, merges
    POST /console/customers/{id}/address[.json]      `address` (blank clears it)
    GET  /console/customers/duplicates[.json]        likely duplicate pairs with reasons
    GET  /console/customers/merge[.json]?keep=A&other=B    what merging would do
    POST /console/customers/merge[.json]             `keep`, `other`, `reasons`: merge
    GET  /console/customers/merges[.json]            the merge history and dismissed pairs
    POST /console/customers/merges/{n}/undo[.json]   undo merge n
    POST /console/customers/dismiss[.json]           `first`, `second`: not the same person
    POST /console/customers/dismissals/undo[.json]   `first`, `second`: take that back

Chain admins only (permissions.py: customers are chain-wide). Phone numbers and
e-mails are masked on every page and in the JSON twins (+86 138****5678): staff
recognise a record by its name and the masked digits, and nobody copies a list
of numbers off a screen; the admin API still answers whole records to scripts.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import Row, func, select
from starlette.routing import BaseRoute

from hq.console.permissions import Action
from hq.console.views.base import Ask, BadRequest, Console, NotFound, Page, Redirect, routes
from hq.console.views.shared import actor_names, flash, take_flash
from hq.crm import dedupe, dismissals, merges, queries, records
from hq.db import customers, member_ids
from hq.errors import HqError

TIMELINE_LENGTH: Final = 50
HISTORY_LENGTH: Final = 200
SECTION: Final = "customers"


def search_page(console: Console, ask: Ask) -> Page:
    ask.require(Action.CUSTOMERS)
    text = ask.field("q").strip()
    with console.database.read() as connection:
        found = records.search(connection, text) if text else []
        members = _member_counts(connection, [row.customer_id for row in found])
    return Page(
        "customers.html",
        {"q": text, "customers": [summary(row, members.get(row.customer_id, 0)) for row in found]},
        title="Customers",
        section=SECTION,
    )


def customer_page(console: Console, ask: Ask) -> Page:
    ask.require(Action.CUSTOMERS)
    customer_id = str(ask.params["customer_id"])
    found = queries.timeline(console.database, customer_id, limit=TIMELINE_LENGTH)
    if found is None:
        raise NotFound("There is no such customer.")
    with console.database.read() as connection:
        row = _row(connection, customer_id)
        household = records.household_of(connection, customer_id)
        tags = records.tag_count(connection, customer_id)
        history = merges.history(console.database, customer_id=customer_id, limit=20)
        names = actor_names(connection, {m.merged_by for m in history})
    timeline = queries.timeline_json(found)
    return Page(
        "customer.html",
        {
            "customer": {
                **summary(row, len(found.customer.member_ids)),
                "language": row.language,
                "tier": row.tier,
                "stores": sorted({m.store_id for m in found.customer.member_ids}),
                "tags": tags,
            },
            "consents": timeline["consents"],
            "timeline": [
                {k: v for k, v in entry.items() if k != "member_id"}
                for entry in timeline["interactions"]
            ],
            "household": None
            if household is None
            else {
                "household_id": household.household_id,
                "members": [
                    {
                        "customer_id": member.customer_id,
                        "name": member.name,
                        "phone": dedupe.mask_phone(member.phone),
                        "same_address": member.same_address,
                        "same_phone": member.same_phone,
                    }
                    for member in household.members
                ],
            },
            "merges": [
                {**m.as_json(), "merged_by_name": names.get(m.merged_by, m.merged_by)}
                for m in history
            ],
            "flash": take_flash(ask),
        },
        title=row.name or "Customer",
        section=SECTION,
    )


def address_form(console: Console, ask: Ask) -> Redirect:
    actor = ask.require(Action.CUSTOMERS)
    customer_id = str(ask.params["customer_id"])
    try:
        kept = records.set_address(
            console.database, customer_id, ask.field("address"), by=actor.actor, now=ask.now
        )
    except merges.UnknownCustomer:
        raise NotFound("There is no such customer.") from None
    except records.BadAddress as problem:
        raise BadRequest(str(problem)) from None
    flash(ask, "good", "Address saved." if kept else "Address cleared.")
    return Redirect(f"{ask.base}/customers/{customer_id}", {"address": kept})


def duplicates_page(console: Console, ask: Ask) -> Page:
    ask.require(Action.CUSTOMERS)
    pairs = merges.duplicates(console.database)
    wanted = sorted({c for pair in pairs for c in (pair.first, pair.second)})
    with console.database.read() as connection:
        rows = {
            row.customer_id: row
            for row in connection.execute(
                select(customers).where(customers.c.customer_id.in_(wanted))
            )
        }
        members = _member_counts(connection, wanted)
    return Page(
        "duplicates.html",
        {
            "pairs": [
                {
                    **pair.as_json(),
                    "labels": [dedupe.REASON_LABELS[r] for r in pair.reasons],
                    "keep": summary(rows[pair.first], members.get(pair.first, 0)),
                    "other": summary(rows[pair.second], members.get(pair.second, 0)),
                }
                for pair in pairs
                if pair.first in rows and pair.second in rows
            ],
            "flash": take_flash(ask),
        },
        title="Likely duplicates",
        section=SECTION,
    )


def merge_page(console: Console, ask: Ask) -> Page | Redirect:
    actor = ask.require(Action.CUSTOMERS)
    keep, other = ask.field("keep").strip(), ask.field("other").strip()
    if not keep or not other:
        raise BadRequest("Choose the record to keep and the one to merge into it.")
    reasons = [r for r in ask.field("reasons").split(",") if r in dedupe.WEIGHTS]
    if ask.request.method == "POST":
        try:
            done = merges.merge(
                console.database, keep, other, by=actor.actor, now=ask.now, reasons=reasons
            )
        except merges.UnknownCustomer:
            raise NotFound("There is no such customer.") from None
        except HqError as problem:
            raise BadRequest(str(problem)) from None
        flash(
            ask,
            "good",
            f"Merged (merge {done.merge_id}): {done.member_ids_moved} sign-up(s) moved, "
            f"{done.consents_added} consent(s) withdrawn by the stricter rule.",
        )
        return Redirect(f"{ask.base}/customers/merges", done.as_json())
    try:
        plan = merges.preview(console.database, keep, other)
    except merges.UnknownCustomer:
        raise NotFound("There is no such customer.") from None
    with console.database.read() as connection:
        rows = {key: _row(connection, key) for key in (keep, other)}
        members = _member_counts(connection, [keep, other])
    return Page(
        "merge.html",
        {
            "keep": summary(rows[keep], members.get(keep, 0)),
            "other": summary(rows[other], members.get(other, 0)),
            "reasons": reasons,
            "labels": [dedupe.REASON_LABELS[r] for r in reasons],
            "member_ids_moved": plan.member_ids_moved,
            "withdrawals": [
                {"purpose": purpose, "channel": channel} for purpose, channel in plan.withdrawals
            ],
            "filled": list(plan.filled),
            "refused": plan.refused,
        },
        title="Merge two records",
        section=SECTION,
    )


def merges_page(console: Console, ask: Ask) -> Page:
    ask.require(Action.CUSTOMERS)
    history = merges.history(console.database, limit=HISTORY_LENGTH)
    dismissed = dismissals.listing(console.database, limit=HISTORY_LENGTH)
    ids = sorted(
        {c for m in history for c in (m.survivor_id, m.merged_id)}
        | {c for d in dismissed for c in (d.first, d.second)}
    )
    with console.database.read() as connection:
        names = dict(
            connection.execute(
                select(customers.c.customer_id, customers.c.name).where(
                    customers.c.customer_id.in_(ids)
                )
            ).all()
        )
        who = actor_names(
            connection,
            {m.merged_by for m in history}
            | {m.undone_by for m in history if m.undone_by}
            | {d.dismissed_by for d in dismissed},
        )
    return Page(
        "merges.html",
        {
            "merges": [
                {
                    **m.as_json(),
                    "survivor_name": names.get(m.survivor_id),
                    "merged_name": names.get(m.merged_id),
                    "merged_by_name": who.get(m.merged_by, m.merged_by),
                    "undone_by_name": who.get(m.undone_by, m.undone_by) if m.undone_by else None,
                    "labels": [dedupe.REASON_LABELS.get(r, r) for r in m.reasons],
                }
                for m in history
            ],
            "dismissals": [
                {
                    **d.as_json(),
                    "first_name": names.get(d.first),
                    "second_name": names.get(d.second),
                    "dismissed_by_name": who.get(d.dismissed_by, d.dismissed_by),
                    "labels": [dedupe.REASON_LABELS.get(r, r) for r in d.reasons],
                }
                for d in dismissed
            ],
            "flash": take_flash(ask),
        },
        title="Merge history",
        section=SECTION,
    )


def undo_form(console: Console, ask: Ask) -> Redirect:
    actor = ask.require(Action.CUSTOMERS)
    merge_id = int(ask.params["merge_id"])
    try:
        done = merges.undo(console.database, merge_id, by=actor.actor, now=ask.now)
    except merges.UnknownMerge:
        raise NotFound(f"There is no merge {merge_id}.") from None
    except HqError as problem:
        raise BadRequest(str(problem)) from None
    flash(ask, "good", f"Merge {merge_id} undone: both records are as they were before it.")
    return Redirect(f"{ask.base}/customers/merges", done.as_json())


def dismiss_form(console: Console, ask: Ask) -> Redirect:
    actor = ask.require(Action.CUSTOMERS)
    first, second = _pair_fields(ask)
    try:
        done = dismissals.dismiss(console.database, first, second, by=actor.actor, now=ask.now)
    except merges.UnknownCustomer:
        raise NotFound("There is no such customer.") from None
    except HqError as problem:
        raise BadRequest(str(problem)) from None
    flash(ask, "good", "Marked as two people: the pair is no longer listed as likely duplicates.")
    return Redirect(f"{ask.base}/customers/duplicates", done.as_json())


def undismiss_form(console: Console, ask: Ask) -> Redirect:
    actor = ask.require(Action.CUSTOMERS)
    first, second = _pair_fields(ask)
    try:
        done = dismissals.undismiss(console.database, first, second, by=actor.actor, now=ask.now)
    except dismissals.UnknownDismissal:
        raise NotFound("This pair was not dismissed.") from None
    flash(ask, "good", "Dismissal undone: the pair is listed again if the finder still pairs it.")
    return Redirect(f"{ask.base}/customers/merges", done.as_json())


def _pair_fields(ask: Ask) -> tuple[str, str]:
    first, second = ask.field("first").strip(), ask.field("second").strip()
    if not first or not second:
        raise BadRequest("Name both records of the pair.")
    return first, second


# ---------------------------------------------------------------- pieces


def summary(row: Row[Any], members: int) -> dict[str, Any]:
    """A record as lists show it: phone and e-mail masked."""
    return {
        "customer_id": row.customer_id,
        "name": row.name,
        "phone": dedupe.mask_phone(row.phone_e164),
        "phone_is_e164": dedupe.phone_key(row.phone_e164) == row.phone_e164,
        "email": dedupe.mask_email(row.email),
        "address": row.address,
        "created_at": row.created_at,
        "first_store_id": row.first_store_id,
        "merged_into": row.merged_into,
        "members": members,
    }


def _row(connection: Any, customer_id: str) -> Row[Any]:
    row = connection.execute(
        select(customers).where(customers.c.customer_id == customer_id)
    ).one_or_none()
    if row is None:
        raise NotFound("There is no such customer.")
    return row  # type: ignore[no-any-return]


def _member_counts(connection: Any, customer_ids: list[str]) -> dict[str, int]:
    if not customer_ids:
        return {}
    return {
        customer: int(count)
        for customer, count in connection.execute(
            select(member_ids.c.customer_id, func.count())
            .where(member_ids.c.customer_id.in_(customer_ids))
            .group_by(member_ids.c.customer_id)
        )
    }


def customer_routes(console: Console) -> list[BaseRoute]:
    # The fixed paths first: /customers/{customer_id} would take "duplicates"; and
    # each `.json` twin before its page, which would take "<id>.json" as the id.
    return [
        *routes(console, "/customers/duplicates", duplicates_page),
        *routes(console, "/customers/merge", merge_page, methods=("GET", "POST")),
        *routes(console, "/customers/merges", merges_page),
        *routes(console, "/customers/merges/{merge_id:int}/undo", undo_form, methods=("POST",)),
        *routes(console, "/customers/dismiss", dismiss_form, methods=("POST",)),
        *routes(console, "/customers/dismissals/undo", undismiss_form, methods=("POST",)),
        *routes(console, "/customers", search_page),
        *reversed(
            routes(console, "/customers/{customer_id}/address", address_form, methods=("POST",))
        ),
        *reversed(routes(console, "/customers/{customer_id}", customer_page)),
    ]
