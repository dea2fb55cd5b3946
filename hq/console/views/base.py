"""What every console page shares: who is asking, HTML or JSON, errors, forms.

A view is a plain function `(console, ask) -> Page | Redirect`, run on a worker
thread (it reads the database, and Argon2 takes a good part of a second). It
raises `Forbidden`, `NotFound` or `BadRequest` to refuse; the base turns each
into a page or a JSON answer with the right status. `routes()` registers a view
at its path and at the path + `.json`: the same data, as a page or as JSON.

Nothing here decides permissions: views ask `permission_allowed` (one question,
permissions.py) with what the thing they show reaches.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote
from zoneinfo import ZoneInfo

import jinja2
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from hq.api.common import Clock
from hq.console.permissions import Action, Resource, permission_allowed
from hq.console.staff import ROLE_LABELS, PasswordHasher, Staff, find_staff
from hq.content.assets import AssetStore
from hq.content.signing import ContentKeys
from hq.db import Database

SESSION_STAFF: Final = "staff"
SESSION_EPOCH: Final = "epoch"
SESSION_SEEN: Final = "seen"
IDLE_LIMIT: Final = timedelta(hours=2)
# Signed out after two hours without a request: a console left open on a shared
# desk is not an open door all night. (The cookie itself lasts a working day.)
SEEN_STEP: Final = timedelta(minutes=1)
# The idle clock in the cookie moves at most once a minute: a new cookie on every
# request (the rollout page refreshes itself) would be churn for nothing.

MAX_FORM_FILES: Final = 1
MAX_FORM_FIELDS: Final = 2 * 10_000 + 20
# The edit form has a price and a stock box per product, and a catalog may hold 10,000.


@dataclass(frozen=True, slots=True)
class ContentSide:
    """HQ's content service as the console uses it (hq.content): its asset store and keys."""

    assets: AssetStore
    keys: ContentKeys


@dataclass(frozen=True, slots=True)
class Console:
    """The console's dependencies, built once in app.py and handed to every view."""

    database: Database
    clock: Clock
    hasher: PasswordHasher
    templates: jinja2.Environment
    content: ContentSide
    zone: ZoneInfo  # the stores' time zone: times shown and schedules read in it
    upload_dir: Path | None = None  # where uploads are unpacked (None: the system's temp)


@dataclass(slots=True)
class Ask:
    """One request as a view sees it."""

    request: Request
    actor: Staff | None
    as_json: bool
    now: datetime
    form: FormData | None = None
    json_body: Mapping[str, Any] | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def base(self) -> str:
        """The console's own path prefix (`/console`, or under a proxy's prefix)."""
        return str(self.request.scope.get("root_path", "")).rstrip("/")

    def signed_in(self) -> Staff:
        if self.actor is None:
            raise NotSignedIn()
        return self.actor

    def require(self, action: Action, resource: Resource = None) -> Staff:
        """The actor, if they may do `action` to `resource`; else Forbidden (403)."""
        actor = self.signed_in()
        if not permission_allowed(actor, action, resource):
            raise Forbidden()
        return actor

    def field(self, name: str, default: str = "") -> str:
        if self.json_body is not None:
            value = self.json_body.get(name, default)
            if isinstance(value, bool):
                return "on" if value else ""
            return default if value is None else str(value)
        if self.form is not None:
            value = self.form.get(name, default)
            return value if isinstance(value, str) else default
        return str(self.request.query_params.get(name, default))

    def fields(self, name: str) -> list[str]:
        if self.json_body is not None:
            value = self.json_body.get(name, [])
            return [str(item) for item in value] if isinstance(value, list) else [str(value)]
        if self.form is not None:
            return [value for value in self.form.getlist(name) if isinstance(value, str)]
        return list(self.request.query_params.getlist(name))

    def names(self) -> Iterable[str]:
        if self.json_body is not None:
            return list(self.json_body)
        if self.form is not None:
            return list(self.form.keys())
        return list(self.request.query_params.keys())

    def file(self, name: str) -> UploadFile | None:
        if self.form is None:
            return None
        value = self.form.get(name)
        return value if isinstance(value, UploadFile) else None


@dataclass(frozen=True, slots=True)
class Page:
    """A page: its template and its data (the JSON twin is `data`, as it is)."""

    template: str
    data: Mapping[str, Any]
    status: int = 200
    title: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    section: str = ""  # which entry of the navigation is lit


@dataclass(frozen=True, slots=True)
class Redirect:
    """After a form: 303 to `location` (a page), or its JSON `data` for a `.json` post."""

    location: str
    data: Mapping[str, Any] = field(default_factory=dict)
    status: int = 200  # of the JSON answer


class Refusal(Exception):
    status: int = 400
    title: str = "Something is not right"

    def __init__(self, message: str = "", *, problems: Sequence[str] = ()) -> None:
        super().__init__(message or self.title)
        self.message = message or self.title
        self.problems = tuple(problems)


class NotSignedIn(Refusal):
    status = 401
    title = "Please sign in"


class Forbidden(Refusal):
    status = 403
    title = "Not yours to see or change"

    def __init__(self, message: str = "") -> None:
        super().__init__(
            message or "Your account does not cover this. Ask a chain admin if you need it."
        )


class NotFound(Refusal):
    status = 404
    title = "Not found"


class BadRequest(Refusal):
    status = 422
    title = "Please check the form"


View = Callable[[Console, Ask], Page | Redirect]
FileView = Callable[[Console, Ask], Response]


def routes(
    console: Console,
    path: str,
    view: View,
    *,
    methods: Sequence[str] = ("GET",),
    public: bool = False,
) -> list[BaseRoute]:
    """`view` at `path` and `path.json` (the JSON twin), for `methods`."""
    return [
        Route(path, _endpoint(console, view, as_json=False, public=public), methods=list(methods)),
        Route(
            f"{path}.json",
            _endpoint(console, view, as_json=True, public=public),
            methods=list(methods),
        ),
    ]


def file_route(console: Console, path: str, view: FileView) -> BaseRoute:
    """`view` answers with a file (a picture): GET only, no JSON twin."""
    return Route(path, _endpoint(console, view, as_json=False, public=False), methods=["GET"])


def _endpoint(
    console: Console, view: View | FileView, *, as_json: bool, public: bool
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        now = console.clock()
        ask = Ask(request, None, as_json, now, params=dict(request.path_params))
        try:
            # Who asks first: nobody signed in gets nowhere near an upload's bytes.
            ask.actor = await run_in_threadpool(_actor, console, request, now)
            if ask.actor is None and not public:
                raise NotSignedIn()
            if request.method == "POST":
                await _read_body(request, ask, files=not public)
            outcome = await run_in_threadpool(view, console, ask)
        except Refusal as refusal:
            return _refused(console, ask, refusal)
        finally:
            if ask.form is not None:
                await ask.form.close()  # the upload's spooled temporary file
        return _answer(console, ask, outcome)

    endpoint.__name__ = view.__name__ + ("_json" if as_json else "")
    return endpoint


async def _read_body(request: Request, ask: Ask, *, files: bool) -> None:
    """The form (or JSON object) posted; `files`: whether it may carry a file at all
    (the sign-in form may not: a stranger's upload is refused at its first part)."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip()
    if content_type == "application/json":
        try:
            body = json.loads(await request.body())
        except ValueError:
            raise BadRequest("the body is not JSON") from None
        if not isinstance(body, dict):
            raise BadRequest("the body is a JSON object of fields")
        ask.json_body = body
        return
    try:
        ask.form = await request.form(
            max_files=MAX_FORM_FILES if files else 0, max_fields=MAX_FORM_FIELDS
        )
    except Exception as error:  # MultiPartException, HTTPException from the parser
        raise BadRequest(f"the form could not be read: {error}") from None


def _actor(console: Console, request: Request, now: datetime) -> Staff | None:
    """The signed-in staff member, if the session is good; else None (and it is cleared).

    A session names the account and its session epoch: disabling an account or a
    new password moves the epoch on, and every session of it ends there.
    """
    session = request.session
    staff_id = session.get(SESSION_STAFF)
    if not isinstance(staff_id, int):
        return None
    seen = _parse_time(session.get(SESSION_SEEN))
    if seen is None or now - seen > IDLE_LIMIT:
        session.clear()
        return None
    with console.database.read() as connection:
        staff = find_staff(connection, staff_id)
    if staff is None or staff.disabled or staff.session_epoch != session.get(SESSION_EPOCH):
        session.clear()
        return None
    if now - seen >= SEEN_STEP:
        session[SESSION_SEEN] = now.isoformat()
    return staff


def start_session(request: Request, staff: Staff, now: datetime) -> None:
    request.session.clear()
    request.session.update(
        {
            SESSION_STAFF: staff.staff_id,
            SESSION_EPOCH: staff.session_epoch,
            SESSION_SEEN: now.isoformat(),
        }
    )


def _parse_time(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else None


# ---------------------------------------------------------------- answers


def _answer(console: Console, ask: Ask, outcome: Page | Redirect | Response) -> Response:
    if isinstance(outcome, Response):
        return outcome
    if isinstance(outcome, Redirect):
        if ask.as_json:
            return _json(outcome.data, outcome.status)
        return RedirectResponse(outcome.location, status_code=303)
    if ask.as_json:
        return _json(outcome.data, outcome.status, outcome.headers)
    return HTMLResponse(
        render(
            console,
            ask,
            outcome.template,
            outcome.data,
            title=outcome.title,
            section=outcome.section,
        ),
        status_code=outcome.status,
        headers=dict(outcome.headers),
    )


def render(
    console: Console,
    ask: Ask,
    template: str,
    data: Mapping[str, Any],
    *,
    title: str = "",
    section: str = "",
) -> str:
    csrf = ask.request.scope.get("csrftoken")
    return console.templates.get_template(template).render(
        {
            **data,
            "data": data,
            "title": title,
            "section": section,
            "actor": ask.actor,
            "role_label": ROLE_LABELS.get(ask.actor.role, "") if ask.actor else "",
            "can": lambda action, resource=None: permission_allowed(ask.actor, action, resource),
            "Action": Action,
            "base": ask.base,
            "path": ask.request.url.path,
            "json_url": _json_url(ask),
            "csrftoken": csrf() if callable(csrf) else "",
            "now": ask.now,
        }
    )


def _json_url(ask: Ask) -> str:
    path = ask.request.url.path
    query = ask.request.url.query
    return f"{path}.json" + (f"?{query}" if query else "")


def _refused(console: Console, ask: Ask, refusal: Refusal) -> Response:
    if isinstance(refusal, NotSignedIn) and not ask.as_json and ask.request.method == "GET":
        query = ask.request.url.query
        target = ask.request.url.path + (f"?{query}" if query else "")
        return RedirectResponse(
            f"{ask.base}/sign-in?next={quote(target, safe='')}", status_code=303
        )
    if ask.as_json:
        body: dict[str, Any] = {"detail": refusal.message}
        if refusal.problems:
            body["problems"] = list(refusal.problems)
        return _json(body, refusal.status)
    return HTMLResponse(
        render(
            console,
            ask,
            "refused.html",
            {
                "status": refusal.status,
                "heading": refusal.title,
                "message": refusal.message,
                "problems": list(refusal.problems),
            },
            title=refusal.title,
        ),
        status_code=refusal.status,
    )


def _json(
    data: Mapping[str, Any], status: int, headers: Mapping[str, str] | None = None
) -> Response:
    return JSONResponse(jsonable(data), status_code=status, headers=dict(headers or {}))


def jsonable(value: Any) -> Any:  # noqa: PLR0911 (a table of types)
    """`value` with datetimes as ISO text (UTC, `Z`), sets as sorted lists, and so on."""
    match value:
        case datetime():
            return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        case date():
            return value.isoformat()
        case timedelta():
            return value.total_seconds()
        case Decimal():
            return str(value)
        case Enum():
            return value.value
        case Mapping():
            return {str(key): jsonable(item) for key, item in value.items()}
        case frozenset() | set():
            return sorted(jsonable(item) for item in value)
        case list() | tuple():
            return [jsonable(item) for item in value]
        case Staff():
            return {
                "staff_id": value.staff_id,
                "name": value.name,
                "role": value.role.value,
                "stores": sorted(value.stores),
            }
        case _ if hasattr(value, "as_json"):
            return jsonable(value.as_json())
        case _ if is_dataclass(value) and not isinstance(value, type):
            return jsonable(asdict(value))
    return value
