"""Reference cycles are freed on the GUI thread, however busy other threads are."""

from __future__ import annotations

import gc
import threading

from pytestqt.qtbot import QtBot

from kiosk.collector import GuiThreadCollector


class _Cycle:
    """Stands for a screen and its layouts: only the cycle collector can free it."""

    freed_on: list[str]

    def __init__(self, freed_on: list[str]) -> None:
        self.me = self
        self.freed_on = freed_on

    def __del__(self) -> None:
        self.freed_on.append(threading.current_thread().name)


def _allocate_a_lot(kept: list[list[int]]) -> None:
    # Far past gen-0's threshold: automatic collection would run on this thread.
    kept.extend([] for _ in range(5_000))


def test_cycles_dropped_while_a_worker_allocates_are_freed_on_the_gui_thread(
    qtbot: QtBot,
) -> None:
    gc.enable()  # as in a kiosk process: the collector takes over from automatic gc
    collector = GuiThreadCollector(interval_ms=20)
    freed_on: list[str] = []
    _Cycle(freed_on)
    kept: list[list[int]] = []
    worker = threading.Thread(target=_allocate_a_lot, args=(kept,), name="outbox-writer")
    worker.start()
    worker.join()
    assert freed_on == []  # the worker's allocations did not collect it
    qtbot.waitUntil(lambda: freed_on == [threading.current_thread().name], timeout=2000)
    collector.stop()
    assert gc.isenabled()


def test_stop_frees_what_is_left_and_restores_automatic_collection(qtbot: QtBot) -> None:
    gc.disable()
    collector = GuiThreadCollector(interval_ms=60_000)
    freed_on: list[str] = []
    _Cycle(freed_on)
    collector.stop()
    assert freed_on == [threading.current_thread().name]
    assert not gc.isenabled()  # it was off before: still off
