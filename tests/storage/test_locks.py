from __future__ import annotations

from sqlalchemy import Engine

from storage.locks import NamedLock


def test_only_one_holder_at_a_time_and_the_next_gets_it_on_release(engine: Engine) -> None:
    first, second = NamedLock(engine, "scheduler"), NamedLock(engine, "scheduler")
    assert first.acquire(blocking=False) is True
    assert second.acquire(blocking=False) is False
    first.release()
    assert second.acquire(blocking=False) is True
    second.release()


def test_locks_with_different_names_do_not_interfere(engine: Engine) -> None:
    scheduler, migrations = NamedLock(engine, "scheduler"), NamedLock(engine, "migrations")
    assert scheduler.acquire(blocking=False) and migrations.acquire(blocking=False)
    scheduler.release()
    migrations.release()
