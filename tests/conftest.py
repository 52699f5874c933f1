"""Shared fixtures: databases (SQLite always, PostgreSQL when TANDEM_TEST_POSTGRES_URL is set), the Slack stand-in."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from storage.db import make_engine
from storage.migrate import upgrade
from tests.slack_standin import SlackStandin

POSTGRES_URL = os.environ.get("TANDEM_TEST_POSTGRES_URL", "")
BACKENDS = ["sqlite", *(["postgresql"] if POSTGRES_URL else [])]


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'tandem.db'}"


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each backend; on PostgreSQL, a schema of its own that is dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tandem.db'}"
        return
    schema = f"tandem_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        # Named after the schema, so the connections a test left behind can be found.
        yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}&application_name={schema}"
    finally:
        _drop_schema(admin, schema)
        admin.dispose()


def _drop_schema(admin: Engine, schema: str) -> None:
    """Work a test's server handed to a background thread (a Home publish, an event's listener) may still
    hold locks on the schema: end those sessions first, or dropping the schema can deadlock with them.
    Such a thread may connect again between the two, so a drop that PostgreSQL picks to break a deadlock
    is tried again."""
    for attempt in range(5):
        with admin.connect() as connection:
            connection.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :name"),
                {"name": schema},
            )
            try:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                return
            except OperationalError:
                if attempt == 4:
                    raise
        time.sleep(0.2)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated database of each backend."""
    yield from _migrated(database_url)


@pytest.fixture
def migrated_sqlite(sqlite_url: str) -> Iterator[Engine]:
    """A migrated SQLite database only: for what only SQLite has."""
    yield from _migrated(sqlite_url)


def _migrated(url: str) -> Iterator[Engine]:
    engine = make_engine(url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def standin() -> Iterator[SlackStandin]:
    with SlackStandin() as server:
        yield server
