"""The clock: an APScheduler tick that asks the database which recurring jobs are due.

The scheduler holds no state worth keeping. Each tick computes every job's current period; a run of
(job, period) is claimed in the database first, so a second process, a restart or a retry never
runs it twice, and a period missed while Tandem was down is caught up at the next tick.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from storage.db import SessionFactory, transaction
from storage.job_runs import claim_run, finish_run
from storage.workspace import app_removed

log = logging.getLogger(__name__)

TICK_SECONDS = 60


class Period(Protocol):
    def period_key(self, now: datetime) -> str: ...


@dataclass(frozen=True)
class RecurringJob:
    name: str
    period: Period
    run: Callable[[datetime], str]  # returns a one-line outcome for the job_runs table


def run_due_jobs(jobs: Sequence[RecurringJob], factory: SessionFactory, now: datetime) -> list[str]:
    """Run each job whose current period nobody has claimed yet; returns the names of those run."""
    ran = []
    for job in jobs:
        period_key = job.period.period_key(now)
        with transaction(factory) as session:
            run_id = claim_run(session, job.name, period_key, now)
        if run_id is None:
            continue
        log.info("running %s for %s", job.name, period_key)
        try:
            outcome = job.run(now)
        except Exception as error:  # one failing job must not stop the others
            log.exception("%s for %s failed", job.name, period_key)
            outcome = f"failed: {error.__class__.__name__}: {str(error).splitlines()[0] if str(error) else ''}"
        with transaction(factory) as session:
            finish_run(session, run_id, datetime.now(UTC), outcome)
        ran.append(job.name)
    return ran


def run_tick(
    jobs: Sequence[RecurringJob],
    every_tick: Sequence[Callable[[datetime], object]],
    factory: SessionFactory,
    now: datetime,
) -> None:
    """One tick: the recurring jobs that are due, then the tasks that look at the database every tick
    (their own claims in the database keep them from doing anything twice). None while Slack has removed
    the app: every call would be refused (bot/listeners/installation.py)."""
    with factory() as session:
        removed = app_removed(session)
    if removed is not None:
        log.info("tick skipped: Tandem was removed from the Slack workspace (%s)", removed)
        return
    run_due_jobs(jobs, factory, now)
    for task in every_tick:
        try:
            task(now)
        except Exception:
            log.exception("tick task %s failed", getattr(task, "__name__", task))


def build_scheduler(
    jobs: Sequence[RecurringJob],
    factory: SessionFactory,
    clock: Callable[[], datetime],
    every_tick: Sequence[Callable[[datetime], object]] = (),
) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone=UTC)
    scheduler.add_job(
        lambda: run_tick(jobs, every_tick, factory, clock()),
        IntervalTrigger(seconds=TICK_SECONDS, timezone=UTC),
        id="tick",
        next_run_time=datetime.now(UTC),  # tick at once: catch up anything missed while stopped
        max_instances=1,
        coalesce=True,
    )
    return scheduler
