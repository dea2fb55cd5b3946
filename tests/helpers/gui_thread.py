"""Qt tests free their widgets on the test's own (GUI) thread.

A kiosk's window and screens are reference cycles. Left to automatic collection they
may be freed later by whatever thread allocates next (the next test's outbox writer or
reward desk), and Qt aborts when widgets die off the GUI thread. The kiosk itself runs
`kiosk.collector.GuiThreadCollector`; between and after kiosks this does the same.
A conftest imports the fixture to apply it to its folder's tests.

Collection alone never frees a kiosk's window: its screens' signals are connected to
closures that hold the window, and those references live in Qt, where the collector
cannot see them. So the windows a test made are deleted once it is over; kept, a
worker held every kiosk it had built (2.4 GB after four kiosk modules, 1.2 GB without).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QApplication, QWidget


def _windows() -> list[QWidget]:
    return list(QApplication.topLevelWidgets()) if QApplication.instance() else []


@pytest.fixture(autouse=True)
def collect_on_the_gui_thread() -> Iterator[None]:
    gc.collect()
    gc.disable()
    kept = _windows()  # a module's shared kiosk stays (held: the ids stay its own)
    before = {id(w) for w in kept}
    try:
        yield
    finally:
        made = [w for w in _windows() if id(w) not in before]
        for window in made:
            window.deleteLater()  # with its children, and Qt's connections to closures
        if made:
            QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        del made, kept
        gc.collect()
        gc.enable()
