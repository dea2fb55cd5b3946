"""Database migrations (Alembic), run from code: no alembic.ini.

`migrate()` brings a database to the newest revision; `kiosk-hq serve` and the
other `kiosk-hq` commands call it first. A new revision goes in `versions/`,
written by hand or drafted with Alembic's autogenerate against `hq.db.metadata`
on a database migrated to the current head:

    from alembic import command
    command.revision(alembic_config(url), "what changed", autogenerate=True)

then HEAD_REVISION below moves to it. Tests check that the migrations and
`hq.db` describe the same schema, and that HEAD_REVISION is the newest script.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Final

from sqlalchemy import Engine, inspect, text

from hq.db import Database, describe_url

if TYPE_CHECKING:
    from alembic.config import Config

_log = logging.getLogger("hq.migrations")

SCRIPT_LOCATION: Final = Path(__file__).resolve().parent

HEAD_REVISION: Final = "0021_member_offers_feed"
# Known here so that a database already there is recognised without loading
# Alembic, which takes longer than most `kiosk-hq` commands themselves.

MIGRATION_LOCK: Final = 0x6B696F736B2D6871  # "kiosk-hq": the advisory lock migrations hold


def alembic_config(url: str) -> Config:
    """An Alembic configuration for HQ's migrations against the database at `url`."""
    from alembic.config import Config  # noqa: PLC0415 (see HEAD_REVISION)

    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    # ConfigParser interpolation: a literal % in a password must be doubled.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(target: Engine | Database | str) -> None:
    """Upgrade the database to the newest revision; a no-op when it is there already."""
    if isinstance(target, str):
        database = Database(target)
        try:
            _upgrade(database.engine)
        finally:
            database.dispose()
    elif isinstance(target, Database):
        _upgrade(target.engine)
    else:
        _upgrade(target)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for a database never migrated."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        found = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return None if found is None else str(found)


def _upgrade(engine: Engine) -> None:
    if current_revision(engine) == HEAD_REVISION:
        return
    from alembic import command  # noqa: PLC0415 (see HEAD_REVISION)

    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # HQ machines deploying at once: one migrates, the others wait here until it
            # commits, then Alembic finds the database at head and does nothing.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        # env.py runs on this connection: one transaction for every revision (on
        # PostgreSQL, a failed migration leaves nothing half done).
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    _log.info("database %s migrated to revision %s", describe_url(engine.url), HEAD_REVISION)
