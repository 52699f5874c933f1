"""Engine and session handling: one engine per process, one session per request or job run."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from functools import partial
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

SessionFactory = sessionmaker[Session]

# How long a SQLite writer waits for another writer before giving up ("database is locked").
SQLITE_BUSY_TIMEOUT_SECONDS = 30


def make_engine(url: str, *, sqlite_cache_kib: int | None = None, **kwargs: Any) -> Engine:
    """Create the process's engine. SQLite runs in WAL mode (readers never block the writer) with foreign keys on.

    A PostgreSQL URL may pin a schema with `?options=-csearch_path%3Dname`, which is how the tests
    isolate their runs. `sqlite_cache_kib`: each SQLite connection's page cache, in KiB, where SQLite's
    own (2,000 KiB) is too small for what the engine writes (jobs/helpdesk/ingest_queue.py).
    """
    parsed = make_url(url)
    connect_args: dict[str, Any] = dict(kwargs.pop("connect_args", {}))
    if parsed.get_backend_name() == "sqlite":
        connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_SECONDS)
        # Connections are used from the listener and scheduler threads, never two at a time.
        connect_args.setdefault("check_same_thread", False)
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        event.listen(engine, "connect", _configure_sqlite_connection)
        if sqlite_cache_kib:
            event.listen(engine, "connect", partial(_set_cache_size, kib=sqlite_cache_kib))
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


def _set_cache_size(dbapi_connection: Any, _record: Any, *, kib: int) -> None:
    dbapi_connection.execute(f"PRAGMA cache_size=-{int(kib)}")  # negative: KiB, not pages


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


def sqlite_file(bind: Any) -> str | None:
    """The absolute path of an engine's SQLite database file; None for another database, or one in memory."""
    if not isinstance(bind, Engine) or bind.dialect.name != "sqlite":
        return None
    database = bind.url.database
    return os.path.abspath(database) if database and database != ":memory:" else None


_own_connections = threading.local()
# Database files a thread keeps its own connection to at most (a server has one; a test run has many).
OWN_CONNECTIONS_PER_THREAD = 4


def own_autocommit_connection(engine: Engine) -> sqlite3.Connection:
    """This thread's own connection to the engine's SQLite file, in autocommit mode (made on first use).

    For single-statement writes on a hot path (keeping a helpdesk webhook before its answer when the
    webhook journal cannot take it), outside the writer lock. In autocommit each statement is its own
    transaction, so SQLite's write lock is held only inside one sqlite3_step, which runs without Python's
    GIL: the writer never holds the lock while it waits for the GIL, as writers that queue on the writer
    lock and commit in groups do (figures in docs/ingest-performance.md). Against a `transaction` writer,
    SQLite's busy timeout makes it wait: pysqlite begins a transaction at its first write, and from then
    on holds the write lock, so such a statement can never slip between what a transaction read and what
    it writes.
    """
    database = sqlite_file(engine)
    if database is None:
        raise ValueError("own_autocommit_connection is for SQLite database files")
    # Keyed by pid too: a connection inherited across fork() must not be used by the child.
    key = (os.getpid(), database)
    connections: dict[tuple[int, str], sqlite3.Connection] = _own_connections.__dict__.setdefault("by_file", {})
    connection = connections.get(key)
    if connection is None:
        if len(connections) >= OWN_CONNECTIONS_PER_THREAD:
            connections.pop(next(iter(connections))).close()  # the oldest: this thread is not using it now
        connection = sqlite3.connect(database, timeout=SQLITE_BUSY_TIMEOUT_SECONDS, isolation_level=None)
        _configure_sqlite_connection(connection, None)
        connections[key] = connection
    return connection


def _sqlite_writer_lock(bind: Any) -> AbstractContextManager[None]:
    database = sqlite_file(bind)
    if database is None:
        return nullcontext()
    # Keyed by pid too: a lock inherited across fork() must not be shared with the parent.
    key = (os.getpid(), database)
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
