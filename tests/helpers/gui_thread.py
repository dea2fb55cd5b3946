"""Qt tests free their widgets on the test's own (GUI) thread.

A kiosk's window and screens are reference cycles. Left to automatic collection they
may be freed later by whatever thread allocates next (the next test's outbox writer or
reward desk), and Qt aborts when widgets die off the GUI thread. The kiosk itself runs
`kiosk.collector.GuiThreadCollector`; between and after kiosks this does the same.
A conftest imports the fixture to apply it to its folder's tests.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def collect_on_the_gui_thread() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.collect()
        gc.enable()
