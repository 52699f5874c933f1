"""What the `tandem` subcommands share: the runtime-failure exception, migrating first, one-line errors."""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError

from bot.settings import Settings

log = logging.getLogger("tandem")


class CommandFailed(Exception):
    """A runtime failure with a one-line explanation (exit code 1)."""


def migrate(settings: Settings) -> tuple[str | None, str]:
    from storage.db import make_engine
    from storage.migrate import upgrade

    engine = make_engine(settings.database_url)
    try:
        before, after = upgrade(engine)
    except SQLAlchemyError as error:
        raise CommandFailed(
            f"cannot migrate the database at {settings.database_url_for_display}: {first_line(error)}"
        ) from None
    finally:
        engine.dispose()
    if before != after:
        log.info("database migrated from %s to %s", before or "empty", after)
    return before, after


def first_line(error: Exception) -> str:
    original = getattr(error, "orig", None) or error
    return (str(original).strip().splitlines() or [error.__class__.__name__])[0]
