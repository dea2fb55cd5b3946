"""Load a content bundle directory and validate it, with errors a person can act on.

A bundle is a directory: `manifest.json` lists every other file with its size
and SHA-256; the JSON documents (catalog, planogram, playlist, recommendations,
and the optional consent notices, surveys, coupon campaigns and prize draws)
follow the models in `content.model`; images sit beside them. `load_bundle`
checks all of it, collects every problem it finds (file, field, what is wrong)
and raises one `BundleError`, so whoever publishes content fixes it in one go.
"""

from __future__ import annotations

import gc
import hashlib
import os
import re
import stat
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from content.model import (
    ASSET_PATH_PATTERN,
    SKU_PATTERN,
    SLUG_PATTERN,
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
    Recommendations,
    Survey,
    Surveys,
)

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
# Absent means none: no sign-up, no surveys, no coupons, no draws. When
# present they must be listed in the manifest like the others.
OPTIONAL_DOCUMENTS: Final = (NOTICES, SURVEYS, COUPONS, PRIZES)

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


@dataclass(frozen=True, slots=True)
class Bundle:
    """A validated bundle; lookups by SKU, slot and id are dictionary lookups.

    The optional documents are empty tuples when the bundle has none.
    """

    root: Path
    manifest: Manifest
    catalog: Catalog
    planogram: Planogram
    playlist: Playlist
    recommendations: Recommendations
    notices: tuple[ConsentNotice, ...] = ()
    surveys: tuple[Survey, ...] = ()
    campaigns: tuple[CouponCampaign, ...] = ()
    prize_draws: tuple[PrizeDraw, ...] = ()
    _by_sku: dict[str, Product] = field(init=False, repr=False, compare=False)
    _sku_by_slot: dict[int, str] = field(init=False, repr=False, compare=False)
    _slot_by_sku: dict[str, int] = field(init=False, repr=False, compare=False)
    _assets: frozenset[str] = field(init=False, repr=False, compare=False)
    _notices: dict[ConsentPurpose, ConsentNotice] = field(init=False, repr=False, compare=False)
    _surveys: dict[str, Survey] = field(init=False, repr=False, compare=False)
    _campaigns: dict[str, CouponCampaign] = field(init=False, repr=False, compare=False)
    _campaigns_by_number: dict[int, CouponCampaign] = field(init=False, repr=False, compare=False)
    _prize_draws: dict[str, PrizeDraw] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Built once here so the GUI thread never scans a 10,000-product catalog.
        object.__setattr__(self, "_by_sku", {p.sku: p for p in self.catalog.products})
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

    @property
    def release(self) -> str:
        return self.manifest.release

    def product(self, sku: str) -> Product | None:
        return self._by_sku.get(sku)

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

    def asset(self, path: str) -> Path:
        """Absolute path of a file listed in the manifest (KeyError otherwise)."""
        if path not in self._assets:
            raise KeyError(f"{path!r} is not an asset of release {self.release}")
        return self.root / path


def load_bundle(root: Path, *, verify_hashes: bool = True) -> Bundle:
    """Load and validate the bundle in `root`, or raise BundleError listing every problem.

    Sizes are always checked; SHA-256 only with `verify_hashes` (a bundle the
    store verified when installing need not be hashed again at every start).
    """
    root = root.absolute()
    if not root.is_dir():
        raise BundleError([BundleProblem(str(root), "", "bundle directory is missing")])
    with _collector_paused():
        return _load(root, verify_hashes=verify_hashes)


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


def _load(root: Path, *, verify_hashes: bool) -> Bundle:
    problems: list[BundleProblem] = []

    manifest = _read_document(
        root, MANIFEST, Manifest, listed=None, verify_hashes=verify_hashes, problems=problems
    )
    if manifest is None and any(
        p.file == MANIFEST and p.field == "schema_version" for p in problems
    ):
        # Another schema version means other document shapes: more errors would be noise.
        raise BundleError(problems)
    listed = _listed_assets(manifest, problems) if manifest is not None else None

    def read_document(name: str, model: type[_M]) -> _M | None:
        return _read_document(
            root, name, model, listed=listed, verify_hashes=verify_hashes, problems=problems
        )

    catalog = read_document(CATALOG, Catalog)
    planogram = read_document(PLANOGRAM, Planogram)
    playlist = read_document(PLAYLIST, Playlist)
    recommendations = read_document(RECOMMENDATIONS, Recommendations)
    present = {
        name
        for name in OPTIONAL_DOCUMENTS
        if (root / name).exists() or (listed is not None and name in listed)
    }
    notices = read_document(NOTICES, Notices) if NOTICES in present else None
    surveys = read_document(SURVEYS, Surveys) if SURVEYS in present else None
    coupons = read_document(COUPONS, CouponCampaigns) if COUPONS in present else None
    prizes = read_document(PRIZES, PrizeDraws) if PRIZES in present else None

    if listed is not None:
        _check_assets(root, listed, verify_hashes, problems)
        _check_images_listed(catalog, playlist, listed, problems)
    if catalog is not None:
        _check_skus_exist(catalog, planogram, recommendations, problems)
    if coupons is not None or COUPONS not in present:  # a broken coupons.json: noise
        _check_campaigns_exist(
            coupons.campaigns if coupons is not None else (), surveys, prizes, problems
        )

    if problems:
        raise BundleError(problems)
    assert manifest is not None  # every None above came with a problem
    assert catalog is not None
    assert planogram is not None
    assert playlist is not None
    assert recommendations is not None
    return Bundle(
        root,
        manifest,
        catalog,
        planogram,
        playlist,
        recommendations,
        notices=notices.notices if notices is not None else (),
        surveys=surveys.surveys if surveys is not None else (),
        campaigns=coupons.campaigns if coupons is not None else (),
        prize_draws=prizes.draws if prizes is not None else (),
    )


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
    root: Path,
    name: str,
    model: type[_M],
    *,
    listed: Mapping[str, AssetEntry] | None,
    verify_hashes: bool,
    problems: list[BundleProblem],
) -> _M | None:
    try:
        data = (root / name).read_bytes()
    except FileNotFoundError:
        if name in OPTIONAL_DOCUMENTS:  # only read when listed or there
            problems.append(BundleProblem(name, "", f"is listed in {MANIFEST} but missing"))
        else:
            problems.append(BundleProblem(name, "", "file is missing"))
        return None
    except OSError as exc:
        problems.append(BundleProblem(name, "", f"cannot be read: {exc.strerror}"))
        return None
    if listed is not None:
        # The bytes are in hand: check them here rather than reading the file twice.
        entry = listed.get(name)
        if entry is None:
            problems.append(BundleProblem(name, "", f"is not listed in {MANIFEST}"))
        else:
            problems.extend(_compare(entry, len(data), verify_hashes, data))
    try:
        # Parsing JSON inside pydantic-core is much faster than json.loads + validate.
        return model.model_validate_json(data)
    except ValidationError as exc:
        problems.extend(_translate(name, exc.errors()))
        return None


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
    root: Path,
    listed: Mapping[str, AssetEntry],
    verify_hashes: bool,
    problems: list[BundleProblem],
) -> None:
    for path, entry in listed.items():
        if path in DOCUMENTS or path in OPTIONAL_DOCUMENTS:
            continue  # checked from the bytes already read
        full = root / path
        try:
            info = os.lstat(full)
        except FileNotFoundError:
            problems.append(BundleProblem(path, "", f"is listed in {MANIFEST} but missing"))
            continue
        except OSError as exc:
            problems.append(BundleProblem(path, "", f"cannot be read: {exc.strerror}"))
            continue
        if not stat.S_ISREG(info.st_mode):
            # lstat: a symlink could point anywhere, outside the bundle included.
            problems.append(BundleProblem(path, "", "is not a regular file"))
            continue
        problems.extend(_compare(entry, info.st_size, verify_hashes, full))


def _compare(
    entry: AssetEntry, size: int, verify_hashes: bool, content: bytes | Path
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


def _sha256(content: bytes | Path) -> str:
    if isinstance(content, bytes):
        return hashlib.sha256(content).hexdigest()
    with content.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()  # reads in chunks


def _check_images_listed(
    catalog: Catalog | None,
    playlist: Playlist | None,
    listed: Mapping[str, AssetEntry],
    problems: list[BundleProblem],
) -> None:
    """Every image a document names must be in the manifest (verified, shipped)."""
    references: list[tuple[str, tuple[str | int, ...], str]] = []
    # Set difference first: cheap for 20,000 paths; locations only when something is off.
    if catalog is not None and not {i for p in catalog.products for i in p.images} <= listed.keys():
        references += [
            (CATALOG, ("products", index, "images", number), image)
            for index, product in enumerate(catalog.products)
            for number, image in enumerate(product.images)
        ]
    if playlist is not None:
        references += [
            (PLAYLIST, ("items", index, "image"), item.image)
            for index, item in enumerate(playlist.items)
        ]
    problems.extend(
        BundleProblem(name, field_path(loc), f"{path} is not listed in {MANIFEST}")
        for name, loc, path in references
        if path not in listed
    )


def _check_skus_exist(
    catalog: Catalog,
    planogram: Planogram | None,
    recommendations: Recommendations | None,
    problems: list[BundleProblem],
) -> None:
    """SKUs on slots and in recommendation tables must be in the catalog."""
    known = {product.sku for product in catalog.products}
    references: list[tuple[str, tuple[str | int, ...], str]] = []
    if planogram is not None:
        references += [
            (PLANOGRAM, ("slots", index, "sku"), assignment.sku)
            for index, assignment in enumerate(planogram.slots)
        ]
    if recommendations is not None:
        related = recommendations.related
        mentioned = related.keys() | {sku for skus in related.values() for sku in skus}
        if not mentioned <= known:  # as above: locate only when something is off
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
