"""The webhook ingest of one process: each delivery made safe before its answer, then written into the
database with its outcome events in batches on one background thread just after.

How a delivery is made safe before its answer depends on the database:
- SQLite file: one append to this process's webhook journal (storage/webhook_journal.py, which says why
  it is as durable as a commit here). The storer then keeps the raw deliveries and stores their events
  in one transaction a batch. Before, each sender committed its own delivery, in one autocommit
  statement under the write lock every thread of every worker shares: bench_ingest's load measured
  0.20-0.23 of the plain bare endpoint that way, against 0.33-0.36 journaled (docs/ingest-performance.md).
- PostgreSQL: deliveries that arrive together share a transaction and a commit (storage/group_commit.py),
  each sender answered once its own delivery is committed; a commit there waits for the disk. Replicas
  may run on disks that do not outlive them, so the database, not a local file, holds what was answered.
  Their events are stored after, in batches, as on SQLite.

A sender is answered before Tandem looks for its delivery in the database, so the answer does not say
whether it is a retry: retries and replays are found as the batch is kept (the delivery key is unique)
and stored once.

Events are stored after the answer, in batches: an event the database refuses (a value no parser check
foresaw) does not fail its delivery, which the sweep marks failed with the reason, for `tandem webhooks
replay` after a fix; and a batch of hundreds costs less a delivery than the groups of a few that arrive
together (in one thread: 0.05 ms against 0.13 ms in groups of 8).

Nothing is lost in between: a journaled delivery this process could not write into the database (it
was killed, or the database was down) is read from the journal by the scheduler's sweep
(jobs/helpdesk/journal_sweep.py); a kept delivery whose events were not stored (the database refused
one, or more than CAPACITY were waiting) is read again from its raw body by
jobs/helpdesk/ingest.finish_received.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Engine

from jobs.batching import gather
from jobs.helpdesk.ingest import Delivery, Ingested, Outcomes, answered, keep, keep_alone, prepare, store_outcomes
from jobs.helpdesk.providers import Provider
from storage.db import (
    SessionFactory,
    database_is_reachable,
    make_engine,
    own_autocommit_connection,
    sqlite_file,
    write_connection,
)
from storage.group_commit import GroupCommit
from storage.webhook_journal import JournalRecord, Segment, WebhookJournal, journal_directory

log = logging.getLogger(__name__)

# At most this many deliveries share a transaction before the answer: a bigger group would only make
# its first sender wait.
MAX_GROUP = 64
# At most this many deliveries' events are stored in one transaction after the answers.
MAX_BATCH = 512
# Seconds the storing thread lets events gather after it wakes (jobs/batching.py): a LINGER_STEP at a
# time while more keep arriving, LINGER at most. A lone delivery waits one step; under load a batch holds
# about LINGER's worth. bench_ingest's load, interleaved against a flat 0.02 s: 0.1 s flat measured
# 1,730-2,080 events/s and 0.91-1.14 ms of CPU a webhook against 1,430-1,680 and 1.14-1.35 ms (6 rounds);
# these steps 1.03-1.11 ms and p99 57-64 ms against 1.13-1.25 ms and 80-97 ms (3 rounds).
LINGER = 0.1
LINGER_STEP = 0.02
# Deliveries a process holds in memory at most: past it (the database far slower than the senders), each
# is kept in the database before its answer instead of journaled, its events left to the scheduler's sweep.
CAPACITY = 20_000
# Deliveries answered and not yet written in, past which a sender's answer waits for the storer (at most
# PACE_TIMEOUT seconds, and not while the database is down). Without it the request threads, sixteen to
# the storer's one, outran it under sustained load: over 70 s bench_ingest's senders were answered 1,850
# times a second while 1,300 a second were written in, until CAPACITY was reached. Paced, the answers
# follow the rate the database takes, and the storer gets the GIL the waiting threads leave.
PACE_MARK = 2 * MAX_BATCH
PACE_TIMEOUT = 2.0
# Seconds the storer waits before it tries again while the database is down, doubled each time up to the most.
RETRY_PAUSE = 0.5
MAX_RETRY_PAUSE = 30.0
# The page cache (KiB) of the storer's own SQLite connection. A batch of 400 deliveries touches about 1,100
# pages (4 KiB each), most of them random leaves of the two unique indexes; in SQLite's default 2,000 KiB
# they were read again within the batch as others pushed them out. Under bench_ingest's load the storer
# took 53-56 us of CPU a delivery with 16 MiB against 63 us (3 pairs, its thread's CPU clock): one
# connection a worker, so 16 MiB a worker at most.
STORER_CACHE_KIB = 16 * 1024
# Agent ids a process remembers having stored (to skip writing them again): past this, it starts over.
MAX_KNOWN_AGENT_IDS = 10_000


class Journaled(NamedTuple):
    """A delivery in the journal, waiting to be kept in the database with its events."""

    delivery: Delivery
    segment: Segment


Pending = Outcomes | Journaled  # what the storer writes: a kept delivery's events, or a journaled delivery


class WebhookIngest:
    """Takes in the verified deliveries of one process for one database."""

    def __init__(
        self,
        factory: SessionFactory,
        *,
        max_group: int = MAX_GROUP,
        max_batch: int = MAX_BATCH,
        linger: float = LINGER,
        linger_step: float = LINGER_STEP,
        capacity: int = CAPACITY,
        pace_mark: int = PACE_MARK,
        pace_timeout: float = PACE_TIMEOUT,
    ) -> None:
        engine = factory.kw.get("bind")
        if not isinstance(engine, Engine):
            raise TypeError("the session factory must be bound to an engine")
        self._engine = engine
        database = sqlite_file(engine)
        self.journal = WebhookJournal(journal_directory(database)) if database else None
        # The storer writes through a connection of its own (STORER_CACHE_KIB says why); elsewhere, the engine's.
        self._store_engine = (
            make_engine(f"sqlite:///{database}", sqlite_cache_kib=STORER_CACHE_KIB, pool_size=1, max_overflow=0)
            if database
            else engine
        )
        self._keeping: set[int] = set()  # the threads keeping a delivery alone now (set.add is atomic)
        self._group: GroupCommit[Delivery, Ingested] = GroupCommit(self.keep, max_group)
        self._max_batch = max_batch
        self._linger = linger
        self._linger_step = linger_step
        self._capacity = capacity
        self._pace_mark = pace_mark
        self._pace_timeout = pace_timeout
        self._database_down = False  # the storer is waiting for the database to come back
        self._known: dict[tuple[str, str], str] = {}  # email by (provider, agent id), as stored
        self._queued: deque[Pending] = deque()
        self._unstored = 0  # queued, or being stored
        # Two conditions on one lock: the storer waits for deliveries to arrive, senders pacing themselves
        # (and `flush`) wait for them to be written in. One condition woke every pacing sender at every
        # delivery queued, to find the backlog as long as before and wait again.
        lock = threading.Lock()
        self._arrived = threading.Condition(lock)
        self._written = threading.Condition(lock)
        self._storer: threading.Thread | None = None
        self.store_failures = 0  # deliveries this process could not store (left to a sweep)
        self.left_to_sweep = 0  # deliveries not held because `capacity` was reached (left to the sweep)

    def ingest(self, provider: Provider, body: bytes, headers: Mapping[str, str], now: datetime) -> Ingested:
        """Make one delivery safe and read it; returns once it is (or raises when it could not be)."""
        return self.submit(prepare(provider, body, headers, now))

    def submit(self, delivery: Delivery) -> Ingested:
        """Make a prepared delivery safe: journaled on SQLite, committed (with those arriving with it) on
        PostgreSQL; returns once it is, and once the storer has caught up enough (`PACE_MARK`)."""
        if self.journal is None:
            answer = self._group.submit(delivery)
        elif (journaled := self._journal(delivery)) is not None:
            answer = journaled
        else:
            # More are waiting than a process holds (the database far slower than the senders), or the
            # journal cannot be written: kept in the database before the answer, its events left to the sweep.
            return self._keep_alone(delivery)
        self._keep_pace()
        return answer

    def _journal(self, delivery: Delivery) -> Ingested | None:
        """Append a delivery to the journal and queue it for the storer; None if it could not be."""
        if self.journal is None or self._unstored >= self._capacity:
            return None
        row = delivery.row
        try:
            segment = self.journal.append(
                JournalRecord(delivery.provider, row["received_at"], row["headers"], row["body"])
            )
        except OSError as error:  # the disk is full, say: the database may still take it
            log.warning("could not journal a %s webhook (%s): keeping it in the database", delivery.provider, error)
            return None
        self._queue([Journaled(delivery, segment)])
        return answered(delivery)

    def _keep_pace(self) -> None:
        """Wait while more than `PACE_MARK` deliveries answered are not written in yet (PACE_MARK says why)."""
        if self._unstored <= self._pace_mark or self._database_down:
            return
        with self._written:
            self._written.wait_for(lambda: self._unstored <= self._pace_mark or self._database_down, self._pace_timeout)

    def _keep_alone(self, delivery: Delivery) -> Ingested:
        me = threading.get_ident()
        self._keeping.add(me)
        try:
            answer, outcomes = keep_alone(own_autocommit_connection(self._engine), delivery)
        finally:
            self._keeping.discard(me)
        if outcomes is not None:
            self._queue([outcomes])  # committed: safe to store
        return answer

    @property
    def waiting(self) -> int:
        """Deliveries not answered yet: being kept, or waiting for the next group."""
        return self._group.waiting + len(self._keeping)

    @property
    def unstored(self) -> int:
        """Deliveries answered that are not in the database with their events yet."""
        return self._unstored

    def keep(self, group: Sequence[Delivery]) -> list[Ingested | Exception]:
        """Keep deliveries in one transaction and queue their events; each one's answer, or the exception
        it failed with."""
        try:
            with write_connection(self._engine) as connection:
                kept = keep(connection, group)
        except Exception as error:
            if len(group) == 1:
                return [error]
            # One delivery the database refuses must not take the others down with it: each on its own.
            log.warning(
                "%d webhook deliveries failed together (%s): keeping each alone", len(group), type(error).__name__
            )
            return [outcome for delivery in group for outcome in self.keep([delivery])]
        self._queue([outcomes for _, outcomes in kept if outcomes is not None])  # committed: safe to store
        return [answer for answer, _ in kept]

    def flush(self, timeout: float = 30) -> bool:
        """Wait until every delivery answered so far is in the database with its events (or given up on,
        left to a sweep); in tests. True if that happened within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._written:
            while self._unstored and time.monotonic() < deadline:
                self._written.wait(deadline - time.monotonic())
            done = self._unstored == 0
        if not done:
            log.warning("stopped with %d webhook deliveries not in the database yet", self._unstored)
        return done

    def stop(self, timeout: float = 30) -> None:
        """At a worker's exit: `flush`, then close the journal (a segment with records left in it stays,
        for the sweep)."""
        self.flush(timeout)
        if self.journal is not None:
            self.journal.close()
        if self._store_engine is not self._engine:
            self._store_engine.dispose()

    def _queue(self, pending: Sequence[Pending]) -> None:
        if not pending:
            return
        with self._arrived:
            room = max(0, self._capacity - self._unstored)
            if len(pending) > room and not isinstance(pending[0], Journaled):  # one journaled is never dropped
                if not self.left_to_sweep:
                    log.warning(
                        "%d webhook deliveries wait for their events to be stored: the sweep takes the rest",
                        self._unstored,
                    )
                self.left_to_sweep += len(pending) - room
                pending = pending[:room]
                if not pending:
                    return
            if self._storer is None:
                # Started on first use, in the process that uses it (after gunicorn's fork).
                self._storer = threading.Thread(target=self._store_forever, name="webhook-events", daemon=True)
                self._storer.start()
            self._queued.extend(pending)
            self._unstored += len(pending)
            self._arrived.notify()

    def _store_forever(self) -> None:
        pause = RETRY_PAUSE
        while True:
            with self._arrived:
                while not self._queued:
                    self._arrived.wait()
                more_coming = len(self._queued) < self._max_batch
            if more_coming:
                gather(self._queued, self._linger, self._linger_step, self._max_batch)
            with self._arrived:
                batch = [self._queued.popleft() for _ in range(min(len(self._queued), self._max_batch))]
            stored, again = self._store(batch)
            with self._written:
                self._queued.extendleft(reversed(again))
                self._unstored -= len(batch) - len(again)
                self.store_failures += len(batch) - len(again) - stored
                self._database_down = bool(again)
                self._written.notify_all()
            if again:  # the database is down: try again in a while, a longer one each time
                time.sleep(pause)
            pause = min(2 * pause, MAX_RETRY_PAUSE) if again else RETRY_PAUSE

    def _store(self, batch: Sequence[Pending]) -> tuple[int, list[Journaled]]:
        """Write a batch into the database (each delivery alone if it refuses the batch): how many were
        written, and the journaled ones to try again (the database is down)."""
        try:
            with write_connection(self._store_engine) as connection:
                journaled = [item.delivery for item in batch if isinstance(item, Journaled)]
                outcomes = [item for item in batch if isinstance(item, Outcomes)]
                kept = keep(connection, journaled, with_events=True)
                outcomes += [outcome for _, outcome in kept if outcome is not None]
                _, learned = store_outcomes(connection, outcomes, self._known)
        except Exception as error:
            if not database_is_reachable(self._engine):
                # A journaled delivery is held here and in its segment until the database is back. A kept
                # one's raw delivery is in the database: the sweep stores its events.
                again = [item for item in batch if isinstance(item, Journaled)]
                log.warning(
                    "the database is unreachable (%s): %d webhook deliveries wait for it, %d left to the sweep",
                    type(error).__name__,
                    len(again),
                    len(batch) - len(again),
                )
                return 0, again
            if len(batch) == 1 and isinstance(batch[0], Outcomes):
                log.warning("the database refused a webhook's events (%s): left to the sweep", type(error).__name__)
                return 0, []
            # The database is up but refused the batch: each delivery alone, so one cannot hold back the rest.
            return sum(self._store_alone(item) for item in batch), []
        self._stored(batch)
        if len(self._known) + len(learned) > MAX_KNOWN_AGENT_IDS:
            self._known.clear()
        self._known.update(learned)
        return len(batch), []

    def _store_alone(self, item: Pending) -> int:
        """One delivery: a journaled one kept first in a transaction of its own, so events the database
        refuses leave it received in the database, for the sweep to mark failed with the reason."""
        if isinstance(item, Outcomes):
            return self._store([item])[0]
        try:
            with write_connection(self._store_engine) as connection:
                [(_, outcomes)] = keep(connection, [item.delivery])
        except Exception as error:
            # Not even its raw delivery: it stays in its segment, which outlives this process for the sweep.
            log.error("the database refused a raw %s webhook (%s): left in the journal", item.delivery.provider, error)
            return 0
        self._stored([item])
        return 1 if outcomes is None else self._store([outcomes])[0]

    def _stored(self, batch: Sequence[Pending]) -> None:
        if self.journal is not None:
            self.journal.stored([item.segment for item in batch if isinstance(item, Journaled)])
