"""The kiosk's SQLite files (outbox, member directory) as SQLAlchemy engines.

Both need the same two things from SQLAlchemy's pysqlite driver: connections set
up by the file's owner (pragmas), and writers that take the write lock when
their transaction begins. A deferred transaction that reads first and then
writes fails at once with SQLITE_BUSY when another connection committed in
between; BEGIN IMMEDIATE waits up to busy_timeout instead.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from sqlalchemy import URL, Connection, Engine, create_engine, event
from sqlalchemy.pool import ConnectionPoolEntry

_WRITE_TRANSACTION: Final = "write_transaction"  # execution option, see _begin


def sqlite_engines(path: Path, configure: Callable[[Any], None]) -> tuple[Engine, Engine]:
    """Engines for the file at `path`: one for reads, one whose transactions write.

    `configure(dbapi_connection)` runs on every new connection. Statement
    parameters are kept out of error messages: they may be personal data."""
    engine = create_engine(URL.create("sqlite+pysqlite", database=str(path)), hide_parameters=True)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _entry: ConnectionPoolEntry) -> None:
        # Take transaction control from the sqlite3 module so _begin decides how each
        # transaction starts (the recipe in SQLAlchemy's pysqlite docs).
        dbapi_connection.isolation_level = None
        configure(dbapi_connection)

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        if connection.get_execution_options().get(_WRITE_TRANSACTION, False):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")

    return engine, engine.execution_options(**{_WRITE_TRANSACTION: True})
