"""Where HQ keeps its data and how it finds its database and admin token."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from hq.db import Database, normalise_url
from hq.errors import SettingsError
from hq.settings import Settings, resolve_admin_token


def test_defaults_put_data_and_an_sqlite_file_under_xdg_data_home(tmp_path: Path) -> None:
    settings = Settings.load(environ={"XDG_DATA_HOME": str(tmp_path)})
    assert settings.data_dir == tmp_path / "kiosk-hq"
    assert settings.database_url == f"sqlite:///{tmp_path / 'kiosk-hq' / 'hq.sqlite3'}"
    assert settings.admin_token is None


def test_environment_sets_data_dir_database_and_admin_token(tmp_path: Path) -> None:
    settings = Settings.load(
        environ={
            "KIOSK_HQ_DATA_DIR": str(tmp_path / "data"),
            "KIOSK_HQ_DATABASE_URL": "postgresql://hq@db.example/hq",
            "KIOSK_HQ_ADMIN_TOKEN": "a-long-enough-admin-token",
        }
    )
    assert settings == Settings(
        tmp_path / "data", "postgresql://hq@db.example/hq", "a-long-enough-admin-token"
    )


def test_arguments_win_over_the_environment(tmp_path: Path) -> None:
    settings = Settings.load(
        data_dir=tmp_path / "arg",
        database_url="sqlite:////arg.sqlite3",
        environ={"KIOSK_HQ_DATA_DIR": "/env", "KIOSK_HQ_DATABASE_URL": "sqlite:////env.sqlite3"},
    )
    assert (settings.data_dir, settings.database_url) == (
        tmp_path / "arg",
        "sqlite:////arg.sqlite3",
    )


def test_a_short_admin_token_is_refused() -> None:
    with pytest.raises(SettingsError, match="at least 16 characters"):
        Settings.load(environ={"KIOSK_HQ_ADMIN_TOKEN": "secret"})


def test_the_admin_token_is_generated_once_into_a_private_file(tmp_path: Path) -> None:
    settings = Settings.load(data_dir=tmp_path / "hq", environ={})
    token = resolve_admin_token(settings)
    assert len(token) >= 43
    assert settings.admin_token_path.read_text().strip() == token
    assert stat.S_IMODE(settings.admin_token_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(settings.data_dir.stat().st_mode) == 0o700
    assert resolve_admin_token(settings) == token


def test_an_admin_token_from_the_environment_writes_no_file(tmp_path: Path) -> None:
    settings = Settings.load(
        data_dir=tmp_path, environ={"KIOSK_HQ_ADMIN_TOKEN": "a-long-enough-admin-token"}
    )
    assert resolve_admin_token(settings) == "a-long-enough-admin-token"
    assert not settings.admin_token_path.exists()


@pytest.mark.parametrize(
    ("given", "opened"),
    [
        ("postgresql://hq:pw@db/hq", "postgresql+psycopg://hq:pw@db/hq"),
        ("postgres://hq@db/hq", "postgresql+psycopg://hq@db/hq"),
        ("postgresql+psycopg://hq@db/hq", "postgresql+psycopg://hq@db/hq"),
        ("sqlite:////var/lib/hq.sqlite3", "sqlite:////var/lib/hq.sqlite3"),
    ],
)
def test_plain_postgresql_urls_open_with_psycopg_3(given: str, opened: str) -> None:
    assert normalise_url(given).render_as_string(hide_password=False) == opened


@pytest.mark.parametrize(
    "url", ["sqlite://", "sqlite:///:memory:", "mysql://hq@db/hq", "not a url"]
)
def test_databases_hq_cannot_use_are_refused(url: str) -> None:
    with pytest.raises(SettingsError):
        normalise_url(url)


def test_sqlite_runs_with_wal_full_sync_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'hq.sqlite3'}")
    try:
        with database.read() as connection:
            pragma = {
                name: connection.exec_driver_sql(f"PRAGMA {name}").scalar_one()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }
    finally:
        database.dispose()
    assert pragma == {
        "journal_mode": "wal",
        "synchronous": 2,
        "foreign_keys": 1,
        "busy_timeout": 10_000,
    }
