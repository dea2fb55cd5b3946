"""The staff API under /v1/admin, behind the admin token: stats, customers, revocation."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials

from hq import stats
from hq.api.common import Clock, bearer, unauthorized
from hq.crm import queries
from hq.crm.people import DEFAULT_REGION, InvalidPhone, e164
from hq.db import Database
from hq.enrollment import revoke
from hq.errors import UnknownKiosk


def admin_router(database: Database, admin_token: str, clock: Clock) -> APIRouter:
    expected = admin_token.encode()

    def require_admin(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> None:
        if credentials is None or not hmac.compare_digest(
            credentials.credentials.encode(), expected
        ):
            raise unauthorized("missing or wrong admin token")

    router = APIRouter(
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

    @router.post("/kiosks/{kiosk_id}/revoke", responses={404: {"description": "No such kiosk"}})
    def revoke_kiosk(kiosk_id: str) -> dict[str, Any]:
        """Stop the kiosk's token from working (at once, for every later request)."""
        try:
            revoked_at = revoke(database, kiosk_id, now=clock())
        except UnknownKiosk:
            raise HTTPException(status_code=404, detail="no such kiosk") from None
        return {"kiosk_id": kiosk_id, "revoked_at": revoked_at.isoformat()}

    return router


def _query_error(field: str, message: str) -> RequestValidationError:
    return RequestValidationError(
        [{"loc": ("query", field), "msg": message, "type": "value_error"}]
    )
