"""A database error becomes a 503 (retry) or 500 answer, and its log line quotes no data."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert
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
