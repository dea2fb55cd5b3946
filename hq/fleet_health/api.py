"""`POST /v1/heartbeat`: a kiosk's heartbeat (docs/hq-api.md), answered with when to beat next.

The token is checked before the body is read as JSON (as `POST /v1/events` does), so
a stranger learns nothing about the format. Attendant devices are refused (403): the
fleet page is about shopper kiosks.
"""

from __future__ import annotations

import logging
from typing import Annotated, Final

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.security import HTTPAuthorizationCredentials
from starlette.concurrency import run_in_threadpool

from hq.api.common import ApiRoute, Clock, bearer, json_bytes, parse_json_body, unauthorized
from hq.api.openapi import json_request_body
from hq.db import Database
from hq.enrollment import authenticate_on
from hq.fleet_health.store import record_heartbeat_on
from hq.fleet_health.wire import Heartbeat, HeartbeatAnswer

_log = logging.getLogger("hq.fleet_health")

Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]

MAX_HEARTBEAT_BYTES: Final = 64 * 1024  # a heartbeat is well under 4 kB


def heartbeat_router(database: Database, clock: Clock) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["kiosk"], route_class=ApiRoute)

    @router.post(
        "/heartbeat",
        response_model=HeartbeatAnswer,
        max_body_size=MAX_HEARTBEAT_BYTES,
        responses={
            401: {"description": "No valid token: missing, unknown or revoked"},
            403: {"description": "An attendant device's token: heartbeats are for kiosks"},
            413: {"description": "The body is larger than HQ takes"},
            422: {"description": "Malformed heartbeat; nothing was stored"},
        },
        openapi_extra=json_request_body(Heartbeat),
    )
    async def heartbeat(request: Request, credentials: Credentials) -> Response:
        """The kiosk's versions, devices, outbox, disk, uptime, last crash and screen.
        HQ keeps the last one and a bounded history, and raises or clears alerts."""
        body = await request.body()
        token = credentials.credentials if credentials else None
        return await run_in_threadpool(receive, token, body)

    def receive(token: str | None, body: bytes) -> Response:
        if not token:
            raise unauthorized()
        # The token checked in the heartbeat's own transaction: one connection and
        # one round trip fewer a beat (a refusal rolls back, having written nothing).
        with database.write() as connection:
            kiosk = authenticate_on(connection, token)
            if kiosk is None:
                raise unauthorized()
            if kiosk.role != "kiosk":
                raise HTTPException(status_code=403, detail="heartbeats are for kiosks")
            beat = parse_json_body(Heartbeat, body)
            record_heartbeat_on(database, connection, kiosk, beat, now=clock())
        return Response(json_bytes(HeartbeatAnswer().model_dump()), media_type="application/json")

    return router
