"""Slack Events API idempotency: an event id is taken in once, however often Slack retries it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from storage.models import ProcessedSlackEvent

# Slack stops retrying within the hour, so a day of history is plenty.
SLACK_EVENT_RETENTION = timedelta(days=1)


def claim_statement(dialect: str) -> Insert:
    """The claim's INSERT, to build once for a hot path (bot/event_inbox.py)."""
    table = ProcessedSlackEvent.__table__
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # RETURNING, not rowcount: some drivers report -1 for INSERT … ON CONFLICT.
    return insert(table).on_conflict_do_nothing().returning(table.c.event_id)


def claim_slack_events(
    db: Session | Connection, event_ids: Sequence[str], now: datetime, statement: Insert | None = None
) -> set[str]:
    """Record `event_ids`; returns those seen for the first time (a retry's id is not among them)."""
    if statement is None:
        statement = claim_statement(db.get_bind().dialect.name if isinstance(db, Session) else db.dialect.name)
    unique = list(dict.fromkeys(event_ids))
    if not unique:
        return set()
    rows = db.execute(statement, [{"event_id": e, "received_at": now} for e in unique])
    return {row.event_id for row in rows}


def forget_slack_events_before(session: Session, cutoff: datetime) -> int:
    return session.execute(delete(ProcessedSlackEvent).where(ProcessedSlackEvent.received_at < cutoff)).rowcount
