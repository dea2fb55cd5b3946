"""Alembic's environment for HQ: runs migrations on the connection `migrate()` passes in,
or on a fresh engine for `sqlalchemy.url` when run without one."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from hq.db import Database, metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things: batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database: pass a connection or set sqlalchemy.url")
    database = Database(url)
    try:
        with database.engine.begin() as fresh:
            _run(fresh)
    finally:
        database.dispose()


if context.is_offline_mode():
    raise RuntimeError("HQ's migrations run against a database, not as SQL scripts")
_run_online()
