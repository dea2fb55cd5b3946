"""Installed content releases on disk: verified install, atomic activation, last good fallback.

Layout under the store's root (e.g. `<data-dir>/content`):

    releases/<release>/   one directory per release, never changed after install
                          (but for .pictures-ok / .pictures-refused, see below, and
                          .catalog-index, written again if damaged: content.catalog)
    releases/.tmp-*       an install or removal in progress; cleared by the next one
    current               symlink to releases/<release>, swapped with os.replace
    .lock                 flock, so two writers (updater, a tool) never interleave
    high-water            the highest release number from HQ ever accepted (see below)

A release from HQ (`hq-<number>`) is staged by the updater before it is shown:
`stage` validates it like `install` and hard-links its files in, with
`releases/hq-<N>/.staged.json` (`{"number", "not_before"}`), but leaves
`current` alone; the switch activates it later. A staged release that was
never activated (not current, never booted) is no fallback for `choose` or
`rollback` and is never pruned: it is not proven yet, and it may be scheduled.
`high-water` only grows, and outlives pruning: a release numbered below it is
a replay of old content and is refused.

A release is copied into a temporary directory, flushed to disk, renamed into
place and only then made current, so a power cut leaves either the old or the
new release active, never half of one. Install time (the order for rollback
and pruning) is the release directory's mtime, set explicitly at install.

Every picture is decoded once before a release is installed (`content.pictures`),
so a picture the kiosk cannot show (too large, truncated, not a picture) refuses
the release instead of failing on the shop floor; `.pictures-ok` in the release
records it. A release installed before that check (no marker) is checked the
first time it is loaded; if it fails it is marked `.pictures-refused` and passed
over like a damaged one, for the last good release.

A release from HQ is staged first (hard links, not current) and made current by
`activate` when the kiosk decides to switch. Each start on a release that has not
yet proven itself counts in its `.boots`; the kiosk marks it `.good` once it ran a
minute on it. A release started `MAX_UNPROVEN_BOOTS` times without becoming good
crashed the kiosk each time: it is marked `.refused` (`crashed`) and the last good
release comes back (`note_start`). A refused release is passed over like a damaged
one and never activated again.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import logging
import os
import secrets
import shutil
import stat
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from io import BufferedReader
from pathlib import Path
from typing import Final

from pydantic import ValidationError

from content import pictures, reports
from content.bundle import (
    CATALOG,
    DOCUMENT_MAX_BYTES,
    MANIFEST,
    Bundle,
    BundleError,
    BundleFiles,
    BundleProblem,
    EntryError,
    load_bundle,
    load_release,
    parse_document,
)
from content.catalog import write_index
from content.model import Catalog, Manifest

_log = logging.getLogger("content.store")

RELEASES: Final = "releases"
CURRENT: Final = "current"
_TMP_PREFIX: Final = ".tmp-"  # hidden: never taken for a release
_LINK_PREFIX: Final = ".current-"
_LOCK: Final = ".lock"
_CHUNK: Final = 1 << 20  # 1 MiB: hashlib and the disk both like large reads
PICTURES_OK: Final = ".pictures-ok"  # hidden: not a file of the bundle
PICTURES_REFUSED: Final = ".pictures-refused"  # holds the problems found
STAGED: Final = ".staged.json"  # a release from HQ, staged: its number and not_before
HIGH_WATER: Final = "high-water"
# Pillow decodes without the GIL: two cores, two pictures at a time.
_PICTURE_WORKERS: Final = 2
BOOTS: Final = ".boots"  # starts on a release not yet good (a decimal count)
GOOD: Final = ".good"  # the kiosk ran GOOD_AFTER_S on this release: a rollback target
REFUSED: Final = ".refused"  # why the kiosk gave this release up (crashed, load_failed)
# Marks of a release that has been shown (the switch's boot counter and good mark):
# a staged release with either was activated once and is an ordinary release now.
_SHOWN_MARKS: Final = (BOOTS, GOOD)
# Three starts that never reached a minute: a crash loop, not bad luck.
MAX_UNPROVEN_BOOTS: Final = 3
GOOD_AFTER_S: Final = 60.0  # a kiosk that shows a release this long does not crash on it


@dataclass(frozen=True, slots=True)
class PassedOver:
    """An installed release that cannot be shown, and why (for the log and the trace)."""

    release: str
    problems: int
    first_problem: str


@dataclass(frozen=True, slots=True)
class CrashRollback:
    """The current release crashed the kiosk at every start: given up for another one."""

    crashed: str
    restored: str | None  # None: nothing else to show, the crashed one stays


@dataclass(frozen=True, slots=True)
class Choice:
    """The release to show, and the newer ones passed over to get to it."""

    bundle: Bundle | None
    passed_over: tuple[PassedOver, ...] = ()


@dataclass(frozen=True, slots=True)
class StagedRelease:
    """A release from HQ ready to switch to, never shown yet."""

    name: str
    number: int
    not_before: datetime | None


class ContentStore:
    """The releases a kiosk has, and which one it shows."""

    def __init__(self, root: Path) -> None:
        self._root = root.absolute()  # bundles hand out absolute asset paths
        self._releases = self._root / RELEASES

    @property
    def root(self) -> Path:
        return self._root

    def install(self, source: Path) -> Bundle:
        """Verify the bundle in `source`, copy it in and make it current.

        Raises BundleError (and leaves `current` as it was) when the bundle has
        problems or the same release is installed with other content; OSError
        when the disk fails (full, read-only).
        """
        with self._locked():
            # A writer killed mid-way (e.g. between making the new link and
            # swapping it in) leaves hidden files; every install starts clean.
            self._clear_leftovers()
        unchanged = self._current_if_same(source)
        if unchanged is not None:
            _log.info("Release %s is already installed and current", unchanged.release)
            return unchanged
        try:
            bundle = load_bundle(source, verify_hashes=True)
        except BundleError as exc:
            _log.warning(
                "Not installing bundle from %s: %d problem(s); first: %s",
                source,
                len(exc.problems),
                exc.problems[0],
            )
            raise
        release = bundle.release
        target = self._releases / release
        with self._locked():
            installed = self._load(release) if target.is_dir() else None
            if installed is not None:
                if installed.manifest != bundle.manifest:
                    _log.warning("Not installing release %s: installed with other content", release)
                    raise BundleError(
                        [
                            BundleProblem(
                                MANIFEST,
                                "release",
                                f"release {release} is already installed with other content;"
                                " publish the change as a new release",
                            )
                        ]
                    )
                if self._current_name() == release:
                    _log.info("Release %s is already installed and current", release)
                else:
                    self._stamp(target)  # installing again makes it the newest
                    self._point_current(release)
                    _log.info("Release %s was already installed; made it current again", release)
                return installed

            staging = self._copy(source, bundle.manifest)
            try:
                try:
                    _check_pictures(staging, bundle)
                except BundleError as exc:
                    _log.warning(
                        "Not installing release %s: %d picture(s) cannot be shown; first: %s",
                        release,
                        len(exc.problems),
                        exc.problems[0],
                    )
                    raise
                _write_catalog_index(staging, bundle)
                _sync_tree(staging)  # only now: a refused copy is not worth the disk's time
                if target.exists():  # a damaged copy of this release: replace it
                    self._discard(target)
                staging.rename(target)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            _fsync_dir(self._releases)
            self._stamp(target)
            self._point_current(release)
        # The copy was hashed file by file against the manifest while copying, so it
        # holds exactly the documents just validated. Shown from its catalog index, as at
        # every later start (the products validated at hand would stay in memory).
        result = self._load(release) or dataclasses.replace(bundle, root=target)
        _log.info(
            "Installed release %s: %d products, %d files",
            release,
            len(bundle.catalog.products),
            len(result.manifest.assets),
        )
        return result

    def _current_if_same(self, source: Path) -> Bundle | None:
        """The current release when `source` has byte for byte its manifest.

        A kiosk restarts with the same --content every time; the installed copy
        was verified when it was installed, so it is loaded without re-reading
        and re-hashing the source (half the start-up time with a large catalog).
        """
        name = self._current_name()
        if name is None:
            return None
        ours = _read_manifest(self._releases / name)
        same = ours is not None and _read_manifest(source) == ours
        return self._load(name) if same else None

    def current(self) -> Bundle | None:
        """The release to show: `choose().bundle`."""
        return self.choose().bundle

    def choose(self) -> Choice:
        """The active release (sizes checked, not hashes, for a fast start).

        If it is damaged or has a picture the kiosk cannot show, the newest
        other good release is chosen instead (`current` itself is left alone)
        and the ones passed over are named; no bundle when nothing is usable.
        """
        name = self._current_name()
        if name is None:
            return Choice(None)
        passed_over: list[PassedOver] = []
        fallbacks = (r for r in reversed(self.releases()) if r != name and not self._unproven(r))
        for candidate in [name, *fallbacks]:
            loaded = self._try_load(candidate)
            if isinstance(loaded, Bundle):
                if passed_over:
                    _log.warning(
                        "Showing release %s instead of release %s",
                        candidate,
                        passed_over[0].release,
                    )
                return Choice(loaded, tuple(passed_over))
            passed_over.append(PassedOver(candidate, len(loaded.problems), str(loaded.problems[0])))
        _log.error("No usable content release")
        return Choice(None, tuple(passed_over))

    def activate(self, release: str) -> Bundle:
        """Make the installed (staged) `release` current and return it, loaded.

        Raises BundleError, leaving `current` as it was, when the release is not
        installed, damaged or refused. The switch counts as the first start on it.
        """
        with self._locked():
            folder = self._releases / release
            if release.startswith(".") or "/" in release or not folder.is_dir():
                raise BundleError(
                    [BundleProblem(MANIFEST, "release", f"release {release} is not installed")]
                )
            loaded = self._try_load(release)
            if isinstance(loaded, BundleError):
                raise loaded
            if self._current_name() != release:
                if not (folder / GOOD).exists():
                    _write_replacing(folder / BOOTS, b"1")
                self._stamp(folder)  # the newest: rollback and pruning order
                self._point_current(release)
        _log.info("Activated release %s", release)
        return loaded

    def note_start(self, now: datetime) -> CrashRollback | None:
        """At the kiosk's start: count a start on the current release, or give it up.

        A release started MAX_UNPROVEN_BOOTS times and never marked good is refused
        as `crashed` (and reported for HQ); the newest good release becomes current
        again (else the one installed before it). Nothing else usable: it stays.
        """
        with self._locked():
            name = self._current_name()
            if name is None or not (self._releases / name).is_dir():
                return None
            folder = self._releases / name
            if (folder / GOOD).exists():
                return None
            boots = _read_count(folder / BOOTS)
            if boots < MAX_UNPROVEN_BOOTS:
                _write_replacing(folder / BOOTS, str(boots + 1).encode())
                return None
            restored = self._last_good(name)
            if restored is None:
                _log.error(
                    "Release %s crashed the kiosk %d times, but there is no other release",
                    name,
                    boots,
                )
                return CrashRollback(name, None)
            _write_replacing(folder / REFUSED, b"crashed")
            self._point_current(restored)
        _log.error(
            "Release %s crashed the kiosk %d times; back to release %s", name, boots, restored
        )
        try:
            reports.record(
                self._root,
                release=self.number(name),
                reason="crashed",
                detail=f"{boots} starts without a minute of running; back to {restored}",
                now=now,
            )
        except OSError:  # the rollback stands; HQ hears of it from the rollout's release
            _log.exception("cannot record the crash of release %s for HQ", name)
        return CrashRollback(name, restored)

    def mark_good(self, release: str) -> None:
        """The kiosk ran long enough on `release` (not the GUI thread: it fsyncs)."""
        folder = self._releases / release
        if folder.is_dir() and not (folder / GOOD).exists():
            _write_synced(folder / GOOD, b"")
            _log.info("Release %s is good", release)

    def refuse(self, release: str, reason: str) -> None:
        """Never show or activate `release` again (e.g. `load_failed`)."""
        folder = self._releases / release
        with self._locked():
            if folder.is_dir():
                _write_replacing(folder / REFUSED, reason.encode())

    def holds(self, source: Path) -> bool:
        """Whether the bundle in `source` is installed here already, byte for byte
        (its manifest is the installed release's), whether current or not."""
        data = _read_manifest(source)
        if data is None:
            return False
        try:
            release = json.loads(data).get("release")
        except (ValueError, AttributeError):
            return False
        if not isinstance(release, str) or not release or release.startswith(".") or "/" in release:
            return False
        return _read_manifest(self._releases / release) == data

    def is_refused(self, release: str) -> bool:
        """Given up on (crashed, load_failed): never to be activated again."""
        return (self._releases / release / REFUSED).exists()

    def number(self, release: str) -> int | None:
        """HQ's release number of an installed release; None for a local install."""
        try:
            info = json.loads((self._releases / release / STAGED).read_bytes())
        except (OSError, ValueError):
            return None
        number = info.get("number") if isinstance(info, dict) else None
        return number if isinstance(number, int) and not isinstance(number, bool) else None

    def current_release(self) -> str | None:
        """The name of the release `current` points at (None: none), without loading it."""
        return self._current_name()

    def releases(self) -> list[str]:
        """Installed releases, oldest install first."""
        try:
            entries = list(os.scandir(self._releases))
        except FileNotFoundError:
            return []
        stamped = [
            (entry.stat(follow_symlinks=False).st_mtime_ns, entry.name)
            for entry in entries
            if not entry.name.startswith(".") and entry.is_dir(follow_symlinks=False)
        ]
        return [name for _, name in sorted(stamped)]

    def rollback(self) -> Bundle | None:
        """Make the release installed before the current one current again and return it.

        Damaged candidates are skipped; None (and nothing changed) when there
        is no earlier intact release.
        """
        with self._locked():
            name = self._current_name()
            ordered = self.releases()
            if name is None or name not in ordered:
                _log.warning("Nothing to roll back from: no current release")
                return None
            for previous in reversed(ordered[: ordered.index(name)]):
                if self._unproven(previous):
                    continue
                bundle = self._load(previous)
                if bundle is not None:
                    self._point_current(previous)
                    _log.info("Rolled back from release %s to %s", name, previous)
                    return bundle
        _log.warning("Cannot roll back from release %s: no earlier intact release", name)
        return None

    def prune(self, keep: int = 3) -> None:
        """Delete all but the `keep` newest releases; the current one always stays."""
        with self._locked():
            ordered = self.releases()
            keeping = set(ordered[-keep:]) if keep > 0 else set()
            if (name := self._current_name()) is not None:
                keeping.add(name)
            keeping.update(r for r in ordered if self._unproven(r))
            removed = [release for release in ordered if release not in keeping]
            for release in removed:
                self._discard(self._releases / release)
            self._clear_leftovers()
        if removed:
            _log.info("Pruned releases %s", ", ".join(removed))

    # --- releases from HQ, staged before they are shown ------------------------------

    def stage(self, source: Path, *, number: int, not_before: datetime | None) -> Bundle:
        """Verify the bundle in `source` and hard-link it in as release `hq-<number>`.

        Validated like `install` (hashes, documents, every picture decoded), but
        `current` is left alone: the switch activates it when it is due. Files
        are hard links to `source`'s (no second copy on disk), so `source` must
        be on the same file system. Staged releases below `number` never shown
        are discarded (HQ serves only its newest release), and `number` raises
        the high-water mark. Staging the same release again returns it. Raises
        BundleError (nothing changed) for a bundle the kiosk would refuse,
        OSError when the disk fails.
        """
        name = f"hq-{number}"
        with self._locked():
            self._clear_leftovers()
            target = self._releases / name
            if target.is_dir():
                existing = self._load(name)
                if existing is not None:
                    self._record_highest(number)
                    return existing
        with self._locked():
            # Linked and hashed first, then loaded from the links: one pass over the
            # bytes, and what is validated is exactly what will be shown.
            staging = self._link(source)
            try:
                try:
                    bundle = load_bundle(staging, verify_hashes=False)
                    if bundle.release != name:
                        raise BundleError(
                            [BundleProblem(MANIFEST, "release", f"is {bundle.release}, not {name}")]
                        )
                    _check_pictures(staging, bundle)
                except BundleError as exc:
                    _log.warning(
                        "Not staging release %s: %d problem(s); first: %s",
                        name,
                        len(exc.problems),
                        exc.problems[0],
                    )
                    raise
                marker = {
                    "number": number,
                    "not_before": None if not_before is None else not_before.isoformat(),
                }
                _write_synced(staging / STAGED, json.dumps(marker).encode())
                _write_catalog_index(staging, bundle)
                _sync_tree(staging)
                if target.exists():  # a damaged copy of this release: replace it
                    self._discard(target)
                staging.rename(target)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            _fsync_dir(self._releases)
            self._stamp(target)
            self._record_highest(number)
            for older in self._staged_unlocked():
                if older.number < number:
                    _log.info("Release %s superseded by %s before it was shown", older.name, name)
                    self._discard(self._releases / older.name)
        _log.info("Staged release %s: %d files", name, len(bundle.manifest.assets))
        return dataclasses.replace(bundle, root=target)

    def staged(self) -> list[StagedRelease]:
        """Staged releases never activated, lowest number first."""
        with self._locked():
            return self._staged_unlocked()

    def highest_number(self) -> int:
        """The highest release number from HQ this kiosk accepted (0: none yet)."""
        try:
            text = (self._root / HIGH_WATER).read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            return 0
        return int(text) if text.isdigit() else 0

    def record_highest(self, number: int) -> None:
        """Raise the high-water mark to `number` (never lowers it)."""
        with self._locked():
            self._record_highest(number)

    def _record_highest(self, number: int) -> None:
        if number <= self.highest_number():
            return
        temporary = self._root / f"{_LINK_PREFIX}{secrets.token_hex(4)}"  # cleared if left
        _write_synced(temporary, f"{number}\n".encode())
        os.replace(temporary, self._root / HIGH_WATER)
        _fsync_dir(self._root)

    def _staged_unlocked(self) -> list[StagedRelease]:
        found = []
        for name in self.releases():
            if not self._unproven(name):
                continue
            try:
                marker = json.loads((self._releases / name / STAGED).read_bytes())
                number = marker["number"]
                not_before = marker["not_before"]
                found.append(
                    StagedRelease(
                        name,
                        int(number),
                        None if not_before is None else datetime.fromisoformat(not_before),
                    )
                )
            except (OSError, ValueError, KeyError, TypeError):
                _log.error("Release %s has an unreadable %s; not offered", name, STAGED)
        return sorted(found, key=lambda staged: staged.number)

    def _unproven(self, release: str) -> bool:
        """Staged from HQ and never shown: not current, no boot counter, no good mark
        (and not given up on: a release refused at the switch is an ordinary, prunable one)."""
        folder = self._releases / release
        return (
            (folder / STAGED).exists()
            and self._current_name() != release
            and not any((folder / mark).exists() for mark in (*_SHOWN_MARKS, REFUSED))
        )

    def _link(self, source: Path) -> Path:
        """Hard-link the files `source`'s manifest lists into a hidden directory.

        Each linked file is hashed against the manifest (the links are the very
        files that will be shown); BundleError for a file missing, not a regular
        file, or not matching, and for a manifest that cannot be read.
        """
        data = _read_manifest(source)
        try:
            manifest = parse_document(Manifest, data if data is not None else b"")
        except ValidationError:
            raise BundleError([BundleProblem(MANIFEST, "", "missing or not valid")]) from None
        staging = self._releases / f"{_TMP_PREFIX}{secrets.token_hex(6)}"
        staging.mkdir(parents=True)
        try:
            problems: list[BundleProblem] = []
            for entry in manifest.assets:
                target = staging / entry.path
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(source / entry.path, target, follow_symlinks=False)
                    if not stat.S_ISREG(os.lstat(target).st_mode):
                        raise IsADirectoryError
                    with target.open("rb") as reader:
                        digest = hashlib.file_digest(reader, "sha256").hexdigest()
                    size = target.stat().st_size
                except OSError:
                    problems.append(BundleProblem(entry.path, "", "is missing or not a file"))
                    continue
                if (digest, size) != (entry.sha256, entry.size):
                    problems.append(
                        BundleProblem(entry.path, "sha256", f"does not match {MANIFEST}")
                    )
            if problems:
                raise BundleError(problems)
            _write_synced(staging / MANIFEST, data or b"")
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return staging

    # --- internals -------------------------------------------------------------------

    def _last_good(self, instead_of: str) -> str | None:
        """The newest usable release marked good, else the newest usable one shown before."""
        ordered = [n for n in self.releases() if n != instead_of and not self._unproven(n)]
        good = [name for name in ordered if (self._releases / name / GOOD).exists()]
        for name in [*reversed(good), *reversed(ordered)]:
            if self._load(name) is not None:
                return name
        return None

    def _load(self, release: str) -> Bundle | None:
        loaded = self._try_load(release)
        return loaded if isinstance(loaded, Bundle) else None

    def _try_load(self, release: str) -> Bundle | BundleError:
        folder = self._releases / release
        try:
            if (folder / REFUSED).exists():
                raise BundleError([BundleProblem(REFUSED, "", _refusal(folder / REFUSED))])
            if (folder / PICTURES_REFUSED).exists():
                raise BundleError(_refused_problems(folder / PICTURES_REFUSED))
            bundle = load_release(folder)  # the catalog from its index, as needed
            if not (folder / PICTURES_OK).exists():  # installed before pictures were checked
                try:
                    _check_pictures(folder, bundle)
                except BundleError as exc:
                    _write_synced(
                        folder / PICTURES_REFUSED,
                        "\n".join(str(p) for p in exc.problems).encode(),
                    )
                    raise
        except BundleError as exc:
            _log.error(
                "Release %s is damaged: %d problem(s); first: %s",
                release,
                len(exc.problems),
                exc.problems[0],
            )
            return exc
        return bundle

    def _current_name(self) -> str | None:
        try:
            target = Path(os.readlink(self._root / CURRENT))
        except OSError:  # no link yet (or not a link)
            return None
        # Only a link of our own shape counts: releases/<name>, nothing outside.
        if target.parent != Path(RELEASES) or target.name.startswith("."):
            _log.error("Ignoring unexpected content link %s", target)
            return None
        return target.name

    def _point_current(self, release: str) -> None:
        link = self._root / f"{_LINK_PREFIX}{secrets.token_hex(4)}"
        os.symlink(Path(RELEASES) / release, link)  # relative: the store can move
        os.replace(link, self._root / CURRENT)  # atomic: readers see old or new
        _fsync_dir(self._root)

    def _copy(self, source: Path, manifest: Manifest) -> Path:
        """Copy the listed files to a staging directory, hashing them again on the way.

        Hashing while copying means what is installed is exactly what was
        verified, even if `source` changed after `load_bundle` looked at it.
        """
        staging = self._releases / f"{_TMP_PREFIX}{secrets.token_hex(6)}"
        staging.mkdir(parents=True)
        try:
            with BundleFiles(source) as files:  # no links followed, as load_bundle
                for entry in manifest.assets:
                    target = staging / entry.path
                    target.parent.mkdir(parents=True, exist_ok=True)
                    try:
                        with files.open(entry.path) as (reader, _):
                            digest, size = _copy_file(reader, target)
                    except (OSError, EntryError):
                        digest, size = "", -1
                    if (digest, size) != (entry.sha256, entry.size):
                        raise BundleError(
                            [BundleProblem(entry.path, "sha256", "changed while being installed")]
                        )
            data = _read_manifest(source)
            if data is None or parse_document(Manifest, data) != manifest:
                raise BundleError([BundleProblem(MANIFEST, "", "changed while being installed")])
            _write_synced(staging / MANIFEST, data)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return staging

    def _stamp(self, release_dir: Path) -> None:
        # Strictly after every other release, even within one clock tick.
        newest = max(
            (
                (self._releases / name).stat().st_mtime_ns
                for name in self.releases()
                if name != release_dir.name
            ),
            default=0,
        )
        stamp = max(time.time_ns(), newest + 1)
        os.utime(release_dir, ns=(stamp, stamp))

    def _discard(self, path: Path) -> None:
        # Renamed first, so a half-deleted release never shows under its name.
        doomed = path.with_name(f"{_TMP_PREFIX}{secrets.token_hex(6)}")
        path.rename(doomed)
        shutil.rmtree(doomed, ignore_errors=True)

    def _clear_leftovers(self) -> None:
        """Remove staging directories and link files left by an interrupted writer."""
        for folder, prefix in ((self._releases, _TMP_PREFIX), (self._root, _LINK_PREFIX)):
            for leftover in folder.glob(f"{prefix}*"):
                if leftover.is_dir() and not leftover.is_symlink():
                    shutil.rmtree(leftover, ignore_errors=True)
                else:
                    leftover.unlink(missing_ok=True)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self._releases.mkdir(parents=True, exist_ok=True)
        with (self._root / _LOCK).open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def _read_manifest(folder: Path) -> bytes | None:
    """The manifest's bytes, or None if it cannot be read (missing, a link, a FIFO...)."""
    try:
        with BundleFiles(folder) as files:
            return files.read(MANIFEST, DOCUMENT_MAX_BYTES)
    except (OSError, EntryError):
        return None


def _check_pictures(folder: Path, bundle: Bundle) -> None:
    """Decode every picture of the release in `folder` once; mark it good or raise BundleError."""
    paths = bundle.pictures()

    def check(path: str) -> BundleProblem | None:
        try:
            pictures.check(folder / path)
        except pictures.PictureError as error:
            return BundleProblem(path, "", f"picture {error}")
        return None

    with ThreadPoolExecutor(_PICTURE_WORKERS, thread_name_prefix="picture-check") as pool:
        problems = [problem for problem in pool.map(check, paths) if problem is not None]
    if problems:
        raise BundleError(problems)
    _write_synced(folder / PICTURES_OK, b"")


def _write_catalog_index(folder: Path, bundle: Bundle) -> None:
    """The catalog index of a release just validated whole (content.catalog): a kiosk
    starting on it builds only the products it shows."""
    catalog = bundle.catalog
    assert isinstance(catalog, Catalog), "written from a bundle loaded whole"
    entry = next(entry for entry in bundle.manifest.assets if entry.path == CATALOG)
    write_index(folder, catalog, entry.sha256, synced=False)  # synced with the release


def _refused_problems(marker: Path) -> list[BundleProblem]:
    try:
        lines = marker.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        lines = [f"{PICTURES_REFUSED}: cannot be read: {exc.strerror}"]
    # Saved as "path: problem" lines (picture problems name no field).
    parts = [line.partition(": ") for line in lines if ": " in line]
    return [BundleProblem(path, "", problem) for path, _, problem in parts] or [
        BundleProblem(PICTURES_REFUSED, "", "a picture cannot be shown")
    ]


def _refusal(marker: Path) -> str:
    try:
        reason = marker.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        reason = ""
    return f"given up on this release: {reason or 'refused'}"


def _read_count(path: Path) -> int:
    try:
        return int(path.read_text(encoding="ascii").strip() or "0")
    except (OSError, ValueError, UnicodeDecodeError):
        return 0  # never written (or torn by a power cut): count from here


def _write_replacing(path: Path, data: bytes) -> None:
    """Write `path` whole or not at all (a kill mid-write leaves the old content).

    Not fsynced: these markers guard against crashes of the kiosk, which leave the
    page cache intact; a power cut may lose a count, never corrupt the store.
    """
    temporary = path.with_name(f"{path.name}.{secrets.token_hex(4)}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def _copy_file(reader: BufferedReader, target: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with target.open("wb") as writer:
        while chunk := reader.read(_CHUNK):
            digest.update(chunk)
            writer.write(chunk)
            size += len(chunk)
    return digest.hexdigest(), size  # flushed to disk by _sync_tree, once it is worth keeping


def _sync_tree(folder: Path) -> None:
    """Flush every file and folder under `folder` to disk (after the pictures passed)."""
    for path in folder.rglob("*"):
        if path.is_dir():
            _fsync_dir(path)
        else:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    _fsync_dir(folder)


def _write_synced(path: Path, data: bytes) -> None:
    with path.open("wb") as writer:
        writer.write(data)
        writer.flush()
        os.fsync(writer.fileno())


def _fsync_dir(path: Path) -> None:
    # A rename or a new file is durable only once its directory is synced.
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
