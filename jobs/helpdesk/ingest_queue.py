"""The webhook ingest of one process: each delivery kept before its answer, their outcome events stored
in batches on one background thread after it.

Keeping (jobs/helpdesk/ingest.keep) is all a sender waits for, and how depends on the database:
- SQLite file: each sender's thread keeps its own delivery, in one autocommit statement on a connection
  of its own (storage.db.own_autocommit_connection), outside the writer lock. SQLite's write lock is then
  held only inside that statement, where Python's GIL is not needed. The group commit below costs more
  on SQLite: its writer gave the GIL up for each statement while it held the lock, and every sender of
  the group slept and woke (bench_ingest's load, interleaved runs of both: 1,900-2,400 events/s and
  0.87-1.09 ms of CPU a webhook alone, against 1,550-1,700 and 0.99-1.10 ms in groups).
- PostgreSQL: deliveries that arrive together share a transaction and a commit (storage/group_commit.py),
  each sender answered once its own delivery is committed; a commit there waits for the disk.
Their events, with the agent ids they reveal and the row trigger that sums them per week, are stored a
batch of up to MAX_BATCH deliveries at a time.

Why two steps: an event the database refuses (a value no parser check foresaw) no longer fails its
delivery: the raw delivery is kept and answered, and the sweep marks it failed with the reason, for
`tandem webhooks replay` after a fix; before, the sender got a 500 and nothing was kept. And a batch
of hundreds costs less per delivery than the groups of a few that arrive together (in one thread:
0.05 ms a delivery in batches of 128 against 0.13 ms in groups of 8).

What it gives up: events reach the database after the answer, not with it (a LINGER_STEP later alone,
up to about LINGER under load). Nothing is lost in between: the raw delivery is committed as received
first, and one a process did not finish (killed, the database refused it, or more than CAPACITY were
waiting) is read again from its body by jobs/helpdesk/ingest.finish_received on the next scheduler tick.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import Engine

from jobs.batching import gather
from jobs.helpdesk.ingest import Delivery, Ingested, Outcomes, keep, keep_alone, prepare, store_outcomes
from jobs.helpdesk.providers import Provider
from storage.db import SessionFactory, database_is_reachable, own_autocommit_connection, sqlite_file, write_connection
from storage.group_commit import GroupCommit

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
# Deliveries whose events a process holds in memory at most: past it (the database far slower than the
# senders), more are left received in the database for the scheduler's sweep to read again.
CAPACITY = 20_000
# Agent ids a process remembers having stored (to skip writing them again): past this, it starts over.
MAX_KNOWN_AGENT_IDS = 10_000


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
    ) -> None:
        engine = factory.kw.get("bind")
        if not isinstance(engine, Engine):
            raise TypeError("the session factory must be bound to an engine")
        self._engine = engine
        self._alone = sqlite_file(engine) is not None  # each sender keeps its own delivery (see above)
        self._keeping: set[int] = set()  # the threads keeping a delivery alone now (set.add is atomic)
        self._group: GroupCommit[Delivery, Ingested] = GroupCommit(self.keep, max_group)
        self._max_batch = max_batch
        self._linger = linger
        self._linger_step = linger_step
        self._capacity = capacity
        self._known: dict[tuple[str, str], str] = {}  # email by (provider, agent id), as stored
        self._queued: deque[Outcomes] = deque()
        self._unstored = 0  # queued, or being stored
        self._changed = threading.Condition()
        self._storer: threading.Thread | None = None
        self.store_failures = 0  # deliveries whose events this process could not store (left to the sweep)
        self.left_to_sweep = 0  # deliveries not held because `capacity` was reached (left to the sweep)

    def ingest(self, provider: Provider, body: bytes, headers: Mapping[str, str], now: datetime) -> Ingested:
        """Keep and read one delivery; returns once it is committed (or raises when it could not be)."""
        return self.submit(prepare(provider, body, headers, now))

    def submit(self, delivery: Delivery) -> Ingested:
        """Keep a prepared delivery (alone, or with those arriving with it); returns once it is committed."""
        if not self._alone:
            return self._group.submit(delivery)
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
        """Deliveries answered whose events are not stored yet."""
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
        """Wait until the events of every delivery answered so far are stored (or given up on, left to
        the sweep); at a worker's exit, and in tests. True if that happened within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._unstored and time.monotonic() < deadline:
                self._changed.wait(deadline - time.monotonic())
            done = self._unstored == 0
        if not done:
            log.warning("stopped with the events of %d webhook deliveries not stored yet", self._unstored)
        return done

    def _queue(self, outcomes: list[Outcomes]) -> None:
        if not outcomes:
            return
        with self._changed:
            room = max(0, self._capacity - self._unstored)
            if len(outcomes) > room:
                if not self.left_to_sweep:
                    log.warning(
                        "%d webhook deliveries wait for their events to be stored: the sweep takes the rest",
                        self._unstored,
                    )
                self.left_to_sweep += len(outcomes) - room
                outcomes = outcomes[:room]
                if not outcomes:
                    return
            if self._storer is None:
                # Started on first use, in the process that uses it (after gunicorn's fork).
                self._storer = threading.Thread(target=self._store_forever, name="webhook-events", daemon=True)
                self._storer.start()
            self._queued.extend(outcomes)
            self._unstored += len(outcomes)
            self._changed.notify_all()

    def _store_forever(self) -> None:
        while True:
            with self._changed:
                while not self._queued:
                    self._changed.wait()
                more_coming = len(self._queued) < self._max_batch
            if more_coming:
                gather(self._queued, self._linger, self._linger_step, self._max_batch)
            with self._changed:
                batch = [self._queued.popleft() for _ in range(min(len(self._queued), self._max_batch))]
            stored = self._store(batch)
            with self._changed:
                self._unstored -= len(batch)
                self.store_failures += len(batch) - stored
                self._changed.notify_all()

    def _store(self, batch: list[Outcomes]) -> int:
        """Store a batch's events, each delivery's alone if the batch fails; how many were stored."""
        try:
            with write_connection(self._engine) as connection:
                _, learned = store_outcomes(connection, batch, self._known)
        except Exception as error:
            if len(batch) == 1 or not database_is_reachable(self._engine):
                log.warning(
                    "could not store the events of %d webhook deliveries (%s): the scheduler reads them again",
                    len(batch),
                    type(error).__name__,
                )
                return 0
            # The database is up but refused the batch: each delivery alone, so one cannot hold back the rest.
            return sum(self._store([outcomes]) for outcomes in batch)
        if len(self._known) + len(learned) > MAX_KNOWN_AGENT_IDS:
            self._known.clear()
        self._known.update(learned)
        return len(batch)
