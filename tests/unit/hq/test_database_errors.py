"""A database error becomes a 503 (retry) or 500 answer, and its log line quotes no data."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers.hq import MigratedDatabases
from helpers.pickup import wait_until
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from starlette.requests import Request

from hq.api.common import database_error_handler
from hq.db import Database, customers

PHONE = "+8613912345678"


def handle(exc: DBAPIError) -> tuple[int, dict[str, str]]:
    request = Request({"type": "http", "method": "POST", "path": "/v1/events", "headers": []})
    answer = asyncio.run(database_error_handler(request, exc))
    return answer.status_code, dict(answer.headers)


def customer(customer_id: str) -> dict[str, object]:
    return {
        "customer_id": customer_id,
        "phone_e164": PHONE,
        "created_at": datetime(2026, 11, 23, tzinfo=UTC),
        "first_store_id": "sh-nanjing-road",
    }


def test_a_constraint_violation_is_a_500_whose_log_line_has_no_values(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    with database.write() as connection:
        connection.execute(insert(customers).values(customer("c1")))
    with pytest.raises(IntegrityError) as raised, database.write() as connection:
        connection.execute(insert(customers).values(customer("c2")))
    caplog.set_level(logging.ERROR, logger="hq.api")
    status, _ = handle(raised.value)
    assert status == 500
    assert "uq_customers_phone_e164" in caplog.text or "UNIQUE" in caplog.text
    assert "8613912345678" not in caplog.text


def test_an_unreachable_database_is_a_503_with_retry_after(refused_port: int) -> None:
    database = Database(f"postgresql://hq@127.0.0.1:{refused_port}/hq")
    try:
        with pytest.raises(OperationalError) as raised, database.read() as connection:
            connection.exec_driver_sql("SELECT 1")
    finally:
        database.dispose()
    status, headers = handle(raised.value)
    assert (status, headers["retry-after"]) == (503, "5")


def test_a_pooled_connection_the_server_ended_is_replaced_on_checkout(
    migrated_databases: MigratedDatabases, tmp_path: Path
) -> None:
    # As after a PostgreSQL restart: the next request gets a live connection, not an error.
    with migrated_databases.fresh("postgresql", tmp_path) as url:
        database = Database(url)
        try:
            with database.read() as connection:
                pid = connection.execute(select(func.pg_backend_pid())).scalar_one()
            killer = Database(url)
            with killer.read() as other:
                assert other.execute(select(func.pg_terminate_backend(pid))).scalar_one()
            killer.dispose()
            wait_until(lambda: not _backend_alive(url, pid), timeout=5)
            with database.read() as connection:
                assert connection.execute(select(func.pg_backend_pid())).scalar_one() != pid
        finally:
            database.dispose()


def _backend_alive(url: str, pid: int) -> bool:
    probe = Database(url)
    try:
        with probe.read() as connection:
            query = text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid")
            return bool(connection.execute(query, {"pid": pid}).scalar_one())
    finally:
        probe.dispose()
