"""Fixtures for HQ's unit tests: a fresh database on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.hq import MigratedDatabases, database_url_for

from hq.db import Database


@pytest.fixture(scope="session")
def migrated_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MigratedDatabases]:
    with MigratedDatabases(tmp_path_factory.mktemp("hq-templates")) as databases:
        yield databases


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database, never migrated (PostgreSQL tests skip when no server answers)."""
    with database_url_for(request.param, tmp_path) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database(
    request: pytest.FixtureRequest, tmp_path: Path, migrated_databases: MigratedDatabases
) -> Iterator[Database]:
    """A fresh database at the newest schema."""
    with migrated_databases.fresh(request.param, tmp_path) as url:
        opened = Database(url)
        yield opened
        opened.dispose()
