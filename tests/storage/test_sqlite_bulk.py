"""Rows written to SQLite a statement at a time (storage/sqlite_bulk.py) are the rows SQLAlchemy would
write, and the insert reports exactly the rows it added."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, insert
from sqlalchemy.exc import IntegrityError

from storage.db import make_session_factory, own_autocommit_connection, transaction, write_connection
from storage.helpdesk_events import delivery_row, store_delivery_alone, store_event_rows
from storage.models import HelpdeskEvent, WebhookDelivery
from storage.sqlite_bulk import MAX_PARAMETERS, driver_connection, insert_new

WHEN = datetime(2026, 11, 23, 9, 30, 15, 250000, tzinfo=UTC)
EVENTS = HelpdeskEvent.__table__


def event(key: str, **values: Any) -> dict[str, Any]:
    return {
        "provider": "zendesk",
        "event_key": key,
        "delivery_id": None,
        "kind": "rated",
        "ticket_id": "T-1",
        "occurred_at": WHEN,
        "agent_email": None,
        "agent_id": None,
        "group_key": None,
        "group_name": None,
        "rating_good": True,
        "rating_score": None,
        "ticket_created_at": None,
        "first_response_seconds": None,
        "resolution_seconds": None,
        **values,
    }


def stored_text(engine: Engine, sql: str) -> list[tuple[Any, ...]]:
    """Rows as SQLite holds them, not as SQLAlchemy reads them back."""
    with sqlite3.connect(engine.url.database or "") as connection:
        return connection.execute(sql).fetchall()


def test_it_returns_the_rows_it_added_and_skips_those_stored_before_or_earlier_in_the_rows(
    migrated_sqlite: Engine,
) -> None:
    with write_connection(migrated_sqlite) as connection:
        assert insert_new(driver_connection(connection), EVENTS, [event("a")], ("provider", "event_key")) == [
            ("zendesk", "a")
        ]
    with write_connection(migrated_sqlite) as connection:
        rows = [event("b", ticket_id="first"), event("a"), event("c"), event("b", ticket_id="second")]
        added = insert_new(driver_connection(connection), EVENTS, rows, ("event_key", "ticket_id"))
    assert added == [("b", "first"), ("c", "T-1")]
    assert stored_text(migrated_sqlite, "SELECT event_key, ticket_id FROM helpdesk_events ORDER BY id") == [
        ("a", "T-1"),
        ("b", "first"),
        ("c", "T-1"),
    ]


def test_it_writes_values_as_sqlalchemy_writes_them(migrated_sqlite: Engine) -> None:
    values = {"occurred_at": WHEN, "ticket_created_at": datetime(2026, 11, 20, tzinfo=UTC), "rating_good": False}
    with write_connection(migrated_sqlite) as connection:
        connection.execute(insert(EVENTS), [event("by-sqlalchemy", **values)])
        insert_new(driver_connection(connection), EVENTS, [event("in-bulk", **values)], ("id",))
    by_sqlalchemy, in_bulk = stored_text(
        migrated_sqlite, "SELECT occurred_at, ticket_created_at, rating_good FROM helpdesk_events ORDER BY event_key"
    )
    assert by_sqlalchemy == in_bulk == ("2026-11-23 09:30:15.250000", "2026-11-20 00:00:00.000000", 0)


def test_a_delivery_kept_alone_holds_its_time_as_one_kept_in_a_batch_does(migrated_sqlite: Engine) -> None:
    row = delivery_row("generic", "alone", WHEN, "{}", b"{}", "received", None, 0)
    assert store_delivery_alone(own_autocommit_connection(migrated_sqlite), row) is not None
    with write_connection(migrated_sqlite) as connection:
        connection.execute(insert(WebhookDelivery.__table__), [{**row, "delivery_key": "batch"}])
    assert stored_text(migrated_sqlite, "SELECT received_at FROM webhook_deliveries") == [
        ("2026-11-23 09:30:15.250000",),
        ("2026-11-23 09:30:15.250000",),
    ]


def test_rows_beyond_one_statement_are_written_in_several_and_all_reported(migrated_sqlite: Engine) -> None:
    count = 3 * MAX_PARAMETERS // len(event("x")) + 7
    rows = [event(f"e{n:05}") for n in range(count)]
    with write_connection(migrated_sqlite) as connection:
        added = insert_new(driver_connection(connection), EVENTS, rows, ("event_key",))
    assert added == [(row["event_key"],) for row in rows]
    assert stored_text(migrated_sqlite, "SELECT count(*) FROM helpdesk_events") == [(count,)]


def test_a_row_the_database_refuses_raises_sqlalchemys_error_and_the_transaction_keeps_nothing(
    migrated_sqlite: Engine,
) -> None:
    with pytest.raises(IntegrityError, match="NOT NULL"), write_connection(migrated_sqlite) as connection:
        insert_new(driver_connection(connection), EVENTS, [event("fine"), event("bad", kind=None)], ("id",))
    assert stored_text(migrated_sqlite, "SELECT count(*) FROM helpdesk_events") == [(0,)]


def test_rows_a_session_holds_pending_are_written_before_the_bulk_insert(migrated_sqlite: Engine) -> None:
    with transaction(make_session_factory(migrated_sqlite)) as session:
        session.add(HelpdeskEvent(**{k: v for k, v in event("a", ticket_id="added").items() if k != "delivery_id"}))
        assert store_event_rows(session, [event("a"), event("b")]) == {("zendesk", "b")}
    assert stored_text(migrated_sqlite, "SELECT event_key, ticket_id FROM helpdesk_events ORDER BY id") == [
        ("a", "added"),
        ("b", "T-1"),
    ]
