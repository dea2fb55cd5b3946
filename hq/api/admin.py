"""The staff API under /v1/admin, behind the admin token: stats, customers, members'
tags, erasure, consent withdrawals, revocation, coupon redemption, what store staff
did on their attendant devices.

Routes under `/customers/{member_id}/...` take any of a customer's member ids (the
kiosk-made uuid); `/customers/{customer_id}/timeline` takes the customer id.
"""

from __future__ import annotations

import hmac
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials

from hq import stats, store_actions
from hq.api.common import ApiRoute, Clock, bearer, unauthorized
from hq.crm import coupons, queries, recognition
from hq.crm.erasure import ERASED_FROM, erase_member
from hq.crm.people import DEFAULT_REGION, InvalidPhone, e164
from hq.crm.residue import Residue
from hq.crm.tags import InvalidTag
from hq.crm.withdrawal import WITHDRAWN_FROM, withdraw
from hq.db import Database
from hq.enrollment import revoke
from hq.errors import UnknownKiosk, UnknownStore
from hq.wire import ConsentWithdrawRequest, CouponRedeemRequest, TagBindRequest

MemberId = Annotated[uuid.UUID, Path(description="Any of the customer's member ids")]
TagHashPath = Annotated[str, Path(pattern=r"^[0-9a-fA-F]{64}$")]


def admin_router(database: Database, admin_token: str, clock: Clock, residue: Residue) -> APIRouter:
    expected = admin_token.encode()

    def require_admin(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> None:
        if credentials is None or not hmac.compare_digest(
            credentials.credentials.encode(), expected
        ):
            raise unauthorized("missing or wrong admin token")

    router = APIRouter(
        route_class=ApiRoute,
        prefix="/v1/admin",
        tags=["admin"],
        dependencies=[Depends(require_admin)],
        responses={401: {"description": "Missing or wrong admin token"}},
    )

    @router.get("/stats")
    def get_stats() -> dict[str, Any]:
        """Per kiosk: events by kind, highest and contiguous seq, gaps, rejections;
        refused batches; the number of customers (as `kiosk-hq stats --json`)."""
        return stats.collect(database).as_json()

    @router.get("/customers")
    def find_customers(
        phone: Annotated[str | None, Query(max_length=40)] = None,
        region: Annotated[str, Query(pattern=r"^[A-Za-z]{2}$")] = DEFAULT_REGION,
        email: Annotated[str | None, Query(max_length=254)] = None,
    ) -> dict[str, Any]:
        """Customers by phone number (any format phonenumbers reads, national
        numbers in `region`) or by email address."""
        if phone is not None:
            try:
                number = e164(phone, region)
            except InvalidPhone as problem:
                raise _query_error("phone", str(problem)) from None
            found = queries.find_by_phone(database, number)
        elif email is not None:
            found = queries.find_by_email(database, email.strip())
        else:
            raise _query_error("phone", "give a phone number or an email address")
        return {"customers": [queries.customer_json(customer) for customer in found]}

    @router.get(
        "/customers/{customer_id}/timeline", responses={404: {"description": "No such customer"}}
    )
    def customer_timeline(
        customer_id: str,
        limit: Annotated[
            int, Query(ge=1, le=queries.MAX_TIMELINE_LENGTH)
        ] = queries.DEFAULT_TIMELINE_LENGTH,
    ) -> dict[str, Any]:
        """The customer, their current consents and consent history, and their
        interactions, newest first."""
        found = queries.timeline(database, customer_id, limit=limit)
        if found is None:
            raise HTTPException(status_code=404, detail="no such customer")
        return queries.timeline_json(found)

    _member_routes(router, database, clock, residue)
    _coupon_routes(router, database, clock)

    @router.post("/kiosks/{kiosk_id}/revoke", responses={404: {"description": "No such kiosk"}})
    def revoke_kiosk(kiosk_id: str) -> dict[str, Any]:
        """Stop the kiosk's token from working (at once, for every later request)."""
        try:
            revoked_at = revoke(database, kiosk_id, now=clock())
        except UnknownKiosk:
            raise HTTPException(status_code=404, detail="no such kiosk") from None
        return {"kiosk_id": kiosk_id, "revoked_at": revoked_at.isoformat()}

    return router


def _member_routes(router: APIRouter, database: Database, clock: Clock, residue: Residue) -> None:
    """A member's tags, consent withdrawals and erasure. Each change that takes
    personal data away ends by clearing what the database's files keep of it."""

    @router.get("/customers/{member_id}/tags")
    def member_tags(member_id: MemberId) -> dict[str, Any]:
        """The member's bound fobs and tags (by hash; HQ never holds raw tag ids)."""
        found = recognition.bindings_of(database, str(member_id))
        return {"tags": [recognition.binding_json(binding) for binding in found]}

    @router.post(
        "/customers/{member_id}/tags",
        status_code=201,
        responses={
            200: {"description": "The member holds this tag already"},
            404: {"description": "No sign-up with this member id"},
            409: {"description": "Another member holds this tag"},
            422: {"description": "Not a tag of its kind"},
        },
    )
    def bind_tag(
        member_id: MemberId, request: TagBindRequest, response: Response
    ) -> dict[str, Any]:
        """Bind a fob or tag to the member. HQ hashes the value at once; it is not kept."""
        try:
            binding, new = recognition.bind_tag(
                database, str(member_id), request.kind, request.value, now=clock()
            )
        except InvalidTag as problem:
            raise _error("body", "value", str(problem)) from None
        except recognition.UnknownMember as problem:
            raise HTTPException(status_code=404, detail=str(problem)) from None
        except recognition.TagTaken as problem:
            raise HTTPException(status_code=409, detail=str(problem)) from None
        if not new:
            response.status_code = 200
        return recognition.binding_json(binding)

    @router.delete(
        "/customers/{member_id}/tags/{tag_hash}",
        responses={404: {"description": "The member has no tag with this hash"}},
    )
    def unbind_tag(member_id: MemberId, tag_hash: TagHashPath) -> dict[str, Any]:
        """Unbind the tag; kiosks drop it on their next feed delta."""
        now = clock()
        try:
            recognition.unbind_tag(database, str(member_id), tag_hash, now=now)
        except recognition.UnknownTag as problem:
            raise HTTPException(status_code=404, detail=str(problem)) from None
        residue.removed(recognition.UNBOUND_FROM)
        return {
            "member_id": str(member_id),
            "tag_hash": tag_hash.lower(),
            "unbound_at": now.isoformat(),
        }

    @router.post(
        "/customers/{member_id}/erase",
        responses={404: {"description": "HQ knows nothing of this member id"}},
    )
    def erase(member_id: MemberId) -> dict[str, Any]:
        """Erase the person behind the member id: customer record, all their member ids,
        consents, interactions, tags and feed entries; their events lose the person."""
        erasure = erase_member(database, str(member_id), now=clock())
        if erasure is None:
            raise HTTPException(status_code=404, detail="no such member")
        residue.removed(ERASED_FROM)
        return erasure.as_json()

    @router.post(
        "/customers/{member_id}/consents/withdraw",
        responses={
            404: {"description": "HQ has no sign-up or consent of this member id"},
            422: {"description": "Not a consent purpose"},
        },
    )
    def withdraw_consent(member_id: MemberId, request: ConsentWithdrawRequest) -> dict[str, Any]:
        """Record that the member withdrew a consent (say, on the hotline), for every
        channel of that purpose, as of now, with who recorded it. A recognition
        withdrawal takes their tags out of the member feed: kiosks drop them at
        their next feed sync."""
        try:
            withdrawn = withdraw(
                database, str(member_id), request.purpose, by=request.by, now=clock()
            )
        except recognition.UnknownMember as problem:
            raise HTTPException(status_code=404, detail=str(problem)) from None
        residue.removed(WITHDRAWN_FROM)
        return withdrawn.as_json()


def _coupon_routes(router: APIRouter, database: Database, clock: Clock) -> None:
    """Redeeming codes once across the chain, and the codes redeemed twice."""

    @router.post(
        "/coupons/redeem",
        responses={
            409: {"description": "Redeemed before: where and when first, in the body"},
            422: {"description": "Not a valid code (type `coupon.<reason>`), or no such store"},
        },
    )
    def redeem(request: CouponRedeemRequest) -> Any:
        """Redeem a code at a store. A code is redeemed once across the chain: of two
        redemptions at once, exactly one succeeds."""
        now = clock()
        try:
            outcome = coupons.redeem(
                database,
                request.code,
                store_id=request.store_id,
                by=request.by,
                now=now,
                today=request.local_date or now.date(),
            )
        except UnknownStore:
            raise _error("body", "store_id", "no such store") from None
        match outcome:
            case coupons.Refused():
                raise RequestValidationError(
                    [
                        {
                            "loc": ("body", "code"),
                            "msg": outcome.message,
                            "type": f"coupon.{outcome.reason}",
                        }
                    ]
                )
            case coupons.AlreadyRedeemed():
                return JSONResponse(
                    {
                        "detail": outcome.message,
                        **coupons.code_json(outcome.code),
                        "first": coupons.redemption_json(outcome.first),
                        "redemptions": outcome.redemptions,
                    },
                    status_code=409,
                )
        return {
            **coupons.code_json(outcome.code),
            "store_id": outcome.store_id,
            "by": outcome.by,
            "redeemed_at": outcome.redeemed_at.isoformat(),
            "issued": coupons.issue_json(outcome.issue),
        }

    @router.get(
        "/stores/{store_id}/staff-actions", responses={404: {"description": "No such store"}}
    )
    def staff_actions(
        store_id: Annotated[str, Path(pattern=r"^[a-z0-9-]{2,40}$")],
        limit: Annotated[int, Query(ge=1, le=store_actions.MAX_LIMIT)] = 200,
    ) -> dict[str, Any]:
        """What the store's staff did on their attendant devices, newest first: alert
        acknowledgements and planogram edits (staff ids, no names)."""
        try:
            acks = store_actions.acks_of(database, store_id, limit=limit)
            edits = store_actions.edits_of(database, store_id, limit=limit)
        except UnknownStore as unknown:
            raise HTTPException(status_code=404, detail=str(unknown)) from None
        return {
            "alert_acks": [store_actions.action_json(ack) for ack in acks],
            "planogram_edits": [store_actions.action_json(edit) for edit in edits],
        }

    @router.get("/coupons/doubles")
    def double_redemptions() -> dict[str, Any]:
        """Codes redeemed two or more times (stores that redeemed offline), with each
        redemption, earliest first."""
        return {"doubles": [coupons.double_json(double) for double in coupons.doubles(database)]}


def _query_error(field: str, message: str) -> RequestValidationError:
    return _error("query", field, message)


def _error(where: str, field: str, message: str) -> RequestValidationError:
    return RequestValidationError([{"loc": (where, field), "msg": message, "type": "value_error"}])
