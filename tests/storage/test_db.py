"""storage.db on a SQLite file: each thread's own autocommit connection, and how its one-statement writes
meet the transactions that queue on the writer lock (neither may fail the other)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from storage.db import (
    OWN_CONNECTIONS_PER_THREAD,
    make_engine,
    make_session_factory,
    own_autocommit_connection,
    sqlite_file,
    transaction,
)


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'tandem.db'}")
    own_autocommit_connection(engine).execute("CREATE TABLE scratch (n INTEGER PRIMARY KEY)")
    yield engine
    engine.dispose()


def scratch(engine: Engine) -> list[int]:
    """What is committed, read on a connection of its own."""
    with engine.connect() as connection:
        return list(connection.execute(text("SELECT n FROM scratch ORDER BY n")).scalars())


def insert_alone(engine: Engine, n: int) -> None:
    own_autocommit_connection(engine).execute("INSERT INTO scratch VALUES (?)", (n,))


def test_each_thread_gets_a_connection_of_its_own_and_keeps_it(sqlite_engine: Engine) -> None:
    mine = own_autocommit_connection(sqlite_engine)
    assert own_autocommit_connection(sqlite_engine) is mine
    with ThreadPoolExecutor(1) as pool:
        theirs = pool.submit(own_autocommit_connection, sqlite_engine).result(10)
    assert theirs is not mine
    assert mine.isolation_level is None
    assert mine.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert mine.execute("PRAGMA foreign_keys").fetchone() == (1,)


def test_a_thread_keeps_connections_to_only_its_latest_few_files(tmp_path: Path) -> None:
    engines = [make_engine(f"sqlite:///{tmp_path / f'db{n}.db'}") for n in range(OWN_CONNECTIONS_PER_THREAD + 1)]
    first = own_autocommit_connection(engines[0])
    later = [own_autocommit_connection(engine) for engine in engines[1:]]
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        first.execute("SELECT 1")
    assert [connection.execute("SELECT 1").fetchone() for connection in later] == [(1,)] * len(later)
    assert own_autocommit_connection(engines[0]) is not first


def test_it_is_only_for_sqlite_database_files() -> None:
    in_memory, postgres = make_engine("sqlite://"), make_engine("postgresql+psycopg://tandem@127.0.0.1:1/none")
    assert sqlite_file(in_memory) is None
    assert sqlite_file(postgres) is None
    for engine in (in_memory, postgres):
        with pytest.raises(ValueError, match="SQLite database files"):
            own_autocommit_connection(engine)


def test_a_write_alone_is_committed_when_it_returns(sqlite_engine: Engine) -> None:
    insert_alone(sqlite_engine, 1)
    assert scratch(sqlite_engine) == [1]


def test_a_transaction_that_read_before_a_write_alone_landed_still_writes(sqlite_engine: Engine) -> None:
    # Were the transaction's read the start of its snapshot, SQLite would refuse its write ("database is
    # locked") once another connection had committed in between: pysqlite begins at the first write.
    with transaction(make_session_factory(sqlite_engine)) as session:
        assert session.execute(text("SELECT count(*) FROM scratch")).scalar_one() == 0
        with ThreadPoolExecutor(1) as pool:
            pool.submit(insert_alone, sqlite_engine, 1).result(10)
        session.execute(text("INSERT INTO scratch VALUES (2)"))
    assert scratch(sqlite_engine) == [1, 2]


def test_a_write_alone_waits_for_a_transaction_that_has_written_to_commit(sqlite_engine: Engine) -> None:
    pool = ThreadPoolExecutor(1)
    try:
        with transaction(make_session_factory(sqlite_engine)) as session:
            session.execute(text("INSERT INTO scratch VALUES (1)"))
            waiting = pool.submit(insert_alone, sqlite_engine, 2)
            time.sleep(0.3)
            assert not waiting.done()
        waiting.result(10)
    finally:
        pool.shutdown()
    assert scratch(sqlite_engine) == [1, 2]


def test_an_engine_can_give_each_of_its_sqlite_connections_a_larger_page_cache(tmp_path: Path) -> None:
    default = make_engine(f"sqlite:///{tmp_path / 'tandem.db'}")
    larger = make_engine(f"sqlite:///{tmp_path / 'tandem.db'}", sqlite_cache_kib=16 * 1024)
    try:
        for engine, kib in ((default, 2000), (larger, 16 * 1024)):
            with engine.connect() as connection:
                assert connection.exec_driver_sql("PRAGMA cache_size").scalar() == -kib  # negative: KiB
                assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"  # configured as every one
    finally:
        default.dispose()
        larger.dispose()
