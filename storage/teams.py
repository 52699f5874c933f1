"""Teams and who in them is pulsed. Functions take a Session; the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import Member, Team, TeamMember
from storage.upsert import insert_for


def create_team(session: Session, name: str, now: datetime, **settings: Any) -> Team:
    team = Team(name=name, created_at=now, **settings)
    session.add(team)
    session.flush()
    return team


def add_team_members(session: Session, team_id: int, member_ids: Iterable[int]) -> None:
    rows = [{"team_id": team_id, "member_id": member_id} for member_id in member_ids]
    if rows:
        session.execute(insert_for(session, TeamMember.__table__).values(rows).on_conflict_do_nothing())


def team_named(session: Session, name: str) -> Team | None:
    """The team of that name, whatever its capitals (names are unique regardless of case)."""
    return session.scalars(select(Team).where(func.lower(Team.name) == name.lower()).limit(1)).first()


@dataclass(frozen=True)
class TeamSummary:
    team: Team
    members: int  # everyone in the team
    pulsed: int  # active and not opted out: who gets the pulse


def team_summaries(session: Session, offset: int = 0, limit: int | None = None) -> list[TeamSummary]:
    """Teams by name with their sizes, in one query (a grouped count joined to the teams)."""
    counts = (
        select(
            TeamMember.team_id.label("team_id"),
            func.count().label("members"),
            func.count().filter(Member.active.is_(True), Member.opted_out.is_(False)).label("pulsed"),
        )
        .join(Member, Member.id == TeamMember.member_id)
        .group_by(TeamMember.team_id)
        .subquery()
    )
    query = (
        select(Team, func.coalesce(counts.c.members, 0), func.coalesce(counts.c.pulsed, 0))
        .outerjoin(counts, counts.c.team_id == Team.id)
        .order_by(func.lower(Team.name))
        .offset(offset)
        .limit(limit)
    )
    return [TeamSummary(team, members, pulsed) for team, members, pulsed in session.execute(query)]


def count_teams(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Team)) or 0


def team_member_slack_ids(session: Session, team_id: int) -> list[str]:
    """Slack ids of the team's members, by name."""
    return list(
        session.scalars(
            select(Member.slack_user_id)
            .join(TeamMember, TeamMember.member_id == Member.id)
            .where(TeamMember.team_id == team_id)
            .order_by(Member.name)
        )
    )


def pulsed_teams(session: Session, team_ids: Iterable[int] | None = None) -> list[Team]:
    """Teams whose pulse is not paused (all of `team_ids`, paused or not, when given)."""
    query = select(Team).order_by(Team.id)
    query = query.where(Team.id.in_(list(team_ids))) if team_ids is not None else query.where(Team.paused.is_(False))
    return list(session.scalars(query))


def pulsed_members(session: Session, team_id: int) -> list[tuple[int, str]]:
    """(member id, time zone) of every member of the team who is active and has not opted out."""
    rows = session.execute(
        select(Member.id, Member.tz)
        .join(TeamMember, TeamMember.member_id == Member.id)
        .where(TeamMember.team_id == team_id, Member.active.is_(True), Member.opted_out.is_(False))
        .order_by(Member.id)
    )
    return [(member_id, tz) for member_id, tz in rows]
