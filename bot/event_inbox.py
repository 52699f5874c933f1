"""Slack events between the answer and their listeners: claimed in the database in batches, then run.

The HTTP edge answers an Events API callback as soon as it is queued here, so Slack's answer never
waits on the database. One thread per process takes what has queued, claims the event ids in one
transaction (a Slack retry's id is already claimed, so its listeners never run twice) and hands the
events seen for the first time to a small pool that runs their listeners.

Why not claim before answering: on a busy server each request thread that waits for a commit gives up
Python's GIL at every database call and queues to get it back, which cost more than the rest of the
request together (bench_http: 1.3 ms of CPU per event against 1.0 ms). And an answer that waits on the
database turns a database outage into errors for Slack, which retries three times and then disables
the app's event subscriptions. Here a failed claim is retried, with the events kept, until it works.

What it gives up: an event answered but not yet claimed is lost if the process is killed outright,
just as an event claimed but not yet run always was. A normal stop (SIGTERM) drains the inbox first.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from sqlalchemy import Engine

from jobs.batching import gather
from storage.db import write_connection
from storage.slack_events import claim_slack_events, claim_statement

log = logging.getLogger(__name__)

Listeners = Callable[[], None]

# Seconds between attempts to claim a batch the database refused, the last repeated until it works.
RETRY_DELAYS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
# Seconds the claiming thread lets events gather after it wakes (jobs/batching.py): a LINGER_STEP at a
# time while more keep arriving, LINGER at most. Slack was answered already; a lone event's listeners
# start one step later, and under load a batch holds about LINGER's worth (bench_http's load, 6
# interleaved rounds: 0.42-0.54 ms of CPU an event, 2.6-3.6 voluntary context switches, against 0.46-0.57 ms
# and 3.0-4.1 with a flat 0.02 s).
LINGER = 0.1
LINGER_STEP = 0.02


class EventInbox:
    """Events answered but not yet run, claimed in batches by one thread of this process.

    `capacity` bounds what is held in memory (queued, being claimed or running): past it, `put` refuses
    and the edge answers 503, so Slack keeps the event and retries it later.
    """

    MAX_BATCH = 1000

    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], datetime],
        *,
        listener_threads: int = 4,
        capacity: int = 10_000,
        retry_delays: Sequence[float] = RETRY_DELAYS,
        linger: float = LINGER,
        linger_step: float = LINGER_STEP,
    ) -> None:
        self._engine = engine
        self._insert = claim_statement(engine.dialect.name)
        self._clock = clock
        self._listener_threads = listener_threads
        self._capacity = capacity
        self._retry_delays = tuple(retry_delays)
        self._linger = linger
        self._linger_step = linger_step
        self._queued: deque[tuple[str, Listeners]] = deque()
        self._held = 0  # queued + being claimed + running
        self.claim_failures = 0  # batches the database refused (each retried until it takes them)
        self._changed = threading.Condition()
        self._stopping = False
        self._claimer: threading.Thread | None = None
        self._runner: ThreadPoolExecutor | None = None

    def put(self, event_id: str, listeners: Listeners) -> bool:
        """Queue an event; its `listeners` run once its id is claimed. False when the inbox is full."""
        with self._changed:
            if self._held >= self._capacity or self._stopping:
                return False
            if self._claimer is None:
                # Started on first use, in the process that uses it (after gunicorn's fork).
                self._runner = ThreadPoolExecutor(self._listener_threads, thread_name_prefix="event-listeners")
                self._claimer = threading.Thread(target=self._claim_forever, name="event-inbox", daemon=True)
                self._claimer.start()
            self._queued.append((event_id, listeners))
            self._held += 1
            self._changed.notify_all()
        return True

    @property
    def held(self) -> int:
        """Events queued, being claimed or running."""
        return self._held

    def drain(self, timeout: float = 30) -> bool:
        """Stop taking events, and claim and run those held (at shutdown). True if all were done in time."""
        deadline = time.monotonic() + timeout
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
            while self._held and time.monotonic() < deadline:
                self._changed.wait(deadline - time.monotonic())
            done = self._held == 0
        if not done:
            log.warning("stopped with %d Slack events not yet run", self._held)
        return done

    def _claim_forever(self) -> None:
        while True:
            with self._changed:
                while not self._queued:
                    self._changed.wait()
                more_coming = len(self._queued) < self.MAX_BATCH and not self._stopping
            if more_coming:
                gather(self._queued, self._linger, self._linger_step, self.MAX_BATCH)
            with self._changed:
                batch = [self._queued.popleft() for _ in range(min(len(self._queued), self.MAX_BATCH))]
            first_seen = self._claim_until_it_works([event_id for event_id, _ in batch])
            ready: list[Listeners] = []
            for event_id, listeners in batch:
                if event_id in first_seen:
                    # An id twice in one batch: the first delivery runs, the second is a retry.
                    first_seen.discard(event_id)
                    ready.append(listeners)
                else:
                    log.info("duplicate event %s ignored", event_id, extra={"event_id": event_id})
                    self._release()
            # A share of the batch to each runner thread, not an event each: handing work to a thread
            # costs about what running a quick listener does. A slow one delays only its own share.
            for share in range(min(self._listener_threads, len(ready))):
                self._runner.submit(self._run, ready[share :: self._listener_threads])  # type: ignore[union-attr]

    def _claim_until_it_works(self, event_ids: list[str]) -> set[str]:
        attempt = 0
        while True:
            try:
                with write_connection(self._engine) as connection:
                    return claim_slack_events(connection, event_ids, self._clock(), self._insert)
            except Exception as error:
                self.claim_failures += 1
                delay = self._retry_delays[min(attempt, len(self._retry_delays) - 1)]
                attempt += 1
                log.warning(
                    "could not claim %d Slack events (%s); trying again in %.1f s",
                    len(event_ids),
                    error.__class__.__name__,
                    delay,
                )
                time.sleep(delay)

    def _run(self, share: list[Listeners]) -> None:
        for listeners in share:
            try:
                listeners()
            except Exception:
                log.exception("running an event's listeners failed")
            finally:
                self._release()

    def _release(self) -> None:
        with self._changed:
            self._held -= 1
            if not self._held:
                self._changed.notify_all()
