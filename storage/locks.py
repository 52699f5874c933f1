"""Cross-process named locks: a PostgreSQL advisory lock, or a file lock beside a SQLite database.

Used to run migrations once when several processes start together, and to elect the one process
that runs the scheduler.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, Engine, text

# Advisory locks are shared by the whole database: the key includes the schema, so two installations (or
# test runs) in schemas of their own never hold each other's locks.
_ADVISORY_KEY = "hashtextextended('tandem:' || current_schema() || ':' || :name, 0)"
_memory_locks: dict[str, threading.Lock] = {}
_memory_guard = threading.Lock()


class NamedLock:
    """A lock shared by every process using the same database. Not re-entrant."""

    def __init__(self, engine: Engine, name: str) -> None:
        self._engine = engine
        self._name = name
        self._connection: Connection | None = None
        self._file: IO[str] | None = None
        self._memory: threading.Lock | None = None

    def acquire(self, *, blocking: bool = True) -> bool:
        if self._engine.dialect.name == "postgresql":
            return self._acquire_advisory(blocking)
        database = self._engine.url.database
        if not database or database == ":memory:":
            return self._acquire_memory(blocking)
        return self._acquire_file(Path(f"{database}.{self._name}.lock"), blocking)

    def release(self) -> None:
        if self._connection is not None:
            self._connection.execute(text(f"SELECT pg_advisory_unlock({_ADVISORY_KEY})"), {"name": self._name})
            self._connection.close()
            self._connection = None
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
        if self._memory is not None:
            self._memory.release()
            self._memory = None

    def _acquire_advisory(self, blocking: bool) -> bool:
        # A session-level lock lives as long as its connection, so a crashed holder frees it.
        connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        if blocking:
            connection.execute(text(f"SELECT pg_advisory_lock({_ADVISORY_KEY})"), {"name": self._name})
            got = True
        else:
            query = text(f"SELECT pg_try_advisory_lock({_ADVISORY_KEY})")
            got = bool(connection.execute(query, {"name": self._name}).scalar())
        if got:
            self._connection = connection
        else:
            connection.close()
        return got

    def _acquire_file(self, path: Path, blocking: bool) -> bool:
        handle = open(path, "a+")  # noqa: SIM115 - held open for as long as the lock is held
        flags = fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB
        try:
            fcntl.flock(handle, flags)
        except BlockingIOError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle
        return True

    def _acquire_memory(self, blocking: bool) -> bool:
        with _memory_guard:
            lock = _memory_locks.setdefault(self._name, threading.Lock())
        got = lock.acquire(blocking=blocking)
        if got:
            self._memory = lock
        return got


@contextmanager
def held(engine: Engine, name: str) -> Iterator[None]:
    lock = NamedLock(engine, name)
    lock.acquire()
    try:
        yield
    finally:
        lock.release()
