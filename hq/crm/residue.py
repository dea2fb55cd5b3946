"""What deleting a person's data leaves in the database's files, and clearing it.

Erasing a member, unbinding a tag and withdrawing a consent delete or overwrite
rows (docs/privacy.md). The rows are gone from every query at commit, but not
yet from the files:

- SQLite: every connection runs with `secure_delete` ON (hq/db.py), so the
  database file's deleted cells and freed pages are overwritten with zeros. The
  WAL, though, still holds the pages as they were before, until a checkpoint
  copies the WAL back and the WAL is reset. So each of those changes ends with
  `wal_checkpoint(TRUNCATE)`, at once, in the caller's thread.
- PostgreSQL: a deleted or updated row stays in its table's pages as a dead
  tuple until VACUUM takes it out. `Residue` VACUUMs the tables touched, on a
  thread of its own, at most once per VACUUM_INTERVAL (a burst of erasures
  costs one VACUUM per table), and at `close()` whatever is still pending.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Final

from sqlalchemy.exc import SQLAlchemyError

from hq.db import Database

_log = logging.getLogger("hq.residue")

VACUUM_INTERVAL: Final = 60.0
# Seconds between VACUUMs of the touched tables. VACUUM of `events` reads every
# page not known to be all-visible: on a large HQ that is minutes of I/O, so a
# staff member erasing twenty people in a row must not start twenty of them;
# a minute is still well inside any "without undue delay".


class Residue:
    """Clears what changes that removed personal data left in the database's files.

    `removed(tables)` after the change committed; `close()` when HQ stops."""

    def __init__(
        self,
        database: Database,
        *,
        interval: float = VACUUM_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._database = database
        self._interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._sweeping = threading.Lock()  # held while a VACUUM runs
        self._dirty: set[str] = set()
        self._timer: threading.Timer | None = None
        self._last_sweep: float | None = None
        self._closed = False

    def removed(self, tables: Iterable[str]) -> None:
        """Personal data left rows of these tables (the change has committed)."""
        if self._database.is_sqlite:
            if not self._database.checkpoint():
                # Rare: a reader outlasted the busy timeout. The next checkpoint (SQLite's
                # own, every 1000 pages, or the next erasure's) finishes the job.
                _log.warning("the WAL could not be emptied after a deletion: a reader held it")
            return
        with self._lock:
            self._dirty.update(tables)
            if self._timer is not None or self._closed:
                return
            wait = 0.0
            if self._last_sweep is not None:
                wait = max(0.0, self._last_sweep + self._interval - self._clock())
            self._timer = threading.Timer(wait, self._sweep)
            self._timer.name = "hq-vacuum"
            self._timer.daemon = True
            self._timer.start()

    def close(self) -> None:
        """Run the pending VACUUM now, and no more afterwards."""
        with self._lock:
            self._closed = True
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        self._sweep()  # after the one running, if any: the process may exit next

    def _sweep(self) -> None:
        with self._sweeping:
            with self._lock:
                tables = sorted(self._dirty)
                self._dirty.clear()
                self._timer = None
                self._last_sweep = self._clock()
            if not tables:
                return
            try:
                self._database.vacuum(tables)
            except SQLAlchemyError as error:
                # Nothing is lost: autovacuum gets there too, only later.
                _log.warning("VACUUM after a deletion failed (%s): %s", ", ".join(tables), error)
            else:
                _log.info("VACUUM after a deletion: %s", ", ".join(tables))
