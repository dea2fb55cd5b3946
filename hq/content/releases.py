"""Publishing content: releases from a bundle folder or an edit, listed, revoked.

The service the CLI, the admin API and the web console share:

    published = publish_folder(database, assets, keys, Path("bundle"),
                               target="region:east", not_before=None, expires=None,
                               name="Spring launch", by="cli:ana", now=now)
    publish_edit(database, assets, keys, base=12, edits=[ProductEdit("X1", price="3999.00")],
                 by="console:ana", now=now)
    list_releases(database); get_release(database, 12); release_files(database, 12)
    rollout(database, 12, now=now)          # hq.content.rollout
    revoke(database, 12, by="cli:ana", now=now)
    upload.publish_archive(...)             # a tar or zip, unpacked safely, then published

A bundle is checked as every kiosk would check it (content.bundle.load_bundle,
then every picture decoded once) before a byte of it is stored: a refused
bundle raises PublishRefused with the loader's problems and leaves nothing
behind. `planograms/<kiosk_id>.json` in the folder gives that kiosk its own
planogram.json (checked as the loader checks planogram.json). Files go to the
asset store by hash (stored once however many releases hold them), the release
and its file list to the database in one transaction, with its line in the
audit log. Every release takes the next chain-wide number; revoking one
publishes a newer one that sends its kiosks back (hq.content.targeting).
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final

from pydantic import ValidationError
from sqlalchemy import Connection, Row, func, insert, select, update

from content import pictures
from content.bundle import (
    CATALOG,
    DOCUMENT_MAX_BYTES,
    MANIFEST,
    Bundle,
    BundleError,
    BundleFiles,
    BundleProblem,
    EntryError,
    field_path,
    load_bundle,
    parse_document,
)
from content.model import SCHEMA_VERSION, Planogram
from hq import audit, fleet
from hq.content.assets import AssetError, AssetStore
from hq.content.rollout import KioskRollout, Rollout, UnknownRelease, rollout
from hq.content.selection import release_heads
from hq.content.signing import ContentKeys
from hq.content.targeting import ReleaseHead, Target, content_of
from hq.db import (
    Database,
    content_planograms,
    content_release_files,
    content_releases,
    kiosks,
)
from hq.errors import HqError, UnknownStore
from hq.private_files import private_dir
from hq.wire import utc_text

__all__ = [
    "KioskRollout",
    "ProductEdit",
    "PublishRefused",
    "Published",
    "ReleaseInfo",
    "Revocation",
    "Rollout",
    "UnknownRelease",
    "get_release",
    "list_releases",
    "publish_edit",
    "publish_folder",
    "release_files",
    "revoke",
    "rollout",
]

_log = logging.getLogger("hq.content")

PLANOGRAMS: Final = "planograms"  # HQ side only: planograms/<kiosk_id>.json
KIOSK_ID: Final = re.compile(r"^[a-z0-9-]{2,40}-k[0-9]{1,9}$")
MAX_NAME: Final = 200
MAX_BY: Final = 64
MAX_PLANOGRAMS: Final = 10_000  # one per kiosk of a large chain
_PICTURE_WORKERS: Final = 2  # as the kiosk's install: Pillow releases the GIL while decoding


_AUDIT_ACTIONS: Final = {"folder": "content.publish", "edit": "content.edit"}
# Other sources are audited as "content.<source>" ("content.model": a model shipped).


class PublishRefused(HqError):
    """Nothing was published: the bundle or the request is not right. `problems`
    lists each thing to fix (file, field, what is wrong), as the kiosk's loader says."""

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems: tuple[str, ...] = tuple(problems)


@dataclass(frozen=True, slots=True)
class ReleaseInfo:
    release_id: int
    name: str
    target: Target
    created_at: datetime
    created_by: str
    not_before: datetime | None
    expires: datetime | None
    bundle_release: str
    source: str  # "folder", "edit" or "revert"
    base_release: int | None
    reverts: int | None
    revoked_at: datetime | None
    revoked_by: str | None
    files: int
    size: int  # bytes of all its files
    planogram_kiosks: tuple[str, ...] = ()

    def head(self) -> ReleaseHead:
        return ReleaseHead(
            self.release_id, self.target, self.reverts, revoked=self.revoked_at is not None
        )

    def scheduled(self, now: datetime) -> bool:
        return self.not_before is not None and self.not_before > now

    def as_json(self) -> dict[str, Any]:
        return {
            "release": self.release_id,
            "name": self.name,
            "target": str(self.target),
            "created_at": utc_text(self.created_at),
            "created_by": self.created_by,
            "not_before": utc_text(self.not_before),
            "expires": utc_text(self.expires),
            "bundle_release": self.bundle_release,
            "source": self.source,
            "base_release": self.base_release,
            "reverts": self.reverts,
            "revoked_at": utc_text(self.revoked_at),
            "revoked_by": self.revoked_by,
            "files": self.files,
            "size": self.size,
            "planogram_kiosks": list(self.planogram_kiosks),
        }


@dataclass(frozen=True, slots=True)
class Published:
    release: ReleaseInfo
    # Things worth knowing that do not stop the publish: a target no store has yet,
    # a planogram for a kiosk not in the target, a scheduled release it supersedes.
    warnings: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"release": self.release.as_json(), "warnings": list(self.warnings)}


@dataclass(frozen=True, slots=True)
class Revocation:
    revoked: ReleaseInfo
    replacement: ReleaseInfo  # the newer release that sends kiosks back
    kiosks_without_earlier: int  # kiosks of the target with nothing to go back to

    def as_json(self) -> dict[str, Any]:
        return {
            "revoked": self.revoked.as_json(),
            "replacement": self.replacement.as_json(),
            "kiosks_without_earlier": self.kiosks_without_earlier,
        }


@dataclass(frozen=True, slots=True)
class ProductEdit:
    """What an edit changes of one product; None leaves it as it is."""

    sku: str
    price: Decimal | str | None = None  # "3999.00"
    in_stock: bool | None = None
    name_zh: str | None = None
    name_en: str | None = None


@dataclass(slots=True)
class _Checked:
    """A bundle that passed every check, ready to store."""

    bundle: Bundle
    planograms: dict[str, bytes] = field(default_factory=dict)  # kiosk id -> file bytes


# ---------------------------------------------------------------- publishing


def publish_folder(
    database: Database,
    assets: AssetStore,
    keys: ContentKeys,
    folder: Path,
    *,
    target: Target | str,
    not_before: datetime | None = None,
    expires: datetime | None = None,
    name: str | None = None,
    by: str,
    now: datetime,
) -> Published:
    """Publish the bundle in `folder` to `target`; PublishRefused if anything is wrong."""
    return _publish(
        database,
        assets,
        keys,
        folder,
        target=target,
        not_before=not_before,
        expires=expires,
        name=name,
        by=by,
        now=now,
        source="folder",
        base=None,
    )


def publish_edit(
    database: Database,
    assets: AssetStore,
    keys: ContentKeys,
    base: int,
    edits: Sequence[ProductEdit],
    *,
    target: Target | str | None = None,
    not_before: datetime | None = None,
    expires: datetime | None = None,
    name: str | None = None,
    by: str,
    now: datetime,
    scratch: Path | None = None,
) -> Published:
    """A new release: release `base` with the products' prices, stock and names
    changed (same target unless given, its per-kiosk planograms kept).

    The edited bundle is put together under `scratch` (default: the system's
    temporary folder) from hard links into the asset store where it can be: on the
    asset store's file system, an edit of a 500 MB release copies nothing."""
    info = _editable(database, base)
    files = release_files(database, base)
    if CATALOG not in files:
        raise PublishRefused(f"release {base} has no {CATALOG}")
    with assets.open(files[CATALOG][0]) as file:
        catalog = json.loads(file.read())
    _apply_edits(catalog, edits)
    catalog_bytes = (json.dumps(catalog, ensure_ascii=False, indent=2) + "\n").encode()
    return _publish_derived(
        database,
        assets,
        keys,
        info,
        {CATALOG: catalog_bytes},
        target=target,
        not_before=not_before,
        expires=expires,
        name=name or f"{info.name} (edited)"[:MAX_NAME],
        by=by,
        now=now,
        scratch=scratch,
        source="edit",
    )


def publish_documents(
    database: Database,
    assets: AssetStore,
    keys: ContentKeys,
    base: int,
    documents: Mapping[str, bytes],
    *,
    source: str,
    name: str,
    by: str,
    now: datetime,
    target: Target | str | None = None,
    scratch: Path | None = None,
) -> Published:
    """A new release: release `base` with `documents` (bundle path -> bytes) added or
    replaced, checked, stored, signed and audited as every release is (same target
    unless given, its per-kiosk planograms kept). `source` says what made it, e.g.
    "model" (hq.analytics.model.ship)."""
    info = _editable(database, base)
    return _publish_derived(
        database,
        assets,
        keys,
        info,
        documents,
        target=target,
        not_before=None,
        expires=None,
        name=name[:MAX_NAME],
        by=by,
        now=now,
        scratch=scratch,
        source=source,
    )


def release_document(
    database: Database, assets: AssetStore, release_id: int, path: str
) -> bytes | None:
    """One file of a release as stored (None: the release has no such file)."""
    found = release_files(database, release_id).get(path)
    if found is None:
        return None
    with assets.open(found[0]) as file:
        data: bytes = file.read()
    return data


def _editable(database: Database, base: int) -> ReleaseInfo:
    info = get_release(database, base)
    if info.reverts is not None:
        raise PublishRefused(
            f"release {base} is a revocation (of release {info.reverts}); "
            "edit the release its kiosks went back to"
        )
    return info


def _publish_derived(
    database: Database,
    assets: AssetStore,
    keys: ContentKeys,
    info: ReleaseInfo,
    replaced: Mapping[str, bytes],
    *,
    target: Target | str | None,
    not_before: datetime | None,
    expires: datetime | None,
    name: str,
    by: str,
    now: datetime,
    scratch: Path | None,
    source: str,
) -> Published:
    """Release `info` with the files in `replaced` put in: the bundle is put together
    under `scratch` from hard links into the asset store where it can be."""
    base = info.release_id
    with database.read() as connection:
        files = _files_of(connection, base)
        planograms = dict(
            connection.execute(
                select(content_planograms.c.kiosk_id, content_planograms.c.sha256).where(
                    content_planograms.c.release_id == base
                )
            ).all()
        )
    if scratch is not None:
        private_dir(scratch)
    work = Path(tempfile.mkdtemp(prefix="hq-edit-", dir=scratch))
    try:
        folder = work / "bundle"
        folder.mkdir()
        for path, (sha256, _size) in files.items():
            if path not in replaced:
                _materialise(assets, sha256, folder / path)
        for path, data in replaced.items():
            (folder / path).parent.mkdir(parents=True, exist_ok=True)
            (folder / path).write_bytes(data)
        for kiosk_id, sha256 in planograms.items():
            _materialise(assets, sha256, folder / PLANOGRAMS / f"{kiosk_id}.json")
        listed = [
            {"path": path, "sha256": sha256, "size": size}
            for path, (sha256, size) in sorted(files.items())
            if path not in replaced
        ]
        listed += [_entry(path, data) for path, data in replaced.items()]
        manifest = {
            "schema_version": SCHEMA_VERSION,
            "release": f"hq-{source}-of-{base}",
            "created_at": utc_text(now),
            "assets": sorted(listed, key=lambda entry: str(entry["path"])),
        }
        (folder / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        return _publish(
            database,
            assets,
            keys,
            folder,
            target=info.target if target is None else target,
            not_before=not_before,
            expires=expires,
            name=name,
            by=by,
            now=now,
            source=source,
            base=base,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _publish(
    database: Database,
    assets: AssetStore,
    keys: ContentKeys,
    folder: Path,
    *,
    target: Target | str,
    not_before: datetime | None,
    expires: datetime | None,
    name: str | None,
    by: str,
    now: datetime,
    source: str,
    base: int | None,
) -> Published:
    chosen = Target.parse(target) if isinstance(target, str) else target
    _check_request(name, by, not_before, expires, now)
    keys.current()  # made on first use: a release nobody can sign is no release
    checked = _check_bundle(folder)
    with database.read() as connection:
        warnings = _warnings(connection, chosen, checked, not_before, now)
    stored = _store_assets(assets, folder, checked)
    manifest = checked.bundle.manifest
    with database.write() as connection:
        release_id = int(
            connection.execute(
                insert(content_releases)
                .values(
                    name=name or manifest.release,
                    target_kind=chosen.kind,
                    target_value=chosen.value,
                    created_at=now,
                    created_by=by,
                    not_before=not_before,
                    expires=expires,
                    bundle_release=manifest.release,
                    source=source,
                    base_release=base,
                )
                .returning(content_releases.c.release_id)
            ).scalar_one()
        )
        database.insert_rows(
            connection,
            content_release_files,
            [
                {
                    "release_id": release_id,
                    "path": entry.path,
                    "sha256": entry.sha256,
                    "size": entry.size,
                }
                for entry in manifest.assets
            ],
        )
        if stored:
            database.insert_rows(
                connection,
                content_planograms,
                [
                    {"release_id": release_id, "kiosk_id": kiosk_id, "sha256": sha, "size": size}
                    for kiosk_id, (sha, size) in sorted(stored.items())
                ],
            )
        audit.record(
            connection,
            by,
            _AUDIT_ACTIONS.get(source, f"content.{source}"),
            f"release {release_id}",
            {
                "target": str(chosen),
                "name": name or manifest.release,
                "bundle_release": manifest.release,
                "not_before": utc_text(not_before),
                "expires": utc_text(expires),
                "base_release": base,
                "files": len(manifest.assets),
                "planograms": len(stored),
            },
            at=now,
        )
    info = get_release(database, release_id)
    _log.info(
        "content release %d (%s) published to %s by %s: %d files, %d bytes",
        release_id,
        info.bundle_release,
        chosen,
        by,
        info.files,
        info.size,
    )
    return Published(info, tuple(warnings))


def _check_request(
    name: str | None,
    by: str,
    not_before: datetime | None,
    expires: datetime | None,
    now: datetime,
) -> None:
    if name is not None and not (1 <= len(name) <= MAX_NAME and "\x00" not in name):
        raise PublishRefused(f"a release name has 1 to {MAX_NAME} characters")
    if not (1 <= len(by) <= MAX_BY and "\x00" not in by):
        raise PublishRefused(f"who publishes is said in 1 to {MAX_BY} characters")
    for label, moment in (("not_before", not_before), ("expires", expires)):
        if moment is not None and moment.utcoffset() is None:
            raise PublishRefused(f"{label} needs a time zone (an offset, or Z)")
    if expires is not None:
        if expires <= now:
            raise PublishRefused(f"expires ({utc_text(expires)}) is not in the future")
        if not_before is not None and expires <= not_before:
            raise PublishRefused("expires must come after not_before")


def _check_bundle(folder: Path) -> _Checked:
    """Every check a kiosk makes at install, and the per-kiosk planograms'."""
    try:
        bundle = load_bundle(folder)
    except BundleError as error:
        raise PublishRefused(str(error), [str(problem) for problem in error.problems]) from None
    problems = _check_pictures(bundle)
    planograms, planogram_problems = _read_planograms(folder, bundle)
    problems += planogram_problems
    if problems:
        refused = BundleError(problems)
        raise PublishRefused(str(refused), [str(problem) for problem in problems])
    return _Checked(bundle, planograms)


def _check_pictures(bundle: Bundle) -> list[BundleProblem]:
    def check(path: str) -> BundleProblem | None:
        try:
            pictures.check(bundle.root / path)
        except pictures.PictureError as error:
            return BundleProblem(path, "", f"picture {error}")
        return None

    with ThreadPoolExecutor(_PICTURE_WORKERS, thread_name_prefix="publish-pictures") as pool:
        return [problem for problem in pool.map(check, bundle.pictures()) if problem is not None]


def _read_planograms(folder: Path, bundle: Bundle) -> tuple[dict[str, bytes], list[BundleProblem]]:
    """`planograms/<kiosk_id>.json`: each a Planogram whose SKUs are in the catalog."""
    where = folder / PLANOGRAMS
    try:
        info = os.lstat(where)
    except FileNotFoundError:
        return {}, []
    if not stat.S_ISDIR(info.st_mode):
        return {}, [BundleProblem(PLANOGRAMS, "", "must be a folder (not a link or a file)")]
    found: dict[str, bytes] = {}
    problems: list[BundleProblem] = []
    known = {product.sku for product in bundle.catalog.products}
    with BundleFiles(folder) as files:
        names = sorted(entry.name for entry in os.scandir(where))
        if len(names) > MAX_PLANOGRAMS:
            return {}, [BundleProblem(PLANOGRAMS, "", f"holds over {MAX_PLANOGRAMS} files")]
        for file_name in names:
            path = f"{PLANOGRAMS}/{file_name}"
            kiosk_id = file_name.removesuffix(".json")
            if not file_name.endswith(".json") or not KIOSK_ID.fullmatch(kiosk_id):
                problems.append(
                    BundleProblem(path, "", "must be named <kiosk id>.json (like s001-k1.json)")
                )
                continue
            try:
                data = files.read(path, DOCUMENT_MAX_BYTES)
            except EntryError as error:
                problems.append(BundleProblem(path, "", str(error)))
                continue
            try:
                planogram = parse_document(Planogram, data)
            except ValidationError as error:
                problems += [
                    BundleProblem(path, field_path(problem["loc"]), problem["msg"])
                    for problem in error.errors(include_url=False)
                ]
                continue
            problems += [
                BundleProblem(path, f"slots[{index}].sku", f"SKU {slot.sku!r} is not in {CATALOG}")
                for index, slot in enumerate(planogram.slots)
                if slot.sku not in known
            ]
            found[kiosk_id] = data
    return found, problems


def _warnings(
    connection: Connection,
    target: Target,
    checked: _Checked,
    not_before: datetime | None,
    now: datetime,
) -> list[str]:
    labels = fleet.all_labels(connection)
    if target.kind == "store" and target.value not in labels:
        raise UnknownStore(target.value or "")
    covered = {store_id for store_id, store in labels.items() if target.covers(store)}
    warnings = []
    if not covered:
        warnings.append(f"no store is in {target} yet: no kiosk gets this release until one is")
    if checked.planograms:
        store_of = dict(
            connection.execute(
                select(kiosks.c.kiosk_id, kiosks.c.store_id).where(
                    kiosks.c.kiosk_id.in_(list(checked.planograms))
                )
            ).all()
        )
        for kiosk_id in sorted(checked.planograms):
            if kiosk_id not in store_of:
                warnings.append(f"{PLANOGRAMS}/{kiosk_id}.json: no such kiosk is enrolled (yet)")
            elif store_of[kiosk_id] not in covered:
                warnings.append(f"{PLANOGRAMS}/{kiosk_id}.json: that kiosk is not in {target}")
    scheduled = connection.execute(
        select(
            content_releases.c.release_id,
            content_releases.c.not_before,
            content_releases.c.target_kind,
            content_releases.c.target_value,
        )
        .where(content_releases.c.revoked_at.is_(None), content_releases.c.not_before > now)
        .order_by(content_releases.c.release_id)
    ).all()
    for row in scheduled:
        theirs = Target(row.target_kind, row.target_value)
        if any(theirs.covers(labels[store_id]) for store_id in covered):
            warnings.append(
                f"release {row.release_id} is scheduled for {utc_text(row.not_before)}: the kiosks "
                "that get this newer release instead will never activate it"
            )
    return warnings


def _store_assets(
    assets: AssetStore, folder: Path, checked: _Checked
) -> dict[str, tuple[str, int]]:
    """Every listed file into the asset store (checked against its hash as it is
    copied); the planograms' hashes and sizes by kiosk id."""
    try:
        with BundleFiles(folder.absolute()) as files:
            for entry in checked.bundle.manifest.assets:
                with files.open(entry.path) as (reader, _size):
                    assets.put_stream(reader, expected_sha256=entry.sha256)
        stored = {}
        for kiosk_id, data in checked.planograms.items():
            asset = assets.put_bytes(data)
            stored[kiosk_id] = (asset.sha256, asset.size)
    except (AssetError, EntryError, OSError) as error:
        raise PublishRefused(f"the bundle could not be stored: {error}") from None
    return stored


def _apply_edits(catalog: Any, edits: Sequence[ProductEdit]) -> None:
    """Change the catalog document in place; PublishRefused for an unknown SKU or a
    price that is not money."""
    products = catalog.get("products") if isinstance(catalog, dict) else None
    if not isinstance(products, list):
        raise PublishRefused(f"the base release's {CATALOG} has no products")
    by_sku = {product.get("sku"): product for product in products if isinstance(product, dict)}
    problems = []
    for edit in edits:
        product = by_sku.get(edit.sku)
        if product is None:
            problems.append(f"{CATALOG}: no product with SKU {edit.sku!r}")
            continue
        if edit.price is not None:
            try:
                amount = Decimal(str(edit.price).strip())
            except InvalidOperation:
                problems.append(f"{edit.sku}: price {str(edit.price)!r} is not an amount")
                continue
            if not amount.is_finite() or amount < 0:
                problems.append(f"{edit.sku}: price must be 0 or more")
                continue
            product.setdefault("price", {})["amount"] = str(amount.quantize(Decimal("0.01")))
        if edit.in_stock is not None:
            product["in_stock"] = edit.in_stock
        for language, text in (("zh-CN", edit.name_zh), ("en", edit.name_en)):
            if text is not None:
                product.setdefault("name", {})[language] = text
    if problems:
        raise PublishRefused("the edit cannot be made", problems)


def _materialise(assets: AssetStore, sha256: str, target: Path) -> None:
    """The asset as a file at `target`: a hard link when it can be, else a copy."""
    target.parent.mkdir(parents=True, exist_ok=True)
    local = assets.local_path(sha256)
    if local is not None:
        try:
            os.link(local, target)
            return
        except OSError as error:
            if error.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
                raise
    with assets.open(sha256) as source, target.open("wb") as out:
        shutil.copyfileobj(source, out)


def _entry(path: str, data: bytes) -> dict[str, Any]:
    return {"path": path, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


# ---------------------------------------------------------------- reading


def list_releases(database: Database, *, limit: int = 200) -> list[ReleaseInfo]:
    """The newest releases first."""
    with database.read() as connection:
        rows = connection.execute(
            _release_query().order_by(content_releases.c.release_id.desc()).limit(limit)
        ).all()
        return _infos(connection, rows)


def release_files(database: Database, release_id: int) -> dict[str, tuple[str, int]]:
    """The release's files: path -> (sha256, size) (none for a revocation, whose
    kiosks each get the files of what they ran before; hq.content.targeting).
    The bytes are in the asset store: `assets.open(sha256)`."""
    with database.read() as connection:
        _get(connection, release_id)  # UnknownRelease if there is none
        return _files_of(connection, release_id)


def get_release(database: Database, release_id: int) -> ReleaseInfo:
    with database.read() as connection:
        return _get(connection, release_id)


def _get(connection: Connection, release_id: int) -> ReleaseInfo:
    row = connection.execute(
        _release_query().where(content_releases.c.release_id == release_id)
    ).one_or_none()
    if row is None:
        raise UnknownRelease(release_id)
    return _infos(connection, [row])[0]


def _release_query() -> Any:
    totals = (
        select(
            content_release_files.c.release_id,
            func.count().label("files"),
            func.coalesce(func.sum(content_release_files.c.size), 0).label("size"),
        )
        .group_by(content_release_files.c.release_id)
        .subquery()
    )
    return select(
        content_releases,
        func.coalesce(totals.c.files, 0).label("files"),
        func.coalesce(totals.c.size, 0).label("size"),
    ).select_from(
        content_releases.outerjoin(totals, totals.c.release_id == content_releases.c.release_id)
    )


def _infos(connection: Connection, rows: Sequence[Row[Any]]) -> list[ReleaseInfo]:
    ids = [row.release_id for row in rows]
    planograms: dict[int, list[str]] = {}
    if ids:
        for release_id, kiosk_id in connection.execute(
            select(content_planograms.c.release_id, content_planograms.c.kiosk_id)
            .where(content_planograms.c.release_id.in_(ids))
            .order_by(content_planograms.c.kiosk_id)
        ):
            planograms.setdefault(release_id, []).append(kiosk_id)
    return [
        ReleaseInfo(
            release_id=int(row.release_id),
            name=row.name,
            target=Target(row.target_kind, row.target_value),
            created_at=row.created_at,
            created_by=row.created_by,
            not_before=row.not_before,
            expires=row.expires,
            bundle_release=row.bundle_release,
            source=row.source,
            base_release=row.base_release,
            reverts=row.reverts,
            revoked_at=row.revoked_at,
            revoked_by=row.revoked_by,
            files=int(row.files),
            size=int(row.size),
            planogram_kiosks=tuple(planograms.get(row.release_id, ())),
        )
        for row in rows
    ]


def _files_of(connection: Connection, release_id: int) -> dict[str, tuple[str, int]]:
    return {
        row.path: (row.sha256, int(row.size))
        for row in connection.execute(
            select(
                content_release_files.c.path,
                content_release_files.c.sha256,
                content_release_files.c.size,
            ).where(content_release_files.c.release_id == release_id)
        )
    }


# ---------------------------------------------------------------- revoking


def revoke(database: Database, release_id: int, *, by: str, now: datetime) -> Revocation:
    """Mark the release revoked and publish a newer one to the same target that gives
    each of its kiosks the files of what they ran before it (hq.content.targeting)."""
    if not (1 <= len(by) <= MAX_BY and "\x00" not in by):
        raise PublishRefused(f"who revokes is said in 1 to {MAX_BY} characters")
    with database.write() as connection:
        revoked = _get(connection, release_id)
        if revoked.revoked_at is not None:
            raise PublishRefused(
                f"release {release_id} was revoked already, at {utc_text(revoked.revoked_at)} "
                f"by {revoked.revoked_by}"
            )
        if revoked.reverts is not None:
            raise PublishRefused(
                f"release {release_id} is itself the revocation of release {revoked.reverts}: "
                "publish the content again instead"
            )
        connection.execute(
            update(content_releases)
            .where(content_releases.c.release_id == release_id)
            .values(revoked_at=now, revoked_by=by)
        )
        replacement_id = int(
            connection.execute(
                insert(content_releases)
                .values(
                    name=f"Revocation of {release_id}"[:MAX_NAME],
                    target_kind=revoked.target.kind,
                    target_value=revoked.target.value,
                    created_at=now,
                    created_by=by,
                    bundle_release=f"revert-of-{release_id}",
                    source="revert",
                    reverts=release_id,
                )
                .returning(content_releases.c.release_id)
            ).scalar_one()
        )
        heads = release_heads(connection)
        labels = fleet.all_labels(connection)
        store_ids = connection.execute(
            select(kiosks.c.store_id).where(kiosks.c.revoked_at.is_(None), kiosks.c.role == "kiosk")
        ).scalars()
        replacement_head = next(head for head in heads if head.release_id == replacement_id)
        without = sum(
            1
            for store_id in store_ids
            if store_id in labels
            and revoked.target.covers(labels[store_id])
            and content_of(heads, replacement_head, labels[store_id]) is None
        )
        audit.record(
            connection,
            by,
            "content.revoke",
            f"release {release_id}",
            {"replacement": replacement_id, "kiosks_without_earlier": without},
            at=now,
        )
        result = Revocation(_get(connection, release_id), _get(connection, replacement_id), without)
    _log.info(
        "content release %d revoked by %s: release %d sends its kiosks back",
        release_id,
        by,
        replacement_id,
    )
    return result
