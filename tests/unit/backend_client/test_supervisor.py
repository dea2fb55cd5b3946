"""A supervised child: restarted when it dies, left alone when it cannot run, stopped at stop."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from helpers.pickup import wait_until

from backend_client.supervisor import Supervisor


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_a_child_that_dies_is_started_again_and_its_lines_arrive(tmp_path: Path) -> None:
    lines: list[bytes] = []
    exits: list[int | None] = []
    supervisor = Supervisor(
        "test child",
        lambda: python("print('hello', flush=True); raise SystemExit(3)"),
        on_line=lines.append,
        on_exit=exits.append,
        restart_delay=0.05,
        max_restart_delay=0.1,
    )
    supervisor.start()
    try:
        wait_until(lambda: supervisor.spawned >= 3, 20, "three starts")
    finally:
        assert supervisor.stop()
    assert lines[:2] == [b"hello\n", b"hello\n"]
    assert exits[:2] == [3, 3]


def test_a_child_that_refuses_its_command_line_is_not_started_again() -> None:
    exits: list[int | None] = []
    done = threading.Event()

    def on_exit(code: int | None) -> None:
        exits.append(code)
        done.set()

    supervisor = Supervisor(
        "test child",
        lambda: python("raise SystemExit(2)"),
        on_exit=on_exit,
        give_up_on={2: "refused its command line"},
        restart_delay=0.01,
    )
    supervisor.start()
    try:
        assert done.wait(20)
        wait_until(lambda: supervisor.pid is None, 5, "the child gone")
    finally:
        supervisor.stop()
    assert supervisor.spawned == 1
    assert exits == [2]


def test_stop_ends_a_child_that_does_not_read_stdin() -> None:
    supervisor = Supervisor("test child", lambda: python("import signal; signal.pause()"))
    supervisor.start()
    wait_until(lambda: supervisor.pid is not None, 20, "the child")
    assert supervisor.stop(timeout=10)
    assert supervisor.pid is None
    assert supervisor.spawned == 1


def test_a_child_asked_by_end_of_file_stops_by_itself() -> None:
    supervisor = Supervisor(
        "test child", lambda: python("import sys; sys.stdin.read()"), stop_by_eof=True
    )
    supervisor.start()
    wait_until(lambda: supervisor.pid is not None, 20, "the child")
    supervisor.write(b"a hint\n")
    assert supervisor.stop(timeout=10)
    assert supervisor.spawned == 1
