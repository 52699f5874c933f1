"""`tandem webhooks replay` and `tandem import tickets|pulses`: customer outcomes and pulse history that
come from outside Slack."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from bot.cli_support import CommandFailed, first_line, migrate
from bot.settings import Settings, SettingsError

if TYPE_CHECKING:
    from jobs.imports.csv_file import Progress
    from jobs.imports.pulses import PulseImport
    from jobs.imports.tickets import TicketImport
    from storage.db import SessionFactory

T = TypeVar("T")


def add_helpdesk_commands(commands: Any) -> None:
    webhooks = commands.add_parser("webhooks", help="helpdesk webhooks", description="Helpdesk webhooks.")
    webhook_commands = webhooks.add_subparsers(title="commands", metavar="COMMAND", required=True)
    replay = webhook_commands.add_parser(
        "replay",
        help="read kept helpdesk payloads that could not be read before, again",
        description="Every helpdesk webhook Tandem could not read is kept with the reason. After an upgrade "
        "that fixes the reason, this reads them again and stores their outcomes (each once, however often "
        "it runs).",
    )
    replay.add_argument("--provider", metavar="P", help="only this helpdesk (zendesk, freshdesk, …)")
    replay.set_defaults(run=_webhooks_replay)

    imports = commands.add_parser(
        "import", help="history from CSV files", description="History from CSV files (columns: docs/imports.md)."
    )
    import_commands = imports.add_subparsers(title="commands", metavar="COMMAND", required=True)
    tickets = import_commands.add_parser(
        "tickets",
        help="customer outcomes from a helpdesk's ticket export",
        description="Read a ticket export (one row per ticket: ticket_id and solved_at, reopened_at or "
        "satisfaction, plus optional times, agent and group) and store its solved, reopened and rated "
        "events. Rows with errors are listed by line number and the others imported; importing the "
        "same file again stores nothing twice.",
    )
    tickets.add_argument("file", metavar="FILE.csv", help="UTF-8 CSV with a header line")
    tickets.set_defaults(run=_import_tickets)
    pulses = import_commands.add_parser(
        "pulses",
        help="pulse history from another tool",
        description="Read answers (team, date, question, value, respondent) and store each team's date as a "
        "closed round. Respondents are only counted, never stored; questions and rounds with fewer than the "
        "team's threshold of people are left out. A team's date that already has a round is skipped.",
    )
    pulses.add_argument("file", metavar="FILE.csv", help="UTF-8 CSV with a header line")
    pulses.set_defaults(run=_import_pulses)


def _webhooks_replay(settings: Settings, args: argparse.Namespace) -> None:
    from jobs.helpdesk.ingest import replay_failed
    from jobs.helpdesk.journal_sweep import recover_journal
    from jobs.helpdesk.providers import PROVIDERS
    from storage.db import make_engine, make_session_factory

    if args.provider is not None and args.provider not in PROVIDERS:
        raise SettingsError(f"there is no helpdesk called {args.provider!r}: use one of {', '.join(sorted(PROVIDERS))}")
    migrate(settings)
    engine = make_engine(settings.database_url)
    try:
        # A stopped server's journal first: what it holds may have failed too.
        recovered = recover_journal(engine, PROVIDERS)
        if recovered.segments:
            print(recovered.summary())
        fixed, still = replay_failed(make_session_factory(engine), PROVIDERS, args.provider)
    except SQLAlchemyError as error:
        raise CommandFailed(f"database error: {first_line(error)}") from None
    finally:
        engine.dispose()
    print(f"webhooks replayed: {fixed} read now, {still} still unreadable")


def _import_tickets(settings: Settings, args: argparse.Namespace) -> None:
    from jobs.imports.tickets import import_tickets

    path = _import_file(args.file)
    report = _run_import(settings, args.file, lambda factory, progress: import_tickets(factory, path, progress))
    _finish_import(args.file, report, report.summary())


def _import_pulses(settings: Settings, args: argparse.Namespace) -> None:
    from jobs.imports.pulses import import_pulses
    from jobs.question_bank import load_default_bank

    path = _import_file(args.file)
    bank = load_default_bank()
    report = _run_import(
        settings, args.file, lambda factory, progress: import_pulses(factory, path, bank, datetime.now(UTC), progress)
    )
    for outcome in report.rounds:
        print(outcome.line())
    _finish_import(args.file, report, report.summary())


def _import_file(name: str) -> Path:
    path = Path(name)
    if not path.is_file():
        raise SettingsError(f"{name}: no such file" if not path.exists() else f"{name} is not a file")
    return path


def _run_import(settings: Settings, name: str, run: Callable[[SessionFactory, Progress | None], T]) -> T:
    """Migrate, then run one import with a progress line on a terminal; header problems are usage errors."""
    from jobs.imports.csv_rows import HeaderError
    from storage.db import make_engine, make_session_factory

    migrate(settings)
    engine = make_engine(settings.database_url)
    progress = _import_progress(f"importing {name}")
    try:
        return run(make_session_factory(engine), progress)
    except HeaderError as error:
        raise SettingsError(f"{name}: {error}") from None
    except SQLAlchemyError as error:
        raise CommandFailed(f"database error during the import: {first_line(error)}") from None
    finally:
        engine.dispose()
        if progress is not None:
            print(file=sys.stderr)


def _finish_import(name: str, report: TicketImport | PulseImport, summary: str) -> None:
    """Unused columns and row errors on stderr, the summary on stdout; exit 1 when rows were left out."""
    from jobs.imports.csv_rows import ERRORS_SHOWN

    if report.ignored_columns:
        print(f"{name}: columns not used: {', '.join(report.ignored_columns)}", file=sys.stderr)
    for line, message in report.errors.shown:
        print(f"{name}, line {line}: {message}", file=sys.stderr)
    if report.errors.count > ERRORS_SHOWN:
        print(f"… and {report.errors.count - ERRORS_SHOWN} more rows with errors", file=sys.stderr)
    print(summary)
    if report.stopped:
        raise CommandFailed(f"{name}: {report.stopped}; the rows before it were imported")
    if report.errors.count:
        raise CommandFailed(
            f"{report.errors.count} rows of {name} were not imported (see above): fix them and import the file "
            "again (what was imported is skipped)"
        )


def _import_progress(what: str) -> Progress | None:
    if not sys.stderr.isatty():
        return None

    def show(counted: str, count: int, fraction: float) -> None:
        print(f"\r{what}: {fraction:4.0%} ({count:,} {counted})", end="", file=sys.stderr, flush=True)

    return show
