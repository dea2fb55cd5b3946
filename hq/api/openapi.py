"""HQ's OpenAPI description at /openapi.json, made exactly true.

FastAPI writes what each route declares; two things it gets wrong, fixed here
for every operation, whoever adds it:

- Bounds are passed through a model that types them `float`: `seq`'s maximum
  2^63-1 came out as 9.223372036854776e+18 (2^63, a value the server refuses).
  Integral bounds are written back as integers, exactly.
- Answers HQ gives on every route of a kind are documented on each: 401 where a
  token is required, 413 and 422 where a body is read, 503 when the database
  cannot be reached (see `database_error_handler`).

tests/integration/test_hq_openapi.py holds the running app to its description
(schemathesis).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from fastapi import FastAPI
from pydantic import BaseModel

from hq.api.common import RETRY_AFTER_S
from hq.wire import INT64_MAX

_BOUNDS: Final = ("maximum", "minimum", "exclusiveMaximum", "exclusiveMinimum")
_EXACT_IN_A_DOUBLE: Final = 2**53  # every integer up to this is a float exactly
_METHODS: Final = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})

_ERROR_SCHEMA: Final = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}


def _error(description: str, **extra: Any) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": _ERROR_SCHEMA}},
        **extra,
    }


_UNAUTHORIZED: Final = _error(
    "No valid token: missing, unknown or revoked",
    headers={"WWW-Authenticate": {"schema": {"type": "string"}}},
)
_TOO_LARGE: Final = {
    # Refused while the body is read, before any route runs: Starlette's plain text.
    "description": "The body is larger than HQ takes",
    "content": {"text/plain": {"schema": {"type": "string"}}},
}
_UNAVAILABLE: Final = _error(
    f"The database cannot be reached: retry after Retry-After seconds ({RETRY_AFTER_S})",
    headers={"Retry-After": {"schema": {"type": "integer"}}},
)
_VALIDATION_FAILED: Final = {
    "description": "Validation Error",
    "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}
    },
}


def json_request_body(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` for a route that reads its JSON body itself: the body, required,
    described by `model`."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _inline_schema(model)}},
        }
    }


def _inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with its $defs written in place: a "#/$defs/..."
    reference would point at the root of the OpenAPI document, where none are."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            reference = node.get("$ref")
            if isinstance(reference, str) and reference.startswith("#/$defs/"):
                return resolve(definitions[reference.removeprefix("#/$defs/")])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


def install_truthful_openapi(app: FastAPI) -> None:
    """Make `app.openapi()` (and so /openapi.json, /docs, /redoc) the corrected one."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = generate()  # FastAPI keeps this very dict as app.openapi_schema
            _exact_integers(spec)
            _document_common_answers(spec)
        return app.openapi_schema  # type: ignore[return-value]  # set by generate()

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented hook


def _exact_integers(node: Any) -> None:
    if isinstance(node, dict):
        for key in _BOUNDS:
            value = node.get(key)
            if isinstance(value, float) and value.is_integer():
                node[key] = _exact(key, value)
        for child in node.values():
            _exact_integers(child)
    elif isinstance(node, list):
        for child in node:
            _exact_integers(child)


def _exact(key: str, value: float) -> int:
    if abs(value) <= _EXACT_IN_A_DOUBLE:
        return int(value)
    if key == "maximum" and value == float(INT64_MAX):
        # 2^63-1 rounds to 2^63, which is no int64: the bound was int64's largest.
        return INT64_MAX
    if key != "maximum" and value == -float(INT64_MAX + 1):
        return int(value)  # -2^63, exact in a double
    raise ValueError(f"OpenAPI {key} {value!r}: beyond what a double holds exactly")


def _document_common_answers(spec: dict[str, Any]) -> None:
    has_validation_schema = "HTTPValidationError" in spec.get("components", {}).get("schemas", {})
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in _METHODS:
                continue
            responses = operation.setdefault("responses", {})
            security = operation.get("security", [])
            if security and {} not in security:
                _document(responses, "401", _UNAUTHORIZED)
            if "requestBody" in operation:
                _document(responses, "413", _TOO_LARGE)
                if has_validation_schema:  # a route's own 422 may be of its own shape
                    responses.setdefault("422", _VALIDATION_FAILED)
            if path.startswith("/v1/"):
                _document(responses, "503", _UNAVAILABLE)


def _document(responses: dict[str, Any], status: str, answer: dict[str, Any]) -> None:
    """`answer` as the response `status`; where a route described it already, its
    description stays and what it left out (the body, headers) is added."""
    documented = responses.setdefault(status, {})
    for key, value in answer.items():
        documented.setdefault(key, value)
