"""Debian's Chromium under Playwright, for the tests of HQ's web pages."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

CHROMIUM: Final = Path("/usr/bin/chromium")


@contextmanager
def chromium() -> Iterator[Browser]:
    """Chromium launched headless (the test is skipped, saying why, where it is missing)."""
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    playwright: Playwright = sync_playwright().start()
    try:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        launched.close()
    finally:
        playwright.stop()
