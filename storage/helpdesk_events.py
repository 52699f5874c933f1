"""Helpdesk webhook deliveries and the customer outcomes in them. The caller owns the transaction.

Attribution to teams happens when events are read (`storage.attribution.event_teams`), never when they are stored, so a
group or agent mapping added later attributes the events that came before it too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.attribution import event_teams
from storage.models import (
    HelpdeskAgentId,
    HelpdeskEvent,
    WebhookDelivery,
)
from storage.upsert import insert_for


def store_delivery(
    session: Session,
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
    table = WebhookDelivery.__table__
    statement = (
        insert_for(session, table)
        .values(
            provider=provider,
            delivery_key=delivery_key[:128],
            received_at=received_at,
            headers=headers,
            body=body,
            status=status,
            error=storable(error)[:255] if error else None,
            events=events,
        )
        .on_conflict_do_nothing()
        .returning(table.c.id)
    )
    return session.execute(statement).scalar()


def storable(text: str) -> str:
    """A reason that may quote a payload, as text both databases store (no lone surrogates, no NUL)."""
    return text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")


def store_events(session: Session, provider: str, delivery_id: int | None, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert outcome rows (HelpdeskEvent columns); an event already stored (same provider and key) is skipped."""
    if not rows:
        return 0
    table = HelpdeskEvent.__table__
    values = [{**row, "provider": provider, "delivery_id": delivery_id} for row in rows]
    statement = insert_for(session, table).on_conflict_do_nothing().returning(table.c.id)
    return len(session.execute(statement, values).all())


def learn_agent_ids(session: Session, provider: str, pairs: Iterable[tuple[str, str]]) -> None:
    rows = [{"provider": provider, "agent_id": agent_id, "email": email} for agent_id, email in dict(pairs).items()]
    if rows:
        table = HelpdeskAgentId.__table__
        statement = insert_for(session, table)
        session.execute(
            statement.on_conflict_do_update(
                index_elements=[table.c.provider, table.c.agent_id], set_={"email": statement.excluded.email}
            ),
            rows,
        )


def ticket_created_at(session: Session, provider: str, ticket_id: str) -> datetime | None:
    """When the ticket was opened, as an earlier event of it said (to compute a resolution time)."""
    return session.scalar(
        select(func.min(HelpdeskEvent.ticket_created_at)).where(
            HelpdeskEvent.provider == provider, HelpdeskEvent.ticket_id == ticket_id
        )
    )


def set_delivery_outcome(session: Session, delivery_id: int, status: str, error: str | None, events: int) -> None:
    delivery = session.get_one(WebhookDelivery, delivery_id)
    delivery.status, delivery.error, delivery.events = status, storable(error)[:255] if error else None, events


def failed_deliveries(session: Session, provider: str | None = None) -> list[WebhookDelivery]:
    query = select(WebhookDelivery).where(WebhookDelivery.status == "failed").order_by(WebhookDelivery.id)
    if provider:
        query = query.where(WebhookDelivery.provider == provider)
    return list(session.scalars(query))


def recent_event_counts(session: Session, since: datetime) -> tuple[int, int, int]:
    """(webhook deliveries received since `since`, outcome events that happened since, of which no team
    is credited with)."""
    received = session.scalar(select(func.count()).where(WebhookDelivery.received_at >= since)) or 0
    total = session.scalar(select(func.count()).where(HelpdeskEvent.occurred_at >= since)) or 0
    credited = event_teams(since).subquery()
    attributed = session.scalar(select(func.count(func.distinct(credited.c.event_id)))) or 0
    return received, total, total - attributed
