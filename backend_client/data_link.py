"""The kiosk's records and rewards go to the relay child, which alone writes the outbox.

The screen's process writes no database file: an outbox writer and a reward ledger in
it cost the GUI thread the interpreter lock for every commit, and SQLAlchemy and
`cryptography` cost it about 35 MB. The relay child (backend_client/relay_child.py)
already loads both and already reads the outbox; it writes it too. `DataLink` is the
kiosk's end of the link to it (the supervisor's `on_link`, backend_client/supervisor.py):

- `append(record)` keeps the record until the child says it is committed (`Written`),
  and sends it again to the next child if this one dies first. The outbox stores an
  event id once, so a record sent twice is stored once. Nothing blocks the caller:
  a thread of its own sends.
- `submit(request)` asks the reward desk; the answer comes to `on_answer`. A request
  the child cannot answer (no child running, or it died before answering) is answered
  Refused(UNAVAILABLE) at once: a shopper never waits on a draw that cannot come.
- `report(kiosk_report)` hands the child the kiosk's devices, release and start for
  HQ's heartbeat (backend_client/kiosk_report.py). Only the latest is kept and sent,
  again to each new child.
- HQ's commands for the screen come as `ScreenCommand` to `serve_screen_commands`'s handler;
  `screen_done` answers each (backend_client/command_runner.py is the child's side).
- `close()` says goodbye (`Bye`) before ending the link: a link that ends without
  it tells the child that the kiosk died (its last crash, for HQ).

The child's side is backend_client/data_keeper.py. What crosses the link is pickled
(the kiosk and its own child, one install).
"""

from __future__ import annotations

import collections
import contextlib
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from typing import Final

from backend_client.kiosk_report import KioskReport
from backend_client.records import OutboxRecord
from rewards.answers import Refused, RewardAnswer, RewardRequest
from rewards.issuing import Refusal

_log = logging.getLogger("backend_client.data_link")

MAX_HELD: Final = 100_000
"""Records kept for a child that is not there; beyond that (a child failing for hours)
the oldest are dropped, logged, rather than let the kiosk's memory grow without end."""


MAX_EARLY: Final = 16  # HQ's commands held for a screen not yet up (a few at most)


@dataclass(frozen=True, slots=True)
class Append:
    """kiosk -> child: store this record."""

    record: OutboxRecord


@dataclass(frozen=True, slots=True)
class Ask:
    """kiosk -> child: the reward desk's request number `number`."""

    number: int
    request: RewardRequest


@dataclass(frozen=True, slots=True)
class Written:
    """child -> kiosk: these records are committed to the outbox."""

    event_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Answered:
    """child -> kiosk: the desk's answer to request `number`."""

    number: int
    answer: RewardAnswer


@dataclass(frozen=True, slots=True)
class Report:
    """kiosk -> child: the kiosk as its screen process knows it, for HQ's heartbeat."""

    report: KioskReport


@dataclass(frozen=True, slots=True)
class Bye:
    """kiosk -> child: the kiosk is closing; the link ends next (without this: it died)."""


@dataclass(frozen=True, slots=True)
class ScreenCommand:
    """child -> kiosk: HQ's command `kind` ("restart", "screenshot", "identify"), verified
    by the child (backend_client/commands.py), for the screen's process to carry out."""

    command_id: str
    kind: str


@dataclass(frozen=True, slots=True)
class ScreenDone:
    """kiosk -> child: how the screen's part of a command went; `data`: a screenshot's PNG."""

    command_id: str
    ok: bool
    detail: str = ""
    data: bytes | None = field(default=None, repr=False)


ToChild = Append | Ask | Report | Bye | ScreenDone
ToKiosk = Written | Answered | ScreenCommand


class DataLink:
    """The kiosk's end; `attach` is the supervisor's `on_link` (one call per child)."""

    def __init__(self, on_answer: Callable[[RewardAnswer], None] | None = None) -> None:
        self._on_answer = on_answer
        self._cond = threading.Condition()
        self._held: collections.OrderedDict[str, OutboxRecord] = collections.OrderedDict()
        self._unsent: collections.deque[str] = collections.deque()  # ids, oldest first
        self._asks: collections.deque[Ask] = collections.deque()
        self._asked: dict[int, RewardRequest] = {}  # sent to the current child
        self._numbers = 0
        self._link: _Link | None = None
        self._report: KioskReport | None = None
        self._report_unsent = False
        self._dones: collections.deque[ScreenDone] = collections.deque()
        # HQ's commands for the screen (restart, screenshot, identify): the handler comes
        # once the screen exists (kiosk/remote_commands.py); the child starts before it,
        # so commands that come sooner wait for it here.
        self._on_screen_command: Callable[[ScreenCommand], None] | None = None
        self._early_commands: list[ScreenCommand] = []
        self._closed = False
        self._dropped = 0
        self._sender = threading.Thread(target=self._send_loop, name="data-link", daemon=True)
        self._sender.start()

    # --- the kiosk's side (any thread) ------------------------------------------------

    def append(self, record: OutboxRecord) -> None:
        """Hold `record` until the outbox has it; returns at once."""
        key = str(record.event_id)
        with self._cond:
            if self._closed:
                raise RuntimeError("the data link is closed")
            if len(self._held) >= MAX_HELD:
                self._held.popitem(last=False)
                self._dropped += 1
                if self._dropped == 1:
                    _log.error("no relay child takes records: dropping the oldest held")
            self._held[key] = record
            self._unsent.append(key)
            self._cond.notify_all()

    def submit(self, request: RewardRequest) -> None:
        """Ask the desk; the answer comes to `on_answer` (on the link's thread)."""
        with self._cond:
            if self._link is not None and not self._closed:
                self._numbers += 1
                ask = Ask(self._numbers, request)
                self._asked[ask.number] = request
                self._asks.append(ask)
                self._cond.notify_all()
                return
        self._refuse(request)  # no child to ask now

    def report(self, report: KioskReport) -> None:
        """Hand the child the kiosk's latest report; returns at once (a report not yet
        sent is replaced: only the latest matters)."""
        with self._cond:
            self._report = report
            self._report_unsent = True
            self._cond.notify_all()

    def serve_screen_commands(self, handler: Callable[[ScreenCommand], None]) -> None:
        """`handler` gets each ScreenCommand from now on (on the link's thread), and
        those that came before it at once."""
        with self._cond:
            self._on_screen_command = handler
            early, self._early_commands = self._early_commands, []
        for command in early:
            handler(command)

    def screen_done(self, done: ScreenDone) -> None:
        """Answer the child's `ScreenCommand`; returns at once (lost if the child is gone:
        the command's result is then never reported, and HQ shows it expired)."""
        with self._cond:
            if self._link is None or self._closed:
                return
            self._dones.append(done)
            self._cond.notify_all()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every record appended so far is in the outbox; False on timeout."""
        with self._cond:
            last = next(reversed(self._held), None)
            if last is None:
                return True
            return self._cond.wait_for(lambda: last not in self._held, timeout)

    @property
    def connected(self) -> bool:
        """A child is there to take records and answer requests."""
        with self._cond:
            return self._link is not None

    @property
    def unsent(self) -> int:
        """Held records not yet sent to the child there is (all of them while there is none)."""
        with self._cond:
            return len(self._held) if self._link is None else len(self._unsent)

    @property
    def reported(self) -> KioskReport | None:
        """The latest report handed to `report` (sent, or about to be)."""
        with self._cond:
            return self._report

    @property
    def held(self) -> int:
        """Records not yet in the outbox."""
        with self._cond:
            return len(self._held)

    def close(self, timeout: float = 5.0) -> None:
        """Wait (up to `timeout`) for the outbox to have every record; then stop sending
        and end the link."""
        if not self.flush(timeout):
            _log.error("%d records not in the outbox at close", self.held)
        with self._cond:
            self._closed = True
            link = self._link
            self._cond.notify_all()
        self._sender.join(timeout=1.0)
        if link is not None:
            with contextlib.suppress(OSError, ValueError):
                link.send(Bye())  # a clean close: not a crash
            link.end()  # the child's keeper reads to the end of it, then stops

    # --- the supervisor's side --------------------------------------------------------

    def attach(self, connection: Connection) -> None:
        """A new child's link: send it every record the last one did not commit."""
        link = _Link(connection)
        with self._cond:
            if self._link is not None:
                self._link.end()  # an earlier child's, not yet seen to end
            self._link = link
            self._unsent = collections.deque(self._held)
            self._report_unsent = self._report is not None  # a new child knows nothing yet
            self._cond.notify_all()
        threading.Thread(
            target=self._receive_loop, args=(link,), name="data-link-receive", daemon=True
        ).start()

    # --- threads ----------------------------------------------------------------------

    def _send_loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(
                    lambda: self._closed or (self._link is not None and self._has_work())
                )
                if self._closed:
                    return
                link = self._link
                message = self._next_message()
            if link is None or message is None:
                continue
            try:
                link.send(message)
            except (OSError, ValueError):
                self._detach(link)  # the child is gone; the next one gets it all again
                link.end()

    def _has_work(self) -> bool:
        return bool(self._unsent or self._asks or self._report_unsent or self._dones)

    def _next_message(self) -> ToChild | None:
        if self._asks:
            return self._asks.popleft()  # a shopper waits on it; records can wait a little
        if self._dones:
            return self._dones.popleft()
        if self._report_unsent and self._report is not None:
            self._report_unsent = False
            return Report(self._report)
        while self._unsent:
            record = self._held.get(self._unsent.popleft())
            if record is not None:
                return Append(record)
        return None

    def _receive_loop(self, link: _Link) -> None:
        try:
            while True:
                message = link.connection.recv()
                match message:
                    case Written(event_ids=ids):
                        with self._cond:
                            for key in ids:
                                self._held.pop(key, None)
                            self._cond.notify_all()
                    case Answered(number=number, answer=answer):
                        with self._cond:
                            request = self._asked.pop(number, None)
                        if request is not None and self._on_answer is not None:
                            self._on_answer(replace(answer, request=request))
                    case ScreenCommand():
                        with self._cond:
                            handler = self._on_screen_command
                            if handler is None and len(self._early_commands) < MAX_EARLY:
                                self._early_commands.append(message)
                        if handler is not None:
                            handler(message)
        except (EOFError, OSError):
            pass
        finally:
            self._detach(link)
            link.close()  # here only: this thread is the one that reads it

    def _detach(self, link: _Link) -> None:
        lost: list[RewardRequest] = []
        with self._cond:
            if self._link is link:  # not an earlier child's link, ending late
                self._link = None
                lost = list(self._asked.values())
                self._asked.clear()
                self._asks.clear()
                self._dones.clear()
        for request in lost:  # the child died with them: nobody will answer
            self._refuse(request)

    def _refuse(self, request: RewardRequest) -> None:
        if self._on_answer is not None:
            self._on_answer(RewardAnswer(request, Refused(Refusal.UNAVAILABLE)))


class _Link:
    """One child's link, used by three threads: the sender sends, the reader reads and,
    when the child is gone, closes; anyone may end it (shut the socket down, so a blocked
    read or send returns and the child sees the end). A descriptor must not be closed
    twice nor used once closed: by then its number may be another file's. So closing
    waits for a send in progress, and ending goes through a socket of its own (a
    duplicate descriptor, closed with the link) under a lock that closing also takes."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._socket = socket.fromfd(connection.fileno(), socket.AF_UNIX, socket.SOCK_STREAM)
        self._sending = threading.Lock()
        self._ending = threading.Lock()
        self._closed = False

    def send(self, message: ToChild) -> None:
        with self._sending:
            if self._closed:
                raise OSError("the link is closed")
            self.connection.send(message)

    def end(self) -> None:
        with self._ending, contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        with self._sending, self._ending:
            if not self._closed:
                self._closed = True
                self._socket.close()
                self.connection.close()
