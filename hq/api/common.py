"""What the kiosk and admin APIs share: error answers, bearer tokens, JSON bodies.

Every API router is made with `route_class=ApiRoute`: a body that is not JSON (not
UTF-8, say) is then a 422 in the usual shape, found after the route's dependencies
ran, so a request without a valid token gets 401 whatever its body. (FastAPI
parses the body before it solves dependencies, and answers a body it cannot
decode with a 400 of its own.)
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, TypeVar

from fastapi import HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError

from hq.logs import path_for_log

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


class _Unreadable:
    """Stands for a body that is not JSON until validation, which runs after the
    route's dependencies (`validation_error_handler` reports it). FastAPI validates
    bodies with `from_attributes`: any field read from this fails, so even a model
    whose fields all have defaults does not take it for an empty body."""

    __slots__ = ("_why",)

    def __init__(self, why: str) -> None:
        self._why = why

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # copy, pickle and friends probing: nothing here
            raise AttributeError(name)
        raise ValueError(self._why)

    @property
    def why(self) -> str:
        return self._why


class _DeferredJsonRequest(Request):
    async def json(self) -> Any:
        try:
            return await super().json()
        except UnicodeDecodeError:
            return _Unreadable("the body is not UTF-8")
        except json.JSONDecodeError as error:
            return _Unreadable(f"the body is not JSON: {error.msg} at character {error.pos}")


class ApiRoute(APIRoute):
    """An API route whose body is checked after its dependencies (the token)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            return await handler(_DeferredJsonRequest(request.scope, request.receive))

        return handle


def json_bytes(content: Any) -> bytes:
    return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()


async def validation_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """422 naming the field and the rule: never the input, which may be personal data."""
    assert isinstance(exc, RequestValidationError)
    detail: list[dict[str, Any]] = []
    unreadable_body = False
    for problem in exc.errors():
        found = problem.get("input")
        if isinstance(found, _Unreadable):
            # One problem for the whole body, however many ways its model failed on it.
            if not unreadable_body:
                detail.append({"loc": ["body"], "msg": found.why, "type": "json_invalid"})
            unreadable_body = True
            continue
        detail.append(
            {
                "loc": list(problem.get("loc", ())),
                "msg": problem.get("msg", ""),
                "type": problem.get("type", ""),
            }
        )
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
    _log.error(
        "database error on %s %s: %s",
        request.method,
        path_for_log(request.url.path),
        _describe(exc),
    )
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
