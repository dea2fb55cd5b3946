"""The thread that sweeps the fleet's alerts (hq.fleet_health.store.sweep) every 30 s,
and forgets old remote commands with their files (hq.fleet_health.commands.prune) every hour.
It also rolls new events into the console's analytics (hq.analytics.rollup) each round:
off ingest's path, exactly once whichever worker gets there first; and texts members
the codes they asked for (hq.sms.sender), each request claimed by one worker.

Heartbeats raise and clear their own kiosk's alerts as they arrive; only silence
needs someone to look at the clock. Every HQ worker process runs one of these (HQ
keeps no state of its own between workers): sweeps are idempotent, so N workers
sweeping cost N small transactions a round and raise each alert once.
"""

from __future__ import annotations

import logging
import threading
from typing import Final

from sqlalchemy.exc import SQLAlchemyError

from hq.analytics import rollup
from hq.api.common import Clock
from hq.db import Database
from hq.fleet_health.commands import prune
from hq.fleet_health.store import sweep
from hq.sms.sender import SmsSender

_log = logging.getLogger("hq.fleet_health")

SWEEP_EVERY_S: Final = 30.0
# Silence is 150 s without a heartbeat; swept every 30 s it is raised within 180 s,
# the 3 minutes staff were promised.
PRUNE_EVERY: Final = 120  # sweeps: an hour


class AlertSweeper:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        *,
        every: float = SWEEP_EVERY_S,
        texts: SmsSender | None = None,
    ) -> None:
        self._database = database
        self._texts = texts
        self._clock = clock
        self._every = every
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False
        self._rollup_failing = False
        self._rounds = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="fleet-alert-sweep", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        if self._texts is not None:
            self._texts.stop()  # a round of texts ends at its next request
        if self._thread is not None:
            self._thread.join(timeout)

    def sweep_once(self) -> None:
        try:
            done = sweep(self._database, now=self._clock())
        except SQLAlchemyError as error:  # the database away: say so once, keep trying
            if not self._failing:
                _log.warning("fleet alert sweep failed: %s", type(error).__name__)
            self._failing = True
            return
        if self._failing:
            _log.info("fleet alert sweep works again")
            self._failing = False
        if done.raised or done.cleared:
            _log.info("fleet alerts: %d raised, %d cleared", done.raised, done.cleared)

    def prune_once(self) -> None:
        try:
            gone = prune(self._database, self._clock())
        except SQLAlchemyError as error:  # said like a failed sweep; tried again in an hour
            _log.warning("old remote commands not pruned: %s", type(error).__name__)
            return
        if gone:
            _log.info("%d remote commands over 30 days old forgotten, with their files", gone)

    def roll_once(self) -> None:
        try:
            rollup.roll(self._database, self._clock())
        except SQLAlchemyError as error:  # said once, like a failed sweep; tried each round
            if not self._rollup_failing:
                _log.warning("analytics rollup failed: %s", type(error).__name__)
            self._rollup_failing = True
            return
        if self._rollup_failing:
            _log.info("analytics rollup works again")
            self._rollup_failing = False

    def text_once(self) -> None:
        if self._texts is None:
            return
        try:
            self._texts.send_once()  # says a database failure once itself
        except Exception as error:  # a bug: alerts and rollups must go on regardless
            _log.debug("sending texts failed", exc_info=True)
            _log.warning("sending texts failed: unexpected %s", type(error).__name__)

    def _run(self) -> None:
        while not self._stopping.wait(self._every):
            self.sweep_once()
            self.roll_once()
            self.text_once()
            self._rounds += 1
            if self._rounds % PRUNE_EVERY == 1:  # the first round's too: HQ restarts often
                self.prune_once()
