"""Fixtures for integration tests that need HQ: served on loopback, on SQLite and PostgreSQL.

`hq` is shared by the tests of a module: each test makes its own stores and
kiosks, so tests do not see each other's data.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from helpers.hq import Hq, MigratedDatabases, hq_settings, running_hq


@pytest.fixture(scope="session")
def migrated_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MigratedDatabases]:
    with MigratedDatabases(tmp_path_factory.mktemp("hq-templates")) as databases:
        yield databases


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def _shared_hq(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    migrated_databases: MigratedDatabases,
) -> Iterator[Hq]:
    directory = tmp_path_factory.mktemp("hq")
    with migrated_databases.fresh(request.param, directory) as url:
        settings = hq_settings(directory, url)
        with running_hq(settings) as base_url:
            yield Hq(base_url, settings)


@pytest.fixture
def hq(_shared_hq: Hq) -> Iterator[Hq]:
    """HQ shared by this module's tests; the kiosks a test enrols are closed after it."""
    yield _shared_hq
    _shared_hq.close_kiosks()
