"""405 answers name every method the path takes, in their Allow header.

Starlette answers a method a path does not take with the methods of the first
route whose path matched: `OPTIONS /v1/admin/customers/{id}/tags` said
`Allow: GET, HEAD` though POST works there too (another route of the same
path). `AllowEveryMethod` asks every route, in mounted apps too (the console),
which methods it takes at the request's path, and writes them all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from starlette.routing import BaseRoute, Match, Mount, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

METHODS: Final = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
# What any HQ route may take, in the order Allow lists them. HQ answers no
# OPTIONS request itself: 405, with the methods it does take.


def allowed_methods(router: Router, scope: Scope) -> list[str] | None:
    """The methods `router` serves at the path of `scope`; None when a mounted app
    without routes of its own (static files) decides that itself."""
    allowed = []
    for method in METHODS:
        takes = _takes(router.routes, {**scope, "method": method})
        if takes is None:
            return None
        if takes:
            allowed.append(method)
    return allowed


def _takes(routes: Sequence[BaseRoute], scope: Scope) -> bool | None:
    for route in routes:
        match, child_scope = route.matches(scope)
        if match is not Match.FULL:
            continue
        if not isinstance(route, Mount):
            return True
        if not route.routes:
            return None
        found = _takes(route.routes, {**scope, **child_scope})
        if found is not False:
            return found
    return False


class AllowEveryMethod:
    """Middleware: a 405's Allow header lists every method of the path."""

    def __init__(self, app: ASGIApp, router: Router) -> None:
        self.app = app
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        as_received = dict(scope)  # routing writes into scope (a mount's root_path)

        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                allowed = allowed_methods(self.router, as_received)
                if allowed:
                    headers = [
                        (name, value)
                        for name, value in message.get("headers", [])
                        if name.lower() != b"allow"
                    ]
                    headers.append((b"allow", ", ".join(allowed).encode("ascii")))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_allow)
