"""Webhook ingest: deliveries that arrive together are committed together (group commit), each sender is
answered only once its own delivery is committed, and a group stores exactly what one by one would.

GroupCommit on its own first (plain items, threads), then WebhookIngest on each backend's real database.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import IntegrityError

from jobs.helpdesk.ingest import Delivery, GroupCommit, Ingested, WebhookIngest, prepare
from jobs.helpdesk.providers import PROVIDERS
from storage.db import make_session_factory
from storage.models import HelpdeskAgentId, HelpdeskEvent, WebhookDelivery

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
SENDERS = 24


def wait_until(condition: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


# -- GroupCommit ---------------------------------------------------------------------------------------------


class Writes:
    """A write function that records its groups, and can hold the first one until released."""

    def __init__(self, hold_first: bool = False) -> None:
        self.groups: list[list[Any]] = []
        self.committed: set[Any] = set()
        self.writing = threading.Event()
        self.release = threading.Event()
        if not hold_first:
            self.release.set()

    def __call__(self, items: Sequence[Any]) -> list[Any]:
        self.writing.set()
        self.release.wait(10)
        self.groups.append(list(items))
        outcomes = [
            ValueError(f"refused {item}") if str(item).startswith("bad") else f"stored {item}" for item in items
        ]
        self.committed.update(items)  # the commit: only now may a sender hear back
        return outcomes


def submit_all(commit: GroupCommit[Any, Any], items: Sequence[Any]) -> dict[Any, Any]:
    """Each item by a thread of its own; what each sender heard (its result or its exception)."""
    heard: dict[Any, Any] = {}

    def send(item: Any) -> None:
        try:
            heard[item] = commit.submit(item)
        except Exception as error:
            heard[item] = error

    with ThreadPoolExecutor(len(items)) as pool:
        list(pool.map(send, items))
    return heard


def test_writes_queued_behind_a_write_in_progress_are_committed_together_as_the_next_group() -> None:
    writes = Writes(hold_first=True)
    commit: GroupCommit[Any, Any] = GroupCommit(writes, max_group=64)
    with ThreadPoolExecutor(6) as pool:
        first = pool.submit(commit.submit, 0)
        writes.writing.wait(10)
        rest = [pool.submit(commit.submit, n) for n in range(1, 6)]
        wait_until(lambda: commit.waiting == 6)
        writes.release.set()
        assert [f.result(10) for f in [first, *rest]] == [f"stored {n}" for n in range(6)]
    assert [sorted(group) for group in writes.groups] == [[0], [1, 2, 3, 4, 5]]
    assert commit.waiting == 0


def test_each_sender_is_answered_only_after_its_write_is_committed() -> None:
    writes = Writes()
    commit: GroupCommit[Any, Any] = GroupCommit(writes, max_group=64)
    committed_when_answered: list[bool] = []

    def send(item: int) -> None:
        commit.submit(item)
        committed_when_answered.append(item in writes.committed)

    with ThreadPoolExecutor(SENDERS) as pool:
        list(pool.map(send, range(200)))
    assert committed_when_answered == [True] * 200
    assert sorted(item for group in writes.groups for item in group) == list(range(200))


def test_a_group_takes_at_most_max_group_writes() -> None:
    writes = Writes(hold_first=True)
    commit: GroupCommit[Any, Any] = GroupCommit(writes, max_group=3)
    with ThreadPoolExecutor(8) as pool:
        first = pool.submit(commit.submit, 0)
        writes.writing.wait(10)
        rest = [pool.submit(commit.submit, n) for n in range(1, 8)]
        wait_until(lambda: commit.waiting == 8)
        writes.release.set()
        for future in [first, *rest]:
            future.result(10)
    assert [len(group) for group in writes.groups] == [1, 3, 3, 1]


def test_an_item_that_fails_raises_in_its_own_sender_only() -> None:
    heard = submit_all(GroupCommit(Writes(), max_group=64), ["a", "bad-b", "c", "d"])
    assert isinstance(heard["bad-b"], ValueError) and str(heard["bad-b"]) == "refused bad-b"
    assert [heard[item] for item in ("a", "c", "d")] == ["stored a", "stored c", "stored d"]


def test_a_write_that_raises_fails_its_whole_group_and_the_next_group_is_still_written() -> None:
    groups: list[list[str]] = []

    def write(items: Sequence[str]) -> list[str]:
        groups.append(list(items))
        if "boom" in items:
            raise RuntimeError("the database went away")
        return [f"stored {item}" for item in items]

    commit: GroupCommit[str, str] = GroupCommit(write, max_group=64)
    with pytest.raises(RuntimeError, match="went away"):
        commit.submit("boom")
    assert commit.submit("after") == "stored after"
    assert commit.waiting == 0


# -- WebhookIngest on a real database ------------------------------------------------------------------------


def generic(event_id: str, ticket: str = "T-1", kind: str = "solved", **extra: Any) -> Delivery:
    payload = {"event_id": event_id, "type": kind, "ticket_id": ticket, "occurred_at": "2026-11-23T15:00:00Z", **extra}
    return prepare(PROVIDERS["generic"], json.dumps(payload).encode(), {}, NOW)


def batch(*events: dict[str, Any]) -> Delivery:
    """A generic batch: its delivery key is a hash of its content, its events keep their own ids."""
    return prepare(PROVIDERS["generic"], json.dumps({"events": list(events)}).encode(), {}, NOW)


@pytest.fixture
def ingest(engine: Engine) -> Iterator[WebhookIngest]:
    yield WebhookIngest(make_session_factory(engine))


def count(engine: Engine, model: type, *where: Any) -> int:
    """Counted on a connection of its own: only what is committed."""
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def test_each_sender_is_answered_only_after_its_delivery_is_committed(engine: Engine, ingest: WebhookIngest) -> None:
    deliveries = [generic(f"evt-{n}", ticket=f"T-{n}") for n in range(SENDERS)]
    committed_when_answered: dict[str, int] = {}

    def send(delivery: Delivery) -> Ingested:
        result = ingest.submit(delivery)
        committed_when_answered[delivery.key] = count(
            engine, WebhookDelivery, WebhookDelivery.delivery_key == delivery.key
        )
        return result

    # The first sender's insert waits on a row another transaction holds, so the others queue up behind it.
    with engine.connect() as blocker:
        blocker.execute(WebhookDelivery.__table__.insert(), {**deliveries[0].row, "status": "held"})
        with ThreadPoolExecutor(SENDERS) as pool:
            first = pool.submit(send, deliveries[0])
            wait_until(lambda: ingest.waiting == 1)
            rest = [pool.submit(send, delivery) for delivery in deliveries[1:]]
            wait_until(lambda: ingest.waiting == SENDERS)
            assert committed_when_answered == {}
            blocker.rollback()
            results = [future.result(30) for future in [first, *rest]]
    assert results == [Ingested(duplicate=False, events=1)] * SENDERS
    assert committed_when_answered == {delivery.key: 1 for delivery in deliveries}
    assert count(engine, WebhookDelivery) == count(engine, HelpdeskEvent) == SENDERS


def test_concurrent_copies_of_a_delivery_are_stored_once_and_all_but_one_answered_duplicate(
    engine: Engine, ingest: WebhookIngest
) -> None:
    copies = [generic(f"evt-{n % 4}", ticket=f"T-{n % 4}") for n in range(SENDERS)]
    with ThreadPoolExecutor(SENDERS) as pool:
        results = list(pool.map(ingest.submit, copies))
    assert sum(not result.duplicate for result in results) == 4
    assert all(result.events == 1 for result in results if not result.duplicate)
    assert count(engine, WebhookDelivery) == count(engine, HelpdeskEvent) == 4


def test_a_group_stores_what_one_delivery_after_the_other_would(engine: Engine, ingest: WebhookIngest) -> None:
    opened = {"ticket_created_at": "2026-11-23T09:00:00Z"}
    replied = {"event_id": "evt-r", "type": "replied", "ticket_id": "T-5", "occurred_at": "2026-11-23T10:00:00Z"}
    solved = {"event_id": "evt-s", "type": "solved", "ticket_id": "T-5", "occurred_at": "2026-11-23T15:00:00Z"}
    group = [
        generic("evt-r", ticket="T-5", kind="replied", **opened),
        generic("evt-r", ticket="T-5", kind="replied", **opened),  # the same delivery again: a duplicate
        batch(replied | opened, solved),  # a new delivery: its first event is stored already, its second is new
        generic("evt-x", agent_id="u-1", agent_email="a@example.com"),
        generic("evt-y", agent_id="u-1", agent_email="b@example.com"),  # the later email of an agent wins
        prepare(PROVIDERS["generic"], b"not json", {}, NOW),  # kept, failed, for replay
    ]
    assert ingest.write(group) == [
        Ingested(duplicate=False, events=1),
        Ingested(duplicate=True),
        Ingested(duplicate=False, events=1),
        Ingested(duplicate=False, events=1),
        Ingested(duplicate=False, events=1),
        Ingested(duplicate=False, problem=group[-1].problem),
    ]
    with engine.connect() as connection:
        # The solve's resolution time comes from the reply stored earlier in the same group.
        seconds = connection.execute(select(HelpdeskEvent.resolution_seconds).where(HelpdeskEvent.event_key == "evt-s"))
        assert seconds.scalar_one() == 6 * 3600
        assert connection.execute(select(HelpdeskAgentId.email)).scalars().all() == ["b@example.com"]
        statuses = connection.execute(select(WebhookDelivery.status).order_by(WebhookDelivery.id)).scalars().all()
    assert sorted(statuses) == ["failed", "parsed", "parsed", "parsed", "parsed"]
    assert count(engine, HelpdeskEvent) == 4


def test_a_delivery_the_database_refuses_does_not_take_the_others_of_its_group_down(
    engine: Engine, ingest: WebhookIngest
) -> None:
    refused = generic("evt-2")
    refused = dataclasses.replace(refused, row={**refused.row, "body": None})  # NOT NULL: no database takes it
    outcomes = ingest.write([generic("evt-1"), refused, generic("evt-3")])
    assert outcomes[0] == outcomes[2] == Ingested(duplicate=False, events=1)
    assert isinstance(outcomes[1], IntegrityError)
    assert sorted(d for (d,) in _rows(engine, "SELECT delivery_key FROM webhook_deliveries")) == ["evt-1", "evt-3"]
    assert count(engine, HelpdeskEvent) == 2


def test_an_agent_id_this_process_stored_is_written_again_only_when_its_email_changes(
    engine: Engine, ingest: WebhookIngest
) -> None:
    ingest.submit(generic("evt-1", agent_id="u-1", agent_email="a@example.com"))
    with engine.begin() as connection:  # gone behind the process's back: it still believes it stored
        connection.execute(HelpdeskAgentId.__table__.delete())
    ingest.submit(generic("evt-2", agent_id="u-1", agent_email="a@example.com"))
    assert count(engine, HelpdeskAgentId) == 0
    ingest.submit(generic("evt-3", agent_id="u-1", agent_email="b@example.com"))
    assert [email for (email,) in _rows(engine, "SELECT email FROM helpdesk_agent_ids")] == ["b@example.com"]
    another_process = WebhookIngest(make_session_factory(engine))
    another_process.submit(generic("evt-4", agent_id="u-1", agent_email="a@example.com"))
    assert [email for (email,) in _rows(engine, "SELECT email FROM helpdesk_agent_ids")] == ["a@example.com"]


def _rows(engine: Engine, sql: str) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(text(sql)))
