"""The event inbox: Slack events answered at once, claimed in the database in batches, each run once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select, text

from bot.event_inbox import EventInbox
from storage.models import ProcessedSlackEvent
from tests.waiting import wait_until

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def inbox(engine: Engine) -> Iterator[EventInbox]:
    inbox = EventInbox(engine, lambda: NOW, retry_delays=[0.05])
    yield inbox
    inbox.drain(timeout=10)


def claimed(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(ProcessedSlackEvent)).scalar_one()


def test_it_runs_an_events_listeners_once_its_id_is_claimed(engine: Engine, inbox: EventInbox) -> None:
    ran: list[str] = []
    assert inbox.put("Ev1", lambda: ran.append(f"ran with {claimed(engine)} claimed"))
    wait_until(lambda: ran)
    assert ran == ["ran with 1 claimed"]


def test_copies_of_one_event_arriving_together_run_once(engine: Engine, inbox: EventInbox) -> None:
    ran: list[str] = []
    lock = threading.Lock()

    def deliver(copy: int) -> bool:
        event_id = "EvRACE" if copy % 2 else f"Ev{copy}"

        def listeners() -> None:
            with lock:
                ran.append(event_id)

        return inbox.put(event_id, listeners)

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert all(pool.map(deliver, range(40)))
    assert inbox.drain(timeout=10)
    assert sorted(ran) == sorted(["EvRACE"] + [f"Ev{n}" for n in range(0, 40, 2)])
    assert claimed(engine) == 21


def test_a_copy_arriving_after_the_first_has_run_is_ignored(engine: Engine, inbox: EventInbox) -> None:
    ran: list[int] = []
    inbox.put("EvAGAIN", lambda: ran.append(1))
    wait_until(lambda: inbox.held == 0)
    inbox.put("EvAGAIN", lambda: ran.append(2))
    wait_until(lambda: inbox.held == 0)
    assert ran == [1]


def test_it_keeps_events_the_database_refuses_and_runs_them_once_it_takes_them(
    engine: Engine, inbox: EventInbox
) -> None:
    ran: list[str] = []
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE processed_slack_events RENAME TO processed_slack_events_away"))
    try:
        assert inbox.put("EvWAIT", lambda: ran.append("EvWAIT"))
        wait_until(lambda: inbox.claim_failures >= 2)
        assert ran == [] and inbox.held == 1
    finally:
        with engine.begin() as connection:
            connection.execute(text("ALTER TABLE processed_slack_events_away RENAME TO processed_slack_events"))
    wait_until(lambda: ran == ["EvWAIT"])
    assert claimed(engine) == 1


def test_it_refuses_events_past_its_capacity_until_it_catches_up(engine: Engine) -> None:
    inbox = EventInbox(engine, lambda: NOW, capacity=3)
    release = threading.Event()
    assert all(inbox.put(f"Ev{n}", lambda: release.wait(5)) for n in range(3))
    assert inbox.put("Ev3", lambda: None) is False
    release.set()
    wait_until(lambda: inbox.held == 0)
    assert inbox.put("Ev3", lambda: None) is True
    assert inbox.drain(timeout=10)


def test_draining_runs_what_it_holds_then_refuses_new_events(engine: Engine) -> None:
    inbox = EventInbox(engine, lambda: NOW)
    ran: list[int] = []
    for n in range(50):
        inbox.put(f"Ev{n}", lambda n=n: ran.append(n))
    assert inbox.drain(timeout=10)
    assert sorted(ran) == list(range(50))
    assert inbox.put("EvLATE", lambda: None) is False


def test_a_failing_listener_is_logged_and_does_not_stop_the_others(
    engine: Engine, inbox: EventInbox, caplog: pytest.LogCaptureFixture
) -> None:
    ran: list[str] = []

    def explode() -> None:
        raise RuntimeError("listener exploded")

    inbox.put("EvBAD", explode)
    inbox.put("EvGOOD", lambda: ran.append("EvGOOD"))
    wait_until(lambda: inbox.held == 0)
    assert ran == ["EvGOOD"]
    assert any(r.getMessage() == "running an event's listeners failed" for r in caplog.records)
