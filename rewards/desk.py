"""The reward desk: the reward ledger on a thread of its own, for the GUI thread.

The kiosk's controller asks for a code or a draw with `RewardDesk.issue` /
`RewardDesk.draw` (or `submit`: a member's standing, their offer counts, taking an
offer) from any thread; the call only queues the
request. The desk thread runs it against its `RewardLedger` (rewards/ledger.py)
and answers with `on_done(RewardAnswer)` on the desk thread; the kiosk posts
that to the GUI thread. Nothing here blocks the caller: a ledger that cannot be
written answers Refused(UNAVAILABLE) instead of leaving the shopper waiting.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.exc import SQLAlchemyError

from backend_client.crypto import PayloadCipher
from backend_client.outbox import DEFAULT_BUSY_TIMEOUT, OutboxError
from content.model import CouponCampaign, PrizeDraw
from rewards.answers import (
    DrawOutcome,
    DrawRequest,
    Issued,
    IssueReason,
    IssueRequest,
    OfferStanding,
    OfferTakesRequest,
    Refused,
    RewardAnswer,
    RewardRequest,
    Standing,
    StandingRequest,
)
from rewards.issuing import WHOLE_STORE, Refusal, StoreShare
from rewards.ledger import LedgerError, RewardLedger

_log = logging.getLogger("rewards.desk")


class RewardDesk:
    """The ledger on a thread of its own: asked from any thread, never blocking it.

    `submit()` (or `issue()` / `draw()`) queues a request and returns at once; the
    desk thread answers with `on_done(RewardAnswer)` on the desk thread (the kiosk
    posts it to the GUI thread). A request that fails (disk full, file locked past
    the busy timeout, a damaged file) is answered Refused(UNAVAILABLE); the failure
    is logged once and the recovery once. So is a request the ledger refuses as
    malformed (a draw without a member), logged as the bug it is.

    `on_written(seqs)` is called on the desk thread after each commit that queued
    records for HQ, as OutboxWriter's is, so the kiosk can wake the sync relay.
    Call `stop()` at shutdown.
    """

    def __init__(
        self,
        outbox_path: Path,
        *,
        cipher: PayloadCipher | None,
        key: bytes,
        kiosk_no: int,
        tz: ZoneInfo,
        on_done: Callable[[RewardAnswer], None],
        share: StoreShare = WHOLE_STORE,
        on_written: Callable[[list[int]], None] | None = None,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    ) -> None:
        def open_ledger() -> RewardLedger:
            return RewardLedger(
                outbox_path,
                cipher=cipher,
                key=key,
                kiosk_no=kiosk_no,
                tz=tz,
                share=share,
                on_written=on_written,
                busy_timeout=busy_timeout,
            )

        self._open_ledger = open_ledger
        self._on_done = on_done
        self._queue: queue.SimpleQueue[RewardRequest | None] = queue.SimpleQueue()
        self._lock = threading.Lock()  # orders submit/stop; never held during I/O
        self._closed = False
        self._thread: threading.Thread | None = None
        # Owned by the desk thread:
        self._ledger: RewardLedger | None = None
        self._failing_since: float | None = None

    def __repr__(self) -> str:
        return "RewardDesk()"

    def start(self) -> None:
        with self._lock:
            if self._closed or self._thread is not None:
                raise RuntimeError("a RewardDesk starts once")
            self._thread = threading.Thread(target=self._run, name="reward-desk", daemon=True)
            self._thread.start()

    def submit(self, request: RewardRequest) -> None:
        """Queue `request`; its answer comes through `on_done`."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the RewardDesk is stopped")
            self._queue.put(request)

    def issue(
        self,
        campaign: CouponCampaign,
        *,
        member_id: uuid.UUID | str | None,
        session: str,
        reason: IssueReason,
        now: datetime,
    ) -> IssueRequest:
        """Queue an issue request; returns it, to match it with its answer."""
        request = IssueRequest(campaign, member_id, session, reason, now)
        self.submit(request)
        return request

    def draw(
        self,
        prize_draw: PrizeDraw,
        campaigns: Iterable[CouponCampaign],
        *,
        member_id: uuid.UUID | str,
        session: str,
        now: datetime,
        roll: int | None = None,
    ) -> DrawRequest:
        """Queue a draw request; returns it, to match it with its answer."""
        request = DrawRequest(prize_draw, tuple(campaigns), member_id, session, now, roll)
        self.submit(request)
        return request

    def stop(self, timeout: float = 5.0) -> None:
        """Answer what is queued, then stop the thread and close the ledger."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
        if thread is None:
            if not self._queue.empty():
                _log.error("reward desk stopped before start(); queued requests not answered")
            return
        self._queue.put(None)
        thread.join(timeout)
        if thread.is_alive():
            _log.error("reward desk thread did not stop within %.1f s", timeout)

    def _run(self) -> None:
        try:
            # Opened now, not at the first request: the first shopper to draw after a
            # start does not wait for the file to be opened (and a broken one is logged).
            try:
                self._ledger = self._open_ledger()
            except Exception as exc:  # each request tries again
                self._failed(exc)
            while (request := self._queue.get()) is not None:
                self._answer(RewardAnswer(request, self._handle(request)))
        finally:
            if self._ledger is not None:
                self._ledger.close()
                self._ledger = None

    def _handle(
        self, request: RewardRequest
    ) -> Issued | DrawOutcome | Standing | OfferStanding | Refused:
        try:
            ledger = self._ledger
            if ledger is None:
                # (Re)opened per request while failing: each try is bounded by the busy
                # timeout, and the first request after the fix succeeds.
                ledger = self._ledger = self._open_ledger()
            outcome: Issued | DrawOutcome | Standing | OfferStanding | Refused
            if isinstance(request, StandingRequest):
                outcome = Standing(
                    ledger.standing(
                        request.prize_draws, member_id=request.member_id, now=request.now
                    )
                )
            elif isinstance(request, IssueRequest):
                outcome = ledger.issue(
                    request.campaign,
                    member_id=request.member_id,
                    session=request.session,
                    reason=request.reason,
                    now=request.now,
                )
            elif isinstance(request, DrawRequest):
                outcome = ledger.draw(
                    request.prize_draw,
                    request.campaigns,
                    member_id=request.member_id,
                    session=request.session,
                    now=request.now,
                    roll=request.roll,
                )
            elif isinstance(request, OfferTakesRequest):
                outcome = OfferStanding(
                    ledger.offer_takes(request.offers, member_id=request.member_id, now=request.now)
                )
            else:
                outcome = ledger.take_offer(
                    request.offer,
                    request.campaign,
                    member_id=request.member_id,
                    session=request.session,
                    now=request.now,
                )
        except ValueError:
            # A request the ledger cannot serve (no member for a draw, a naive time): a
            # bug on the asking side, not an outage. Loud, and the ledger stays open.
            _log.exception("reward request refused: it is not one the ledger can serve")
            return Refused(Refusal.UNAVAILABLE)
        except Exception as exc:  # whatever else went wrong, answer; the shopper is waiting
            self._failed(exc)
            return Refused(Refusal.UNAVAILABLE)
        if self._failing_since is not None:
            _log.info(
                "reward ledger recovered after %.1f s", time.monotonic() - self._failing_since
            )
            self._failing_since = None
        return outcome

    def _failed(self, exc: Exception) -> None:
        if self._failing_since is None:
            self._failing_since = time.monotonic()
            _log.warning(
                "reward ledger failed; answering requests 'unavailable': %s: %s",
                type(exc).__name__,
                exc,
                # A traceback only for the unexpected: the expected kinds say it all.
                exc_info=not isinstance(exc, SQLAlchemyError | OSError | OutboxError | LedgerError),
            )
        if self._ledger is not None:
            # A fresh connection recovers from states a failed one may keep.
            self._ledger.close()
            self._ledger = None

    def _answer(self, answer: RewardAnswer) -> None:
        try:
            self._on_done(answer)
        except Exception:
            _log.exception("on_done listener failed")
