"""`tandem digest` and `tandem export`: the manager-facing numbers from the command line."""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from bot.cli_support import CommandFailed, first_line, migrate
from bot.settings import Settings, SettingsError

WEEK_FORMAT = re.compile(r"^(\d{4})-W(\d{2})$")


def add_report_commands(commands: Any) -> None:
    digest = commands.add_parser(
        "digest",
        help="show (or post) the weekly team digests",
        description="Print each team's weekly digest; post it to the team's channel only with --post. "
        "A digest is posted once per team and week however often this runs.",
    )
    digest.add_argument("--team", metavar="T", help="only this team (by name)")
    digest.add_argument("--week", metavar="2026-W47", type=parse_week, help="ISO week (default: last week)")
    digest.add_argument("--format", choices=("text", "json"), default="text", help="text (default) or json")
    digest.add_argument("--post", action="store_true", help="also post to each team's channel")
    digest.set_defaults(run=_digest)

    export = commands.add_parser(
        "export",
        help="write the anonymized team-week panel",
        description="Write the team-week panel (anonymity rules applied, suppressed cells empty and flagged) "
        "for analysts, with an 'All teams' roll-up per week.",
    )
    export.add_argument("--format", choices=("csv", "parquet"), default="csv", help="csv (default) or parquet")
    export.add_argument("--weeks", type=_weeks, default=52, help="how many weeks up to --week (default 52)")
    export.add_argument("--week", metavar="2026-W47", type=parse_week, help="the last week (default: last week)")
    export.add_argument("--output", metavar="FILE", help="where to write (default tandem-panel-WEEK.csv|parquet)")
    export.set_defaults(run=_export)

    demo = commands.add_parser(
        "demo",
        help="see Tandem work with no Slack workspace and no network",
        description="Seed a synthetic organisation (8 teams, 150 people, 12 weeks) into a new SQLite database "
        "in DIR, run the real weekly digest job on it, print the digests and write their charts and an HTML "
        "page showing each digest as it looks in Slack. Needs no settings.",
    )
    demo.add_argument("--dir", default="tandem-demo", metavar="DIR", help="where to write (default ./tandem-demo)")
    demo.set_defaults(run=_demo)


def _demo(_settings: Settings, args: argparse.Namespace) -> None:
    from bot.demo import demo_report, run_demo

    try:
        result = run_demo(Path(args.dir).resolve(), datetime.now(UTC))
    except OSError as error:
        raise CommandFailed(f"cannot write the demo to {args.dir}: {error.strerror or error}") from None
    print(demo_report(result))


def parse_week(text: str) -> date:
    """The Monday of an ISO week written 2026-W47."""
    match = WEEK_FORMAT.match(text.strip())
    try:
        if match is None:
            raise ValueError
        return date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO week: write it like 2026-W47") from None


def _weeks(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 520:
        raise argparse.ArgumentTypeError("--weeks takes a number of weeks from 1 to 520")
    return int(text)


def _digest(settings: Settings, args: argparse.Namespace) -> None:
    from jobs.digest import iso_week, previous_week
    from jobs.digest_build import week_digests
    from jobs.digest_text import digest_text
    from jobs.question_bank import load_default_bank
    from storage.db import make_engine, make_session_factory

    if args.post:
        settings.require_bot_token()
    migrate(settings)
    now = datetime.now(UTC)
    week = args.week or previous_week(now.date())
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    try:
        with factory() as session:
            team_ids = _team_filter(session, args.team)
            digests = week_digests(session, week, load_default_bank().driver_names, team_ids)
        if args.format == "json":
            print(
                json.dumps({"schema": 1, "week": iso_week(week), "digests": [d.as_json() for d in digests]}, indent=2)
            )
        else:
            print("\n\n".join(digest_text(d) for d in digests) or f"no teams to show for {iso_week(week)}")
        if args.post:
            _post(settings, factory, digests, week, now)
    except SQLAlchemyError as error:
        raise CommandFailed(f"database error: {first_line(error)}") from None
    finally:
        engine.dispose()


def _post(settings: Settings, factory: Any, digests: list[Any], week: date, now: datetime) -> None:
    from bot.digest_publisher import SlackDigestPublisher
    from bot.slack_client import make_web_client
    from jobs.digest_job import claim_digests, post_claimed
    from storage.digests import digest_teams

    wanted = {d.team_id for d in digests}
    with factory() as session:
        teams = [t for t in digest_teams(session) if t.team_id in wanted]
    without_channel = [t.name for t in teams if not t.channel_id]
    claimed = claim_digests(factory, [t for t in teams if t.channel_id], week, now)
    publisher = SlackDigestPublisher(make_web_client(settings, retry_rate_limits=True))
    report = post_claimed(factory, publisher, [d for d in digests if d.team_id in claimed], claimed, now)
    skipped = len(wanted) - len(claimed) - len(without_channel)
    print(
        f"{report.summary()}, {skipped} already posted or being posted, {len(without_channel)} without a channel",
        file=sys.stderr,
    )
    if without_channel:
        print("set a channel with /pulse team channel NAME #channel: " + ", ".join(without_channel), file=sys.stderr)
    if report.failed:
        raise CommandFailed("could not post the digest of " + ", ".join(report.failed))


def _export(settings: Settings, args: argparse.Namespace) -> None:
    from jobs.digest import iso_week, previous_week
    from jobs.export import export_frame
    from storage.db import make_engine, make_session_factory

    migrate(settings)
    week = args.week or previous_week(datetime.now(UTC).date())
    output = Path(args.output or f"tandem-panel-{iso_week(week)}.{args.format}")
    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine)() as session:
            frame = export_frame(session, week, args.weeks)
    except SQLAlchemyError as error:
        raise CommandFailed(f"database error: {first_line(error)}") from None
    finally:
        engine.dispose()
    try:
        if args.format == "csv":
            frame.to_csv(output, index=False)
        else:
            frame.to_parquet(output, index=False)
    except OSError as error:
        raise CommandFailed(f"cannot write {output}: {error.strerror or error}") from None
    print(f"wrote {len(frame):,} team-weeks to {output}")


def _team_filter(session: Any, name: str | None) -> list[int] | None:
    from storage.teams import team_named

    if name is None:
        return None
    team = team_named(session, name)
    if team is None:
        raise SettingsError(f"there is no team named {name!r}: /pulse teams in Slack lists them")
    return [team.id]
