"""The `tandem` command. Exit codes: 0 success, 2 usage or configuration error, 1 runtime failure."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError

from bot.cli_helpdesk import add_helpdesk_commands
from bot.cli_reports import add_report_commands
from bot.cli_support import CommandFailed, first_line, migrate
from bot.logging_setup import configure_logging
from bot.settings import WHERE_TO_GET, Settings, SettingsError, load_settings

log = logging.getLogger("tandem")

# Slack errors that mean the token itself is wrong: configuration, not a passing failure.
TOKEN_ERRORS = {"invalid_auth", "not_authed", "token_revoked", "account_inactive", "token_expired"}


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help(sys.stderr)
        return 2
    try:
        settings = load_settings(os.environ)
        configure_logging(settings.log_level, settings.log_format)
        args.run(settings, args)
    except SettingsError as error:
        print(f"tandem: {error}", file=sys.stderr)
        return 2
    except CommandFailed as error:
        print(f"tandem: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tandem",
        description="Tandem: pulse surveys in Slack, with employee and customer experience side by side.",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="serve Slack events, helpdesk webhooks and health checks",
        description="Migrate the database if needed, check the Slack token, then serve HTTP on "
        "TANDEM_HOST:TANDEM_PORT until SIGTERM (in-flight requests finish first).",
    )
    serve.set_defaults(run=_serve)

    db = commands.add_parser("db", help="database maintenance", description="Database maintenance.")
    db_commands = db.add_subparsers(title="commands", metavar="COMMAND", required=True)
    upgrade = db_commands.add_parser(
        "upgrade",
        help="migrate the database to the newest schema",
        description="Apply every pending migration to TANDEM_DATABASE_URL (safe to run repeatedly).",
    )
    upgrade.set_defaults(run=_db_upgrade)

    users = commands.add_parser("users", help="the member directory", description="The member directory.")
    users_commands = users.add_subparsers(title="commands", metavar="COMMAND", required=True)
    sync = users_commands.add_parser(
        "sync",
        help="copy the workspace's people from Slack into the member directory",
        description="Page through Slack's users.list and store every human with time zone and email; "
        "bots and Slackbot are skipped, deleted users are kept as inactive. Safe to run repeatedly.",
    )
    sync.set_defaults(run=_users_sync)

    pulse = commands.add_parser("pulse", help="pulse rounds", description="Pulse rounds.")
    pulse_commands = pulse.add_subparsers(title="commands", metavar="COMMAND", required=True)
    send = pulse_commands.add_parser(
        "send",
        help="open due pulse rounds and send their DMs now",
        description="Do what the scheduler does each minute for pulses, once: open the rounds that are due "
        "and send every DM whose local time has come. With --now, open a round for each team that has none "
        "open (whatever the schedule) and send every unsent DM at once, inside the window or not. Safe to "
        "repeat: each DM is claimed in the database and sent once.",
    )
    send.add_argument("--team", metavar="T", help="only this team (by name)")
    send.add_argument("--now", action="store_true", help="do not wait for the schedule or members' local time")
    send.set_defaults(run=_pulse_send)

    add_helpdesk_commands(commands)
    add_report_commands(commands)
    return parser


def _serve(settings: Settings, _args: argparse.Namespace) -> None:
    from bot.server import serve

    settings.require_slack()
    migrate(settings)
    _check_token(settings)
    serve(settings)


def _db_upgrade(settings: Settings, _args: argparse.Namespace) -> None:
    before, after = migrate(settings)
    print(
        f"database {settings.database_url_for_display} is at revision {after}"
        + ("" if before == after else f" (was {before or 'empty'})")
    )


def _users_sync(settings: Settings, _args: argparse.Namespace) -> None:
    from bot.slack_client import iter_user_pages, make_web_client
    from jobs.directory import sync_directory
    from storage.db import make_engine, make_session_factory

    settings.require_bot_token()
    migrate(settings)
    engine = make_engine(settings.database_url)
    client = make_web_client(settings)
    try:
        report = sync_directory(
            iter_user_pages(client), make_session_factory(engine), datetime.now(UTC), _progress_printer()
        )
    except SlackApiError as error:
        raise _slack_failure(error) from None
    except SQLAlchemyError as error:
        raise CommandFailed(f"database error during sync: {first_line(error)}") from None
    finally:
        engine.dispose()
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(report.summary())


def _pulse_send(settings: Settings, args: argparse.Namespace) -> None:
    from bot.notifier import SlackNotifier
    from bot.slack_client import make_web_client
    from jobs.pulse_dispatch import PulseDispatcher
    from jobs.pulse_rounds import open_due_rounds
    from jobs.question_bank import load_default_bank
    from storage.db import make_engine, make_session_factory, transaction
    from storage.teams import pulsed_teams, team_named

    settings.require_bot_token()
    migrate(settings)
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    bank = load_default_bank()
    notifier = SlackNotifier(make_web_client(settings, retry_rate_limits=False))
    try:
        with transaction(factory) as session:
            if args.team is not None:
                team = team_named(session, args.team)
                if team is None:
                    raise SettingsError(f"there is no team named {args.team!r}: /pulse teams in Slack lists them")
                team_ids: list[int] | None = [team.id]
            else:
                team_ids = None if not args.now else [team.id for team in pulsed_teams(session)]
        now = datetime.now(UTC)
        for opened in open_due_rounds(factory, bank, now, team_ids, right_now=args.now):
            print(
                f"team {opened.team}: round {opened.number} opened for {opened.members} members "
                f"in {opened.groups} question group(s)"
            )
        dispatcher = PulseDispatcher(factory, notifier, bank.agreement_labels, lambda: datetime.now(UTC))
        report = dispatcher.send_due(team_ids, right_now=args.now)
    except SQLAlchemyError as error:
        raise CommandFailed(f"database error: {first_line(error)}") from None
    finally:
        engine.dispose()
    print(f"pulse DMs: {report.summary()}")
    if report.errors:
        print("failures: " + ", ".join(f"{count} {error}" for error, count in sorted(report.errors.items())))


def _check_token(settings: Settings) -> None:
    """Refuse to serve with a token Slack rejects; a Slack outage only warns (requests can still queue)."""
    from bot.slack_client import make_web_client

    try:
        identity = make_web_client(settings, timeout=10).auth_test()
    except SlackApiError as error:
        raise _slack_failure(error) from None
    except OSError as error:
        log.warning("could not reach Slack at %s to check the token: %s", settings.slack_api_url, error)
        return
    log.info("connected to Slack workspace %s as %s", identity.get("team"), identity.get("user"))
    _forget_removal(settings)


def _forget_removal(settings: Settings) -> None:
    """Slack accepts the token, so the app is installed (again): scheduled work resumes."""
    from storage.db import make_engine, make_session_factory, transaction
    from storage.workspace import clear_app_removed

    engine = make_engine(settings.database_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            removed = clear_app_removed(session)
    finally:
        engine.dispose()
    if removed is not None:
        log.info("Tandem is installed again (it was removed: %s): scheduled pulses and digests resume", removed)


def _slack_failure(error: SlackApiError) -> Exception:
    code = error.response.get("error", "unknown_error") if error.response else "unknown_error"
    if code in TOKEN_ERRORS:
        return SettingsError(f"SLACK_BOT_TOKEN was rejected by Slack ({code}): {WHERE_TO_GET['SLACK_BOT_TOKEN']}")
    if code == "missing_scope":
        return SettingsError(
            "the Slack app lacks a scope Tandem needs (missing_scope): add the scopes in manifest.yml "
            "and reinstall the app"
        )
    return CommandFailed(f"Slack answered {code}")


def _progress_printer() -> Callable[[int, int], None] | None:
    if not sys.stderr.isatty():
        return None

    def show(pages: int, users: int) -> None:
        unit = "page" if pages == 1 else "pages"
        print(f"\rsyncing users: {users:,} read in {pages:,} {unit}", end="", file=sys.stderr, flush=True)

    return show


if __name__ == "__main__":
    sys.exit(main())
