"""Load a content bundle directory and validate it, with errors a person can act on.

A bundle is a directory: `manifest.json` lists every other file with its size
and SHA-256; the JSON documents (catalog, planogram, playlist, recommendations,
and the optional consent notices, surveys, coupon campaigns, prize draws and member
offers) follow the models in `content.model` and `content.offers`; pictures and
videos sit beside them.
`load_bundle` checks all of it, collects every problem it finds (file, field,
what is wrong) and raises one `BundleError`, so whoever publishes content fixes
it in one go.
"""

from __future__ import annotations

import errno
import gc
import hashlib
import logging
import os
import re
import stat
from collections.abc import Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from dataclasses import dataclass, field
from io import BufferedReader
from pathlib import Path
from typing import Final, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from content import video
from content.catalog import (
    INDEX,
    CatalogIndex,
    IndexDamaged,
    ProductSummary,
    rebuild,
    summary_of,
)
from content.model import (
    ASSET_PATH_PATTERN,
    HOURS_PATTERN,
    SKU_PATTERN,
    SLUG_PATTERN,
    TEXT_PATTERN,
    AssetEntry,
    Catalog,
    ConsentNotice,
    ConsentPurpose,
    CouponCampaign,
    CouponCampaigns,
    FieldValueError,
    Manifest,
    Notices,
    Planogram,
    Playlist,
    PrizeDraw,
    PrizeDraws,
    Product,
    RecommendationModel,
    Recommendations,
    Survey,
    Surveys,
)
from content.offers import Offer, Offers

_log = logging.getLogger("content.bundle")

MANIFEST: Final = "manifest.json"
CATALOG: Final = "catalog.json"
PLANOGRAM: Final = "planogram.json"
PLAYLIST: Final = "playlist.json"
RECOMMENDATIONS: Final = "recommendations.json"
DOCUMENTS: Final = (CATALOG, PLANOGRAM, PLAYLIST, RECOMMENDATIONS)  # every bundle has these
NOTICES: Final = "notices.json"
SURVEYS: Final = "surveys.json"
COUPONS: Final = "coupons.json"
PRIZES: Final = "prizes.json"
RECOMMENDER: Final = "recommender.json"  # HQ's trained model (hq.analytics.model)
OFFERS: Final = "offers.json"  # member offers (content.offers)
# Absent means none: no sign-up, no surveys, no coupons, no draws, no offers. When
# present they must be listed in the manifest like the others.
OPTIONAL_DOCUMENTS: Final = (NOTICES, SURVEYS, COUPONS, PRIZES, RECOMMENDER, OFFERS)
# A 10,000-product catalog is about 10 MB. A document is read whole before it is
# parsed, so its size is checked first: a sparse 8 GiB file is refused, not read.
DOCUMENT_MAX_BYTES: Final = 64 * 1024 * 1024

# Entries are opened one path component at a time, none of them followed if it is
# a link (a link could name any file on the kiosk), and without blocking: opening
# a FIFO for reading would wait for a writer that never comes.
_DIR_FLAGS: Final = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS: Final = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC

# str(BundleError) is read in logs and on the attendant screen; the full list
# stays available in `.problems`.
_SHOWN_PROBLEMS: Final = 10

# A field name that reads well after a dot; anything else (a SKU used as a
# dict key, say) is shown quoted in brackets.
_PLAIN_NAME: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")

# Pydantic would quote the regular expression; people need the rule in words.
_PATTERN_HINTS: Final = {
    SKU_PATTERN: "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
    SLUG_PATTERN: (
        "must be 1-40 lower-case letters, digits, '_' or '-', starting with a letter or digit"
    ),
    ASSET_PATH_PATTERN: (
        "must be a relative path inside the bundle: letters, digits, '.', '_', '-' and '/',"
        " with no empty, '.' or '..' parts"
    ),
    TEXT_PATTERN: "must not contain NUL characters",
    HOURS_PATTERN: 'must be "HH:MM-HH:MM" in 24-hour local time, e.g. "09:00-12:00"',
}

_M = TypeVar("_M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class BundleProblem:
    """One thing wrong with a bundle: where it is and what is wrong."""

    file: str  # bundle-relative, e.g. "catalog.json"
    field: str  # e.g. "products[3].price.amount"; "" when the whole file
    problem: str  # e.g. "Input should be greater than or equal to 0"

    def __str__(self) -> str:
        if self.field:
            return f"{self.file}: {self.field}: {self.problem}"
        return f"{self.file}: {self.problem}"


class BundleError(Exception):
    """A bundle that must not be used, with every problem found in it."""

    def __init__(self, problems: Iterable[BundleProblem]) -> None:
        self.problems: tuple[BundleProblem, ...] = tuple(problems)
        shown = [str(problem) for problem in self.problems[:_SHOWN_PROBLEMS]]
        hidden = len(self.problems) - len(shown)
        if hidden > 0:
            shown.append(f"... and {hidden} more")
        super().__init__(
            f"{len(self.problems)} problem(s) in content bundle:\n  " + "\n  ".join(shown)
        )

    def __reduce__(self) -> tuple[type[BundleError], tuple[tuple[BundleProblem, ...]]]:
        return (type(self), (self.problems,))  # survives pickling (process pools, queues)


@dataclass(frozen=True, slots=True, weakref_slot=True)  # weakly held while it may be replaced
class Bundle:
    """A validated bundle; lookups by SKU, slot and id are dictionary lookups.

    The optional documents are empty tuples when the bundle has none. `catalog` is
    the whole catalog (`load_bundle`), or for an installed release its index, each
    product validated when first asked for (`load_release`, content.catalog): use
    `product` and `summaries`; `catalog.products` builds every product.
    """

    root: Path
    manifest: Manifest
    catalog: Catalog | CatalogIndex
    planogram: Planogram
    playlist: Playlist
    recommendations: Recommendations
    notices: tuple[ConsentNotice, ...] = ()
    surveys: tuple[Survey, ...] = ()
    campaigns: tuple[CouponCampaign, ...] = ()
    prize_draws: tuple[PrizeDraw, ...] = ()
    recommender: RecommendationModel | None = None
    offers: tuple[Offer, ...] = ()
    _by_sku: dict[str, Product] | None = field(init=False, repr=False, compare=False)
    _summaries: list[tuple[ProductSummary, ...]] = field(init=False, repr=False, compare=False)
    _sku_by_slot: dict[int, str] = field(init=False, repr=False, compare=False)
    _slot_by_sku: dict[str, int] = field(init=False, repr=False, compare=False)
    _assets: frozenset[str] = field(init=False, repr=False, compare=False)
    _notices: dict[ConsentPurpose, ConsentNotice] = field(init=False, repr=False, compare=False)
    _surveys: dict[str, Survey] = field(init=False, repr=False, compare=False)
    _campaigns: dict[str, CouponCampaign] = field(init=False, repr=False, compare=False)
    _campaigns_by_number: dict[int, CouponCampaign] = field(init=False, repr=False, compare=False)
    _prize_draws: dict[str, PrizeDraw] = field(init=False, repr=False, compare=False)
    _offers: dict[str, Offer] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Built once here so the GUI thread never scans a 10,000-product catalog.
        by_sku = None
        if isinstance(self.catalog, Catalog):
            by_sku = {p.sku: p for p in self.catalog.products}
        object.__setattr__(self, "_by_sku", by_sku)
        object.__setattr__(self, "_summaries", [])
        slots = sorted(self.planogram.slots, key=lambda a: a.slot)
        object.__setattr__(self, "_sku_by_slot", {a.slot: a.sku for a in slots})
        slot_by_sku: dict[str, int] = {}
        for assignment in slots:  # lowest slot wins when a model is on two slots
            slot_by_sku.setdefault(assignment.sku, assignment.slot)
        object.__setattr__(self, "_slot_by_sku", slot_by_sku)
        object.__setattr__(self, "_assets", frozenset(a.path for a in self.manifest.assets))
        object.__setattr__(self, "_notices", {n.purpose: n for n in self.notices})
        object.__setattr__(self, "_surveys", {s.id: s for s in self.surveys})
        object.__setattr__(self, "_campaigns", {c.id: c for c in self.campaigns})
        object.__setattr__(self, "_campaigns_by_number", {c.number: c for c in self.campaigns})
        object.__setattr__(self, "_prize_draws", {d.id: d for d in self.prize_draws})
        object.__setattr__(self, "_offers", {o.id: o for o in self.offers})

    @property
    def release(self) -> str:
        return self.manifest.release

    def product(self, sku: str) -> Product | None:
        if self._by_sku is None:
            assert isinstance(self.catalog, CatalogIndex)
            return self.catalog.product(sku)
        return self._by_sku.get(sku)

    def summaries(self) -> tuple[ProductSummary, ...]:
        """Every product's summary in catalog order, without building the products."""
        if not self._summaries:
            catalog = self.catalog
            made = (
                catalog.summaries()
                if isinstance(catalog, CatalogIndex)
                else tuple(map(summary_of, catalog.products))
            )
            self._summaries.append(made)
        return self._summaries[0]

    def sku_on_slot(self, slot: int) -> str | None:
        return self._sku_by_slot.get(slot)

    def slot_of(self, sku: str) -> int | None:
        return self._slot_by_sku.get(sku)

    def notice(self, purpose: ConsentPurpose) -> ConsentNotice | None:
        return self._notices.get(purpose)

    def survey(self, survey_id: str) -> Survey | None:
        return self._surveys.get(survey_id)

    def campaign(self, campaign_id: str) -> CouponCampaign | None:
        return self._campaigns.get(campaign_id)

    def campaign_numbered(self, number: int) -> CouponCampaign | None:
        """The campaign a coupon code names by its number."""
        return self._campaigns_by_number.get(number)

    def prize_draw(self, draw_id: str) -> PrizeDraw | None:
        return self._prize_draws.get(draw_id)

    def offer(self, offer_id: str) -> Offer | None:
        return self._offers.get(offer_id)

    def asset(self, path: str) -> Path:
        """Absolute path of a file listed in the manifest (KeyError otherwise)."""
        if path not in self._assets:
            raise KeyError(f"{path!r} is not an asset of release {self.release}")
        return self.root / path

    def pictures(self) -> list[str]:
        """Every picture the catalog and the playlist show, each once, in bundle order."""
        named = [image for product in self.catalog.products for image in product.images]
        named += [item.image for item in self.playlist.items if item.image is not None]
        return list(dict.fromkeys(named))

    def videos(self) -> list[str]:
        """Every video the playlist shows, each once, in playlist order."""
        return list(dict.fromkeys(i.video for i in self.playlist.items if i.video is not None))


class EntryError(Exception):
    """A bundle entry that is not a regular file inside the bundle; says what it is instead."""


class BundleFiles:
    """The files of a bundle directory, opened without following links or blocking.

    docs/bundle.md: every entry is a regular file, not a link. Each folder on the
    way is opened with O_NOFOLLOW too, so `images -> /etc` is refused like a linked
    file. Use as a context manager; folders stay open until it closes.
    FileNotFoundError is raised as is (callers word "missing" themselves).
    """

    def __init__(self, root: Path) -> None:
        self._folders = {"": os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)}

    def __enter__(self) -> BundleFiles:
        return self

    def __exit__(self, *_: object) -> None:
        for fd in self._folders.values():
            os.close(fd)
        self._folders.clear()

    def size(self, path: str) -> int:
        """Size of the regular file `path` (bundle-relative), from its directory entry."""
        folder, name = self._split(path)
        try:
            info = os.stat(name, dir_fd=folder, follow_symlinks=False)
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise EntryError(f"cannot be read: {exc.strerror}") from None
        return _regular_size(info)

    @contextmanager
    def open(self, path: str) -> Iterator[tuple[BufferedReader, int]]:
        """The regular file `path` open for reading, and its size."""
        folder, name = self._split(path)
        try:
            fd = os.open(name, _FILE_FLAGS, dir_fd=folder)
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise _entry_error(exc, None, linked=exc.errno == errno.ELOOP) from None
        with os.fdopen(fd, "rb") as file:
            yield file, _regular_size(os.fstat(fd))

    def read(self, path: str, limit: int) -> bytes:
        """The whole of `path`, refused unread when it is larger than `limit` bytes."""
        with self.open(path) as (file, size):
            if size > limit:
                raise EntryError(f"is {size:,} bytes; a document may have at most {limit:,}")
            data = file.read(size + 1)
        if len(data) != size:
            raise EntryError("changed while being read")
        return data

    def _split(self, path: str) -> tuple[int, str]:
        folder, _, name = path.rpartition("/")
        return self._folder(folder), name

    def _folder(self, folder: str) -> int:
        fd = self._folders.get(folder)
        if fd is None:
            parent, _, name = folder.rpartition("/")
            parent_fd = self._folder(parent)
            try:
                fd = os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
            except FileNotFoundError:
                raise
            except OSError as exc:
                # O_DIRECTORY | O_NOFOLLOW says ENOTDIR for a link and a file alike.
                linked = stat.S_ISLNK(
                    os.stat(name, dir_fd=parent_fd, follow_symlinks=False).st_mode
                )
                raise _entry_error(exc, folder, linked=linked) from None
            self._folders[folder] = fd
        return fd


def _entry_error(error: OSError, folder: str | None, *, linked: bool) -> EntryError:
    """`folder`: the folder on the entry's way that failed; None for the entry itself."""
    if linked:  # O_NOFOLLOW met a link
        where = "is" if folder is None else f"is in {folder}, which is"
        return EntryError(f"{where} a symbolic link; every entry must be a regular file")
    return EntryError(f"cannot be read: {error.strerror}")


def _regular_size(info: os.stat_result) -> int:
    if stat.S_ISLNK(info.st_mode):
        raise EntryError("is a symbolic link; every entry must be a regular file")  # lstat
    if not stat.S_ISREG(info.st_mode):
        raise EntryError("is not a regular file")  # a FIFO, a device, a folder
    return info.st_size


def load_bundle(root: Path, *, verify_hashes: bool = True) -> Bundle:
    """Load and validate the bundle in `root`, or raise BundleError listing every problem.

    Sizes are always checked; SHA-256 only with `verify_hashes` (a bundle the
    store verified when installing need not be hashed again at every start).
    """
    root = root.absolute()
    if not root.is_dir():
        raise BundleError([BundleProblem(str(root), "", "bundle directory is missing")])
    with _collector_paused(), BundleFiles(root) as files:
        return _load(root, files, verify_hashes=verify_hashes, indexed=False)


def load_release(root: Path) -> Bundle:
    """Load a release the store installed (or staged): as `load_bundle` without hashes,
    but the catalog from its index (content.catalog), validated product by product
    when needed. Only for a folder whose bundle was validated whole with its hashes:
    the store's releases. An index missing or damaged is rebuilt here from catalog.json
    (hash-verified and validated whole); BundleError if that is damaged too.
    """
    root = root.absolute()
    if not root.is_dir():
        raise BundleError([BundleProblem(str(root), "", "bundle directory is missing")])
    with _collector_paused(), BundleFiles(root) as files:
        return _load(root, files, verify_hashes=False, indexed=True)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while pydantic builds ~50,000 objects.

    They form no cycles, yet every few hundred allocations would trigger a
    collection walking all of them: pausing makes a large catalog load about a
    third faster. Process-wide, but only for the fraction of a second of a load.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _load(root: Path, files: BundleFiles, *, verify_hashes: bool, indexed: bool) -> Bundle:
    problems: list[BundleProblem] = []

    manifest = _read_document(
        files, MANIFEST, Manifest, listed=None, verify_hashes=verify_hashes, problems=problems
    )
    if manifest is None and any(
        p.file == MANIFEST and p.field == "schema_version" for p in problems
    ):
        # Another schema version means other document shapes: more errors would be noise.
        raise BundleError(problems)
    listed = _listed_assets(manifest, problems) if manifest is not None else None

    def read_document(name: str, model: type[_M]) -> _M | None:
        return _read_document(
            files, name, model, listed=listed, verify_hashes=verify_hashes, problems=problems
        )

    catalog = None if indexed else read_document(CATALOG, Catalog)
    planogram = read_document(PLANOGRAM, Planogram)
    playlist = read_document(PLAYLIST, Playlist)
    recommendations = read_document(RECOMMENDATIONS, Recommendations)
    present = {
        name
        for name in OPTIONAL_DOCUMENTS
        if os.path.lexists(root / name) or (listed is not None and name in listed)
    }
    notices = read_document(NOTICES, Notices) if NOTICES in present else None
    surveys = read_document(SURVEYS, Surveys) if SURVEYS in present else None
    coupons = read_document(COUPONS, CouponCampaigns) if COUPONS in present else None
    prizes = read_document(PRIZES, PrizeDraws) if PRIZES in present else None
    model = read_document(RECOMMENDER, RecommendationModel) if RECOMMENDER in present else None
    offers = read_document(OFFERS, Offers) if OFFERS in present else None
    index = None
    if indexed:
        if listed is not None:
            index = _open_index(root, files, listed, planogram, recommendations, model, offers)
        if index is None:  # none yet, or damaged: from catalog.json, verified whole
            catalog = _read_document(
                files, CATALOG, Catalog, listed=listed, verify_hashes=True, problems=problems
            )

    if listed is not None:
        _check_assets(files, listed, verify_hashes, problems)
        _check_images_listed(catalog, playlist, listed, problems)
        if prizes is not None:
            _check_prize_images_listed(prizes, listed, problems)
        if playlist is not None and verify_hashes:  # with the hashes: once, at install
            _check_videos(files, playlist, listed, problems)
    known_skus = index.skus if index is not None else _catalog_skus(catalog)
    if known_skus is not None:
        _check_skus_exist(known_skus, planogram, recommendations, problems, model)
    if coupons is not None or COUPONS not in present:  # a broken coupons.json: noise
        _check_campaigns_exist(
            coupons.campaigns if coupons is not None else (), surveys, prizes, problems
        )
    if offers is not None:
        _check_offer_references(offers, coupons, COUPONS in present, known_skus, problems)

    if problems:
        raise BundleError(problems)
    assert manifest is not None  # every None above came with a problem
    products: Catalog | CatalogIndex | None = catalog if index is None else index
    assert products is not None
    assert planogram is not None
    assert playlist is not None
    assert recommendations is not None
    if indexed and isinstance(products, Catalog) and listed is not None:
        rebuild(root, products, listed[CATALOG].sha256)  # none yet, or damaged: next start's
    return Bundle(
        root,
        manifest,
        products,
        planogram,
        playlist,
        recommendations,
        notices=notices.notices if notices is not None else (),
        surveys=surveys.surveys if surveys is not None else (),
        campaigns=coupons.campaigns if coupons is not None else (),
        prize_draws=prizes.draws if prizes is not None else (),
        recommender=model,
        offers=offers.offers if offers is not None else (),
    )


def _open_index(  # noqa: PLR0917 - the documents that name SKUs
    root: Path,
    files: BundleFiles,
    listed: Mapping[str, AssetEntry],
    planogram: Planogram | None,
    recommendations: Recommendations | None,
    model: RecommendationModel | None = None,
    offers: Offers | None = None,
) -> CatalogIndex | None:
    """The release's catalog index, if it is whole and of its catalog.json (else None:
    the catalog is read in full, which also says what is wrong with it, if anything)."""
    entry = listed.get(CATALOG)
    try:
        if entry is None or files.size(CATALOG) != entry.size:
            return None
        data = files.read(INDEX, DOCUMENT_MAX_BYTES)
    except FileNotFoundError:
        _log.info("release %s has no catalog index yet", root.name)
        return None
    except (OSError, EntryError):
        return None
    try:
        index = CatalogIndex(root, entry.sha256, data)
    except IndexDamaged as error:
        _log.error("catalog index of release %s is damaged (%s): rebuilding it", root.name, error)
        return None
    named = {a.sku for a in planogram.slots} if planogram is not None else set()
    if recommendations is not None:
        named.update(recommendations.best_sellers, *recommendations.related.values())
        named.update(recommendations.related)
    if model is not None:
        named.update(model.skus())
    if offers is not None:
        named.update(_offer_skus(offers))
    if not named <= index.skus:
        # A SKU damaged in the index, or a bundle that refers to an unknown product:
        # the catalog itself tells which.
        _log.error("catalog index of release %s lacks products the release names", root.name)
        return None
    return index


def field_path(loc: Sequence[str | int]) -> str:
    """('products', 3, 'price', 'amount') -> 'products[3].price.amount'."""
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif part == "[key]":  # pydantic's marker for a bad dict key
            parts.append("[key]")
        elif _PLAIN_NAME.match(part):
            parts.append(f".{part}" if parts else part)
        else:
            parts.append(f'["{part}"]')
    return "".join(parts)


def _read_document(
    files: BundleFiles,
    name: str,
    model: type[_M],
    *,
    listed: Mapping[str, AssetEntry] | None,
    verify_hashes: bool,
    problems: list[BundleProblem],
) -> _M | None:
    try:
        data = files.read(name, DOCUMENT_MAX_BYTES)
    except FileNotFoundError:
        if name in OPTIONAL_DOCUMENTS:  # only read when listed or there
            problems.append(BundleProblem(name, "", f"is listed in {MANIFEST} but missing"))
        else:
            problems.append(BundleProblem(name, "", "file is missing"))
        return None
    except EntryError as exc:
        problems.append(BundleProblem(name, "", str(exc)))
        return None
    if listed is not None:
        # The bytes are in hand: check them here rather than reading the file twice.
        entry = listed.get(name)
        if entry is None:
            problems.append(BundleProblem(name, "", f"is not listed in {MANIFEST}"))
        else:
            problems.extend(_compare(entry, len(data), verify_hashes, data))
    try:
        return parse_document(model, data)
    except ValidationError as exc:
        problems.extend(_translate(name, exc.errors()))
        return None


def parse_document(model: type[_M], data: bytes) -> _M:
    """One JSON document of a bundle as `model`; ValidationError when it does not fit.

    Strict: the formats are exact, so `"3"`, `2.0` or `true` is no integer and
    `1` no boolean (docs/bundle.md). Parsing JSON inside pydantic-core is much
    faster than json.loads + validate.
    """
    return model.model_validate_json(data, strict=True)


def _translate(name: str, errors: list[ErrorDetails]) -> list[BundleProblem]:
    # A container whose items failed is also "too short after validation": noise.
    failed = [e["loc"] for e in errors if e["type"] != "too_short"]
    result = []
    for error in errors:
        loc = error["loc"]
        if error["type"] == "too_short" and any(
            len(other) > len(loc) and other[: len(loc)] == loc for other in failed
        ):
            continue
        message = error["msg"]
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, FieldValueError):
            # Its location is relative to the model (or field) that raised it.
            loc, message = (*loc, *cause.loc), str(cause)
        elif error["type"] == "value_error":
            message = message.removeprefix("Value error, ")
        elif error["type"] == "string_pattern_mismatch":
            message = _PATTERN_HINTS.get(str((error.get("ctx") or {}).get("pattern")), message)
        elif error["type"] == "json_invalid":
            message = message.replace("Invalid JSON: ", "invalid JSON: ", 1)
        result.append(BundleProblem(name, field_path(loc), message))
    return result


def _listed_assets(manifest: Manifest, problems: list[BundleProblem]) -> dict[str, AssetEntry]:
    listed: dict[str, AssetEntry] = {}
    for index, entry in enumerate(manifest.assets):
        where = f"assets[{index}].path"
        if entry.path == MANIFEST:
            problems.append(BundleProblem(MANIFEST, where, "the manifest cannot list itself"))
        elif listed.setdefault(entry.path, entry) is not entry:
            problems.append(BundleProblem(MANIFEST, where, f"{entry.path} is listed twice"))
    return listed


def _check_assets(
    files: BundleFiles,
    listed: Mapping[str, AssetEntry],
    verify_hashes: bool,
    problems: list[BundleProblem],
) -> None:
    for path, entry in listed.items():
        if path in DOCUMENTS or path in OPTIONAL_DOCUMENTS:
            continue  # checked from the bytes already read
        try:
            if verify_hashes:
                with files.open(path) as (file, size):
                    problems.extend(_compare(entry, size, verify_hashes, file))
            else:  # a directory entry is enough for the size: much cheaper at start
                problems.extend(_compare(entry, files.size(path), verify_hashes, b""))
        except FileNotFoundError:
            problems.append(BundleProblem(path, "", f"is listed in {MANIFEST} but missing"))
        except EntryError as exc:
            problems.append(BundleProblem(path, "", str(exc)))


def _compare(
    entry: AssetEntry, size: int, verify_hashes: bool, content: bytes | BufferedReader
) -> list[BundleProblem]:
    if size != entry.size:
        return [
            BundleProblem(entry.path, "size", f"is {size} bytes but {MANIFEST} says {entry.size}")
        ]
    if not verify_hashes:
        return []
    digest = _sha256(content)
    if digest != entry.sha256:
        return [
            BundleProblem(
                entry.path,
                "sha256",
                f"is {digest[:12]}… but {MANIFEST} says {entry.sha256[:12]}… (file changed)",
            )
        ]
    return []


def _sha256(content: bytes | BufferedReader) -> str:
    if isinstance(content, bytes):
        return hashlib.sha256(content).hexdigest()
    return hashlib.file_digest(content, "sha256").hexdigest()  # reads in chunks


def _check_images_listed(
    catalog: Catalog | None,
    playlist: Playlist | None,
    listed: Mapping[str, AssetEntry],
    problems: list[BundleProblem],
) -> None:
    """Every image a document names must be in the manifest (verified, shipped)."""
    references: list[tuple[str, tuple[str | int, ...], str]] = []
    # Set difference first: cheap for 20,000 paths; locations only when something is off.
    # (An index is made only from a catalog that passed this at install.)
    if catalog is not None and not {i for p in catalog.products for i in p.images} <= listed.keys():
        references += [
            (CATALOG, ("products", index, "images", number), image)
            for index, product in enumerate(catalog.products)
            for number, image in enumerate(product.images)
        ]
    if playlist is not None:
        references += [
            (PLAYLIST, ("items", index, "image" if item.image is not None else "video"), item.asset)
            for index, item in enumerate(playlist.items)
        ]
    problems.extend(
        BundleProblem(name, field_path(loc), f"{path} is not listed in {MANIFEST}")
        for name, loc, path in references
        if path not in listed
    )


def _check_prize_images_listed(
    prizes: PrizeDraws, listed: Mapping[str, AssetEntry], problems: list[BundleProblem]
) -> None:
    problems.extend(
        BundleProblem(
            PRIZES,
            field_path(("draws", index, "prizes", number, "image")),
            f"{prize.image} is not listed in {MANIFEST}",
        )
        for index, draw in enumerate(prizes.draws)
        for number, prize in enumerate(draw.prizes)
        if prize.image is not None and prize.image not in listed
    )


def _check_videos(
    files: BundleFiles,
    playlist: Playlist,
    listed: Mapping[str, AssetEntry],
    problems: list[BundleProblem],
) -> None:
    """Every video of the playlist is an H.264 MP4 within the size limit (`content.video`)."""
    for path in dict.fromkeys(item.video for item in playlist.items if item.video is not None):
        if path not in listed:
            continue  # said already: not listed in the manifest
        try:
            with files.open(path) as (file, size):
                video.check(file, size)
        except FileNotFoundError:
            continue  # said already: listed but missing
        except EntryError:
            continue  # said already, by the asset check
        except video.VideoError as error:
            problems.append(BundleProblem(path, "", str(error)))


def _check_skus_exist(
    known: AbstractSet[str],
    planogram: Planogram | None,
    recommendations: Recommendations | None,
    problems: list[BundleProblem],
    model: RecommendationModel | None = None,
) -> None:
    """SKUs on slots, in recommendation tables and in the model must be in the catalog."""
    references: list[tuple[str, tuple[str | int, ...], str]] = []
    if planogram is not None:
        references += [
            (PLANOGRAM, ("slots", index, "sku"), assignment.sku)
            for index, assignment in enumerate(planogram.slots)
        ]
    if recommendations is not None:
        related = recommendations.related
        mentioned = related.keys() | {sku for skus in related.values() for sku in skus}
        # As above: locate only when something is off.
        if not mentioned <= known:
            for sku, others in related.items():
                references.append((RECOMMENDATIONS, ("related", sku), sku))
                references += [
                    (RECOMMENDATIONS, ("related", sku, index), other)
                    for index, other in enumerate(others)
                ]
        references += [
            (RECOMMENDATIONS, ("best_sellers", index), sku)
            for index, sku in enumerate(recommendations.best_sellers)
        ]
    if model is not None and not model.skus() <= known:
        references += [
            (RECOMMENDER, ("popularity", index, 0), sku)
            for index, (sku, _) in enumerate(model.popularity)
        ]
        for sku, scored in model.related.items():
            references.append((RECOMMENDER, ("related", sku), sku))
            references += [
                (RECOMMENDER, ("related", sku, index, 0), other)
                for index, (other, _) in enumerate(scored)
            ]
    problems.extend(
        BundleProblem(name, field_path(loc), f"SKU {sku!r} is not in {CATALOG}")
        for name, loc, sku in references
        if sku not in known
    )


def _check_campaigns_exist(
    campaigns: Sequence[CouponCampaign],
    surveys: Surveys | None,
    prizes: PrizeDraws | None,
    problems: list[BundleProblem],
) -> None:
    """Survey rewards and prizes must name campaigns in coupons.json."""
    known = {campaign.id for campaign in campaigns}
    references: list[tuple[str, tuple[str | int, ...], str]] = []
    if surveys is not None:
        references += [
            (SURVEYS, ("surveys", index, "reward"), survey.reward)
            for index, survey in enumerate(surveys.surveys)
            if survey.reward is not None
        ]
    if prizes is not None:
        references += [
            (PRIZES, ("draws", index, "prizes", number, "campaign"), prize.campaign)
            for index, draw in enumerate(prizes.draws)
            for number, prize in enumerate(draw.prizes)
        ]
    problems.extend(
        BundleProblem(name, field_path(loc), f"coupon campaign {campaign!r} is not in {COUPONS}")
        for name, loc, campaign in references
        if campaign not in known
    )


def _catalog_skus(catalog: Catalog | None) -> set[str] | None:
    return None if catalog is None else {product.sku for product in catalog.products}


def _offer_skus(offers: Offers) -> set[str]:
    named = {offer.product for offer in offers.offers if offer.product is not None}
    named.update(
        sku
        for offer in offers.offers
        if offer.segment.viewed is not None
        for sku in offer.segment.viewed.skus
    )
    return named


def _check_offer_references(
    offers: Offers,
    coupons: CouponCampaigns | None,
    coupons_present: bool,
    known_skus: AbstractSet[str] | None,
    problems: list[BundleProblem],
) -> None:
    """An offer's campaign must be in coupons.json (absent: none), its featured product
    and the SKUs of its `viewed` rule in the catalog. A broken coupons.json or catalog
    (said already) is not checked against: every offer would fail with it."""
    known: set[str] | None = set()
    if coupons is not None:
        known = {campaign.id for campaign in coupons.campaigns}
    elif coupons_present:
        known = None
    for index, offer in enumerate(offers.offers):
        if known is not None and offer.campaign is not None and offer.campaign not in known:
            problems.append(
                BundleProblem(
                    OFFERS,
                    field_path(("offers", index, "campaign")),
                    f"coupon campaign {offer.campaign!r} is not in {COUPONS}",
                )
            )
        if known_skus is None:
            continue
        references: list[tuple[tuple[str | int, ...], str]] = []
        if offer.product is not None:
            references.append((("offers", index, "product"), offer.product))
        if offer.segment.viewed is not None:
            references += [
                (("offers", index, "segment", "viewed", "skus", number), sku)
                for number, sku in enumerate(offer.segment.viewed.skus)
            ]
        problems.extend(
            BundleProblem(OFFERS, field_path(loc), f"SKU {sku!r} is not in {CATALOG}")
            for loc, sku in references
            if sku not in known_skus
        )
