"""`POST /v1/heartbeat`: a kiosk's heartbeat (docs/hq-api.md), answered with when to beat next
and staff's remote commands for it; `POST /v1/commands/{id}/result`: how one ended.

The token is checked before the body is read as JSON (as `POST /v1/events` does), so
a stranger learns nothing about the format. Attendant devices are refused (403): the
fleet page is about shopper kiosks.
"""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Annotated, Final

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials
from starlette.concurrency import run_in_threadpool

from hq.api.common import ApiRoute, Clock, bearer, json_bytes, parse_json_body, unauthorized
from hq.api.openapi import json_request_body
from hq.content.manifest import ManifestService
from hq.db import Database
from hq.enrollment import authenticate
from hq.fleet_health.commands import MAX_FILE_BYTES, PENDING_PACE_S, deliver_on, record_result
from hq.fleet_health.store import beat_context, record_heartbeat_on
from hq.fleet_health.wire import NEXT_IN_S, CommandResult, Heartbeat, HeartbeatAnswer

_log = logging.getLogger("hq.fleet_health")

Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]

MAX_HEARTBEAT_BYTES: Final = 64 * 1024  # a heartbeat is well under 4 kB
MAX_RESULT_BYTES: Final = 9 * 1024 * 1024  # base64 of the largest file, and the rest


def heartbeat_router(database: Database, clock: Clock, manifests: ManifestService) -> APIRouter:
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
        now = clock()
        # The token checked in the heartbeat's own transaction, by the one statement
        # that reads all else the beat needs (a refusal rolls back, having written nothing).
        with database.write() as connection:
            context = beat_context(connection, token, now)
            if context is None:
                raise unauthorized()
            kiosk = context.kiosk
            if kiosk.role != "kiosk":
                raise HTTPException(status_code=403, detail="heartbeats are for kiosks")
            beat = parse_json_body(Heartbeat, body)
            record_heartbeat_on(database, connection, kiosk, beat, now=now, known=context.known)
            # What the kiosk would be answered if it polled now: it polls only when
            # these moved, which spares HQ two requests a kiosk a minute.
            manifest = manifests.for_kiosk_on(connection, kiosk, now=now)
            commands = (
                deliver_on(connection, kiosk.kiosk_id, now) if context.pending_commands else []
            )
        answer = {
            "next_in": PENDING_PACE_S if commands else NEXT_IN_S,
            "commands": commands,
            "content_etag": None if manifest is None else manifest.etag,
            "feed_version": context.feed_version,
        }
        return Response(json_bytes(answer), media_type="application/json")

    @router.post(
        "/commands/{command_id}/result",
        status_code=204,
        response_class=Response,
        max_body_size=MAX_RESULT_BYTES,
        responses={
            204: {"description": "The result is stored; the command is finished"},
            401: {"description": "No valid token: missing, unknown or revoked"},
            404: {"description": "No such command delivered to this kiosk"},
            409: {"description": "The command has a result already (the first one stays)"},
            413: {"description": "The body is larger than HQ takes"},
            422: {"description": "Malformed result, or a file too large; nothing was stored"},
        },
        openapi_extra=json_request_body(CommandResult),
    )
    async def command_result(
        command_id: Annotated[str, Path(max_length=36)], request: Request, credentials: Credentials
    ) -> Response:
        """How a command HQ delivered to this kiosk ended: done, failed or refused, with
        a short detail, and a screenshot's PNG or the logs' text (base64) when done."""
        body = await request.body()
        token = credentials.credentials if credentials else None
        return await run_in_threadpool(take_result, token, command_id, body)

    def take_result(token: str | None, command_id: str, body: bytes) -> Response:
        kiosk = authenticate(database, token)
        if kiosk is None:
            raise unauthorized()
        result = parse_json_body(CommandResult, body)
        file = None
        if result.file is not None:
            try:
                file = base64.b64decode(result.file, validate=True)
            except (binascii.Error, ValueError):
                raise _invalid("file", "not base64") from None
            if len(file) > MAX_FILE_BYTES:
                raise _invalid("file", f"larger than {MAX_FILE_BYTES} bytes")
        outcome = record_result(
            database,
            kiosk_id=kiosk.kiosk_id,
            command_id=command_id,
            status=result.status,
            detail=result.detail,
            file=file,
            now=clock(),
        )
        if outcome == "unknown":
            raise HTTPException(status_code=404, detail="no such command for this kiosk")
        if outcome == "finished":
            raise HTTPException(status_code=409, detail="the command has a result already")
        _log.info("command %s of kiosk %s: %s", command_id, kiosk.kiosk_id, result.status)
        return Response(status_code=204)

    return router


def _invalid(field: str, message: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ("body", field), "msg": message, "type": "value_error"}])
