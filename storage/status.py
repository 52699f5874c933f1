"""What `/pulse status` and the admins' App Home read about every team: a few grouped queries, plain tuples.

With 1,000 teams and 20,000 members the cost is in turning rows into Python values, so the rows come
back as `TeamHealth` named tuples (attribute reads are C-level, unlike SQLAlchemy's Row by name) and
the per-team checks are plain loops over them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from storage.home_records import problem_line
from storage.models import Member, Team, TeamMember

MAX_PROBLEMS = 50


class TeamHealth(NamedTuple):
    """A team's schedule columns (as jobs.pulse_rounds.ScheduledTeam), digest channel, manager, k, and how
    many of its people can answer (active, not opted out)."""

    name: str
    paused: bool
    pulse_weekday: int
    window_start_minute: int
    window_end_minute: int
    every_weeks: int
    working_days: str
    reminder_after_days: int
    close_after_days: int
    # Only for cadences longer than a week (it anchors which weeks are pulse weeks); a weekly cadence
    # ignores it, and leaving it out spares parsing 1,000 timestamps on SQLite.
    created_at: datetime | None
    channel_id: str | None
    channel_ok: bool
    manager_user_id: str | None
    anonymity_threshold: int
    people: int


# Members per team, from the primary key's index alone (no member row is read).
_TEAM_SIZES = select(TeamMember.team_id, func.count().label("size")).group_by(TeamMember.team_id).subquery()
# Built once: the statements are the same every time, so only SQLAlchemy's cache lookup is left per call.
_TEAMS = (
    select(
        Team.id,
        Team.name,
        Team.paused,
        Team.pulse_weekday,
        Team.window_start_minute,
        Team.window_end_minute,
        Team.every_weeks,
        Team.working_days,
        Team.reminder_after_days,
        Team.close_after_days,
        case((Team.every_weeks > 1, Team.created_at), else_=None).label("created_at"),
        Team.channel_id,
        Team.channel_ok,
        Team.manager_user_id,
        Team.anonymity_threshold,
        func.coalesce(_TEAM_SIZES.c.size, 0),
    )
    .outerjoin(_TEAM_SIZES, _TEAM_SIZES.c.team_id == Team.id)
    .order_by(Team.name)
)
# The few members who cannot answer (left, or opted out), with their teams: one pass over the members.
_UNREACHABLE = (
    select(Member.id, Member.active, TeamMember.team_id)
    .outerjoin(TeamMember, TeamMember.member_id == Member.id)
    .where(or_(Member.active.is_(False), Member.opted_out.is_(True)))
)
_MEMBERS = select(func.count()).select_from(Member)


@dataclass(frozen=True)
class WorkspaceHealth:
    teams: list[TeamHealth]  # by name
    active_members: int  # people still in the workspace (as storage.members.count_members(active_only=True))


def workspace_health(session: Session) -> WorkspaceHealth:
    """Every team and the directory's active headcount, in three queries that read each member row once."""
    teams, left = _teams_and_leavers(session)
    return WorkspaceHealth(teams, (session.connection().execute(_MEMBERS).scalar() or 0) - left)


def team_health(session: Session) -> list[TeamHealth]:
    """Every team, by name, in two queries whatever the number of teams and members."""
    return _teams_and_leavers(session)[0]


def _teams_and_leavers(session: Session) -> tuple[list[TeamHealth], int]:
    """The teams, and how many members left the workspace.

    Counting who can answer per team by joining each membership to its member row costs 20,000 lookups
    (or a hash of 20,000 members on PostgreSQL); instead a team's size comes from the membership index
    and the few who cannot answer are subtracted, found in the pass that also counts who left.
    """
    connection = session.connection()  # Core: no ORM result machinery for plain columns
    unreachable: Counter[int] = Counter()
    left: set[int] = set()
    for member_id, active, team_id in connection.execute(_UNREACHABLE).all():
        if team_id is not None:
            unreachable[team_id] += 1
        if not active:
            left.add(member_id)
    rows = connection.execute(_TEAMS).all()
    return [TeamHealth(*row[1:-1], people=row[-1] - unreachable[row[0]]) for row in rows], len(left)


def configuration_problems(
    session: Session, limit: int = MAX_PROBLEMS, teams: list[TeamHealth] | None = None
) -> list[str]:
    """One Slack mrkdwn line per team that is set up so it cannot work, then "… and N more" past `limit`.

    `teams`: the rows of `team_health`, when the caller has them already.
    """
    rows = team_health(session) if teams is None else teams
    lines = []
    for row in rows:
        # Most teams are fine: the cheap test first, the line only for the few that are not.
        if (
            row.channel_id is not None
            and row.channel_ok
            and row.manager_user_id
            and row.people >= row.anonymity_threshold
        ):
            continue
        line = problem_line(
            row.name, row.channel_id, row.channel_ok, row.manager_user_id, row.anonymity_threshold, row.people
        )
        if line is not None:
            lines.append(line)
    if len(lines) > limit:
        return [*lines[:limit], f"… and {len(lines) - limit} more teams with problems"]
    return lines
