"""Helpdesk webhook deliveries and the customer outcomes in them. The caller owns the transaction.

Attribution to teams happens when events are read (`storage.attribution.event_teams`), never when they are stored, so a
group or agent mapping added later attributes the events that came before it too.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.attribution import event_teams
from storage.models import (
    HelpdeskAgentId,
    HelpdeskEvent,
    WebhookDelivery,
)
from storage.sqlite_bulk import column_values, driver_connection, execute, insert_new, insert_sql

# What the write side runs on: the caller's ORM session, or a Core connection inside a transaction (the
# webhook path, which skips the ORM's per-statement work). Either way the caller owns the transaction.
Writer = Session | Connection


@dataclass(frozen=True)
class _Statements:
    """Built once per dialect and reused: SQLAlchemy then finds each compiled form in its cache."""

    delivery: Any
    event: Any
    agent_id: Any
    opened: Any
    parsed: Any


@cache
def _statements(dialect: str) -> _Statements:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    deliveries, events, agents = WebhookDelivery.__table__, HelpdeskEvent.__table__, HelpdeskAgentId.__table__
    learn = insert(agents)
    return _Statements(
        delivery=insert(deliveries)
        .on_conflict_do_nothing()
        .returning(deliveries.c.id, deliveries.c.provider, deliveries.c.delivery_key),
        event=insert(events).on_conflict_do_nothing().returning(events.c.provider, events.c.event_key),
        agent_id=learn.on_conflict_do_update(
            index_elements=[agents.c.provider, agents.c.agent_id], set_={"email": learn.excluded.email}
        ),
        opened=select(func.min(events.c.ticket_created_at)).where(
            events.c.provider == bindparam("provider"), events.c.ticket_id == bindparam("ticket_id")
        ),
        parsed=update(deliveries)
        .where(deliveries.c.id == bindparam("delivery"), deliveries.c.status == "received")
        .values(status="parsed", events=bindparam("stored")),
    )


def _on(db: Writer) -> _Statements:
    return _statements(_dialect(db))


def _dialect(db: Writer) -> str:
    return (db if isinstance(db, Connection) else db.get_bind()).dialect.name


def _is_sqlite(db: Writer) -> bool:
    return _dialect(db) == "sqlite"


def delivery_row(
    provider: str,
    delivery_key: str,
    received_at: datetime,
    headers: str,
    body: bytes,
    status: str,
    error: str | None,
    events: int,
) -> dict[str, Any]:
    """A WebhookDelivery row as `store_deliveries` takes it, cut to what its columns keep."""
    return {
        "provider": provider,
        "delivery_key": delivery_key[:128],
        "received_at": received_at,
        "headers": headers,
        "body": body,
        "status": status,
        "error": storable(error)[:255] if error else None,
        "events": events,
    }


def store_delivery(
    session: Writer,
    provider: str,
    delivery_key: str,
    received_at: datetime,
    headers: str,
    body: bytes,
    status: str,
    error: str | None,
    events: int,
) -> int | None:
    """Keep a delivery; its id, or None when the same delivery was stored before (a retry or a replay)."""
    row = delivery_row(provider, delivery_key, received_at, headers, body, status, error, events)
    return store_deliveries(session, [row]).get((provider, row["delivery_key"]))


def store_deliveries(db: Writer, rows: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str], int]:
    """Keep deliveries (`delivery_row`s); the ids of the new ones by (provider, delivery key). One stored
    before (a retry or a replay), or twice in `rows` after the first, is skipped."""
    if not rows:
        return {}
    # In key order, as every writer does: two PostgreSQL transactions that insert the same keys then wait
    # for each other in the same order, never in a circle.
    ordered = sorted(rows, key=lambda row: (row["provider"], row["delivery_key"]))
    if _is_sqlite(db):
        stored = insert_new(
            driver_connection(db), WebhookDelivery.__table__, ordered, ("id", "provider", "delivery_key")
        )
    else:
        stored = db.execute(_on(db).delivery, ordered)
    return {(provider, key): delivery_id for delivery_id, provider, key in stored}


def store_delivery_alone(connection: sqlite3.Connection, row: Mapping[str, Any]) -> int | None:
    """Keep one delivery (a `delivery_row`) in one statement on a SQLite connection in autocommit mode
    (storage.db.own_autocommit_connection); its id, or None when it was stored before.

    The DB-API directly, without SQLAlchemy's statement execution, which cost as much CPU as the insert
    itself; the values are converted by the columns' own types, as SQLAlchemy would store them."""
    table = WebhookDelivery.__table__
    names = tuple(row)
    cursor = execute(connection, insert_sql(table, names, 1), column_values(table, names, [row]))
    return cursor.lastrowid if cursor.rowcount == 1 else None


def storable(text: str) -> str:
    """A reason that may quote a payload, as text both databases store (no lone surrogates, no NUL)."""
    return text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")


def store_events(session: Writer, provider: str, delivery_id: int | None, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert outcome rows (HelpdeskEvent columns); an event already stored (same provider and key) is skipped."""
    if not rows:
        return 0
    return len(store_event_rows(session, [{**row, "provider": provider, "delivery_id": delivery_id} for row in rows]))


def store_event_rows(db: Writer, rows: Sequence[Mapping[str, Any]]) -> set[tuple[str, str]]:
    """Insert outcome rows (HelpdeskEvent columns, every row the same ones, provider and delivery_id
    included); the (provider, event key) of those stored. One stored before, or twice in `rows` after
    the first, is skipped."""
    if not rows:
        return set()
    ordered = sorted(rows, key=lambda row: (row["provider"], row["event_key"]))  # key order: see store_deliveries
    if _is_sqlite(db):
        return set(insert_new(driver_connection(db), HelpdeskEvent.__table__, ordered, ("provider", "event_key")))
    return {(provider, key) for provider, key in db.execute(_on(db).event, ordered)}


def learn_agent_ids(session: Writer, provider: str, pairs: Iterable[tuple[str, str]]) -> None:
    """Remember which email each of the provider's agent ids belongs to (a later pair for an id wins)."""
    learn_agent_emails(session, {(provider, agent_id): email for agent_id, email in pairs})


def learn_agent_emails(db: Writer, emails: Mapping[tuple[str, str], str]) -> None:
    """`learn_agent_ids` for several providers at once: email by (provider, agent id)."""
    rows = [{"provider": p, "agent_id": i, "email": emails[p, i]} for p, i in sorted(emails)]
    if rows:
        db.execute(_on(db).agent_id, rows)


def ticket_created_at(session: Writer, provider: str, ticket_id: str) -> datetime | None:
    """When the ticket was opened, as an earlier event of it said (to compute a resolution time)."""
    return session.execute(_on(session).opened, {"provider": provider, "ticket_id": ticket_id}).scalar()


def set_delivery_outcome(session: Writer, delivery_id: int, status: str, error: str | None, events: int) -> None:
    table = WebhookDelivery.__table__
    session.execute(
        update(table)
        .where(table.c.id == delivery_id)
        .values(status=status, error=storable(error)[:255] if error else None, events=events)
    )


def mark_received_parsed(db: Writer, counts: Mapping[int, int]) -> None:
    """Received deliveries whose events are stored now: parsed, with how many of their events were new
    (by delivery id). One no longer received (another process stored its events first) stays as it is."""
    if not counts:
        return
    if _is_sqlite(db):  # a statement for each count there is, not one a delivery (storage/sqlite_bulk.py)
        by_count: dict[int, list[int]] = {}
        for delivery_id, stored in counts.items():
            by_count.setdefault(stored, []).append(delivery_id)
        for stored, ids in sorted(by_count.items()):
            execute(driver_connection(db), _PARSED_ON_SQLITE, (stored, json.dumps(sorted(ids))))
        return
    rows = [{"delivery": delivery_id, "stored": stored} for delivery_id, stored in sorted(counts.items())]
    db.execute(_on(db).parsed, rows)


def recount_parsed(db: Writer, counts: Mapping[int, int]) -> None:
    """Parsed deliveries' counts of new events, by delivery id: for those kept parsed with every event
    counted (jobs.helpdesk.ingest.keep) of which some had been stored before."""
    table = WebhookDelivery.__table__
    for delivery_id, stored in sorted(counts.items()):
        db.execute(update(table).where(table.c.id == delivery_id).values(events=stored))


# The ids come as one JSON array: SQLite probes the table by rowid for each (a join with json_each
# instead scans every received delivery for each id).
_PARSED_ON_SQLITE = """
UPDATE webhook_deliveries SET status = 'parsed', events = ?
WHERE id IN (SELECT value FROM json_each(?)) AND status = 'received'
"""


def deliveries_with_status(
    session: Session,
    status: str,
    provider: str | None = None,
    received_before: datetime | None = None,
    after_id: int = 0,
    limit: int = 200,
) -> list[WebhookDelivery]:
    """Up to `limit` kept deliveries with `status`, in id order from after `after_id` (a page at a time:
    a long outage can leave many, and each holds its raw body)."""
    query = (
        select(WebhookDelivery)
        .where(WebhookDelivery.status == status, WebhookDelivery.id > after_id)
        .order_by(WebhookDelivery.id)
        .limit(limit)
    )
    if provider:
        query = query.where(WebhookDelivery.provider == provider)
    if received_before is not None:
        query = query.where(WebhookDelivery.received_at < received_before)
    return list(session.scalars(query))


def recent_event_counts(session: Session, since: datetime) -> tuple[int, int, int]:
    """(webhook deliveries received since `since`, outcome events that happened since, of which no team
    is credited with)."""
    received, total, attributed = _recent_counts()
    parameters = {"since": since}
    received_count = session.scalar(received, parameters) or 0
    total_count = session.scalar(total, parameters) or 0
    attributed_count = session.scalar(attributed, parameters) or 0
    return received_count, total_count, total_count - attributed_count


@cache
def _recent_counts() -> tuple[Any, Any, Any]:
    """Built once: `/pulse status` asks every time, and building the attribution union costs more than
    running it on a week of events."""
    since = bindparam("since", type_=HelpdeskEvent.__table__.c.occurred_at.type)
    credited = event_teams(since).subquery()
    return (
        select(func.count()).where(WebhookDelivery.received_at >= since),
        select(func.count()).where(HelpdeskEvent.occurred_at >= since),
        select(func.count(func.distinct(credited.c.event_id))),
    )
