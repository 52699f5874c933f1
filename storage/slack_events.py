"""Slack Events API idempotency: an event id is taken in once, however often Slack retries it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from storage.db import SessionFactory, write_connection
from storage.models import ProcessedSlackEvent

# Slack stops retrying within the hour, so a day of history is plenty.
SLACK_EVENT_RETENTION = timedelta(days=1)


def claim_slack_events(session: Session, event_ids: Sequence[str], now: datetime) -> set[str]:
    """Record `event_ids`; returns those seen for the first time (a retry's id is not among them)."""
    return _claim(session, _claim_statement(session.get_bind().dialect.name), event_ids, now)


def _claim_statement(dialect: str) -> Insert:
    table = ProcessedSlackEvent.__table__
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # RETURNING, not rowcount: some drivers report -1 for INSERT … ON CONFLICT.
    return insert(table).on_conflict_do_nothing().returning(table.c.event_id)


def _claim(db: Session | Connection, statement: Insert, event_ids: Sequence[str], now: datetime) -> set[str]:
    unique = list(dict.fromkeys(event_ids))
    if not unique:
        return set()
    rows = db.execute(statement, [{"event_id": e, "received_at": now} for e in unique])
    return {row.event_id for row in rows}


def forget_slack_events_before(session: Session, cutoff: datetime) -> int:
    return session.execute(delete(ProcessedSlackEvent).where(ProcessedSlackEvent.received_at < cutoff)).rowcount


class EventClaimer:
    """Claims event ids for many request threads through one writer thread per process (group commit).

    Under load, ids that arrive while a commit is in flight are claimed together in the next one, so
    the database sees a few larger transactions instead of one per request, and request threads never
    queue on the database's write lock. An idle claimer commits a lone id at once: no added delay.
    """

    MAX_BATCH = 1000

    def __init__(self, factory: SessionFactory, clock: Callable[[], datetime]) -> None:
        engine = factory.kw.get("bind")
        if not isinstance(engine, Engine):
            raise TypeError("the session factory must be bound to an engine")
        self._engine = engine
        # Built once, run on a plain connection: an ORM session's begin and commit cost more than the insert.
        self._insert = _claim_statement(engine.dialect.name)
        self._clock = clock
        self._pending: list[tuple[str, Future[bool]]] = []
        self._wakeup = threading.Condition()
        self._writer: threading.Thread | None = None

    def claim(self, event_id: str, timeout: float = 2.5) -> bool:
        """True the first time `event_id` is seen. Raises what the database raised, or TimeoutError."""
        outcome: Future[bool] = Future()
        with self._wakeup:
            if self._writer is None:
                # Started on first use, in the process that uses it (after any fork).
                self._writer = threading.Thread(target=self._write_forever, name="event-claimer", daemon=True)
                self._writer.start()
            self._pending.append((event_id, outcome))
            self._wakeup.notify()
        return outcome.result(timeout)

    def _write_forever(self) -> None:
        while True:
            with self._wakeup:
                while not self._pending:
                    self._wakeup.wait()
                batch, self._pending = self._pending[: self.MAX_BATCH], self._pending[self.MAX_BATCH :]
            self._write(batch)

    def _write(self, batch: list[tuple[str, Future[bool]]]) -> None:
        try:
            with write_connection(self._engine) as connection:
                first_seen = _claim(connection, self._insert, [event_id for event_id, _ in batch], self._clock())
        except Exception as error:  # handed to every waiting request, which answers it
            for _, outcome in batch:
                outcome.set_exception(error)
            return
        for event_id, outcome in batch:
            # An id twice in one batch: the first delivery claims it, the second is a retry.
            outcome.set_result(event_id in first_seen)
            first_seen.discard(event_id)
