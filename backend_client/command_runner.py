"""HQ's remote commands carried out in the relay child, each once, each reported.

The heartbeat hands over the commands in HQ's answer (backend_client/heartbeat.py);
here, on a thread of its own, each is verified (backend_client/commands.py: HQ's
signature from the pinned key, this kiosk's id, not expired), claimed in the ledger
of executed ids (on disk before it runs: at most once, also across a restart), run,
and its result posted to HQ (`POST /v1/commands/{id}/result`):

- restart: reported done first, then the screen's process is asked to exit with
  RESTART_EXIT (kiosk/maintenance_parts.py), so its supervisor starts it again;
- fetch-content: the content updater asks HQ now (backend_client/updater.py);
- screenshot: the screen grabs its window to PNG (kiosk/remote_commands.py) and
  hands the bytes over the data link; they go to HQ;
- upload-logs: the last hour of the kiosk's journal (its systemd unit's), the newest
  MAX_LOG_BYTES of it; logs carry no personal data by rule;
- identify: the screen shows its kiosk id and store for a few seconds.

A command that does not verify is refused: logged by category only (nothing an
attacker learns from), and reported to HQ only when HQ's signature held (a real
command, replayed or expired): a forged id is not HQ's to hear about.
"""

from __future__ import annotations

import logging
import os
import queue
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, Protocol

from backend_client.client import HqClient, HqError
from backend_client.commands import (
    Command,
    CommandLedger,
    CommandRefused,
    b64,
    verify_command,
)
from backend_client.credentials import Credentials
from backend_client.data_link import ScreenDone
from backend_client.updater import pinned_key

_log = logging.getLogger("backend_client.commands")

SCREEN_TIMEOUT_S: Final = 15.0  # a grab of a 1080x1920 window takes well under 1 s
MAX_LOG_BYTES: Final = 2 * 1024 * 1024
LOG_SPAN: Final = "-1h"
JOURNAL_TIMEOUT_S: Final = 30.0
_SERVICE: Final = re.compile(r"/([^/]+\.service)(?:/|$)")


class Screen(Protocol):
    """The screen's process, over the data link (backend_client/data_keeper.py)."""

    def run_on_screen(self, command_id: str, kind: str, timeout: float) -> ScreenDone | None: ...


Result = tuple[str, str, bytes | None]  # status, detail, file


class CommandRunner:
    """Runs HQ's commands for the kiosk in `data_dir` (it owns `client`)."""

    def __init__(
        self,
        data_dir: Path,
        credentials: Credentials,
        client: HqClient,
        *,
        screen: Screen | None,
        fetch_now: Callable[[], None] | None,
        journal: Callable[[], bytes] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._data_dir = data_dir
        self._credentials = credentials
        self._client = client
        self._screen = screen
        self._fetch_now = fetch_now
        self._journal = journal or kiosk_journal
        self._clock = clock
        self._ledger = CommandLedger(data_dir, clock())
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._stop = object()
        self._thread = threading.Thread(target=self._serve, name="commands", daemon=True)

    def take(self, envelopes: Sequence[object]) -> None:
        """HQ's commands from a heartbeat's answer (any thread); returns at once."""
        for envelope in envelopes:
            self._queue.put(envelope)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        self._queue.put(self._stop)
        self._thread.join(timeout)
        self._client.close()

    def _serve(self) -> None:
        while (envelope := self._queue.get()) is not self._stop:
            try:
                self.run_one(envelope)
            except Exception:  # a bug here must not end the relay child's other work
                _log.exception("a command failed unexpectedly")

    def run_one(self, envelope: object) -> None:
        """Verify, claim, execute and report one command (the runner's thread, or a test)."""
        now = self._clock()
        pinned = pinned_key(self._data_dir, self._credentials)
        try:
            if pinned is None:
                raise CommandRefused("no HQ key pinned")
            command = verify_command(envelope, pinned, self._credentials.kiosk_id, now)
        except CommandRefused as refused:
            _log.warning("HQ command refused: %s", refused.reason)
            if refused.command_id is not None:
                self._report(refused.command_id, ("refused", refused.reason, None))
            return
        if not self._ledger.claim(command, now):
            _log.warning("HQ command %s refused: executed here already (a replay)", command.id)
            self._report(command.id, ("refused", "executed here already", None))
            return
        _log.info("HQ command %s: %s", command.id, command.kind)
        if command.kind == "restart":
            # Reported first: once the screen exits, the child goes too.
            self._report(command.id, ("done", "restarting the kiosk", None))
            self._on_screen(command, wait=False)
            return
        self._report(command.id, self._execute(command))

    def _execute(self, command: Command) -> Result:
        match command.kind:
            case "fetch-content":
                if self._fetch_now is None:
                    return ("failed", "this kiosk has no content updater", None)
                self._fetch_now()
                return ("done", "asking HQ for content now", None)
            case "upload-logs":
                try:
                    logs = self._journal()
                except OSError as error:
                    return ("failed", str(error)[:200], None)
                return ("done", f"{len(logs)} bytes of logs", logs)
            case _:  # screenshot, identify
                answer = self._on_screen(command, wait=True)
                if answer is None:
                    return ("failed", "the screen did not answer", None)
                return ("done" if answer.ok else "failed", answer.detail, answer.data)

    def _on_screen(self, command: Command, *, wait: bool) -> ScreenDone | None:
        if self._screen is None:
            return None
        return self._screen.run_on_screen(
            command.id, command.kind, SCREEN_TIMEOUT_S if wait else 0.0
        )

    def _report(self, command_id: str, result: Result) -> None:
        status, detail, file = result
        body: dict[str, object] = {"status": status, "detail": detail[:200]}
        if file is not None:
            body["file"] = b64(file)
        try:
            self._client.post_command_result(command_id, body)
        except HqError as error:
            _log.warning("the result of HQ command %s was not taken: %s", command_id, error)


def kiosk_journal(cgroup: Path = Path("/proc/self/cgroup"), journalctl: str | None = None) -> bytes:
    """The last hour of the kiosk's systemd unit's journal (the unit this process runs
    in), its newest MAX_LOG_BYTES. OSError where there is no journal to read."""
    unit = _own_unit(cgroup)
    command = journalctl or shutil.which("journalctl")
    if unit is None or command is None or "INVOCATION_ID" not in os.environ:
        raise OSError("no journal: the kiosk is not running as a systemd service")
    try:
        done = subprocess.run(  # noqa: S603 - journalctl, with arguments of our own
            [command, "--unit", unit, "--since", LOG_SPAN, "--no-pager", "-o", "short-iso"],
            capture_output=True,
            timeout=JOURNAL_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise OSError("journalctl did not answer in time") from None
    if done.returncode != 0:
        raise OSError(f"journalctl failed ({done.returncode})")
    return newest(done.stdout, MAX_LOG_BYTES)


def newest(text: bytes, limit: int) -> bytes:
    """The last `limit` bytes of `text`, from a line's start."""
    if len(text) <= limit:
        return text
    tail = text[-limit:]
    cut = tail.find(b"\n")
    return tail if cut < 0 else tail[cut + 1 :]


def _own_unit(cgroup: Path) -> str | None:
    try:
        text = cgroup.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        units = _SERVICE.findall(line.rpartition(":")[2])
        if units:
            return str(units[-1])  # the innermost: user@1000.service/kiosk.service
    return None
