"""The content API: kiosks' manifest, assets and status; staff's releases.

Kiosk side (kiosk bearer token, role kiosk; docs/content-releases.md):
- `GET /v1/content/manifest`: the kiosk's signed manifest, ETag + 304;
- `GET /v1/content/assets/{sha256}`: an asset's bytes, with Range (206),
  If-Range and 416, immutable for caches (a CDN or nginx could serve these);
- `POST /v1/content/status`: what the kiosk runs, holds, downloads, and failures.

Staff side (admin token), under `/v1/admin/content`: releases listed, one
release, its rollout, revoke, an edit, publish from an uploaded tar or zip, and
the audit log. Every change is written to the audit log with who made it.
"""

from __future__ import annotations

import hmac
import logging
import os
import re
import secrets
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Final, TypeVar

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response
from fastapi import Path as PathParameter
from fastapi.responses import FileResponse
from fastapi.security import HTTPAuthorizationCredentials
from starlette.concurrency import run_in_threadpool

from hq import audit
from hq.api.common import ApiRoute, Clock, bearer, json_bytes, parse_json_body, unauthorized
from hq.api.openapi import json_request_body
from hq.content import releases, reports, upload
from hq.content.assets import SHA256_HEX, DirectoryAssetStore
from hq.content.manifest import ManifestService
from hq.content.signing import ContentKeys
from hq.content.targeting import InvalidTarget, Target
from hq.content.wire import ContentStatus, EditRequest, RevokeRequest, StatusAnswer
from hq.db import Database
from hq.enrollment import KioskIdentity, authenticate, authenticate_on
from hq.errors import HqError, UnknownStore
from hq.private_files import private_dir
from hq.wire import INT64_MAX

_log = logging.getLogger("hq.content")

Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]

MANIFEST_CACHE_CONTROL: Final = "no-cache"  # may be kept, but asked again each time
ASSET_CACHE_CONTROL: Final = "private, max-age=31536000, immutable"  # its name is its hash
MAX_STATUS_BYTES: Final = 256 * 1024
UPLOAD_MAX_BYTES: Final = upload.MAX_ARCHIVE_BYTES
_ETAG_LIST: Final = re.compile(r'\s*(?:W/)?("[^"]*"|\*)\s*(?:,|$)')
ReleaseId = Annotated[int, PathParameter(ge=1, le=INT64_MAX)]  # a database integer: larger is a 422


def content_router(
    database: Database, assets: DirectoryAssetStore, manifests: ManifestService, clock: Clock
) -> APIRouter:
    router = APIRouter(
        route_class=ApiRoute,
        prefix="/v1/content",
        tags=["content"],
        responses={
            401: {"description": "No valid token: missing, unknown or revoked"},
            403: {"description": "An attendant device's token: content is for kiosks"},
        },
    )

    def require_kiosk(credentials: Credentials) -> KioskIdentity:
        return _kiosk_only(authenticate(database, credentials.credentials if credentials else None))

    @router.get(
        "/manifest",
        responses={
            200: {"description": "The signed manifest envelope"},
            304: {"description": "Not modified: If-None-Match named the current ETag"},
            404: {"description": "No release is for this kiosk"},
        },
    )
    async def manifest(
        credentials: Credentials,
        if_none_match: Annotated[str | None, Header()] = None,
    ) -> Response:
        """This kiosk's manifest: the newest release for its store, signed by HQ."""
        token = credentials.credentials if credentials else None
        return await run_in_threadpool(answer_manifest, token, if_none_match)

    def answer_manifest(token: str | None, if_none_match: str | None) -> Response:
        # Polled by every kiosk every minute: one thread hop, one pooled connection
        # for the token check and the release, and no rendering unless it changed.
        with database.read() as connection:
            kiosk = _kiosk_only(authenticate_on(connection, token))
            rendered = manifests.for_kiosk_on(connection, kiosk, now=clock())
        if rendered is None:
            raise HTTPException(status_code=404, detail="no release for this kiosk")
        headers = {"ETag": rendered.etag, "Cache-Control": MANIFEST_CACHE_CONTROL}
        if if_none_match is not None and _etag_matches(if_none_match, rendered.etag):
            return Response(status_code=304, headers=headers)
        return Response(rendered.body, media_type="application/json", headers=headers)

    @router.get(
        "/assets/{sha256}",
        response_class=FileResponse,
        responses={
            200: {"description": "The asset's bytes", "content": {"application/octet-stream": {}}},
            206: {"description": "The range asked for (Range: bytes=N-)"},
            404: {"description": "No asset with this hash"},
            416: {"description": "The range starts past the end of the asset"},
        },
    )
    def asset(
        sha256: str,
        kiosk: KioskIdentity = Depends(require_kiosk),  # noqa: B008
    ) -> FileResponse:
        """An asset by its SHA-256 (lower-case hex). Resume with `Range: bytes=N-` and
        `If-Range: "<sha256>"`."""
        del kiosk
        path = assets.local_path(sha256) if SHA256_HEX.fullmatch(sha256) else None
        if path is None:
            raise HTTPException(status_code=404, detail="no such asset")
        return FileResponse(
            path,
            media_type="application/octet-stream",
            headers={"ETag": f'"{sha256}"', "Cache-Control": ASSET_CACHE_CONTROL},
        )

    @router.post(
        "/status",
        response_model=StatusAnswer,
        max_body_size=MAX_STATUS_BYTES,
        responses={422: {"description": "Malformed report; nothing was stored"}},
        openapi_extra=json_request_body(ContentStatus),
    )
    async def status(request: Request, credentials: Credentials) -> Response:
        """What the kiosk runs, holds and downloads, and its failures (kept once per id)."""
        body = await request.body()
        token = credentials.credentials if credentials else None
        return await run_in_threadpool(receive_status, token, body)

    def receive_status(token: str | None, body: bytes) -> Response:
        kiosk = _kiosk_only(authenticate(database, token))
        report = parse_json_body(ContentStatus, body)
        accepted = reports.store_status(database, kiosk, report, now=clock())
        return Response(json_bytes({"accepted": accepted}), media_type="application/json")

    return router


def content_admin_router(
    database: Database,
    *,
    assets: DirectoryAssetStore,
    keys: ContentKeys,
    admin_token: str,
    clock: Clock,
    scratch: Path,
) -> APIRouter:
    expected = admin_token.encode()

    def require_admin(credentials: Credentials) -> None:
        if credentials is None or not hmac.compare_digest(
            credentials.credentials.encode(), expected
        ):
            raise unauthorized("missing or wrong admin token")

    router = APIRouter(
        route_class=ApiRoute,
        prefix="/v1/admin/content",
        tags=["admin", "content"],
        dependencies=[Depends(require_admin)],
        responses={401: {"description": "Missing or wrong admin token"}},
    )
    no_release: dict[int | str, dict[str, Any]] = {404: {"description": "No such release"}}

    @router.get("/releases")
    def list_releases(
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    ) -> dict[str, Any]:
        """Releases, newest first."""
        found = releases.list_releases(database, limit=limit)
        return {"releases": [release.as_json() for release in found]}

    @router.get("/releases/{release_id}", responses=no_release)
    def get_release(release_id: ReleaseId) -> dict[str, Any]:
        return _found(lambda: releases.get_release(database, release_id)).as_json()

    @router.get("/releases/{release_id}/rollout", responses=no_release)
    def rollout(release_id: ReleaseId) -> dict[str, Any]:
        """How many kiosks run which release, who is downloading it (with progress),
        who failed and why."""
        return _found(lambda: releases.rollout(database, release_id, now=clock())).as_json()

    @router.post(
        "/releases/{release_id}/revoke",
        responses={**no_release, 409: {"description": "Revoked already, or a revocation"}},
    )
    def revoke(release_id: ReleaseId, request: RevokeRequest | None = None) -> dict[str, Any]:
        """Revoke the release: a newer release sends its kiosks back to what they ran before."""
        by = (request or RevokeRequest()).by
        try:
            done = _found(lambda: releases.revoke(database, release_id, by=by, now=clock()))
        except releases.PublishRefused as refused:
            raise HTTPException(status_code=409, detail=str(refused)) from None
        return done.as_json()

    @router.post(
        "/releases/{release_id}/edit",
        status_code=201,
        responses={**no_release, 422: {"description": "The edit or its result is not valid"}},
    )
    def edit(release_id: ReleaseId, request: EditRequest) -> dict[str, Any]:
        """A new release: this one with products' prices, stock or names changed."""
        edits = [
            releases.ProductEdit(
                sku=item.sku,
                price=item.price,
                in_stock=item.in_stock,
                name_zh=item.name_zh,
                name_en=item.name_en,
            )
            for item in request.edits
        ]
        target = None if request.target is None else _target(request.target)
        published = _published(
            lambda: releases.publish_edit(
                database,
                assets,
                keys,
                release_id,
                edits,
                target=target,
                not_before=request.not_before,
                expires=request.expires,
                name=request.name,
                by=request.by,
                now=clock(),
                scratch=scratch,
            )
        )
        return published.as_json()

    @router.post(
        "/releases",
        status_code=201,
        max_body_size=UPLOAD_MAX_BYTES,
        responses={
            413: {"description": "The archive is larger than HQ takes"},
            422: {"description": "The archive or the bundle in it is refused; `problems` says why"},
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/x-tar": {"schema": {"type": "string", "format": "binary"}},
                    "application/gzip": {"schema": {"type": "string", "format": "binary"}},
                    "application/zip": {"schema": {"type": "string", "format": "binary"}},
                },
            }
        },
    )
    async def publish(
        request: Request,
        *,
        to: Annotated[str, Query(description="all, region:R, tag:T or store:S")],
        at: Annotated[
            datetime | None, Query(description="not_before, ISO 8601 with offset")
        ] = None,
        expires: Annotated[datetime | None, Query()] = None,
        name: Annotated[str | None, Query(max_length=200)] = None,
        by: Annotated[str, Query(min_length=1, max_length=64)] = "admin-api",
    ) -> Response:
        """Publish the bundle in the request body (a tar, tar.gz or zip archive)."""
        target = _target(to)
        private_dir(scratch)
        archive = scratch / f"upload-{secrets.token_hex(8)}.archive"
        try:
            size = 0
            fd = os.open(archive, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            with os.fdopen(fd, "wb") as out:  # streamed to disk: bundles run to gigabytes
                async for chunk in request.stream():
                    size += len(chunk)
                    out.write(chunk)
            if size == 0:
                raise _refused("the request body is empty: send the archive as the body", ())
            published = await run_in_threadpool(
                _published,
                lambda: upload.publish_archive(
                    database,
                    assets,
                    keys,
                    archive,
                    scratch=scratch,
                    target=target,
                    not_before=at,
                    expires=expires,
                    name=name,
                    by=by,
                    now=clock(),
                ),
            )
        finally:
            archive.unlink(missing_ok=True)
        return Response(
            json_bytes(published.as_json()), status_code=201, media_type="application/json"
        )

    @router.get("/audit")
    def audit_log(limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> dict[str, Any]:
        """Content changes and store labels, newest first: who, what, when."""
        return {"entries": [entry.as_json() for entry in audit.recent(database, limit=limit)]}

    return router


def _kiosk_only(kiosk: KioskIdentity | None) -> KioskIdentity:
    if kiosk is None:
        raise unauthorized()
    if kiosk.role != "kiosk":
        raise HTTPException(status_code=403, detail="content is for kiosks only")
    return kiosk


def _etag_matches(header: str, etag: str) -> bool:
    """If-None-Match: `*`, or a list of (possibly weak) ETags naming this one."""
    return any(tag in ("*", etag) for tag in _ETAG_LIST.findall(header))


def _target(text: str) -> Target:
    try:
        return Target.parse(text)
    except InvalidTarget as invalid:
        raise _refused(str(invalid), ()) from None


_T = TypeVar("_T")


def _found(action: Callable[[], _T]) -> _T:
    try:
        return action()
    except releases.UnknownRelease as unknown:
        raise HTTPException(status_code=404, detail=str(unknown)) from None


def _published(action: Callable[[], releases.Published]) -> releases.Published:
    try:
        return _found(action)
    except releases.PublishRefused as refused:
        raise _refused(str(refused).splitlines()[0], refused.problems) from None
    except upload.UploadRefused as refused:
        raise _refused(f"archive refused: {refused}", ()) from None
    except UnknownStore as unknown:
        raise _refused(str(unknown), ()) from None
    except HqError as error:
        raise _refused(str(error), ()) from None


def _refused(message: str, problems: tuple[str, ...] | list[str]) -> HTTPException:
    return HTTPException(status_code=422, detail={"message": message, "problems": list(problems)})
