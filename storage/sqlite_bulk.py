"""Many rows written to SQLite in a few statements, each a single step of the SQLite engine.

Why: the webhook storer is one thread among a worker's sixteen request threads, and pysqlite gives up
Python's GIL at every step of a statement: every row a RETURNING clause hands back, every parameter set
of an executemany. Under load each time it gives the GIL up it queues behind the request threads to get
it back, so a batch of 512 deliveries written row by row held SQLite's write lock for 300-800 ms on
50-80 ms of CPU, and the storer fell behind the senders (1,300 stored a second against 1,850 answered
over 70 s; docs/ingest-performance.md). Written here, a batch is a handful of steps. It also skips
SQLAlchemy's per-row parameter work, about 40% of the storer's CPU.

The rows a multi-row `INSERT ... ON CONFLICT DO NOTHING` added are the last `changes()` rows by rowid:
the statement runs inside a transaction that holds SQLite's one write lock, so no other writer can add a
row between the insert and the read, and SQLite gives a new row the largest rowid yet plus one.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

# Parameters a statement binds at most: far below SQLite's limit (32,766 since 3.32), so one statement
# never grows past a few hundred kilobytes of SQL text.
MAX_PARAMETERS = 8_000


def driver_connection(db: Session | Connection) -> sqlite3.Connection:
    """The pysqlite connection under a Session or Core connection, inside the caller's transaction (pysqlite
    begins it at the first write, whichever of the two makes it)."""
    if isinstance(db, Session):
        db.flush()  # rows the session holds pending go first, as before any statement it runs itself
    connection = db.connection() if isinstance(db, Session) else db
    raw = connection.connection.driver_connection
    if not isinstance(raw, sqlite3.Connection):
        raise TypeError("storage.sqlite_bulk writes to SQLite only")
    return raw


def execute(connection: sqlite3.Connection, sql: str, parameters: Sequence[Any]) -> sqlite3.Cursor:
    """`connection.execute`, its errors raised as SQLAlchemy's (IntegrityError, OperationalError...), as
    every other statement of the caller's transaction raises them."""
    try:
        return connection.execute(sql, parameters)
    except sqlite3.Error as error:
        raise DBAPIError.instance(sql, parameters, error, sqlite3.Error) from error


def insert_new(
    connection: sqlite3.Connection, table: Table, rows: Sequence[Mapping[str, Any]], returned: Sequence[str]
) -> list[tuple[Any, ...]]:
    """Insert `rows` (every one with the same keys: column names) in order, skipping any that conflicts
    with a row stored before or earlier in `rows`; the `returned` columns of those inserted."""
    if not rows:
        return []
    names = tuple(rows[0])
    per_statement = max(1, MAX_PARAMETERS // len(names))
    added: list[tuple[Any, ...]] = []
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        cursor = execute(connection, insert_sql(table, names, len(chunk)), column_values(table, names, chunk))
        if cursor.rowcount > 0:
            added += _last_rows(connection, table.name, returned, cursor.rowcount)
    return added


def _last_rows(connection: sqlite3.Connection, table: str, columns: Sequence[str], count: int) -> list[tuple[Any, ...]]:
    """The `columns` of the table's last `count` rows by rowid, oldest first, read in one step: one JSON
    array rather than a step (and a GIL hand-over) a row."""
    listed = ", ".join(columns)
    sql = (
        f"SELECT json_group_array(json_array({listed})) FROM (SELECT {listed} FROM {table} ORDER BY rowid DESC LIMIT ?)"
    )
    [(found,)] = execute(connection, sql, (count,)).fetchall()
    return [tuple(row) for row in reversed(json.loads(found))]


@lru_cache(maxsize=32)
def insert_sql(table: Table, names: tuple[str, ...], count: int) -> str:
    """`INSERT ... ON CONFLICT DO NOTHING` of `count` rows of the `names` columns, in that order. Bounded:
    batches come in every size up to hundreds of rows, and a full one's SQL is tens of kilobytes."""
    row = f"({', '.join('?' for _ in names)})"
    return f"INSERT INTO {table.name} ({', '.join(names)}) VALUES {', '.join([row] * count)} ON CONFLICT DO NOTHING"


def column_values(table: Table, names: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> list[Any]:
    """The rows' values of the `names` columns, row after row, converted as SQLAlchemy converts them on
    SQLite (aware datetimes to UTC text, booleans to 0/1), so they read back the same whichever way they
    were written."""
    convert = [(name, _converters(table)[name]) for name in names]
    return [to_column(row[name]) for row in rows for name, to_column in convert]


@cache
def _converters(table: Table) -> dict[str, Callable[[Any], Any]]:
    dialect = sqlite.dialect()
    # dialect_impl: a TypeDecorator's own bind_processor converts to the generic type's value only (an
    # aware datetime, which pysqlite's default adapter would store with a "+00:00" SQLAlchemy never writes).
    processors = {column.name: column.type.dialect_impl(dialect).bind_processor(dialect) for column in table.columns}
    return {name: processor or _unchanged for name, processor in processors.items()}


def _unchanged(value: Any) -> Any:
    return value
