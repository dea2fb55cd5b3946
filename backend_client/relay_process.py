"""The sync relay in a process of its own, so syncing never holds up the screen.

A relay thread inside the kiosk's process shares the interpreter lock with the
GUI thread: reading, decrypting and encoding a batch of 500 records is Python
work, and every time Qt called into Python it waited for the relay to let go
(stalls of 25 ms, measured by bench/sync_gui_stall.py). Here the relay runs
in a child process at a lower CPU priority, and the kiosk keeps a supervisor
thread that talks to it through two pipes:

- kiosk -> relay (the child's stdin): one byte per `wake()`. End of file means
  stop: the relay also stops when the kiosk dies, however it dies.
- relay -> kiosk (the child's stdout): one JSON `SyncStatus` per line.

The child reads the same outbox file (SQLite serialises the two processes), the
same key and credentials. If it dies, the supervisor starts it again after a
backoff; the outbox makes that safe (a batch HQ already holds comes back as
duplicates). Both sides log without personal data, as the relay does.

The child is `python -m backend_client.relay_child DATA_DIR [--ca-bundle PEM]
[--niceness N] [--store-key-interval S]`; this module is the kiosk's side (and
the attendant app's: the child reads the device's role from its credentials)
and loads no HTTP client.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Final

from backend_client.status import SyncState, SyncStatus

__all__ = [
    "DEFAULT_NICENESS",
    "EXIT_CONFIG",
    "KEY_FILE",
    "OUTBOX_FILE",
    "RelayProcess",
    "decode_status",
    "encode_status",
]

_log = logging.getLogger("backend_client.relay_process")

OUTBOX_FILE: Final = "outbox.sqlite3"
KEY_FILE: Final = "outbox.key"
"""Where the kiosk's data directory keeps the outbox and its payload key."""

DEFAULT_NICENESS: Final = 10
# Syncing can wait a few milliseconds; the screen cannot. At nice 10 the kernel
# gives the kiosk about nine times the relay's share of a busy core.

EXIT_CONFIG: Final = 78
"""The child's exit status when the data directory cannot sync (sysexits' EX_CONFIG):
not enrolled, or the key or credentials unusable. Restarting would not help."""

DEFAULT_RESTART_DELAY: Final = 1.0
MAX_RESTART_DELAY: Final = 60.0
_HEALTHY_RUN: Final = 60.0  # a child that ran this long died of something new: restart soon

DEFAULT_STOP_TIMEOUT: Final = 8.0
# The child stops its relay with a 5 s bound (an HTTP request in flight), then exits.


# --- the status line ----------------------------------------------------------------


def encode_status(status: SyncStatus) -> str:
    """One line of the status pipe (no newline)."""
    return json.dumps(
        {
            "state": status.state.value,
            "pending": status.pending,
            "dead_letters": status.dead_letters,
            "last_success": None
            if status.last_success is None
            else status.last_success.isoformat(),
            "retry_in": status.retry_in,
            "sent_total": status.sent_total,
        },
        separators=(",", ":"),
    )


def decode_status(line: str | bytes) -> SyncStatus:
    """The status in a line of the pipe; ValueError if it is not one."""
    try:
        data = json.loads(line)
        last_success = data["last_success"]
        retry_in = data["retry_in"]
        return SyncStatus(
            state=SyncState(data["state"]),
            pending=int(data["pending"]),
            dead_letters=int(data["dead_letters"]),
            last_success=None if last_success is None else datetime.fromisoformat(last_success),
            retry_in=None if retry_in is None else float(retry_in),
            sent_total=int(data["sent_total"]),
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a sync status line: {type(exc).__name__}") from None


# --- the kiosk's side ---------------------------------------------------------------


class RelayProcess:
    """Runs and supervises the relay child for the kiosk whose data is in `data_dir`.

    The same surface as `SyncRelay`: `start()`, `wake()` (pass it as the outbox
    writer's `on_written`), `stop()`, `status`; `on_status` is called on the
    supervisor thread with each status the child reports.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        ca_bundle: Path | None = None,
        on_status: Callable[[SyncStatus], None] | None = None,
        niceness: int = DEFAULT_NICENESS,
        restart_delay: float = DEFAULT_RESTART_DELAY,
        max_restart_delay: float = MAX_RESTART_DELAY,
        store_key_interval: float | None = None,
    ) -> None:
        if not 0 < restart_delay <= max_restart_delay:
            raise ValueError("need 0 < restart_delay <= max_restart_delay")
        if store_key_interval is not None and store_key_interval <= 0:
            raise ValueError("store_key_interval must be > 0")
        self._store_key_interval = store_key_interval  # None: the child's default
        self._data_dir = data_dir
        self._ca_bundle = ca_bundle
        self._on_status = on_status
        self._niceness = niceness
        self._restart_delay = restart_delay
        self._max_restart_delay = max_restart_delay
        self._condition = threading.Condition()  # guards _stopping, _process, _thread
        self._stopping = False
        self._process: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None
        self._pipe_lock = threading.Lock()  # a wake never writes to a closed (reused) fd
        self._status: SyncStatus | None = None
        self._sent_before = 0  # records earlier children had sent: sent_total keeps counting
        self.spawned = 0
        """How many children were started (1 unless one died)."""

    @property
    def status(self) -> SyncStatus | None:
        """The last status the child reported (None before the first)."""
        return self._status

    @property
    def pid(self) -> int | None:
        """The running child's pid, if there is one."""
        with self._condition:
            return None if self._process is None else self._process.pid

    def start(self) -> None:
        with self._condition:
            if self._thread is not None or self._stopping:
                raise RuntimeError("a RelayProcess starts once")
            self._thread = threading.Thread(
                target=self._supervise, name="sync-relay-supervisor", daemon=True
            )
            self._thread.start()

    def wake(self, _seqs: Sequence[int] = ()) -> None:
        """New records are in the outbox; never blocks (a wake already queued is enough)."""
        with self._condition:
            process = self._process
        if process is None or process.stdin is None:
            return  # starting or restarting: a new child reads the outbox first anyway
        with self._pipe_lock:
            if process.stdin.closed:
                return
            # A full pipe holds wakes enough; a dead child is the supervisor's business.
            with contextlib.suppress(BlockingIOError, BrokenPipeError):
                os.write(process.stdin.fileno(), b"\n")

    def stop(self, timeout: float = DEFAULT_STOP_TIMEOUT) -> bool:
        """Ask the child to stop and wait for it; after `timeout` it is killed (safe: the
        outbox keeps what HQ has not acknowledged). False if it had to be killed."""
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
            process, thread = self._process, self._thread
        if process is not None:
            self._close_stdin(process)
        if thread is None:
            return True
        thread.join(timeout)
        if not thread.is_alive():
            return True
        with self._condition:
            process = self._process
        if process is not None:
            _log.warning("sync relay process still busy %.1f s after stop; killing it", timeout)
            process.kill()
        thread.join(timeout)
        return False

    # --- the supervisor thread -----------------------------------------------------

    def _supervise(self) -> None:
        delay = self._restart_delay
        while not self._stopped():
            started = time.monotonic()
            code = self._run_child()
            if self._stopped():
                return
            if code == EXIT_CONFIG:
                _log.error("sync relay cannot use this data directory (see its log); not syncing")
                return
            if time.monotonic() - started > _HEALTHY_RUN:
                delay = self._restart_delay
            _log.warning(
                "sync relay process ended (%s); starting it again in %.0f s", _exit(code), delay
            )
            with self._condition:
                if self._condition.wait_for(lambda: self._stopping, timeout=delay):
                    return
            delay = min(delay * 2, self._max_restart_delay)

    def _run_child(self) -> int | None:
        """Run one child until its status pipe closes; its exit status (None: no start)."""
        try:
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                self._command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True
            )
        except OSError as exc:
            _log.error("cannot start the sync relay process: %s", exc)
            return None
        assert process.stdin is not None
        assert process.stdout is not None
        os.set_blocking(process.stdin.fileno(), False)
        with self._condition:
            self._process = process
            self.spawned += 1
            stopping = self._stopping
        if stopping:  # stop() came while starting: it did not see this child
            self._close_stdin(process)
        try:
            self._read_statuses(process.stdout)
        finally:
            code = process.wait()
            self._close_stdin(process)
            process.stdout.close()
            with self._condition:
                self._process = None
            if self._status is not None:
                self._sent_before = self._status.sent_total
        return code

    def _command(self) -> list[str]:
        command = [sys.executable, "-m", "backend_client.relay_child", str(self._data_dir)]
        if self._ca_bundle is not None:
            command += ["--ca-bundle", str(self._ca_bundle)]
        if self._store_key_interval is not None:
            command += ["--store-key-interval", repr(self._store_key_interval)]
        return [*command, "--niceness", str(self._niceness)]

    def _read_statuses(self, pipe: IO[bytes]) -> None:
        sent_before = self._sent_before
        for line in pipe:
            try:
                reported = decode_status(line)
            except ValueError:
                _log.warning("sync relay process wrote a line that is not a status; ignored")
                continue
            status = SyncStatus(
                state=reported.state,
                pending=reported.pending,
                dead_letters=reported.dead_letters,
                last_success=reported.last_success,
                retry_in=reported.retry_in,
                sent_total=sent_before + reported.sent_total,
            )
            self._status = status
            if self._on_status is not None:
                try:
                    self._on_status(status)
                except Exception:
                    _log.exception("on_status listener failed")

    def _close_stdin(self, process: subprocess.Popen[bytes]) -> None:
        with self._pipe_lock:
            if process.stdin is not None and not process.stdin.closed:
                with contextlib.suppress(OSError):  # the child is gone already
                    process.stdin.close()

    def _stopped(self) -> bool:
        with self._condition:
            return self._stopping


def _exit(code: int | None) -> str:
    if code is None:
        return "could not start"
    if code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exit status {code}"
