"""asgi-csrf's reader of the token in upload forms, made to work with python-multipart >= 0.0.26.

asgi-csrf 0.11 (the newest release) finds the `csrftoken` field of a
multipart/form-data body with python-multipart's `FormParser(..., FileClass=...)`;
python-multipart 0.0.26 removed that argument (and fixed CVE-2026-40347, so the
older one is no choice), and every upload post then fails with a TypeError
(simonw/asgi-csrf#38; the fix, #39, is not released yet). `install()` replaces
that one reader, `asgi_csrf._parse_multipart_form_data`, with the same logic
over python-multipart's `MultipartParser`: read parts until the csrftoken field,
refuse a file that comes before it, and hand back a `receive` that replays what
was read. Everything else (the signed cookie, comparing the token, the 403)
stays asgi-csrf's own. Remove this module when asgi-csrf ships the fix.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final

import asgi_csrf
from python_multipart.multipart import MultipartParser, parse_options_header

TOKEN_FIELD: Final = b"csrftoken"
MAX_TOKEN_BYTES: Final = 1024  # a signed token is under 100; more is not a token

Receive = Callable[[], Awaitable[dict[str, Any]]]


class _TokenFound(Exception):
    def __init__(self, token: str) -> None:
        super().__init__("token found")
        self.token = token


async def parse_multipart_form_data(
    boundary: bytes, receive: Receive
) -> tuple[str | None, Receive]:
    """(the csrftoken field's value or None, a receive that replays the body read)."""
    messages: list[dict[str, Any]] = []

    async def replay_receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        return await receive()

    headers: dict[bytes, bytes] = {}
    header_name: list[bytes] = []
    header_value: list[bytes] = []
    part: dict[str, Any] = {"name": None, "data": []}

    def on_part_begin() -> None:
        headers.clear()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_name.append(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.append(data[start:end])

    def on_header_end() -> None:
        headers[b"".join(header_name).lower()] = b"".join(header_value).strip(b" \t")
        header_name.clear()
        header_value.clear()

    def on_headers_finished() -> None:
        _disposition, options = parse_options_header(headers.get(b"content-disposition", b""))
        if options.get(b"filename") is not None:
            raise asgi_csrf.FileBeforeToken
        part["name"] = options.get(b"name")
        part["data"] = []

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if part["name"] == TOKEN_FIELD:
            part["data"].append(data[start:end])
            if sum(len(chunk) for chunk in part["data"]) > MAX_TOKEN_BYTES:
                raise _TokenFound("")

    def on_part_end() -> None:
        if part["name"] == TOKEN_FIELD:
            raise _TokenFound(b"".join(part["data"]).decode("utf-8", "replace"))

    parser = MultipartParser(
        boundary,
        callbacks={
            "on_part_begin": on_part_begin,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
        },
    )
    more_body = True
    try:
        while more_body:
            message = await receive()
            messages.append(message)
            parser.write(message.get("body", b""))
            more_body = message.get("more_body", False)
    except _TokenFound as found:
        return found.token, replay_receive
    except asgi_csrf.FileBeforeToken:
        raise
    except Exception:  # a body that is no multipart: no token in it
        return None, replay_receive
    return None, replay_receive


def install() -> None:
    """Use the reader above inside asgi-csrf (idempotent)."""
    if not hasattr(asgi_csrf, "_parse_multipart_form_data"):
        raise RuntimeError("asgi-csrf changed: is hq/console/csrf_multipart.py still needed?")
    asgi_csrf._parse_multipart_form_data = parse_multipart_form_data
