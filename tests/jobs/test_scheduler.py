from __future__ import annotations

import time as clock
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import Engine, select

from jobs.periods import Daily
from jobs.scheduler import RecurringJob, build_scheduler, run_due_jobs
from storage.db import make_session_factory
from storage.models import JobRun

NOON = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


class Counter:
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[datetime] = []
        self.fail = fail

    def __call__(self, now: datetime) -> str:
        self.calls.append(now)
        if self.fail:
            raise RuntimeError("helpdesk exploded\nwith a second line")
        return f"done at {now:%H:%M}"


def test_a_job_runs_once_per_period_however_many_processes_tick(engine: Engine) -> None:
    work = Counter()
    job = RecurringJob("directory-sync", Daily(time(3, 0)), work)
    first_process, second_process = make_session_factory(engine), make_session_factory(engine)
    assert run_due_jobs([job], first_process, NOON) == ["directory-sync"]
    assert run_due_jobs([job], second_process, NOON + timedelta(minutes=1)) == []
    assert run_due_jobs([job], first_process, NOON + timedelta(days=1)) == ["directory-sync"]
    assert len(work.calls) == 2


def test_a_failing_job_is_recorded_and_does_not_stop_the_others(engine: Engine) -> None:
    broken, healthy = Counter(fail=True), Counter()
    jobs = [RecurringJob("broken", Daily(time(3, 0)), broken), RecurringJob("healthy", Daily(time(3, 0)), healthy)]
    factory = make_session_factory(engine)
    assert run_due_jobs(jobs, factory, NOON) == ["broken", "healthy"]
    with factory() as session:
        outcomes = {run.job: run.outcome for run in session.scalars(select(JobRun))}
    assert outcomes == {"broken": "failed: RuntimeError: helpdesk exploded", "healthy": "done at 12:00"}
    assert run_due_jobs(jobs, factory, NOON) == []  # a failed period is not retried in a loop


def test_the_scheduler_ticks_at_once_on_start(engine: Engine) -> None:
    work = Counter()
    scheduler = build_scheduler(
        [RecurringJob("directory-sync", Daily(time(3, 0)), work)], make_session_factory(engine), lambda: NOON
    )
    scheduler.start()
    try:
        deadline = clock.monotonic() + 5
        while not work.calls and clock.monotonic() < deadline:
            clock.sleep(0.02)
    finally:
        scheduler.shutdown(wait=True)
    assert work.calls == [NOON]
