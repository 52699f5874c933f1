"""The audit log: who changed which setting, when. Functions take a Session; the caller owns the transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import AuditEntry

DETAIL_MAX = 500


def record_change(session: Session, actor_user_id: str, action: str, detail: str, now: datetime) -> None:
    """Written in the same transaction as the change itself, so a change and its entry stand or fall together."""
    session.add(AuditEntry(at=now, actor_user_id=actor_user_id, action=action, detail=detail[:DETAIL_MAX]))


def recent_changes(session: Session, offset: int, limit: int) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).offset(offset).limit(limit)))


def count_changes(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AuditEntry)) or 0
