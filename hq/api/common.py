"""What the kiosk and admin APIs share: error answers, bearer tokens, JSON bodies."""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, TypeVar

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError

_log = logging.getLogger("hq.api")
_M = TypeVar("_M", bound=BaseModel)

Clock = Callable[[], datetime]

RETRY_AFTER_S: Final = 5
# When the database is away: soon enough to catch a restart, rare enough not to pile on.

bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <token>")


def utc_now() -> datetime:
    return datetime.now(UTC)


def unauthorized(detail: str = "missing, unknown or revoked token") -> HTTPException:
    return HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def parse_json_body(model: type[_M], body: bytes) -> _M:
    """`body` validated as `model` in one pass; malformed input raises a 422 error."""
    try:
        return model.model_validate_json(body)
    except ValidationError as error:
        raise RequestValidationError(
            [
                {"loc": ("body", *problem["loc"]), "msg": problem["msg"], "type": problem["type"]}
                for problem in error.errors(
                    include_url=False, include_input=False, include_context=False
                )
            ]
        ) from None


def json_bytes(content: Any) -> bytes:
    return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()


async def validation_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """422 naming the field and the rule: never the input, which may be personal data."""
    assert isinstance(exc, RequestValidationError)
    detail = [
        {
            "loc": list(problem.get("loc", ())),
            "msg": problem.get("msg", ""),
            "type": problem.get("type", ""),
        }
        for problem in exc.errors()
    ]
    return JSONResponse({"detail": detail}, status_code=422)


async def database_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """503 with Retry-After when the database cannot be reached; kiosks retry those."""
    assert isinstance(exc, DBAPIError)
    if isinstance(exc, OperationalError) or exc.connection_invalidated:
        _log.warning("database unavailable: %s", _describe(exc))
        return JSONResponse(
            {"detail": "database unavailable, retry later"},
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
    _log.error("database error on %s %s: %s", request.method, request.url.path, _describe(exc))
    return JSONResponse({"detail": "internal error"}, status_code=500)


def _describe(exc: DBAPIError) -> str:
    """What failed and where, without the driver's DETAIL lines: PostgreSQL puts the
    offending values there (`Key (phone_e164)=(+86...) already exists`)."""
    original = exc.orig if exc.orig is not None else exc
    text = str(original).strip()
    first_line = text.splitlines()[0] if text else ""
    sqlstate = getattr(original, "sqlstate", None)
    ours = [frame for frame in traceback.extract_tb(exc.__traceback__) if "/hq/" in frame.filename]
    where = f" at {Path(ours[-1].filename).name}:{ours[-1].lineno}" if ours else ""
    state = f" [{sqlstate}]" if sqlstate else ""
    return f"{type(original).__name__}{state}: {first_line}{where}"
