"""Building the configured connectors, and the thread that runs their rounds inside HQ.

Every HQ worker process runs one of these when connectors are configured; the
lease in `crm_sync_state` lets one of them at a time run a connector's round (the
others find it held and wait for the next turn). Backoff sleeps wait on the stop
event, so HQ stops promptly even mid-retry.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError

from hq.analytics.crm.config import CrmConfig
from hq.analytics.crm.connector import CrmConnector
from hq.analytics.crm.hubspot import HubSpot
from hq.analytics.crm.hubspot import pace as hubspot_pace
from hq.analytics.crm.hubspot import retryable as hubspot_retryable
from hq.analytics.crm.salesforce import Salesforce
from hq.analytics.crm.salesforce import retryable as salesforce_retryable
from hq.analytics.crm.sync import Clock, run_round
from hq.analytics.crm.transport import Transport
from hq.crm.residue import Residue
from hq.db import Database

_log = logging.getLogger("hq.crm_connectors")


def holder_id() -> str:
    """Who holds a lease: this host and process, and a random part (pids repeat)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def build_connectors(
    config: CrmConfig,
    *,
    only: str | None = None,
    sleep: Callable[[float], object] = time.sleep,
) -> list[CrmConnector]:
    """The configured connectors (only `only` if given), each with its own transport."""
    built: list[CrmConnector] = []
    if config.hubspot is not None and only in (None, "hubspot"):
        transport = Transport(
            "hubspot", retryable=hubspot_retryable, pace=hubspot_pace, sleep=sleep
        )
        built.append(HubSpot(config.hubspot, transport))
    if config.salesforce is not None and only in (None, "salesforce"):
        transport = Transport("salesforce", retryable=salesforce_retryable, sleep=sleep)
        built.append(Salesforce(config.salesforce, transport))
    return built


class CrmSyncJob:
    def __init__(
        self,
        database: Database,
        config: CrmConfig,
        *,
        residue: Residue | None = None,
        clock: Clock = lambda: datetime.now(UTC),
    ) -> None:
        self._database = database
        self._config = config
        self._residue = residue
        self._clock = clock
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing: set[str] = set()
        self._holder = holder_id()
        self._connectors = build_connectors(config, sleep=self._stopping.wait)

    def start(self) -> None:
        if self._config.every_s <= 0:
            return
        self._thread = threading.Thread(target=self._run, name="crm-sync", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
        for connector in self._connectors:
            connector.close()

    def run_once(self) -> None:
        for connector in self._connectors:
            if self._stopping.is_set():
                return
            try:
                report = run_round(
                    self._database,
                    connector,
                    clock=self._clock,
                    holder=self._holder,
                    residue=self._residue,
                )
            except SQLAlchemyError as error:  # the database away: say so once, keep trying
                failure: str | None = f"database: {type(error).__name__}"
                ran = True
            except Exception as error:  # a bug: the thread goes on with the next round
                _log.debug("CRM round failed", exc_info=True)
                failure, ran = f"unexpected {type(error).__name__}", True
            else:
                failure, ran = report.error, report.ran
            # Log a failure once and the recovery once (run_round logs each round's own).
            if failure and connector.name not in self._failing:
                self._failing.add(connector.name)
                _log.warning("CRM sync with %s is failing: %s", connector.name, failure)
            elif failure is None and ran and connector.name in self._failing:
                self._failing.discard(connector.name)
                _log.info("CRM sync with %s works again", connector.name)

    def _run(self) -> None:
        while not self._stopping.wait(self._config.every_s):
            self.run_once()
