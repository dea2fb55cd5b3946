"""The sync relay: drains the outbox to HQ, in seq order, until HQ holds every record.

Decisions come first, as pure functions (time and randomness passed in):
`full_jitter_delay` and `retry_after_seconds` give `retry_delay`, the pause
before the next try. Then `SyncRelay`, one thread that acts on them:

1. read up to a batch of pending records, in seq order;
2. post them to HQ (the event id makes a resend harmless);
3. in one outbox transaction, delete what HQ holds (accepted or duplicate) and
   move what it rejected to the dead letters with HQ's reason.

A crash between 2 and 3 only means the batch is sent again and answered as
duplicates. When HQ cannot be reached the relay backs off (full jitter,
exponential, capped, never sooner than `Retry-After`) and new records do not
cut the pause short. A batch HQ refuses as malformed is halved until the one
bad record is found; that record alone goes to the dead letters.

Payloads may carry personal data: nothing here logs them, nor HQ's reasons
(which may quote a payload), nor the token.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from sqlalchemy.exc import SQLAlchemyError, StatementError

from backend_client.client import (
    MAX_BATCH,
    BatchAnswer,
    EventStatus,
    HqClient,
    HqRefused,
    HqUnauthorized,
    HqUnavailable,
    WireEvent,
    retry_after_seconds,
)
from backend_client.credentials import Credentials
from backend_client.crypto import PayloadCipher
from backend_client.outbox import Outbox, OutboxError, StoredRecord
from backend_client.status import SyncState, SyncStatus

__all__ = [
    "DEFAULT_MAX_DELAY",
    "RETRY_AFTER_LIMIT",
    "SyncRelay",
    "SyncState",
    "SyncStatus",
    "full_jitter_delay",
    "retry_after_seconds",
    "retry_delay",
]

_log = logging.getLogger("backend_client.sync")

DEFAULT_BASE_DELAY: Final = 1.0
"""Seconds of the first backoff step: a blip clears in about this long."""

DEFAULT_MAX_DELAY: Final = 900.0
"""The backoff cap, by the contract (15 minutes): a kiosk offline for a week still
tries about four times an hour, and a thousand kiosks do not stampede HQ."""

DEFAULT_IDLE_POLL: Final = 30.0
# wake() brings new records at once; the poll only covers records another process
# put in the file, so it can be slow.

RETRY_AFTER_LIMIT: Final = 3600.0
# HQ asks for seconds or minutes. A larger Retry-After is a bug or a proxy's, and
# must not silence a kiosk for days, so it is honoured up to an hour.

DEFAULT_STOP_TIMEOUT: Final = 5.0

_MAX_EXPONENT: Final = 1000  # 2.0 ** 1024 overflows a float; the cap rules long before

_RECORD_REFUSALS: Final = frozenset({400, 413, 422})
# Refusals that can come from one record (malformed or too large): worth halving the
# batch to find it. Any other refusal (403: HQ says the token is another kiosk's;
# 404, 405, ...: the URL is wrong) would refuse every record alike, and dead-lettering
# them one by one would empty the outbox into the dead letters; those back off instead.

_NO_REASON: Final = "rejected by HQ without a reason"


# --- decisions ----------------------------------------------------------------------


def full_jitter_delay(attempt: int, *, base: float, cap: float, rng: random.Random) -> float:
    """A pause drawn uniformly from [0, min(cap, base * 2**attempt)]: "full jitter".

    Spreading retries over the whole window keeps kiosks that lost HQ together from
    coming back together.
    """
    if attempt < 0 or base < 0 or cap < 0:
        raise ValueError("attempt, base and cap must be >= 0")
    ceiling = min(cap, base * 2.0 ** min(attempt, _MAX_EXPONENT))
    return rng.uniform(0.0, ceiling)


def retry_delay(
    attempt: int,
    retry_after: float | None,
    *,
    base: float,
    cap: float,
    rng: random.Random,
    retry_after_limit: float = RETRY_AFTER_LIMIT,
) -> float:
    """The pause before try `attempt + 1`: full jitter, never sooner than Retry-After."""
    delay = full_jitter_delay(attempt, base=base, cap=cap, rng=rng)
    if retry_after is None:
        return delay
    return max(delay, min(retry_after, retry_after_limit))


# --- the relay ----------------------------------------------------------------------


def _no_checkpoint(_name: str) -> None:
    pass


class SyncRelay:
    """Drains the outbox at `outbox_path` to HQ on a daemon thread of its own.

    `wake()` says new records were committed (pass it as `OutboxWriter`'s
    `on_written`); it ends an idle wait, never a backoff. `on_status` is called on
    the relay's thread whenever the `SyncStatus` changes. `checkpoint(name)` is
    called at "batch_read", "posted" (HQ answered, not yet committed locally) and
    "acknowledged": a seam for tests that kill the process there.
    """

    def __init__(
        self,
        outbox_path: Path,
        client: HqClient,
        credentials: Credentials,
        *,
        cipher: PayloadCipher | None = None,
        batch_size: int = MAX_BATCH,
        base_delay: float = DEFAULT_BASE_DELAY,
        max_delay: float = DEFAULT_MAX_DELAY,
        idle_poll: float = DEFAULT_IDLE_POLL,
        on_status: Callable[[SyncStatus], None] | None = None,
        checkpoint: Callable[[str], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if not 1 <= batch_size <= MAX_BATCH:
            raise ValueError(f"batch_size must be 1 to {MAX_BATCH}, got {batch_size}")
        if base_delay <= 0 or max_delay < base_delay or idle_poll <= 0:
            raise ValueError("need 0 < base_delay <= max_delay and idle_poll > 0")
        self._path = outbox_path
        self._client = client
        self._credentials = credentials
        self._cipher = cipher
        self._batch_size = batch_size
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._idle_poll = idle_poll
        self._on_status = on_status
        self._checkpoint = checkpoint or _no_checkpoint
        self._rng = rng or random.Random()
        self._condition = threading.Condition()  # guards _woken, _stopping
        self._woken = False
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._status: SyncStatus | None = None
        # Owned by the relay thread:
        self._outbox: Outbox | None = None
        self._limit = batch_size
        self._attempt = 0
        self._state = SyncState.IDLE
        self._trouble: str | None = None  # what is failing; logged once until it clears
        self._trouble_since = 0.0
        self._last_success: datetime | None = None
        self._sent_total = 0
        self._counts = (0, 0)  # pending, dead letters: the last ones read

    @property
    def status(self) -> SyncStatus | None:
        """The last status published (None before the first round)."""
        return self._status

    def start(self) -> None:
        with self._condition:
            if self._thread is not None or self._stopping:
                raise RuntimeError("a SyncRelay starts once")
            self._thread = threading.Thread(target=self._run, name="sync-relay", daemon=True)
            self._thread.start()

    def wake(self, _seqs: Sequence[int] = ()) -> None:
        """New records are in the outbox: end an idle wait (a backoff runs its course)."""
        with self._condition:
            self._woken = True
            self._condition.notify_all()

    def stop(self, timeout: float = DEFAULT_STOP_TIMEOUT) -> bool:
        """Stop the thread; False if it is still inside an HTTP request or SQLite wait
        after `timeout` (it ends when that does: both are bounded)."""
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
            thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        if thread.is_alive():
            _log.warning("sync relay still busy %.1f s after stop(); it ends on its own", timeout)
            return False
        return True

    # --- the thread -----------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stop_requested():
                try:
                    pause, wakeable = self._round()
                except Exception as exc:  # a bug: log it, keep the records, keep serving
                    pause, wakeable = self._back_off(
                        "bug",
                        f"unexpected {type(exc).__name__}",
                        SyncState.BACKING_OFF,
                        None,
                        exc_info=True,
                    )
                if pause > 0 and not self._sleep(pause, wakeable=wakeable):
                    break
        finally:
            self._close_outbox()

    def _round(self) -> tuple[float, bool]:
        """One try at the next batch; how long to pause after it, and whether wake() may
        end that pause."""
        try:
            return self._sync_batch()
        except (SQLAlchemyError, OSError, OutboxError) as exc:
            self._close_outbox()  # a fresh connection recovers from states a failed one keeps
            return self._back_off(
                "outbox", f"outbox unusable: {_describe(exc)}", SyncState.BACKING_OFF, None
            )

    def _sync_batch(self) -> tuple[float, bool]:
        outbox = self._open_outbox()
        with self._condition:
            self._woken = False  # records committed from here on wake the next idle wait
        batch = outbox.read_batch(limit=self._limit)
        if batch.unreadable:
            outbox.settle(
                dead_letters={
                    seq: f"unreadable on this kiosk: {why}" for seq, why in batch.unreadable.items()
                }
            )
            if not batch.records:
                return 0.0, False
        records = batch.records
        if not records:
            self._publish(SyncState.IDLE, None)
            return self._idle_poll, True
        self._checkpoint("batch_read")
        if self._state is SyncState.IDLE:
            self._publish(SyncState.SYNCING, None)
        try:
            answer = self._client.post_events([self._wire_event(record) for record in records])
        except HqUnavailable as exc:
            return self._back_off("unavailable", exc.reason, SyncState.BACKING_OFF, exc.retry_after)
        except HqUnauthorized:
            return self._back_off(
                "unauthorised",
                "HQ does not accept this kiosk's token (revoked?); enrol the kiosk again",
                SyncState.UNAUTHORISED,
                None,
            )
        except HqRefused as exc:
            return self._refused(outbox, records, exc)
        self._checkpoint("posted")
        acknowledged = self._settle(outbox, answer)
        self._checkpoint("acknowledged")
        self._succeeded(acknowledged)
        return 0.0, False

    def _settle(self, outbox: Outbox, answer: BatchAnswer) -> int:
        held = {EventStatus.ACCEPTED, EventStatus.DUPLICATE}
        acknowledged = [result.seq for result in answer.results if result.status in held]
        rejected = {
            result.seq: result.reason or _NO_REASON
            for result in answer.results
            if result.status is EventStatus.REJECTED
        }
        outbox.settle(acknowledged=acknowledged, dead_letters=rejected)
        return len(acknowledged)

    def _refused(
        self, outbox: Outbox, records: list[StoredRecord], refusal: HqRefused
    ) -> tuple[float, bool]:
        if refusal.status not in _RECORD_REFUSALS:
            state = SyncState.UNAUTHORISED if refusal.status == 403 else SyncState.BACKING_OFF
            return self._back_off(
                f"refused {refusal.status}",
                f"HQ refuses this kiosk's batches: {refusal.status} {refusal.message}",
                state,
                None,
            )
        if len(records) > 1:
            # Halve until the record HQ refuses is alone; the rest go through meanwhile.
            self._limit = max(1, len(records) // 2)
            _log.debug(
                "HQ refused %d records (%d); trying %d", len(records), refusal.status, self._limit
            )
            return 0.0, False
        (record,) = records
        outbox.settle(dead_letters={record.seq: f"HQ refused: {refusal.status} {refusal.message}"})
        self._publish(self._state, None)
        return 0.0, False

    def _succeeded(self, acknowledged: int) -> None:
        if self._trouble is not None:
            _log.info("sync to HQ recovered after %.0f s", time.monotonic() - self._trouble_since)
            self._trouble = None
        self._attempt = 0
        self._limit = min(self._batch_size, self._limit * 2)
        self._last_success = datetime.now(UTC)
        self._sent_total += acknowledged
        self._publish(SyncState.SYNCING, None)

    def _back_off(
        self,
        trouble: str,
        reason: str,
        state: SyncState,
        retry_after: float | None,
        *,
        exc_info: bool = False,
    ) -> tuple[float, bool]:
        delay = retry_delay(
            self._attempt, retry_after, base=self._base_delay, cap=self._max_delay, rng=self._rng
        )
        self._attempt += 1
        if trouble != self._trouble:
            if self._trouble is None:
                self._trouble_since = time.monotonic()
            self._trouble = trouble
            level = logging.ERROR if state is SyncState.UNAUTHORISED else logging.WARNING
            _log.log(
                level, "sync to HQ failing, retrying with backoff: %s", reason, exc_info=exc_info
            )
        else:
            _log.debug("sync to HQ still failing (%s); next try in %.1f s", reason, delay)
        self._publish(state, delay)
        return delay, False

    def _publish(self, state: SyncState, retry_in: float | None) -> None:
        self._state = state
        try:
            if self._outbox is not None:
                self._counts = (self._outbox.count(), self._outbox.dead_letter_count())
        except (SQLAlchemyError, OSError, OutboxError, RuntimeError):
            pass  # keep the last counts; the failure itself is handled by the round
        pending, dead_letters = self._counts
        status = SyncStatus(
            state=state,
            pending=pending,
            dead_letters=dead_letters,
            last_success=self._last_success,
            retry_in=retry_in,
            sent_total=self._sent_total,
        )
        if status == self._status:
            return
        self._status = status
        if self._on_status is None:
            return
        try:
            self._on_status(status)
        except Exception:
            _log.exception("on_status listener failed")

    def _wire_event(self, record: StoredRecord) -> WireEvent:
        return WireEvent(
            event_id=record.event_id,
            store_id=self._credentials.store_id,
            kiosk_id=self._credentials.kiosk_id,
            seq=record.seq,
            kind=record.kind,
            schema_version=record.schema_version,
            occurred_at=record.occurred_at,
            payload=record.payload,
        )

    def _open_outbox(self) -> Outbox:
        if self._outbox is None:
            self._outbox = Outbox(self._path, cipher=self._cipher)
        return self._outbox

    def _close_outbox(self) -> None:
        if self._outbox is not None:
            outbox, self._outbox = self._outbox, None
            try:
                outbox.close()
            except Exception:
                _log.debug("closing the outbox failed", exc_info=True)

    def _stop_requested(self) -> bool:
        with self._condition:
            return self._stopping

    def _sleep(self, seconds: float, *, wakeable: bool) -> bool:
        """Pause up to `seconds` (less if `wakeable` and woken); False when stopping."""
        deadline = time.monotonic() + seconds
        with self._condition:
            while not self._stopping:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (wakeable and self._woken):
                    return True
                self._condition.wait(remaining)
            return False


def _describe(exc: BaseException) -> str:
    """A one-line description of a failure that never quotes SQL parameters."""
    if isinstance(exc, StatementError) and exc.orig is not None:
        exc = exc.orig
    return f"{type(exc).__name__}: {exc}"
