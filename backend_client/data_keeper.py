"""The relay child's end of the kiosk's data link: it writes what the kiosk captures.

The kiosk sends records and reward requests (backend_client/data_link.py); here the
outbox writer commits the records and answers `Written` once they are on disk, and
the reward desk answers each request. Records arrive in bursts; a burst is
acknowledged once the writer has committed it (waited for on a thread of its own, so
a reward request never waits behind a commit), so an acknowledged record survives a
power cut and an unacknowledged one is sent again by the kiosk.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Final

from backend_client.data_link import (
    Answered,
    Append,
    Ask,
    Bye,
    Report,
    ScreenCommand,
    ScreenDone,
    ToKiosk,
    Written,
)
from backend_client.kiosk_report import KioskReport
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

    def __init__(
        self,
        link: Connection,
        writer: OutboxWriter,
        *,
        on_report: Callable[[KioskReport], None] | None = None,
        on_ended: Callable[[bool], None] | None = None,
    ) -> None:
        """`on_report` gets each report the kiosk sends (for HQ's heartbeat);
        `on_ended(clean)` is called once the link ends, `clean` False when the kiosk
        did not say goodbye first (it died)."""
        self._link = link
        self._writer = writer
        self._on_report = on_report
        self._on_ended = on_ended
        self._said_bye = False
        self._desk: RewardDesk | None = None
        self._send_lock = threading.Lock()  # the desk's and the acknowledger's threads send
        self._numbers: dict[int, int] = {}  # id(request) -> the kiosk's number for it
        # Bursts of appended ids (None: the link ended). Commits are waited for on a thread
        # of their own, so a reward request never queues behind an fsync.
        self._appended: queue.SimpleQueue[list[str] | None] = queue.SimpleQueue()
        self._screen_lock = threading.Lock()
        self._screen_waits: dict[str, tuple[threading.Event, list[ScreenDone]]] = {}
        self._reader = threading.Thread(target=self._serve, name="data-keeper", daemon=True)
        self._acknowledger = threading.Thread(
            target=self._acknowledge, name="data-keeper-acks", daemon=True
        )

    def attach_desk(self, desk: RewardDesk) -> None:
        self._desk = desk

    def start(self) -> None:
        self._reader.start()
        self._acknowledger.start()

    def join(self, timeout: float) -> None:
        """Wait for the link to end (the kiosk closed it or died) and its last records."""
        deadline = time.monotonic() + timeout
        self._reader.join(timeout)
        self._acknowledger.join(max(deadline - time.monotonic(), 0.1))

    def on_answer(self, answer: RewardAnswer) -> None:
        """The desk's `on_done`, on the desk's thread."""
        number = self._numbers.pop(id(answer.request), None)
        if number is not None:
            self._send(Answered(number, answer))

    def run_on_screen(self, command_id: str, kind: str, timeout: float) -> ScreenDone | None:
        """Have the screen's process carry out HQ's command (backend_client/command_runner.py);
        its answer, or None if none came within `timeout` (the kiosk gone or stuck).
        `timeout` 0: send, and do not wait (a restart never answers)."""
        done = threading.Event()
        answers: list[ScreenDone] = []
        with self._screen_lock:
            self._screen_waits[command_id] = (done, answers)
        try:
            self._send(ScreenCommand(command_id, kind))
            done.wait(timeout)
        finally:
            with self._screen_lock:
                self._screen_waits.pop(command_id, None)
        return answers[0] if answers else None

    def _serve(self) -> None:
        try:
            while True:
                burst: list[str] = []
                self._take(self._link.recv(), burst)
                while self._link.poll(0):  # the rest of the burst: one commit for it all
                    self._take(self._link.recv(), burst)
                if burst:
                    self._appended.put(burst)
        except (EOFError, OSError):
            pass  # the kiosk closed the link or died; all it sent has been read
        finally:
            self._appended.put(None)
            if self._on_ended is not None:
                self._on_ended(self._said_bye)

    def _acknowledge(self) -> None:
        """Once the writer has committed them (it retries a failing disk by itself)."""
        ended = False
        while not ended:
            bursts = [self._appended.get()]
            with contextlib.suppress(queue.Empty):
                while True:  # all that came meanwhile: one wait, one acknowledgement
                    bursts.append(self._appended.get_nowait())
            ended = None in bursts
            waiting = [event_id for burst in bursts if burst for event_id in burst]
            while waiting and not self._writer.flush(ACK_RETRY_S):
                pass  # a disk failing for longer: wait again (the kiosk holds the records)
            if waiting:
                self._send(Written(tuple(waiting)))

    def _take(self, message: object, burst: list[str]) -> None:
        match message:
            case Append(record=record):
                self._writer.append(record)
                burst.append(str(record.event_id))
            case Ask():
                self._ask(message)
            case Report(report=report):
                if self._on_report is not None:
                    self._on_report(report)
            case Bye():
                self._said_bye = True
            case ScreenDone(command_id=command_id):
                with self._screen_lock:
                    waiting = self._screen_waits.get(command_id)
                if waiting is not None:
                    waiting[1].append(message)
                    waiting[0].set()
            case _:
                _log.error("the kiosk sent %s on the data link: ignored", type(message).__name__)

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

    def _send(self, message: ToKiosk) -> None:
        # A kiosk that is gone sends its records again to its next child.
        with self._send_lock, contextlib.suppress(OSError, ValueError):
            self._link.send(message)


def _unavailable(request: RewardRequest) -> RewardAnswer:
    return RewardAnswer(request, Refused(Refusal.UNAVAILABLE))
