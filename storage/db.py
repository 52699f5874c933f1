"""Engine and session handling: one engine per process, one session per request or job run."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

SessionFactory = sessionmaker[Session]

# How long a SQLite writer waits for another writer before giving up ("database is locked").
SQLITE_BUSY_TIMEOUT_SECONDS = 30


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create the process's engine. SQLite runs in WAL mode (readers never block the writer) with foreign keys on.

    A PostgreSQL URL may pin a schema with `?options=-csearch_path%3Dname`, which is how the tests
    isolate their runs.
    """
    parsed = make_url(url)
    connect_args: dict[str, Any] = dict(kwargs.pop("connect_args", {}))
    if parsed.get_backend_name() == "sqlite":
        connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_SECONDS)
        # Connections are used from the listener and scheduler threads, never two at a time.
        connect_args.setdefault("check_same_thread", False)
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        event.listen(engine, "connect", _configure_sqlite_connection)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, connect_args=connect_args, **kwargs)


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        # In WAL mode NORMAL is crash-safe for the database; only the last commits can be lost on power loss.
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def make_session_factory(engine: Engine) -> SessionFactory:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: SessionFactory) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any exception.

    On SQLite, writers first queue on a lock shared by every process using the file. SQLite allows
    one writer at a time anyway, but makes the others sleep and retry (for up to 100 ms a try);
    queued on a lock, the next writer starts the moment the previous one commits.
    """
    with _sqlite_writer_lock(factory.kw.get("bind")), factory.begin() as session:
        yield session


@contextmanager
def write_connection(engine: Engine) -> Iterator[Connection]:
    """`transaction` on a Core connection, without an ORM session: for a hot write path (helpdesk webhooks)."""
    with _sqlite_writer_lock(engine), engine.begin() as connection:
        yield connection


class _SqliteWriterLock:
    """A thread lock (for this process) plus an flock on a file beside the database (for the others)."""

    def __init__(self, database: str) -> None:
        self._threads = threading.Lock()
        self._file = open(f"{database}.writer.lock", "a")  # noqa: SIM115 - open for the process's life

    def __enter__(self) -> None:
        self._threads.acquire()
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise

    def __exit__(self, *_exc: object) -> None:
        fcntl.flock(self._file, fcntl.LOCK_UN)
        self._threads.release()


_writer_locks: dict[tuple[int, str], _SqliteWriterLock] = {}
_writer_locks_guard = threading.Lock()


def _sqlite_writer_lock(bind: Any) -> AbstractContextManager[None]:
    if not isinstance(bind, Engine) or bind.dialect.name != "sqlite":
        return nullcontext()
    database = bind.url.database
    if not database or database == ":memory:":
        return nullcontext()
    # Keyed by pid too: a lock inherited across fork() must not be shared with the parent.
    key = (os.getpid(), os.path.abspath(database))
    with _writer_locks_guard:
        lock = _writer_locks.get(key)
        if lock is None:
            lock = _writer_locks[key] = _SqliteWriterLock(key[1])
    return lock


def database_is_reachable(engine: Engine) -> bool:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:
        return False
    return True
