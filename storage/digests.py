"""Weekly digests: which teams get one, and the claim that makes it one per team and week.

The caller owns the transaction.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.models import Member, Team, TeamDigest, TeamMember
from storage.upsert import insert_for


@dataclass(frozen=True)
class DigestTeam:
    team_id: int
    name: str
    channel_id: str | None
    weekday: int
    minute: int
    tz: str  # the manager's, else the one most of the team's people are in


@dataclass(frozen=True)
class DigestClaim:
    team_id: int
    week: date
    status: str
    attempts: int
    claimed_at: datetime


def digest_teams(session: Session) -> list[DigestTeam]:
    """Teams that get digests (not paused), with the time zone their digest day is read in."""
    teams = session.execute(
        select(Team.id, Team.name, Team.channel_id, Team.digest_weekday, Team.digest_minute, Member.tz)
        .outerjoin(Member, Member.slack_user_id == Team.manager_user_id)
        .where(Team.paused.is_(False))
        .order_by(Team.id)
    ).all()
    zones: dict[int, Counter[str]] = {}
    for team_id, tz in session.execute(
        select(TeamMember.team_id, Member.tz).join(Member, Member.id == TeamMember.member_id)
    ):
        zones.setdefault(team_id, Counter())[tz] += 1
    return [
        DigestTeam(
            team_id,
            name,
            channel,
            weekday,
            minute,
            manager_tz or (zones[team_id].most_common(1)[0][0] if team_id in zones else "UTC"),
        )
        for team_id, name, channel, weekday, minute, manager_tz in teams
    ]


def digest_claims(session: Session, weeks: list[date]) -> dict[tuple[int, date], DigestClaim]:
    rows = session.execute(
        select(
            TeamDigest.team_id, TeamDigest.week, TeamDigest.status, TeamDigest.attempts, TeamDigest.claimed_at
        ).where(TeamDigest.week.in_(weeks))
    )
    return {(row.team_id, row.week): DigestClaim(*row) for row in rows}


def claim_digest(session: Session, team_id: int, week: date, channel_id: str, now: datetime) -> bool:
    """Claim (team, week) for posting; False when another process or an earlier run has it."""
    table = TeamDigest.__table__
    statement = (
        insert_for(session, table)
        .values(team_id=team_id, week=week, status="posting", attempts=1, claimed_at=now, channel_id=channel_id)
        .on_conflict_do_nothing()
        .returning(table.c.id)
    )
    return session.execute(statement).scalar() is not None


def reclaim_digest(session: Session, team_id: int, week: date, expected: DigestClaim, now: datetime) -> bool:
    """Take over a failed or stale claim, if nobody changed it since it was read (compare-and-set)."""
    result = session.execute(
        update(TeamDigest)
        .where(
            TeamDigest.team_id == team_id,
            TeamDigest.week == week,
            TeamDigest.status == expected.status,
            TeamDigest.claimed_at == expected.claimed_at,
        )
        .values(status="posting", attempts=TeamDigest.attempts + 1, claimed_at=now)
    )
    return bool(result.rowcount)


def record_digest(
    session: Session,
    team_id: int,
    week: date,
    status: str,
    now: datetime,
    channel_id: str | None = None,
    ts: str | None = None,
    error: str | None = None,
) -> None:
    values: dict[str, object] = {"status": status, "error": error[:255] if error else None}
    if status == "posted":
        values.update(posted_at=now, channel_id=channel_id, message_ts=ts)
    session.execute(update(TeamDigest).where(TeamDigest.team_id == team_id, TeamDigest.week == week).values(**values))


def posted_digest(session: Session, team_id: int, week: date) -> TeamDigest | None:
    return session.scalar(select(TeamDigest).where(TeamDigest.team_id == team_id, TeamDigest.week == week))
