"""Webhook ingest on each backend's real database: deliveries that arrive together are kept together on
PostgreSQL (storage.group_commit), each sender answered only once its own delivery is committed; on
SQLite each is answered once it is in the webhook journal, and written into the database in batches
after. Either way a batch or group stores exactly what one by one would, and a delivery whose events a
process did not store is finished from its raw body by the sweep.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import IntegrityError

from jobs.helpdesk.ingest import (
    Delivery,
    Ingested,
    finish_received,
    keep,
    prepare,
    replay_failed,
    store_outcomes,
)
from jobs.helpdesk.ingest_queue import WebhookIngest
from jobs.helpdesk.providers import PROVIDERS
from storage.db import make_session_factory, sqlite_file, write_connection
from storage.models import HelpdeskAgentId, HelpdeskEvent, WebhookDelivery
from storage.webhook_journal import decode, journal_directory, segments
from tests.waiting import wait_until

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
SENDERS = 24


# -- WebhookIngest on a real database ------------------------------------------------------------------------


def generic(event_id: str, ticket: str = "T-1", kind: str = "solved", **extra: Any) -> Delivery:
    payload = {"event_id": event_id, "type": kind, "ticket_id": ticket, "occurred_at": "2026-11-23T15:00:00Z", **extra}
    return prepare(PROVIDERS["generic"], json.dumps(payload).encode(), {}, NOW)


def batch(*events: dict[str, Any]) -> Delivery:
    """A generic batch: its delivery key is a hash of its content, its events keep their own ids."""
    return prepare(PROVIDERS["generic"], json.dumps({"events": list(events)}).encode(), {}, NOW)


@pytest.fixture
def ingest(engine: Engine) -> Iterator[WebhookIngest]:
    ingest = WebhookIngest(make_session_factory(engine), linger=0)
    yield ingest
    assert ingest.flush(10)


def count(engine: Engine, model: type, *where: Any) -> int:
    """Counted on a connection of its own: only what is committed."""
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def test_on_postgresql_each_sender_is_answered_only_after_its_delivery_is_committed(
    engine: Engine, ingest: WebhookIngest
) -> None:
    if sqlite_file(engine) is not None:
        pytest.skip("on SQLite a sender is answered once its delivery is journaled (the next test)")
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
    assert ingest.flush(10)
    assert count(engine, WebhookDelivery, WebhookDelivery.status == "parsed") == count(engine, HelpdeskEvent) == SENDERS


def test_on_sqlite_each_sender_is_answered_once_its_delivery_is_journaled_and_it_is_written_in_after(
    engine: Engine,
) -> None:
    if sqlite_file(engine) is None:
        pytest.skip("PostgreSQL commits each delivery before its answer (the test before)")
    ingest = WebhookIngest(make_session_factory(engine), linger=1, linger_step=1)  # the storer waits a second
    deliveries = [generic(f"evt-{n}", ticket=f"T-{n}") for n in range(3)]
    assert [ingest.submit(delivery) for delivery in deliveries] == [Ingested(duplicate=None, events=1)] * 3
    assert count(engine, WebhookDelivery) == 0
    assert ingest.journal is not None
    journaled = [record for path in segments(ingest.journal.directory) for record in decode(path.read_bytes())]
    assert [(r.provider, r.received_at, r.headers, r.body) for r in journaled] == [
        ("generic", NOW, delivery.row["headers"], delivery.row["body"]) for delivery in deliveries
    ]
    assert ingest.flush(10)
    assert count(engine, WebhookDelivery, WebhookDelivery.status == "parsed") == count(engine, HelpdeskEvent) == 3
    ingest.stop()
    assert segments(ingest.journal.directory) == []  # every record in the database: nothing left to sweep


def test_on_sqlite_a_delivery_the_journal_cannot_take_is_kept_in_the_database_before_its_answer(
    engine: Engine,
) -> None:
    database = sqlite_file(engine)
    if database is None:
        pytest.skip("PostgreSQL has no journal")
    journal_directory(database).write_text("a file where the journal's directory goes: it cannot be written")
    ingest = WebhookIngest(make_session_factory(engine), linger=1, linger_step=1)
    assert ingest.submit(generic("evt-1")) == Ingested(duplicate=False, events=1)
    assert count(engine, WebhookDelivery) == 1  # committed before the answer, not a second later
    assert ingest.flush(10)
    assert count(engine, WebhookDelivery, WebhookDelivery.status == "parsed") == count(engine, HelpdeskEvent) == 1


def test_concurrent_copies_of_a_delivery_are_stored_once(engine: Engine, ingest: WebhookIngest) -> None:
    copies = [generic(f"evt-{n % 4}", ticket=f"T-{n % 4}") for n in range(SENDERS)]
    with ThreadPoolExecutor(SENDERS) as pool:
        results = list(pool.map(ingest.submit, copies))
    if sqlite_file(engine) is None:  # kept before the answer: the copies after the first are duplicates
        assert (
            sorted(results, key=str)
            == [Ingested(duplicate=False, events=1)] * 4 + [Ingested(duplicate=True, events=1)] * 20
        )
    else:  # journaled before anyone looks: the duplicates are found as the batch is kept
        assert results == [Ingested(duplicate=None, events=1)] * SENDERS
    assert ingest.flush(10)
    assert count(engine, WebhookDelivery) == count(engine, HelpdeskEvent) == 4


def test_a_delivery_submitted_is_stored_as_a_group_keeps_it(engine: Engine, ingest: WebhookIngest) -> None:
    submitted, grouped = generic("evt-a"), generic("evt-g")
    assert ingest.submit(submitted).events == 1
    assert ingest.flush(10)
    assert ingest.keep([grouped]) == [Ingested(duplicate=False, events=1)]
    assert ingest.keep([submitted, grouped]) == [Ingested(duplicate=True, events=1)] * 2
    assert ingest.flush(10)
    columns = [column for column in WebhookDelivery.__table__.columns if column.name not in ("id", "delivery_key")]
    with engine.connect() as connection:
        kept = connection.execute(select(*columns).order_by(WebhookDelivery.id)).all()
    assert [tuple(row) for row in kept] == [
        (delivery.row["provider"], NOW, delivery.row["headers"], delivery.row["body"], "parsed", None, 1)
        for delivery in (submitted, grouped)
    ]


def test_a_group_stores_what_one_delivery_after_the_other_would(engine: Engine, ingest: WebhookIngest) -> None:
    opened = {"ticket_created_at": "2026-11-23T09:00:00Z"}
    replied = {"event_id": "evt-r", "type": "replied", "ticket_id": "T-5", "occurred_at": "2026-11-23T10:00:00Z"}
    solved = {"event_id": "evt-s", "type": "solved", "ticket_id": "T-5", "occurred_at": "2026-11-23T15:00:00Z"}
    group = [
        generic("evt-r", ticket="T-5", kind="replied", **opened),
        generic("evt-r", ticket="T-5", kind="replied", **opened),  # the same delivery again: a duplicate
        batch(replied | opened, solved),  # a new delivery of two events: its first is stored already
        generic("evt-x", agent_id="u-1", agent_email="a@example.com"),
        generic("evt-y", agent_id="u-1", agent_email="b@example.com"),  # the later email of an agent wins
        prepare(PROVIDERS["generic"], b"not json", {}, NOW),  # kept, failed, for replay
    ]
    assert ingest.keep(group) == [
        Ingested(duplicate=False, events=1),
        Ingested(duplicate=True, events=1),
        Ingested(duplicate=False, events=2),
        Ingested(duplicate=False, events=1),
        Ingested(duplicate=False, events=1),
        Ingested(duplicate=False, problem=group[-1].problem),
    ]
    assert ingest.flush(10)
    with engine.connect() as connection:
        # The solve's resolution time comes from the reply stored earlier in the same group.
        seconds = connection.execute(select(HelpdeskEvent.resolution_seconds).where(HelpdeskEvent.event_key == "evt-s"))
        assert seconds.scalar_one() == 6 * 3600
        assert connection.execute(select(HelpdeskAgentId.email)).scalars().all() == ["b@example.com"]
        statuses = connection.execute(select(WebhookDelivery.status, WebhookDelivery.events)).all()
    assert sorted(tuple(s) for s in statuses) == [
        ("failed", 0),
        ("parsed", 1),
        ("parsed", 1),
        ("parsed", 1),
        ("parsed", 1),
    ]
    assert count(engine, HelpdeskEvent) == 4


def test_deliveries_kept_with_their_events_are_parsed_at_once_each_counting_only_its_new_events(
    engine: Engine,
) -> None:
    replied = {"event_id": "evt-r", "type": "replied", "ticket_id": "T-5", "occurred_at": "2026-11-23T10:00:00Z"}
    solved = {"event_id": "evt-s", "type": "solved", "ticket_id": "T-5", "occurred_at": "2026-11-23T15:00:00Z"}
    deliveries = [
        generic("evt-r", ticket="T-5", kind="replied"),
        batch(replied, solved),  # its first event is the delivery before's: one new
        generic("evt-r", ticket="T-5", kind="replied"),  # the first delivery again: a duplicate
        prepare(PROVIDERS["generic"], b"not json", {}, NOW),  # kept, failed, for replay
    ]
    with write_connection(engine) as connection:
        kept = keep(connection, deliveries, with_events=True)
        counts, _ = store_outcomes(connection, [outcomes for _, outcomes in kept if outcomes is not None])
    assert [answer for answer, _ in kept] == [
        Ingested(duplicate=False, events=1),
        Ingested(duplicate=False, events=2),
        Ingested(duplicate=True, events=1),
        Ingested(duplicate=False, problem=deliveries[-1].problem),
    ]
    assert sorted(counts.values()) == [1, 1]
    with engine.connect() as connection:
        statuses = connection.execute(select(WebhookDelivery.status, WebhookDelivery.events)).all()
    assert sorted(tuple(s) for s in statuses) == [("failed", 0), ("parsed", 1), ("parsed", 1)]
    assert count(engine, HelpdeskEvent) == 2


def test_a_delivery_the_database_refuses_does_not_take_the_others_of_its_group_down(
    engine: Engine, ingest: WebhookIngest
) -> None:
    refused = generic("evt-2")
    refused = dataclasses.replace(refused, row={**refused.row, "body": None})  # NOT NULL: no database takes it
    outcomes = ingest.keep([generic("evt-1"), refused, generic("evt-3")])
    assert outcomes[0] == outcomes[2] == Ingested(duplicate=False, events=1)
    assert isinstance(outcomes[1], IntegrityError)
    assert ingest.flush(10)
    assert sorted(d for (d,) in _rows(engine, "SELECT delivery_key FROM webhook_deliveries")) == ["evt-1", "evt-3"]
    assert count(engine, HelpdeskEvent) == 2


def test_an_agent_id_this_process_stored_is_written_again_only_when_its_email_changes(
    engine: Engine, ingest: WebhookIngest
) -> None:
    ingest.submit(generic("evt-1", agent_id="u-1", agent_email="a@example.com"))
    assert ingest.flush(10)
    with engine.begin() as connection:  # gone behind the process's back: it still believes it stored
        connection.execute(HelpdeskAgentId.__table__.delete())
    ingest.submit(generic("evt-2", agent_id="u-1", agent_email="a@example.com"))
    assert ingest.flush(10)
    assert count(engine, HelpdeskAgentId) == 0
    ingest.submit(generic("evt-3", agent_id="u-1", agent_email="b@example.com"))
    assert ingest.flush(10)
    assert [email for (email,) in _rows(engine, "SELECT email FROM helpdesk_agent_ids")] == ["b@example.com"]
    another_process = WebhookIngest(make_session_factory(engine), linger=0)
    another_process.submit(generic("evt-4", agent_id="u-1", agent_email="a@example.com"))
    assert another_process.flush(10)
    assert [email for (email,) in _rows(engine, "SELECT email FROM helpdesk_agent_ids")] == ["a@example.com"]


def test_a_delivery_kept_by_a_process_that_stopped_before_storing_its_events_is_finished_by_the_sweep(
    engine: Engine,
) -> None:
    with write_connection(engine) as connection:  # kept and answered; the process is killed before step 2
        keep(connection, [generic("evt-1", ticket="T-1"), generic("evt-2", ticket="T-2")])
    assert count(engine, WebhookDelivery, WebhookDelivery.status == "received") == 2
    factory = make_session_factory(engine)
    assert finish_received(factory, PROVIDERS, NOW) == (0, 0)  # kept at NOW: not older than the cut-off yet
    assert finish_received(factory, PROVIDERS, NOW + timedelta(minutes=2)) == (2, 0)
    assert count(engine, WebhookDelivery, WebhookDelivery.status == "parsed", WebhookDelivery.events == 1) == 2
    assert count(engine, HelpdeskEvent) == 2
    assert finish_received(factory, PROVIDERS, NOW + timedelta(minutes=2)) == (0, 0)


def test_the_sweep_finishes_a_backlog_a_limited_number_at_a_time_and_the_next_call_goes_on(engine: Engine) -> None:
    with write_connection(engine) as connection:
        keep(connection, [generic(f"evt-{n}", ticket=f"T-{n}") for n in range(5)])
    factory, later = make_session_factory(engine), NOW + timedelta(minutes=2)
    assert finish_received(factory, PROVIDERS, later, limit=3) == (3, 0)
    assert count(engine, WebhookDelivery, WebhookDelivery.status == "received") == 2
    assert finish_received(factory, PROVIDERS, later, limit=3) == (2, 0)
    assert count(engine, HelpdeskEvent) == 5


def test_a_replay_reads_each_failed_delivery_once_and_stops_when_some_still_fail(engine: Engine) -> None:
    unreadable = [prepare(PROVIDERS["generic"], f"not json {n}".encode(), {}, NOW) for n in range(3)]
    with write_connection(engine) as connection:
        keep(connection, [*unreadable, generic("evt-1")])
    assert replay_failed(make_session_factory(engine), PROVIDERS) == (0, 3)
    assert count(engine, WebhookDelivery, WebhookDelivery.status == "failed") == 3


def test_past_its_capacity_a_process_leaves_the_events_of_what_it_keeps_to_the_sweep(engine: Engine) -> None:
    ingest = WebhookIngest(make_session_factory(engine), capacity=2, linger=5, linger_step=5)  # nothing stored for 5 s
    answers = [ingest.submit(generic(f"evt-{n}", ticket=f"T-{n}")) for n in range(3)]
    assert [answer.events for answer in answers] == [1] * 3  # every delivery made safe and answered
    assert (ingest.unstored, ingest.left_to_sweep) == (2, 1)
    assert ingest.flush(10)
    assert count(engine, WebhookDelivery, WebhookDelivery.status == "parsed") == 2
    assert finish_received(make_session_factory(engine), PROVIDERS, NOW + timedelta(minutes=2)) == (1, 0)
    assert count(engine, HelpdeskEvent) == 3


@contextmanager
def storer_held(engine: Engine, delivery: Delivery) -> Iterator[None]:
    """The storer cannot write `delivery`'s event until the block ends: another transaction holds a row
    with its key (on SQLite, the database's one write lock with it)."""
    [event] = delivery.events
    columns = {column.name for column in HelpdeskEvent.__table__.columns}
    with engine.connect() as blocker:
        blocker.execute(HelpdeskEvent.__table__.insert(), {k: v for k, v in event.items() if k in columns})
        yield
        blocker.rollback()


def test_past_the_pace_mark_a_sender_is_answered_once_the_storer_has_caught_up(engine: Engine) -> None:
    ingest = WebhookIngest(make_session_factory(engine), linger=0, pace_mark=2)
    deliveries = [generic(f"evt-{n}", ticket=f"T-{n}") for n in range(3)]
    with storer_held(engine, deliveries[0]), ThreadPoolExecutor(1) as pool:
        assert [ingest.submit(delivery).events for delivery in deliveries[:2]] == [1, 1]  # 2 waiting: at the mark
        third = pool.submit(ingest.submit, deliveries[2])
        time.sleep(0.5)
        assert not third.done()
    assert third.result(10).events == 1
    assert ingest.flush(10)
    assert count(engine, HelpdeskEvent) == 3


def test_a_sender_waits_for_the_storer_no_longer_than_the_pace_timeout(engine: Engine) -> None:
    ingest = WebhookIngest(make_session_factory(engine), linger=0, pace_mark=0, pace_timeout=0.3)
    delivery = generic("evt-1")
    with storer_held(engine, delivery):
        started = time.monotonic()
        assert ingest.submit(delivery).events == 1
        assert 0.3 <= time.monotonic() - started < 5
        assert ingest.unstored == 1  # answered, not written in yet
    assert ingest.flush(10)
    assert count(engine, HelpdeskEvent) == 1


def test_a_lone_delivery_waits_one_step_for_company_not_the_whole_linger(engine: Engine) -> None:
    ingest = WebhookIngest(make_session_factory(engine), linger=30, linger_step=0.01)
    ingest.submit(generic("evt-1"))
    assert ingest.flush(5)  # nothing more arrived in its first step: stored then, not after 30 s
    assert count(engine, HelpdeskEvent) == 1


def test_while_deliveries_keep_arriving_the_storer_waits_on_to_store_them_together(engine: Engine) -> None:
    ingest = WebhookIngest(make_session_factory(engine), linger=30, linger_step=0.5)
    started = time.monotonic()
    for n in range(4):  # all within the storer's first step, which ends at 0.5 s
        ingest.submit(generic(f"evt-{n}", ticket=f"T-{n}"))
        time.sleep(0.1)
    time.sleep(max(0.0, started + 0.6 - time.monotonic()))
    assert ingest.unstored == 4  # more arrived in its first step, so it waits another before storing
    assert ingest.flush(5)
    assert count(engine, HelpdeskEvent) == 4


def test_events_the_database_refuses_are_left_received_for_the_sweep_and_the_rest_of_the_batch_stored(
    engine: Engine, ingest: WebhookIngest
) -> None:
    poisoned = generic("evt-2", ticket="T-2")
    poisoned.events[0]["ticket_id"] = None  # NOT NULL: no database takes it; the raw body is fine
    answers = [ingest.submit(delivery) for delivery in (generic("evt-1"), poisoned, generic("evt-3", ticket="T-3"))]
    assert [answer.events for answer in answers] == [1] * 3
    assert ingest.flush(10)
    assert ingest.store_failures == 1
    assert count(engine, WebhookDelivery, WebhookDelivery.status == "parsed") == 2
    assert count(engine, WebhookDelivery, WebhookDelivery.status == "received") == 1
    # The sweep reads the delivery again from its raw body.
    assert finish_received(make_session_factory(engine), PROVIDERS, NOW + timedelta(minutes=2)) == (1, 0)
    assert count(engine, HelpdeskEvent) == 3


def _rows(engine: Engine, sql: str) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(text(sql)))


# -- prepare: pure ------------------------------------------------------------------------------------------


def test_a_delivery_sent_without_a_date_keeps_the_second_it_arrived_as_its_date_header() -> None:
    body = json.dumps({"event_id": "ev-dated", "type": "solved", "ticket_id": "T-9"}).encode()
    arrived = datetime(2026, 11, 23, 9, 0, 0, 999_999, tzinfo=UTC)

    def kept_date(headers: dict[str, str], now: datetime) -> str:
        return json.loads(prepare(PROVIDERS["generic"], body, headers, now).row["headers"])["date"]

    assert kept_date({}, arrived) == "Mon, 23 Nov 2026 09:00:00 GMT"
    assert kept_date({}, arrived + timedelta(microseconds=1)) == "Mon, 23 Nov 2026 09:00:01 GMT"
    assert kept_date({}, arrived + timedelta(days=1)) == "Tue, 24 Nov 2026 09:00:00 GMT"
    assert kept_date({"date": "Wed, 08 Jan 2025 16:50:00 GMT"}, arrived) == "Wed, 08 Jan 2025 16:50:00 GMT"
