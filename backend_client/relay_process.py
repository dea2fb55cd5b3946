"""The sync relay in a process of its own, so syncing never holds up the screen.

A relay thread inside the kiosk's process shares the interpreter lock with the
GUI thread: reading, decrypting and encoding a batch of 500 records is Python
work, and every time Qt called into Python it waited for the relay to let go
(stalls of 25 ms, measured by bench/sync_gui_stall.py). Here the relay runs
in a child process at a lower CPU priority, and the kiosk keeps a supervisor
thread that talks to it through two pipes and a link:

- kiosk -> relay (the child's stdin): one byte per `wake()`. End of file means
  stop: the relay also stops when the kiosk dies, however it dies.
- relay -> kiosk (the child's stdout): one JSON `SyncStatus` per line, and
  `ContentStatus` lines (`"kind": "content"`) from the content updater, which
  runs in the same child (backend_client/updater.py).
- kiosk <-> relay (a socket pair, `--link-fd`, when the kiosk passes a `DataLink`):
  the kiosk's records and reward requests, the child's acknowledgements and answers
  (backend_client/data_link.py). With a link the child writes the outbox too, and
  runs also before the kiosk is enrolled.

The child uses the kiosk's outbox file, key and credentials. If it dies, the
supervisor starts it again after a backoff; the outbox makes that safe (a batch HQ
already holds comes back as duplicates; a record the kiosk holds is sent again).
Both sides log without personal data, as the relay does.

The child is `python -m backend_client.relay_child DATA_DIR [--ca-bundle PEM]
[--niceness N] [--store-key-interval S] [--link-fd FD] [--timezone ZONE]`; this
module is the kiosk's side (and the attendant app's: the child reads the device's
role from its credentials) and loads no HTTP client.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final

from backend_client.status import ContentStatus, SyncState, SyncStatus
from backend_client.supervisor import Supervisor

if TYPE_CHECKING:
    from backend_client.data_link import DataLink

__all__ = [
    "DEFAULT_NICENESS",
    "EXIT_CONFIG",
    "KEY_FILE",
    "OUTBOX_FILE",
    "RelayProcess",
    "decode_content_status",
    "decode_status",
    "encode_content_status",
    "encode_status",
]

_log = logging.getLogger("backend_client.relay_process")

OUTBOX_FILE: Final = "outbox.sqlite3"
KEY_FILE: Final = "outbox.key"
"""Where the kiosk's data directory keeps the outbox and its payload key."""

DEFAULT_TIMEZONE: Final = "Asia/Shanghai"
"""The store's zone when none is given: the first chains' stores (the kiosk's --timezone)."""

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


CONTENT_KIND: Final = "content"  # a content line; sync status lines carry no kind


def encode_content_status(status: ContentStatus) -> str:
    """One content line of the status pipe (no newline)."""
    return json.dumps(
        {
            "kind": CONTENT_KIND,
            "staged": list(status.staged),
            "downloading": None if status.downloading is None else list(status.downloading),
            "last_failure": None if status.last_failure is None else list(status.last_failure),
        },
        separators=(",", ":"),
    )


def decode_content_status(line: str | bytes) -> ContentStatus:
    """The content status in a line of the pipe; ValueError if it is not one."""
    try:
        data = json.loads(line)
        if data["kind"] != CONTENT_KIND:
            raise ValueError("not a content status line")
        downloading = data["downloading"]
        failure = data["last_failure"]
        return ContentStatus(
            staged=tuple(str(name) for name in data["staged"]),
            downloading=None
            if downloading is None
            else (int(downloading[0]), int(downloading[1]), int(downloading[2])),
            last_failure=None
            if failure is None
            else (None if failure[0] is None else int(failure[0]), str(failure[1])),
        )
    except (KeyError, TypeError, IndexError, AttributeError) as exc:
        raise ValueError(f"not a content status line: {type(exc).__name__}") from None


def _is_content_line(line: bytes) -> bool:
    # Cheap: a sync line starts with {"state"; only content lines carry a kind.
    return line.lstrip().startswith(b'{"kind"')


# --- the kiosk's side ---------------------------------------------------------------


class RelayProcess:
    """Runs and supervises the relay child for the kiosk whose data is in `data_dir`.

    The same surface as `SyncRelay`: `start()`, `wake()` (pass it as the outbox
    writer's `on_written`), `stop()`, `status`; `on_status` is called on the
    supervisor thread with each status the child reports, `on_content` with each
    content status (`content_status` holds the last one).
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
        on_content: Callable[[ContentStatus], None] | None = None,
        content_interval: float | None = None,
        link: DataLink | None = None,
        timezone: str | None = None,
        heartbeat_interval: float | None = None,
    ) -> None:
        """`link`: the kiosk's records and reward requests go through the child, which
        then also runs when the kiosk is not enrolled (backend_client/data_link.py);
        `timezone` is the store's, for the reward desk's days."""
        if not 0 < restart_delay <= max_restart_delay:
            raise ValueError("need 0 < restart_delay <= max_restart_delay")
        if store_key_interval is not None and store_key_interval <= 0:
            raise ValueError("store_key_interval must be > 0")
        if content_interval is not None and content_interval <= 0:
            raise ValueError("content_interval must be > 0")
        self._store_key_interval = store_key_interval  # None: the child's default
        self._content_interval = content_interval  # None: the child's default
        self._heartbeat_interval = heartbeat_interval  # None: HQ's pace
        self._on_content = on_content
        self._content_status: ContentStatus | None = None
        self._data_dir = data_dir
        self._ca_bundle = ca_bundle
        self._on_status = on_status
        self._niceness = niceness
        self._timezone = timezone
        self._status: SyncStatus | None = None
        self._sent_before = 0  # records earlier children had sent: sent_total keeps counting
        # The shared supervision (backend_client/supervisor.py): restarts with a backoff,
        # stdin as the wake pipe whose end of file means stop.
        self._supervisor = Supervisor(
            "sync relay process",
            self._command,
            on_line=self._read_status,
            on_exit=self._ended,
            on_link=None if link is None else link.attach,
            stop_by_eof=True,
            give_up_on={EXIT_CONFIG: "cannot use this data directory (see its log); not syncing"},
            restart_delay=restart_delay,
            max_restart_delay=max_restart_delay,
            healthy_run=_HEALTHY_RUN,
            logger=_log,
        )

    @property
    def status(self) -> SyncStatus | None:
        """The last status the child reported (None before the first)."""
        return self._status

    @property
    def content_status(self) -> ContentStatus | None:
        """The last content status the child reported (None before the first)."""
        return self._content_status

    @property
    def pid(self) -> int | None:
        """The running child's pid, if there is one."""
        return self._supervisor.pid

    @property
    def spawned(self) -> int:
        """How many children were started (1 unless one died)."""
        return self._supervisor.spawned

    def start(self) -> None:
        self._supervisor.start()

    def wake(self, _seqs: Sequence[int] = ()) -> None:
        """New records are in the outbox; never blocks (a wake already queued is enough;
        a starting child reads the outbox first anyway)."""
        self._supervisor.write(b"\n")

    def stop(self, timeout: float = DEFAULT_STOP_TIMEOUT) -> bool:
        """Ask the child to stop and wait for it; after `timeout` it is killed (safe: the
        outbox keeps what HQ has not acknowledged). False if it had to be killed."""
        return self._supervisor.stop(timeout)

    def _command(self) -> list[str]:
        command = [sys.executable, "-m", "backend_client.relay_child", str(self._data_dir)]
        if self._ca_bundle is not None:
            command += ["--ca-bundle", str(self._ca_bundle)]
        if self._store_key_interval is not None:
            command += ["--store-key-interval", repr(self._store_key_interval)]
        if self._content_interval is not None:
            command += ["--content-interval", repr(self._content_interval)]
        if self._timezone is not None:
            command += ["--timezone", self._timezone]
        if self._heartbeat_interval is not None:
            command += ["--heartbeat-interval", repr(self._heartbeat_interval)]
        return [*command, "--niceness", str(self._niceness)]

    # --- on the supervisor thread ----------------------------------------------------

    def _read_status(self, line: bytes) -> None:
        if _is_content_line(line):
            self._read_content(line)
            return
        try:
            reported = decode_status(line)
        except ValueError:
            _log.warning("sync relay process wrote a line that is not a status; ignored")
            return
        status = SyncStatus(
            state=reported.state,
            pending=reported.pending,
            dead_letters=reported.dead_letters,
            last_success=reported.last_success,
            retry_in=reported.retry_in,
            sent_total=self._sent_before + reported.sent_total,
        )
        self._status = status
        if self._on_status is not None:
            try:
                self._on_status(status)
            except Exception:
                _log.exception("on_status listener failed")

    def _read_content(self, line: bytes) -> None:
        try:
            content = decode_content_status(line)
        except ValueError:
            _log.warning("sync relay process wrote a content line that is not one; ignored")
            return
        self._content_status = content
        if self._on_content is not None:
            try:
                self._on_content(content)
            except Exception:
                _log.exception("on_content listener failed")

    def _ended(self, _code: int | None) -> None:
        if self._status is not None:
            self._sent_before = self._status.sent_total
