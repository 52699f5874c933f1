"""Slack Events API idempotency: an event id is taken in once, however often Slack retries it."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from storage.models import ProcessedSlackEvent
from storage.upsert import insert_for


def claim_slack_event(session: Session, event_id: str, now: datetime) -> bool:
    """Record `event_id`; True the first time it is seen, False for every retry after that."""
    table = ProcessedSlackEvent.__table__
    # RETURNING, not rowcount: some drivers report -1 for INSERT … ON CONFLICT.
    statement = insert_for(session, table).on_conflict_do_nothing().returning(table.c.event_id)
    return session.execute(statement, {"event_id": event_id, "received_at": now}).first() is not None


def forget_slack_events_before(session: Session, cutoff: datetime) -> int:
    """Prune old ids: Slack stops retrying within the hour, so a day of history is plenty."""
    return session.execute(delete(ProcessedSlackEvent).where(ProcessedSlackEvent.received_at < cutoff)).rowcount


SLACK_EVENT_RETENTION = timedelta(days=1)
