"""The kiosk API: enrolment, event batches, the member feed, health.

`POST /v1/events` reads its body itself and validates it with one pydantic
pass (`model_validate_json`, in Rust) instead of FastAPI's json.loads plus
validation; its OpenAPI description is added by hand from the same model. The
work runs on the thread pool: the token check, the pure decision, the one
write transaction.

`GET /v1/members/feed` checks the token (a dependency) before its query, so a
kiosk without a valid token gets 401 whatever it asks.
"""

from __future__ import annotations

import base64
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials
from pydantic_core import to_json
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from hq import channel_keys, ingest
from hq.api.common import ApiRoute, Clock, bearer, json_bytes, parse_json_body, unauthorized
from hq.api.openapi import json_request_body
from hq.content.signing import ContentKeys
from hq.crm import recognition
from hq.crm.residue import Residue
from hq.crm.withdrawal import WITHDRAWN_FROM
from hq.db import Database
from hq.enrollment import Enrolment, EnrolmentRefused, KioskIdentity, authenticate, redeem_code
from hq.errors import StoreFull
from hq.wire import (
    DEFAULT_FEED_PAGE,
    INT64_MAX,
    MAX_FEED_PAGE,
    AttendantEnrolAnswer,
    EnrolAnswer,
    EnrolRequest,
    EventBatch,
    EventsAnswer,
    Health,
    MemberFeedPage,
    StoreChannelKey,
)

_log = logging.getLogger("hq.api")

Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid token: missing, unknown or revoked"},
    403: {"description": "An event names another store or kiosk; nothing was stored"},
    413: {"description": "The body is larger than HQ takes"},
    422: {"description": "Malformed batch; nothing was stored"},
}


def kiosk_router(
    database: Database, clock: Clock, residue: Residue, *, content_keys: ContentKeys | None = None
) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["kiosk"], route_class=ApiRoute)

    def require_kiosk(credentials: Credentials) -> KioskIdentity:
        kiosk = authenticate(database, credentials.credentials if credentials else None)
        if kiosk is None:
            raise unauthorized()
        return kiosk

    @router.post(
        "/enroll",
        response_model=EnrolAnswer | AttendantEnrolAnswer,
        responses={
            403: {"description": "Enrolment code unknown, already used or expired"},
            409: {"description": "Every kiosk seat of the store is held (revoke one first)"},
        },
    )
    def enroll(request: EnrolRequest) -> EnrolAnswer | AttendantEnrolAnswer:
        """Trade a one-time enrolment code for the kiosk's own token, its number in
        coupon codes and its coupon key; an attendant device's code, for the device's
        token and its store's coupon key (`role` says which)."""
        try:
            enrolment = redeem_code(database, request.code, request.name, now=clock())
        except EnrolmentRefused as refused:
            raise HTTPException(status_code=403, detail=str(refused)) from None
        except StoreFull as full:
            raise HTTPException(status_code=409, detail=str(full)) from None
        content_key = None if content_keys is None else content_keys.current().key
        return _enrol_answer(enrolment, content_key)

    @router.get(
        "/store-channel-key",
        response_model=StoreChannelKey,
        responses={401: {"description": "No valid token: missing, unknown or revoked"}},
    )
    def store_channel_key(
        kiosk: KioskIdentity = Depends(require_kiosk),  # noqa: B008 (see member_feed)
    ) -> StoreChannelKey:
        """The kiosk's store's live-channel key: asked again after HQ rotated it."""
        return _channel_key_json(channel_keys.current(database, kiosk.store_id))

    @router.post(
        "/events",
        response_model=EventsAnswer,
        responses=_ERRORS,
        openapi_extra=json_request_body(EventBatch),
    )
    async def post_events(request: Request, credentials: Credentials) -> Response:
        """Store a batch of 1 to 500 events; one result per event, in request order."""
        body = await request.body()
        token = credentials.credentials if credentials else None
        return await run_in_threadpool(receive_events, token, body)

    def receive_events(token: str | None, body: bytes) -> Response:
        kiosk = authenticate(database, token)
        if kiosk is None:
            raise unauthorized()
        batch = parse_json_body(EventBatch, body)
        decision = ingest.decide(kiosk, batch)
        now = clock()
        if isinstance(decision, ingest.Refusal):
            ingest.record_refusal(database, kiosk, decision, refused_at=now)
            raise HTTPException(
                status_code=403,
                detail=f"events must name this token's store and kiosk ({decision.detail})",
            )
        try:
            outcome = ingest.store(database, kiosk, decision, received_at=now)
        except ingest.KioskGone:
            raise unauthorized() from None
        if outcome.recognition_withdrawn:  # rare: worth a checkpoint (hq.crm.residue)
            residue.removed(WITHDRAWN_FROM)
        answer = {
            "results": [
                {
                    "event_id": result.event_id,
                    "seq": result.seq,
                    "status": result.status,
                    "reason": result.reason,
                }
                for result in outcome.results
            ],
            "contiguous_seq": outcome.contiguous_seq,
        }
        # pydantic's encoder (in Rust): half json.dumps's time on 500 results.
        return Response(to_json(answer), media_type="application/json")

    @router.get(
        "/members/feed",
        response_model=MemberFeedPage,
        responses={
            401: {"description": "No valid token: missing, unknown or revoked"},
            403: {"description": "An attendant device's token: only kiosks get the feed"},
            422: {"description": "`since` or `limit` out of range"},
        },
    )
    def member_feed(
        # A default, not Annotated: the dependency is local, and string annotations
        # are resolved in the module's namespace.
        kiosk: KioskIdentity = Depends(require_kiosk),  # noqa: B008
        since: Annotated[
            int,
            Query(ge=0, le=INT64_MAX, description="The feed version the kiosk holds; 0: none"),
        ] = 0,
        limit: Annotated[
            int, Query(ge=1, le=MAX_FEED_PAGE, description="Most changes in this page")
        ] = DEFAULT_FEED_PAGE,
    ) -> Response:
        """The members kiosks may recognise: the changes after `since`, oldest first.

        `since=0` (or a version HQ no longer has the removals for) answers a full
        snapshot with `reset` true. Ask again from `version` while `more` is true.
        """
        if kiosk.role != "kiosk":
            # Staff devices recognise nobody: they get neither names nor the tag key.
            raise HTTPException(status_code=403, detail="the member feed is for kiosks only")
        page = recognition.read_feed(database, since, limit)
        _log.debug(
            "kiosk %s: member feed since %d: %d upserts, %d removals, version %d%s",
            kiosk.kiosk_id,
            since,
            len(page.upserts),
            len(page.removed),
            page.version,
            " (reset)" if page.reset else "",
        )
        return Response(json_bytes(recognition.feed_page_json(page)), media_type="application/json")

    @router.get(
        "/health",
        response_model=Health,
        responses={
            401: {"description": "A token was sent and it is not valid"},
            503: {"description": "The database cannot be reached"},
        },
        # The token is optional: the empty requirement joins FastAPI's bearer one.
        openapi_extra={"security": [{}]},
    )
    def health(credentials: Credentials) -> Health:
        """HQ and its database answer. With a token: also checks the token is valid."""
        with database.read() as connection:
            connection.execute(text("SELECT 1"))
        if credentials is not None and authenticate(database, credentials.credentials) is None:
            raise unauthorized()
        return Health(status="ok")

    return router


def _enrol_answer(
    enrolment: Enrolment, content_key: bytes | None
) -> EnrolAnswer | AttendantEnrolAnswer:
    if enrolment.role == "attendant":
        assert enrolment.store_coupon_key is not None
        return AttendantEnrolAnswer(
            role="attendant",
            store_id=enrolment.store_id,
            kiosk_id=enrolment.kiosk_id,
            token=enrolment.token,
            channel_key=_channel_key_json(enrolment.channel_keys),
            store_coupon_key=_b64(enrolment.store_coupon_key),
        )
    assert enrolment.kiosk_no is not None
    assert enrolment.coupon_key is not None
    return EnrolAnswer(
        store_id=enrolment.store_id,
        kiosk_id=enrolment.kiosk_id,
        token=enrolment.token,
        kiosk_no=enrolment.kiosk_no,
        coupon_key=_b64(enrolment.coupon_key),
        budget_seat=enrolment.budget_seat,
        budget_seats=enrolment.budget_seats,
        channel_key=_channel_key_json(enrolment.channel_keys),
        content_key=None if content_key is None else _b64(content_key),
    )


def _b64(key: bytes) -> str:
    return base64.b64encode(key).decode("ascii")


def _channel_key_json(keys: channel_keys.ChannelKeys) -> StoreChannelKey:
    return StoreChannelKey(
        key_id=keys.key_id,
        key=_b64(keys.key),
        previous=None if keys.previous is None else _b64(keys.previous),
    )
