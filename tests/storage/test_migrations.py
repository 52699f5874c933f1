from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from storage.db import make_engine
from storage.migrate import current_revision, head_revision, is_up_to_date, upgrade
from storage.models import Base


def test_it_migrates_an_empty_database_to_the_newest_schema(database_url: str) -> None:
    engine = make_engine(database_url)
    assert not is_up_to_date(engine)
    before, after = upgrade(engine)
    assert (before, after) == (None, head_revision())
    assert {"members", "teams", "team_members", "processed_slack_events", "job_runs"} <= set(
        inspect(engine).get_table_names()
    )
    engine.dispose()


def test_it_does_nothing_when_run_again(engine: Engine) -> None:
    assert upgrade(engine) == (head_revision(), head_revision())
    assert current_revision(engine) == head_revision()


def test_the_migrations_build_exactly_what_the_models_describe(engine: Engine) -> None:
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_sqlite_runs_in_wal_mode_with_foreign_keys_on(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()
