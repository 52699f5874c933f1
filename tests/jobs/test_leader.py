from __future__ import annotations

import time

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine

from jobs.leader import SchedulerLeader


def wait_for(condition, timeout: float = 5) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return bool(condition())


def test_exactly_one_of_several_processes_runs_the_scheduler(engine: Engine) -> None:
    leaders = [SchedulerLeader(engine, BackgroundScheduler) for _ in range(3)]
    for leader in leaders:
        leader.start()
    try:
        assert wait_for(lambda: any(leader.is_leader for leader in leaders))
        time.sleep(0.2)
        assert sum(leader.is_leader for leader in leaders) == 1
    finally:
        for leader in leaders:
            leader.stop()


def test_it_stops_cleanly_when_it_never_started(engine: Engine) -> None:
    # A worker can exit before it starts campaigning (a failed start-up): its stop must not raise.
    leader = SchedulerLeader(engine, BackgroundScheduler)
    leader.stop()
    assert not leader.is_leader
