"""The catalog of an installed release, read on demand instead of all at once.

A 10,000-product catalog.json costs ~110 ms of validation and ~40 MB as objects, yet
a kiosk shows a few dozen of them (its cabinet, the suggestions beside them). The
store validates the whole bundle when it installs or stages a release (`load_bundle`,
hashes and all) and then writes this index beside it, `.catalog-index`:

    {"format": 1, "catalog": "<sha256 of catalog.json>", "products": N,
     "table": "<digest>", "summaries": "<digest>"}                      (one line)
    [["<sku>", <length of its line>], ...]                              the table
    [["<sku>", "<brand>", "<name zh-CN>", "<name en>", <cents>, <in stock>], ...]
    <sku> <digest> <the product's JSON>        (N lines, in catalog order)

Starting on (or switching to) an installed release reads the header and the table
(where each SKU's line is) but builds no product: `CatalogIndex.product(sku)`
validates that one line (strict, the same model) the first time it is asked for and
keeps it. The summaries (what recommendations rank by and what the store's staff
pick from) are read the first time they are needed.

Nothing unproven is shown. The index must name the manifest's catalog.json (its
SHA-256); the table, the summaries and each product line carry a BLAKE2b digest of
their bytes, checked before use, and the lines must add up to the file. An index
that is missing, of another catalog or damaged (truncated, a line that does not
match its digest or does not validate) is set aside and rebuilt from catalog.json,
which is then verified against the manifest's hash and validated whole, as at
install; if catalog.json is damaged too, the lines that do not match are refused
(that SKU is unknown), never shown.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import threading
from collections.abc import KeysView
from itertools import accumulate
from pathlib import Path
from typing import Final, NamedTuple

from pydantic import ValidationError

from content.model import Catalog, Product

_log = logging.getLogger("content.catalog")

INDEX: Final = ".catalog-index"  # hidden: derived, not a file of the bundle
FORMAT: Final = 1
_DIGEST_BYTES: Final = 16


class IndexDamaged(Exception):
    """The index cannot be trusted (missing, of another catalog, truncated, altered)."""


class ProductSummary(NamedTuple):
    """What ranking and pick lists need of a product, without building it
    (a tuple: 10,000 of them are made in a few milliseconds)."""

    sku: str
    brand: str
    name_zh: str
    name_en: str  # tells models apart: colours and sizes of one phone share it
    price_cents: int  # Money has exactly two decimals: cents compare exactly
    in_stock: bool


def summary_of(product: Product) -> ProductSummary:
    return ProductSummary(
        product.sku,
        product.brand,
        product.name.zh_cn,
        product.name.en,
        int(product.price.amount * 100),
        product.in_stock,
    )


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=_DIGEST_BYTES).hexdigest().encode("ascii")


def index_bytes(catalog: Catalog, catalog_sha256: str) -> bytes:
    """The index of `catalog` (already validated), whose file has `catalog_sha256`."""
    summaries = json.dumps(
        [
            [s.sku, s.brand, s.name_zh, s.name_en, s.price_cents, s.in_stock]
            for s in map(summary_of, catalog.products)
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()  # json.dumps escapes control characters: one line
    products = []
    for product in catalog.products:
        # Unset fields left out: the line validates back to an equal model.
        body = product.model_dump_json(by_alias=True, exclude_unset=True).encode()
        products.append(b" ".join((product.sku.encode("ascii"), _digest(body), body)))
    # Where each line is, so that opening the index reads one short line, not 10,000.
    table = json.dumps(
        [[p.sku, len(line)] for p, line in zip(catalog.products, products, strict=True)],
        separators=(",", ":"),
    ).encode()
    header = {
        "format": FORMAT,
        "catalog": catalog_sha256,
        "products": len(catalog.products),
        "table": _digest(table).decode("ascii"),
        "summaries": _digest(summaries).decode("ascii"),
    }
    return b"\n".join((json.dumps(header).encode(), table, summaries, *products, b""))


def write_index(folder: Path, catalog: Catalog, catalog_sha256: str, *, synced: bool) -> None:
    """Write `folder`'s index whole or not at all (a kill mid-write leaves the old one).

    `synced`: flushed to disk now (else by whoever syncs the release, as at install).
    """
    temporary = folder / f"{INDEX}.{secrets.token_hex(4)}.tmp"
    try:
        with temporary.open("wb") as writer:
            writer.write(index_bytes(catalog, catalog_sha256))
            if synced:
                writer.flush()
                os.fsync(writer.fileno())
        os.rename(temporary, folder / INDEX)  # replaces atomically, as os.replace
    finally:
        temporary.unlink(missing_ok=True)


class CatalogIndex:
    """A release's catalog by SKU, each product validated the first time it is needed.

    Safe to share between threads: a product may be built twice at the same moment,
    both equal; a repair runs once.
    """

    def __init__(self, root: Path, catalog_sha256: str, data: bytes) -> None:
        """`data`: the bytes of `root`'s index; IndexDamaged unless they index the
        catalog whose SHA-256 is `catalog_sha256`, all of it, once each."""
        self._root = root
        self._sha256 = catalog_sha256
        self._data = data
        self._built: dict[str, Product | None] = {}  # None: refused (damaged, unrepairable)
        self._summaries: tuple[ProductSummary, ...] | None = None
        self._full: Catalog | None = None  # after a repair: every product, validated
        self._repair_lock = threading.Lock()
        self._repaired = False
        self._spans, self._summary_span = _scan(data, catalog_sha256)

    @property
    def built(self) -> int:
        """How many products were validated so far (or refused): a kiosk builds few."""
        return len(self._built)

    @property
    def skus(self) -> KeysView[str]:
        """Every SKU, in catalog order."""
        return self._spans.keys()

    def product(self, sku: str) -> Product | None:
        """The product `sku` (validated now if not yet), None if there is none."""
        try:
            return self._built[sku]
        except KeyError:
            pass
        span = self._spans.get(sku)
        if span is None:
            return None
        product = self._read(sku, *span)
        self._built[sku] = product
        return product

    @property
    def products(self) -> tuple[Product, ...]:
        """Every product, in catalog order: builds them all (not for the kiosk's screens)."""
        if self._full is not None:
            return self._full.products
        built = [self.product(sku) for sku in self._spans]
        return tuple(product for product in built if product is not None)

    def summaries(self) -> tuple[ProductSummary, ...]:
        """Every product's summary, in catalog order (read once)."""
        if self._summaries is None:
            self._summaries = self._read_summaries()
        return self._summaries

    # -- internals --

    def _read(self, sku: str, start: int, end: int) -> Product | None:
        line = self._data[start:end]
        _, _, rest = line.partition(b" ")
        digest, _, body = rest.partition(b" ")
        problem = None
        if _digest(body) != digest:
            problem = "does not match its digest"
        else:
            try:
                product = Product.model_validate_json(body, strict=True)
            except ValidationError as error:
                problem = f"does not validate ({error.error_count()} errors)"
            else:
                if product.sku == sku:
                    return product
                problem = f"holds another SKU ({product.sku})"
        _log.error("catalog index of %s: the line of %s %s", self._root.name, sku, problem)
        if self._repair() is None:
            return None  # refused: never a product from bytes that do not prove themselves
        return self._built.get(sku)

    def _read_summaries(self) -> tuple[ProductSummary, ...]:
        start, end, digest = self._summary_span
        data = self._data[start:end]
        if _digest(data) == digest:
            try:
                return tuple(map(ProductSummary._make, json.loads(data)))
            except (ValueError, TypeError):
                pass
        _log.error("catalog index of %s: the summaries are damaged", self._root.name)
        full = self._repair()
        if full is not None:
            return tuple(map(summary_of, full.products))
        # Only what proves itself: the products whose lines still validate.
        return tuple(map(summary_of, self.products))

    def _repair(self) -> Catalog | None:
        """catalog.json verified and validated whole, and the index written again."""
        with self._repair_lock:
            if not self._repaired:
                self._repaired = True
                self._full = load_catalog(self._root, self._sha256)
                if self._full is not None:
                    self._built = {p.sku: p for p in self._full.products}
                    rebuild(self._root, self._full, self._sha256)
            return self._full


def _scan(
    data: bytes, catalog_sha256: str
) -> tuple[dict[str, tuple[int, int]], tuple[int, int, bytes]]:
    """Where each SKU's line is, and the summaries' span and digest; IndexDamaged if off."""
    header_end = data.find(b"\n")
    table_end = data.find(b"\n", header_end + 1) if header_end > 0 else -1
    summary_end = data.find(b"\n", table_end + 1) if table_end > 0 else -1
    if summary_end < 0:
        raise IndexDamaged("it ends before its products")
    try:
        header = json.loads(data[:header_end])
    except ValueError:
        header = None
    if (
        not isinstance(header, dict)
        or header.get("format") != FORMAT
        or header.get("catalog") != catalog_sha256
        or not isinstance(header.get("products"), int)
        or not isinstance(header.get("table"), str)
        or not isinstance(header.get("summaries"), str)
    ):
        raise IndexDamaged("its header is not of this catalog")
    table = data[header_end + 1 : table_end]
    if _digest(table) != header["table"].encode("ascii"):
        raise IndexDamaged("its table of lines is damaged")
    try:
        rows = json.loads(table)
        lengths = [length for _, length in rows]
        ends = list(accumulate((length + 1 for length in lengths), initial=summary_end))[1:]
        starts = [end - length for end, length in zip(ends, lengths, strict=True)]
        spans = dict(zip((sku for sku, _ in rows), zip(starts, ends, strict=True), strict=True))
    except (ValueError, TypeError):
        raise IndexDamaged("its table of lines is not one") from None
    if len(spans) != header["products"] or len(rows) != len(spans):
        raise IndexDamaged(f"it indexes {len(spans)} products, not {header['products']}")
    if (ends[-1] if ends else summary_end) != len(data) - 1 or data[-1:] != b"\n":
        raise IndexDamaged("its products are cut short or run on")
    return spans, (table_end + 1, summary_end, header["summaries"].encode("ascii"))


def load_catalog(root: Path, catalog_sha256: str) -> Catalog | None:
    """`root`'s catalog.json if it has the manifest's hash and validates (None: damaged)."""
    from content.bundle import CATALOG, DOCUMENT_MAX_BYTES, BundleFiles, EntryError  # noqa: PLC0415

    try:
        with BundleFiles(root) as files:
            data = files.read(CATALOG, DOCUMENT_MAX_BYTES)
    except (OSError, EntryError) as error:
        _log.error("%s of %s cannot be read: %s", CATALOG, root.name, error)
        return None
    if hashlib.sha256(data).hexdigest() != catalog_sha256:
        _log.error("%s of %s does not match its manifest", CATALOG, root.name)
        return None
    try:
        return Catalog.model_validate_json(data, strict=True)
    except ValidationError as error:
        _log.error("%s of %s does not validate: %d errors", CATALOG, root.name, error.error_count())
        return None


def rebuild(root: Path, catalog: Catalog, catalog_sha256: str) -> None:
    """Write `root`'s index again from its verified catalog (a read-only disk: next time)."""
    try:
        write_index(root, catalog, catalog_sha256, synced=True)
    except OSError as error:
        _log.warning("cannot write the catalog index of %s: %s", root.name, error.strerror)
    else:
        _log.info("catalog index of %s written (%d products)", root.name, len(catalog.products))
