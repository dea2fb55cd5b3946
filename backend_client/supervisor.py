"""Keep a child process running: start it, read its stdout lines, start it again when it dies.

The kiosk runs its slow or network-facing parts as children (the sync relay, the
store channel's server) so that the GUI process never shares its interpreter lock
with them. `Supervisor` is the part they share: a thread that starts the child,
hands each line it prints to `on_line`, and when the child ends starts it again
after a backoff (doubling from `restart_delay` to `max_restart_delay`, back to the
start once a child ran `healthy_run` seconds). An exit status in `give_up_on` means
restarting would not help (bad configuration): the supervisor logs why and stops there.

The child's stdin is a pipe the supervisor holds: `write` sends bytes without ever
blocking, and it is closed at `stop`, which a child may take as its signal to stop
(and which it also sees if the kiosk dies, however it dies). Children that do not
read stdin get SIGTERM at `stop`, and SIGKILL if they are still there after the
timeout.

With `on_link`, each child also gets a duplex link for objects (a Unix socket pair
behind `multiprocessing.connection.Connection`: length-framed pickles, between a
process and its own child): the child finds its end as `--link-fd N` on its command
line, and `on_link` gets the kiosk's end of each new child before its first line.
The link ends (EOFError on `recv`) when that child does.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from multiprocessing.connection import Connection
from typing import Final

_log = logging.getLogger("backend_client.supervisor")

DEFAULT_RESTART_DELAY: Final = 1.0
MAX_RESTART_DELAY: Final = 60.0
HEALTHY_RUN: Final = 60.0  # a child that ran this long died of something new: restart soon


class Supervisor:
    """Runs `command()` as a child from `start()` to `stop()`; `name` is for logs and the thread."""

    def __init__(
        self,
        name: str,
        command: Callable[[], Sequence[str]],
        *,
        on_line: Callable[[bytes], None] | None = None,
        on_exit: Callable[[int | None], None] | None = None,
        on_link: Callable[[Connection], None] | None = None,
        stop_by_eof: bool = False,
        give_up_on: Mapping[int, str] | None = None,
        restart_delay: float = DEFAULT_RESTART_DELAY,
        max_restart_delay: float = MAX_RESTART_DELAY,
        healthy_run: float = HEALTHY_RUN,
        logger: logging.Logger = _log,
    ) -> None:
        """`on_line` gets each stdout line (with its newline) and `on_exit` each child's exit
        status (None: it could not start), both on the supervisor thread, as does `on_link`
        each child's link (see the module's docstring). `stop_by_eof`:
        closing stdin is how this child is asked to stop (else SIGTERM). `give_up_on`: exit
        statuses that restarting would not cure, each with the error to log. `logger`: the
        owner's, so the child's ups and downs are logged where its owner's are."""
        if not 0 < restart_delay <= max_restart_delay:
            raise ValueError("need 0 < restart_delay <= max_restart_delay")
        self.name = name
        self._command = command
        self._on_line = on_line
        self._on_exit = on_exit
        self._on_link = on_link
        self._stop_by_eof = stop_by_eof
        self._give_up_on = dict(give_up_on or {})
        self._log = logger
        self._restart_delay = restart_delay
        self._max_restart_delay = max_restart_delay
        self._healthy_run = healthy_run
        self._condition = threading.Condition()  # guards _stopping, _process, _thread
        self._stopping = False
        self._process: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None
        self._pipe_lock = threading.Lock()  # a write never goes to a closed (reused) fd
        self.spawned = 0
        """How many children were started (1 unless one died)."""

    @property
    def pid(self) -> int | None:
        """The running child's pid, if there is one."""
        with self._condition:
            return None if self._process is None else self._process.pid

    def start(self) -> None:
        with self._condition:
            if self._thread is not None or self._stopping:
                raise RuntimeError(f"the {self.name} supervisor starts once")
            self._thread = threading.Thread(
                target=self._supervise, name=f"{self.name}-supervisor", daemon=True
            )
            self._thread.start()

    def write(self, data: bytes) -> None:
        """Send `data` to the running child's stdin; never blocks (a full pipe or a dead
        or restarting child loses it: use it for hints such as wake-ups)."""
        with self._condition:
            process = self._process
        if process is None or process.stdin is None:
            return
        with self._pipe_lock:
            if process.stdin.closed:
                return
            with contextlib.suppress(BlockingIOError, BrokenPipeError):
                os.write(process.stdin.fileno(), data)

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop the child and wait for it; after `timeout` it is killed. False if it had to be."""
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
            process, thread = self._process, self._thread
        if process is not None:
            self._ask_to_stop(process)
        if thread is None:
            return True
        thread.join(timeout)
        if not thread.is_alive():
            return True
        with self._condition:
            process = self._process
        if process is not None:
            self._log.warning("%s still running %.1f s after stop; killing it", self.name, timeout)
            with contextlib.suppress(ProcessLookupError):
                process.kill()
        thread.join(timeout)
        return False

    # --- the supervisor thread -----------------------------------------------------

    def _supervise(self) -> None:
        delay = self._restart_delay
        while not self._stopped():
            started = time.monotonic()
            code = self._run_child()
            if self._on_exit is not None:
                try:
                    self._on_exit(code)
                except Exception:
                    self._log.exception("%s on_exit listener failed", self.name)
            if self._stopped():
                return
            if code is not None and code in self._give_up_on:
                self._log.error("%s %s", self.name, self._give_up_on[code])
                return
            if time.monotonic() - started > self._healthy_run:
                delay = self._restart_delay
            self._log.warning(
                "%s ended (%s); starting it again in %.1f s", self.name, _exit(code), delay
            )
            with self._condition:
                if self._condition.wait_for(lambda: self._stopping, timeout=delay):
                    return
            delay = min(delay * 2, self._max_restart_delay)

    def _run_child(self) -> int | None:
        """Run one child until its stdout closes; its exit status (None: it did not start)."""
        command = list(self._command())
        ours: Connection | None = None
        theirs: Connection | None = None
        if self._on_link is not None:
            ours, theirs = multiprocessing.Pipe(duplex=True)
            command += ["--link-fd", str(theirs.fileno())]
        try:
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and modules
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                close_fds=True,
                pass_fds=() if theirs is None else (theirs.fileno(),),
            )
        except OSError as exc:
            self._log.error("cannot start %s: %s", self.name, exc)
            if ours is not None and theirs is not None:
                ours.close()
                theirs.close()
            return None
        finally:
            if theirs is not None and not theirs.closed:
                theirs.close()  # the child holds its own copy; EOF reaches us when it ends
        assert process.stdin is not None
        assert process.stdout is not None
        os.set_blocking(process.stdin.fileno(), False)
        with self._condition:
            self._process = process
            self.spawned += 1
            stopping = self._stopping
        if stopping:  # stop() came while starting: it did not see this child
            self._ask_to_stop(process)
        if ours is not None and self._on_link is not None:
            try:
                self._on_link(ours)
            except Exception:
                self._log.exception("%s on_link listener failed", self.name)
        try:
            for line in process.stdout:
                if self._on_line is not None:
                    try:
                        self._on_line(line)
                    except Exception:
                        self._log.exception("%s on_line listener failed", self.name)
        finally:
            code = process.wait()
            self._close_stdin(process)
            process.stdout.close()
            with self._condition:
                self._process = None
        return code

    def _ask_to_stop(self, process: subprocess.Popen[bytes]) -> None:
        self._close_stdin(process)
        if not self._stop_by_eof:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()

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
