"""Fixtures for the web console's tests: a chain on a fresh database, and its console."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.console import ConsoleChain

from hq.db import Database


@pytest.fixture
def chain(database: Database, tmp_path: Path) -> ConsoleChain:
    """Three stores in two regions, five kiosks, no releases yet, no staff."""
    return ConsoleChain(database, tmp_path)
