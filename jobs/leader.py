"""Exactly one process runs the scheduler: whoever holds the 'scheduler' lock (PostgreSQL advisory
lock, or a file lock beside the SQLite database). The others keep trying, so if the leader dies its
lock is released and another process takes over within one retry interval."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy import Engine

from storage.locks import NamedLock

log = logging.getLogger(__name__)

RETRY_SECONDS = 15


class SchedulerLeader:
    def __init__(self, engine: Engine, make_scheduler: Callable[[], BaseScheduler]) -> None:
        self._lock = NamedLock(engine, "scheduler")
        self._make_scheduler = make_scheduler
        self._scheduler: BaseScheduler | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._campaign, name="scheduler-leader", daemon=True)

    @property
    def is_leader(self) -> bool:
        return self._scheduler is not None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.ident is not None:  # a process stopped before it started campaigning
            self._thread.join(timeout=5)
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
            self._scheduler = None
            self._lock.release()

    def _campaign(self) -> None:
        while not self._stopping.is_set():
            try:
                if self._lock.acquire(blocking=False):
                    self._scheduler = self._make_scheduler()
                    self._scheduler.start()
                    log.info("scheduler started in this process (it holds the scheduler lock)")
                    return
            except Exception:
                log.exception("could not take part in the scheduler election; retrying")
            self._stopping.wait(RETRY_SECONDS)
