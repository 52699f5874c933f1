"""Use cases: /pulse status, teams, audit, admins and helpdesk mapping."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select

from bot.admin.context import AdminError, CommandContext, Reply, channel_link, mention, schedule_words
from bot.commands import PulseCommand
from jobs.pulse_rounds import team_schedule
from jobs.pulse_schedule import next_pulse_day
from storage.audit import count_changes, recent_changes
from storage.helpdesk_events import recent_event_counts
from storage.helpdesk_map import map_agent, map_group, mapped_agents, mapped_groups
from storage.members import member_named
from storage.models import Delivery, Member, PulseRound, Team
from storage.status import TeamHealth, configuration_problems, workspace_health
from storage.teams import team_summaries

TEAMS_PAGE = 40
AUDIT_PAGE = 20
STATUS_ROWS = 10


def teams(ctx: CommandContext, command: PulseCommand) -> Reply:
    page = command.number or 1
    rows = team_summaries(ctx.session, (page - 1) * TEAMS_PAGE, TEAMS_PAGE + 1)
    if not rows:
        if page == 1:
            return Reply("No teams yet: `/pulse team create NAME` makes the first.", refresh_home=False)
        raise AdminError("teams", f"There is no page {page}.")
    lines = [f"*Teams* (page {page}; size = people asked, of members)"]
    for summary in rows[:TEAMS_PAGE]:
        team = summary.team
        state = "paused" if team.paused else schedule_words(team)
        lines.append(
            f"• *{team.name}*: {summary.pulsed} of {summary.members} · {state} · {channel_link(team.channel_id)}"
            + (" · linked" if team.source_kind != "manual" else "")
        )
    if len(rows) > TEAMS_PAGE:
        lines.append(f"_More: `/pulse teams page {page + 1}`_")
    return Reply("\n".join(lines), refresh_home=False)


def status(ctx: CommandContext, command: PulseCommand) -> Reply:
    health = workspace_health(ctx.session)
    rows = health.teams
    running = [row for row in rows if not row.paused]
    upcoming = _next_days(running, ctx.now)
    lines = [
        f"*Tandem status*: {len(rows)} teams ({len(rows) - len(running)} paused), "
        f"{health.active_members:,} people in the directory",
        "*Next rounds*",
        *(f"• {day:%a %d %b}: {name}" for day, name in upcoming[:STATUS_ROWS]),
    ]
    if len(upcoming) > STATUS_ROWS:
        lines.append(f"• … and {len(upcoming) - STATUS_ROWS} more teams")
    lines.append("*Last rounds*")
    lines.extend(_last_rounds(ctx) or ["• No round has closed yet."])
    agents, groups = mapped_agents(ctx.session), mapped_groups(ctx.session)
    received, events, unattributed = recent_event_counts(ctx.session, ctx.now - timedelta(days=7))
    lines.append(
        f"*Helpdesk*, last 7 days: {received:,} webhooks received, {events:,} customer outcomes"
        + (f" ({unattributed:,} not attributed to a team: map their agent or group)" if unattributed else "")
        + f"; {len(agents)} agents and {len(groups)} groups mapped to teams"
    )
    problems = configuration_problems(ctx.session, teams=rows)
    lines.append("*Needs attention*" if problems else "*Nothing needs attention.*")
    lines.extend(problems)
    return Reply("\n".join(lines), refresh_home=False)


def _next_days(rows: list[TeamHealth], now: datetime) -> list[tuple[date, str]]:
    """(next pulse day, team) of each team. Most teams share a handful of schedules: each is worked out
    once (a weekly cadence ignores the week it counts from), so 1,000 teams cost a few calls, not 1,000."""
    days: dict[tuple[Any, ...], date] = {}
    upcoming = []
    for row in rows:
        anchor = row.created_at if row.every_weeks > 1 else None  # team_health leaves it out for weekly teams
        key = (row.pulse_weekday, row.every_weeks, row.working_days, anchor.isocalendar()[:2] if anchor else None)
        if key not in days:
            days[key] = next_pulse_day(team_schedule(row._replace(created_at=anchor or now)), now)
        upcoming.append((days[key], row.name))
    return sorted(upcoming)


def _last_rounds(ctx: CommandContext) -> list[str]:
    """Participation of the most recently closed rounds, one per team; a count only when it reached k.

    Picks the rounds first and counts deliveries for those few only (not for every team's latest round).
    """
    latest = (
        select(PulseRound.team_id, func.max(PulseRound.number).label("number"))
        .where(PulseRound.closed_at.is_not(None), PulseRound.imported.is_(False))
        .group_by(PulseRound.team_id)
        .subquery()
    )
    rounds = ctx.session.execute(
        select(PulseRound.id, Team.name, PulseRound.number, PulseRound.anonymity_threshold)
        .join(latest, (latest.c.team_id == PulseRound.team_id) & (latest.c.number == PulseRound.number))
        .join(Team, Team.id == PulseRound.team_id)
        .order_by(PulseRound.closed_at.desc())
        .limit(STATUS_ROWS)
    ).all()
    counts = {
        round_id: (asked, answered)
        for round_id, asked, answered in ctx.session.execute(
            select(Delivery.round_id, func.count(), func.count().filter(Delivery.answered.is_(True)))
            .where(Delivery.round_id.in_([r.id for r in rounds]))
            .group_by(Delivery.round_id)
        )
    }
    lines = []
    for round_id, name, number, k in rounds:
        asked, answered = counts.get(round_id, (0, 0))
        if answered >= k and asked:
            lines.append(f"• {name} round {number}: {answered} of {asked} answered ({answered / asked:.0%})")
        else:
            lines.append(f"• {name} round {number}: fewer than {k} answered, so its results stay hidden")
    return lines


def audit(ctx: CommandContext, command: PulseCommand) -> Reply:
    page = command.number or 1
    entries = recent_changes(ctx.session, (page - 1) * AUDIT_PAGE, AUDIT_PAGE)
    total = count_changes(ctx.session)
    if not entries:
        return Reply("No changes recorded yet." if page == 1 else f"There is no page {page}.", refresh_home=False)
    lines = [f"*Audit log* (newest first, {total} changes)"]
    lines.extend(f"• {e.at:%Y-%m-%d %H:%M} UTC {mention(e.actor_user_id)}: {e.detail}" for e in entries)
    if total > page * AUDIT_PAGE:
        lines.append(f"_Older: `/pulse audit page {page + 1}`_")
    return Reply("\n".join(lines), refresh_home=False)


def admins(ctx: CommandContext, command: PulseCommand) -> Reply:
    rows = ctx.session.scalars(
        select(Member)
        .where(Member.is_deleted.is_(False), or_(Member.is_admin, Member.is_owner, Member.tandem_admin))
        .order_by(Member.name)
    )
    workspace, added = [], []
    for member in rows:
        (workspace if member.is_admin or member.is_owner else added).append(mention(member.slack_user_id))
    return Reply(
        f"*Tandem admins*\n• Workspace admins and owners: {' '.join(workspace) or 'none synced yet'}\n"
        f"• Added with `/pulse admin add`: {' '.join(added) or 'nobody'}",
        refresh_home=False,
    )


def add_admin(ctx: CommandContext, command: PulseCommand) -> Reply:
    _found, refused = ctx.members_of(command.users)
    if refused:
        raise AdminError("admin", f"{mention(refused[0])} cannot be an admin (a bot, or not in Slack).")
    member = member_named(ctx.session, command.users[0])
    assert member is not None  # members_of just stored them
    member.tandem_admin = True
    ctx.audit("admin.add", f"made {member.slack_user_id} a Tandem admin")
    return Reply(f"{mention(member.slack_user_id)} is a Tandem admin.")


def remove_admin(ctx: CommandContext, command: PulseCommand) -> Reply:
    member = member_named(ctx.session, command.users[0])
    if member is None or not member.tandem_admin:
        raise AdminError("admin", f"{mention(command.users[0])} was not added as a Tandem admin.")
    member.tandem_admin = False
    ctx.audit("admin.remove", f"{member.slack_user_id} is no longer a Tandem admin")
    still = " (they stay one as a workspace admin)" if member.is_admin or member.is_owner else ""
    return Reply(f"{mention(member.slack_user_id)} is no longer an added Tandem admin{still}.")


def helpdesk(ctx: CommandContext, command: PulseCommand) -> Reply:
    agents, groups = mapped_agents(ctx.session), mapped_groups(ctx.session)
    lines = ["*Helpdesk mapping*"]
    lines.extend(f"• group “{group}” counts for *{team}*" for group, team in groups)
    lines.extend(f"• agent {email} is {mention(user)}" for email, user in agents[:50])
    if len(lines) == 1:
        lines.append('Nothing mapped yet: `/pulse helpdesk group "Group name" TEAM` is the quickest start.')
    return Reply("\n".join(lines), refresh_home=False)


def map_helpdesk_agent(ctx: CommandContext, command: PulseCommand) -> Reply:
    found, refused = ctx.members_of(command.users)
    if refused:
        raise AdminError("helpdesk.map", f"{mention(refused[0])} is not a person Tandem knows.")
    map_agent(ctx.session, command.email, found[command.users[0]], ctx.now)
    ctx.audit("helpdesk.map", f"agent {command.email} is {command.users[0]}")
    return Reply(f"Tickets of {command.email} count for the teams of {mention(command.users[0])}.")


def map_helpdesk_group(ctx: CommandContext, command: PulseCommand) -> Reply:
    team = ctx.team(command.team, "helpdesk.group")
    map_group(ctx.session, command.text, team.id, ctx.now)
    ctx.audit("helpdesk.group", f"group {command.text} counts for {team.name}")
    return Reply(f"Tickets of the helpdesk group “{command.text}” count for *{team.name}*.")
