"""The journal sweep on a real SQLite database: what a stopped process journaled but did not write in is
written in once, as the process would have, and its segment deleted; a live process's segment is left."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from jobs.helpdesk.ingest import keep, prepare
from jobs.helpdesk.journal_sweep import recover_journal
from jobs.helpdesk.providers import PROVIDERS
from storage.db import make_engine, write_connection
from storage.migrate import upgrade
from storage.models import HelpdeskEvent, WebhookDelivery
from storage.webhook_journal import JournalRecord, WebhookJournal, journal_directory, segments

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture
def sqlite(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'tandem.db'}")
    upgrade(engine)
    return engine


def journaled(event_id: str, ticket: str = "T-1", **extra: str) -> JournalRecord:
    """A generic delivery as the server journals it (prepared first: its kept headers carry a Date)."""
    payload = {"event_id": event_id, "type": "solved", "ticket_id": ticket, "occurred_at": "2026-11-23T15:00:00Z"}
    delivery = prepare(PROVIDERS["generic"], json.dumps({**payload, **extra}).encode(), {}, NOW)
    return JournalRecord("generic", NOW, delivery.row["headers"], delivery.row["body"])


def left_by_a_stopped_process(engine: Engine, records: list[JournalRecord]) -> WebhookJournal:
    journal = WebhookJournal(journal_directory(str(engine.url.database)))
    for each in records:
        journal.append(each)
    journal.close()  # stopped with its records not in the database: its segment is an orphan now
    return journal


def rows(engine: Engine) -> list[tuple[str, str, int]]:
    with engine.connect() as connection:
        query = select(WebhookDelivery.delivery_key, WebhookDelivery.status, WebhookDelivery.events)
        return sorted(tuple(row) for row in connection.execute(query))  # type: ignore[misc]


def test_what_a_stopped_process_journaled_is_written_in_once_and_its_segment_deleted(sqlite: Engine) -> None:
    records = [journaled("evt-1"), journaled("evt-2", ticket="T-2"), journaled("evt-3", ticket="T-3")]
    with write_connection(sqlite) as connection:  # the process wrote the first in before it stopped
        keep(connection, [prepare(PROVIDERS["generic"], records[0].body, json.loads(records[0].headers), NOW)])
    journal = left_by_a_stopped_process(sqlite, records)
    recovered = recover_journal(sqlite, PROVIDERS)
    assert (recovered.segments, recovered.new, recovered.known) == (1, 2, 1)
    assert rows(sqlite) == [("evt-1", "received", 0), ("evt-2", "parsed", 1), ("evt-3", "parsed", 1)]
    with sqlite.connect() as connection:
        assert connection.execute(select(func.count()).select_from(HelpdeskEvent)).scalar_one() == 2
    assert segments(journal.directory) == []
    assert recover_journal(sqlite, PROVIDERS).segments == 0


def test_a_segment_its_live_process_holds_is_left_to_it(sqlite: Engine) -> None:
    journal = WebhookJournal(journal_directory(str(sqlite.url.database)))
    journal.append(journaled("evt-1"))
    assert recover_journal(sqlite, PROVIDERS).segments == 0
    assert rows(sqlite) == []
    journal.close()
    assert recover_journal(sqlite, PROVIDERS).new == 1


def test_an_unreadable_delivery_is_kept_failed_and_one_of_a_helpdesk_tandem_no_longer_has_too(sqlite: Engine) -> None:
    unreadable = prepare(PROVIDERS["generic"], b"not json", {}, NOW)
    records = [
        JournalRecord("generic", NOW, unreadable.row["headers"], b"not json"),
        JournalRecord("jira", NOW, "{}", b'{"id": 1}'),
    ]
    left_by_a_stopped_process(sqlite, records)
    assert recover_journal(sqlite, PROVIDERS).new == 2
    with sqlite.connect() as connection:
        kept = connection.execute(select(WebhookDelivery.provider, WebhookDelivery.status, WebhookDelivery.error))
        assert sorted(tuple(row) for row in kept) == [
            ("generic", "failed", unreadable.problem),
            ("jira", "failed", "no helpdesk 'jira'"),
        ]


def test_events_the_database_refuses_leave_their_delivery_received_and_the_rest_are_stored(sqlite: Engine) -> None:
    with sqlite.begin() as connection:  # a value the database refuses: a trigger that rejects one ticket
        connection.exec_driver_sql(
            "CREATE TRIGGER refuse_t2 BEFORE INSERT ON helpdesk_events WHEN NEW.ticket_id = 'T-2' "
            "BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
    left_by_a_stopped_process(
        sqlite, [journaled("evt-1"), journaled("evt-2", ticket="T-2"), journaled("evt-3", ticket="T-3")]
    )
    assert recover_journal(sqlite, PROVIDERS).new == 3
    assert rows(sqlite) == [("evt-1", "parsed", 1), ("evt-2", "received", 0), ("evt-3", "parsed", 1)]


def test_a_segment_whose_raw_delivery_the_database_refuses_stays_and_the_others_are_recovered(sqlite: Engine) -> None:
    with sqlite.begin() as connection:
        connection.exec_driver_sql(
            "CREATE TRIGGER refuse_bad BEFORE INSERT ON webhook_deliveries WHEN NEW.delivery_key = 'evt-bad' "
            "BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
    left_by_a_stopped_process(sqlite, [journaled("evt-bad")])
    left_by_a_stopped_process(sqlite, [journaled("evt-ok", ticket="T-2")])
    recovered = recover_journal(sqlite, PROVIDERS)
    assert (recovered.segments, recovered.new, recovered.left) == (1, 1, 1)
    assert rows(sqlite) == [("evt-ok", "parsed", 1)]
    (kept,) = segments(journal_directory(str(sqlite.url.database)))
    assert b"evt-bad" in kept.read_bytes()
