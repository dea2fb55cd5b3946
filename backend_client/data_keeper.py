"""The relay child's end of the kiosk's data link: it writes what the kiosk captures.

The kiosk sends records and reward requests (backend_client/data_link.py); here the
outbox writer commits the records and answers `Written` once they are on disk, and
the reward desk answers each request. Records arrive in bursts; each burst is
committed in one transaction before it is acknowledged, so an acknowledged record
survives a power cut and an unacknowledged one is sent again by the kiosk.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from multiprocessing.connection import Connection
from typing import Final

from backend_client.data_link import Answered, Append, Ask, Written
from backend_client.outbox import OutboxWriter
from rewards.answers import Refused, RewardAnswer, RewardRequest
from rewards.desk import RewardDesk
from rewards.issuing import Refusal

_log = logging.getLogger("backend_client.data_keeper")

ACK_RETRY_S: Final = 1.0
"""How long one wait for a commit lasts; a disk that fails longer is waited for again."""


class DataKeeper:
    """Serves one link until it ends. `desk` None: this kiosk issues no codes (no
    coupon key from HQ): every request is answered Refused(UNAVAILABLE)."""

    def __init__(self, link: Connection, writer: OutboxWriter) -> None:
        self._link = link
        self._writer = writer
        self._desk: RewardDesk | None = None
        self._send_lock = threading.Lock()  # the desk's thread answers while we acknowledge
        self._numbers: dict[int, int] = {}  # id(request) -> the kiosk's number for it
        self._thread = threading.Thread(target=self._serve, name="data-keeper", daemon=True)

    def attach_desk(self, desk: RewardDesk) -> None:
        self._desk = desk

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float) -> None:
        """Wait for the link to end (the kiosk closed it or died) and its last records."""
        self._thread.join(timeout)

    def on_answer(self, answer: RewardAnswer) -> None:
        """The desk's `on_done`, on the desk's thread."""
        number = self._numbers.pop(id(answer.request), None)
        if number is not None:
            self._send(Answered(number, answer))

    def _serve(self) -> None:
        waiting: list[str] = []  # appended, not yet acknowledged
        try:
            while True:
                # Wait for the kiosk; while records await their commit, look again each second.
                if waiting and not self._link.poll(ACK_RETRY_S):
                    self._acknowledge(waiting)
                    continue
                self._take(self._link.recv(), waiting)
                while self._link.poll(0):  # the rest of the burst: one commit for it all
                    self._take(self._link.recv(), waiting)
                self._acknowledge(waiting)
        except (EOFError, OSError):
            pass  # the kiosk closed the link or died; all it sent has been read
        finally:
            self._writer.flush()

    def _take(self, message: object, waiting: list[str]) -> None:
        match message:
            case Append(record=record):
                self._writer.append(record)
                waiting.append(str(record.event_id))
            case Ask():
                self._ask(message)
            case _:
                _log.error("the kiosk sent %s on the data link: ignored", type(message).__name__)

    def _acknowledge(self, waiting: list[str]) -> None:
        """Once the writer has committed them (it retries a failing disk by itself)."""
        if waiting and self._writer.flush(ACK_RETRY_S):
            self._send(Written(tuple(waiting)))
            waiting.clear()

    def _ask(self, ask: Ask) -> None:
        if self._desk is None:
            self._send(Answered(ask.number, _unavailable(ask.request)))
            return
        self._numbers[id(ask.request)] = ask.number
        try:
            self._desk.submit(ask.request)
        except RuntimeError:  # stopping
            self._numbers.pop(id(ask.request), None)
            self._send(Answered(ask.number, _unavailable(ask.request)))

    def _send(self, message: Written | Answered) -> None:
        # A kiosk that is gone sends its records again to its next child.
        with self._send_lock, contextlib.suppress(OSError, ValueError):
            self._link.send(message)


def _unavailable(request: RewardRequest) -> RewardAnswer:
    return RewardAnswer(request, Refused(Refusal.UNAVAILABLE))
