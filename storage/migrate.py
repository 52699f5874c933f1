"""Alembic, driven from code: no alembic.ini, the URL comes from Settings."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from storage.locks import held

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head() or ""


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def is_up_to_date(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()


def upgrade(engine: Engine, revision: str | None = None) -> tuple[str | None, str]:
    """Migrate to the newest schema (or to `revision`, for tests of a migration) under a cross-process lock;
    returns (before, after) revisions.

    Several `tandem serve` replicas may start together; the lock makes the second one wait and then
    find nothing to do.
    """
    target = revision or head_revision()
    with held(engine, "migrations"):
        before = current_revision(engine)
        if before != target:
            command.upgrade(_config(engine), target)
        return before, target


def downgrade(engine: Engine, revision: str) -> None:
    """Migrate back to `revision` (for tests of a migration's downgrade), under the same lock as `upgrade`."""
    with held(engine, "migrations"):
        command.downgrade(_config(engine), revision)
