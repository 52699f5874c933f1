"""Job runs: a run of (job, period) is claimed in the database before it starts, so it happens once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from storage.models import JobRun
from storage.upsert import insert_for


def claim_run(session: Session, job: str, period_key: str, now: datetime) -> int | None:
    """The new run's id, or None when this (job, period) was already claimed by any process."""
    table = JobRun.__table__
    statement = (
        insert_for(session, table)
        .values(job=job, period_key=period_key, started_at=now, outcome="running")
        .on_conflict_do_nothing()
        .returning(table.c.id)
    )
    return session.execute(statement).scalar()


def finish_run(session: Session, run_id: int, now: datetime, outcome: str) -> None:
    session.execute(update(JobRun).where(JobRun.id == run_id).values(finished_at=now, outcome=outcome[:255]))
